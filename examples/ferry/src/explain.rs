//! `ferry explain PROFILE PATH`: which filter rule decides whether a path takes part.

use std::path::Path;

use ferrysync::transport::{EntryKind, Role};
use ferrysync::{scan, Engine, Error, ErrorKind, Filter, Profile, RelPath, Result, ScanOptions};

use crate::escape::escape;
use crate::profiles::pick_folder;
use crate::say;
use crate::time;

/// Prints the decision for `path` (relative to the source of `folder`, or of the first
/// folder) and returns the exit code.
///
/// A folder the filter keeps only when something below it takes part (one on the way to an
/// `include-folders` folder, or any folder without `include-empty-folders`) is decided by
/// scanning the source as a run does.
///
/// # Errors
/// An unknown folder, a path that does not exist in the source, a filter that does not
/// compile, a source that cannot be scanned.
pub fn run(profile: &Profile, folder: Option<&str>, path: &str) -> Result<u8> {
    let folder = pick_folder(profile, folder)?;
    let transport = Engine::new().transport(&folder.source_location()?, Role::Source)?;
    let rel = RelPath::new(path.trim_end_matches('/'))?;
    let entry = transport.stat(&rel)?.ok_or_else(|| {
        let shown = transport
            .local_path(&rel)
            .unwrap_or_else(|| rel.to_path(Path::new(&transport.describe())));
        Error::new(ErrorKind::NotFound, "no such file or folder in the source").with_path(shown)
    })?;
    let filter = Filter::new(&folder.effective_filters(profile), time::now_ns())?;
    let parent = rel.parent().unwrap_or_default();
    let sibling_exists = |name: &[u8]| {
        parent
            .join(name)
            .ok()
            .and_then(|p| transport.stat(&p).ok().flatten())
            .is_some()
    };
    let mut decision = filter.explain(&entry, &sibling_exists);
    // A folder the filter keeps only when something below it takes part: look below, as the
    // run's scan does.
    if entry.kind == EntryKind::Dir && decision.included && folder.include_subfolders {
        if let Some(empty) = filter.explain_empty_folder(&entry) {
            let mut opts = ScanOptions::default();
            opts.symlinks = profile.copy.symlinks;
            if scan(&*transport, &filter, &opts)?.get(&rel).is_none() {
                decision = empty;
            }
        }
    }
    let verdict = if decision.included {
        "included"
    } else {
        "excluded"
    };
    say!(
        "{}",
        escape(&format!("{rel}: {verdict} by {}", decision.rule))
    );
    Ok(0)
}
