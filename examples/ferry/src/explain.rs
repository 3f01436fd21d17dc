//! `ferry explain PROFILE PATH`: which filter rule decides whether a path takes part.

use ferrysync::transport::{LocalTransport, Transport};
use ferrysync::{expand_vars, Error, ErrorKind, Filter, Profile, RelPath, Result};

/// Prints the decision for `path` (relative to the source of `folder`, or of the first
/// folder) and returns the exit code.
///
/// # Errors
/// An unknown folder, a path that does not exist in the source, a filter that does not
/// compile.
pub fn run(profile: &Profile, folder: Option<&str>, path: &str) -> Result<u8> {
    let folder = match folder {
        Some(name) => profile.folders.iter().find(|f| f.name == name),
        None => profile.folders.first(),
    }
    .ok_or_else(|| {
        Error::new(
            ErrorKind::NotFound,
            match folder {
                Some(name) => format!("profile {:?} has no folder {name:?}", profile.name),
                None => format!("profile {:?} has no folders", profile.name),
            },
        )
    })?;
    let source = expand_vars(&folder.source)?;
    let transport = LocalTransport::new(&source);
    let rel = RelPath::new(path.trim_end_matches('/'))?;
    let entry = transport.stat(&rel)?.ok_or_else(|| {
        Error::new(ErrorKind::NotFound, "no such file or folder in the source")
            .with_path(rel.to_path(transport.root()))
    })?;
    let filter = Filter::new(folder.effective_filters(profile), now_ns())?;
    let parent = rel.parent().unwrap_or_default();
    let sibling_exists = |name: &[u8]| {
        parent
            .join(name)
            .ok()
            .and_then(|p| transport.stat(&p).ok().flatten())
            .is_some()
    };
    let decision = filter.explain(&entry, &sibling_exists);
    println!(
        "{}: {} by {}",
        rel,
        if decision.included {
            "included"
        } else {
            "excluded"
        },
        decision.rule
    );
    Ok(0)
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}
