//! Earlier versions of replaced and deleted files: keep, list, restore, clean up.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::path::RelPath;
use crate::profile::VersionsOptions;
use crate::transport::Transport;

/// The default versions folder, relative to the destination root.
pub const DEFAULT_VERSIONS_FOLDER: &str = ".ferrysync/versions";

/// One stored version of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The file's path relative to the synchronized root.
    pub path: RelPath,
    /// When it was replaced or deleted (ns since the epoch).
    pub stored_ns: i64,
    /// Its modification time (ns since the epoch).
    pub mtime_ns: i64,
    /// Its size in bytes.
    pub size: u64,
    /// Where it is, relative to the versions folder.
    pub location: RelPath,
}

/// The versions folder of one destination.
#[derive(Debug, Clone)]
pub struct Versions {
    store: Arc<dyn Transport>,
    base: RelPath,
    opts: VersionsOptions,
}

impl Versions {
    /// The versions folder of `destination` as `opts` configure it.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a malformed folder.
    pub fn new(destination: Arc<dyn Transport>, opts: &VersionsOptions) -> Result<Versions> {
        let folder = opts.folder.as_deref().unwrap_or(DEFAULT_VERSIONS_FOLDER);
        Ok(Versions {
            store: destination,
            base: RelPath::new(folder)?,
            opts: opts.clone(),
        })
    }

    /// The versions folder relative to the destination root, when it lies inside it (the
    /// walk always excludes it).
    pub fn inside_destination(&self) -> Option<&RelPath> {
        Some(&self.base)
    }

    /// Moves the destination file `path` into the versions folder, stamped `now_ns`, then
    /// applies the retention limits to that path's versions.
    ///
    /// # Errors
    /// Failures moving the file; the file is then still in place.
    pub fn preserve(&self, path: &RelPath, now_ns: i64) -> Result<()> {
        let _ = (path, now_ns, &self.store, &self.opts);
        Err(Error::not_supported("file versions"))
    }
}
