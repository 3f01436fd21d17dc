//! `ferry versions list|restore|clean`: the earlier versions a profile's destination keeps.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Subcommand;
use ferrysync::transport::{Role, Transport};
use ferrysync::{
    Engine, Error, ErrorKind, Location, Profile, RelPath, RestoreOptions, Result, Versions,
};
use indicatif::HumanBytes;

use crate::escape::escape;
use crate::profiles::{pick_folder, resolve};
use crate::say;
use crate::time;

/// `ferry versions ...`.
#[derive(Debug, Subcommand)]
pub enum VersionsCommand {
    /// List the stored versions (of PATH, or of every file), newest first
    List {
        /// A profile file (JSON), or a profile name
        profile: String,
        /// A path relative to the destination root
        path: Option<String>,
        /// The folder pair (default: the first)
        #[arg(long, value_name = "F")]
        folder: Option<String>,
    },
    /// Put a version of PATH back, or with --as-of write the whole tree as it was then
    Restore {
        /// A profile file (JSON), or a profile name
        profile: String,
        /// A path relative to the destination root
        #[arg(required_unless_present = "as_of", conflicts_with = "as_of")]
        path: Option<String>,
        /// Which version, as `versions list` numbers them (1 = newest)
        #[arg(long, short = 'n', default_value_t = 1, value_name = "N")]
        version: usize,
        /// Where to put it, relative to the destination root (default: PATH; the file there
        /// is kept as a version first)
        #[arg(long, value_name = "PATH")]
        to: Option<String>,
        /// Restore the whole tree as it was at TIME (UTC: YYYY-MM-DD, YYYY-MM-DDTHH:MM, YYYY-MM-DDTHH:MM:SS, or @SECONDS)
        #[arg(long, value_name = "TIME", value_parser = time::parse, requires = "into")]
        as_of: Option<i64>,
        /// With --as-of: the folder to write the tree into; it must be empty or missing
        /// unless --overwrite
        #[arg(long, value_name = "DIR", requires = "as_of")]
        into: Option<PathBuf>,
        /// With --into: write into a folder that is not empty. Each file it replaces is kept
        /// as a version first: in the destination's versions folder when DIR is the
        /// destination (a rollback in place) or inside it, else in DIR/.ferrysync/versions
        #[arg(long, requires = "into")]
        overwrite: bool,
        /// The folder pair (default: the first)
        #[arg(long, value_name = "F")]
        folder: Option<String>,
    },
    /// Apply the profile's limits (keep, max-age, max-total-size) to the stored versions
    Clean {
        /// A profile file (JSON), or a profile name
        profile: String,
        /// The folder pair (default: the first)
        #[arg(long, value_name = "F")]
        folder: Option<String>,
    },
}

/// Runs `ferry versions ...` and returns the exit code.
///
/// # Errors
/// A bad profile, folder or path; a missing version; failures reading or writing versions.
pub fn run(command: VersionsCommand, store: Option<&Path>) -> Result<u8> {
    match command {
        VersionsCommand::List {
            profile,
            path,
            folder,
        } => {
            let (versions, _) = open(&resolve(&profile, store)?, folder.as_deref())?;
            let list = match &path {
                Some(p) => versions.list(&RelPath::new(p)?)?,
                None => versions.list_all()?,
            };
            if list.is_empty() {
                say!("No versions.");
            }
            let mut last: Option<&RelPath> = None;
            let mut n = 0;
            for v in &list {
                if last != Some(&v.path) {
                    say!("{}", escape(&v.path.display()));
                    last = Some(&v.path);
                    n = 0;
                }
                n += 1;
                say!(
                    "  {n:>3}  stored {}  modified {}  {:>10}",
                    time::format_ns(v.stored_ns),
                    time::format_ns(v.mtime_ns),
                    HumanBytes(v.size)
                );
            }
        }
        VersionsCommand::Restore {
            profile,
            path,
            version,
            to,
            as_of,
            into,
            overwrite,
            folder,
        } => {
            let (versions, live) = open(&resolve(&profile, store)?, folder.as_deref())?;
            if let (Some(at), Some(into)) = (as_of, into) {
                let target = Engine::new().transport(&Location::local(&into), Role::Restore)?;
                let holds_anything = target
                    .read_dir(&RelPath::root())
                    .is_ok_and(|entries| !entries.is_empty());
                if holds_anything && !overwrite {
                    return Err(Error::invalid(
                        "not empty: add --overwrite to restore into it (each file it replaces is kept as a version)",
                    )
                    .with_path(&into));
                }
                let r = versions.restore_tree_as_of(
                    at,
                    &*live,
                    &*target,
                    &RestoreOptions::overwriting(overwrite),
                )?;
                say!(
                    "Restored {} files ({}) as of {} UTC into {}",
                    r.files,
                    HumanBytes(r.bytes),
                    time::format_ns(at),
                    escape(&into.display().to_string())
                );
                return Ok(0);
            }
            let path = RelPath::new(path.as_deref().unwrap_or_default())?;
            let list = versions.list(&path)?;
            let v = list.get(version.wrapping_sub(1)).ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("{path} has {} stored versions, not {version}", list.len()),
                )
            })?;
            let to = match &to {
                Some(t) => RelPath::new(t)?,
                None => path.clone(),
            };
            versions.restore(v, &*live, &to)?;
            say!(
                "Restored {} as stored {} UTC to {}",
                escape(&path.display()),
                time::format_ns(v.stored_ns),
                escape(&to.display())
            );
        }
        VersionsCommand::Clean { profile, folder } => {
            let (versions, _) = open(&resolve(&profile, store)?, folder.as_deref())?;
            let r = versions.clean(time::now_ns())?;
            say!(
                "Removed {} versions ({})",
                r.removed,
                HumanBytes(r.bytes_freed)
            );
        }
    }
    Ok(0)
}

/// The versions of `folder` (or the first folder) of `profile`, and its destination.
fn open(profile: &Profile, folder: Option<&str>) -> Result<(Versions, Arc<dyn Transport>)> {
    let f = pick_folder(profile, folder)?;
    let versions = Engine::new().versions(&f.destination_location()?, &profile.versions)?;
    let live = Arc::clone(versions.destination());
    Ok((versions, live))
}
