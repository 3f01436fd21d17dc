//! `ferry explain PROFILE PATH`: which filter rule decides whether a path takes part.

use ferrysync::transport::{LocalTransport, Transport};
use ferrysync::{Error, ErrorKind, Filter, Profile, RelPath, Result};

use crate::profiles::pick_folder;
use crate::say;
use crate::time;

/// Prints the decision for `path` (relative to the source of `folder`, or of the first
/// folder) and returns the exit code.
///
/// # Errors
/// An unknown folder, a path that does not exist in the source, a filter that does not
/// compile.
pub fn run(profile: &Profile, folder: Option<&str>, path: &str) -> Result<u8> {
    let folder = pick_folder(profile, folder)?;
    let transport = LocalTransport::new(folder.resolved_source()?);
    let rel = RelPath::new(path.trim_end_matches('/'))?;
    let entry = transport.stat(&rel)?.ok_or_else(|| {
        Error::new(ErrorKind::NotFound, "no such file or folder in the source")
            .with_path(rel.to_path(transport.root()))
    })?;
    let filter = Filter::new(folder.effective_filters(profile), time::now_ns())?;
    let parent = rel.parent().unwrap_or_default();
    let sibling_exists = |name: &[u8]| {
        parent
            .join(name)
            .ok()
            .and_then(|p| transport.stat(&p).ok().flatten())
            .is_some()
    };
    let decision = filter.explain(&entry, &sibling_exists);
    let verdict = if decision.included {
        "included"
    } else {
        "excluded"
    };
    say!("{rel}: {verdict} by {}", decision.rule);
    Ok(0)
}
