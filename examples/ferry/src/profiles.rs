//! Finding the profile a command names (a JSON file or a name in the profile store), and
//! `ferry profile ...`: managing the store.

use std::path::{Component, Path, PathBuf};

use clap::Subcommand;
use ferrysync::{Error, ErrorKind, Folder, Operation, Profile, ProfileStore, Result};

use crate::escape::escape;
use crate::say;

/// The profile store's folder: `--store`, else `$FERRY_STORE`, else
/// `$XDG_CONFIG_HOME/ferrysync/profiles` (an absolute `XDG_CONFIG_HOME`, as the XDG
/// specification says), else `~/.config/ferrysync/profiles` (`HOME`, else the home folder of
/// the user database).
///
/// # Errors
/// [`ErrorKind::InvalidInput`] when none of these is known.
pub fn store_dir(flag: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = flag {
        return Ok(dir.to_path_buf());
    }
    if let Some(dir) = std::env::var_os("FERRY_STORE").filter(|v| !v.is_empty()) {
        return Ok(dir.into());
    }
    match dirs::config_dir() {
        Some(config) => Ok(config.join("ferrysync/profiles")),
        None => Err(Error::invalid(
            "no profile store: set --store, FERRY_STORE, XDG_CONFIG_HOME or HOME",
        )),
    }
}

/// The profile `arg` names: the profile file at that path when there is one (or when `arg`
/// ends with `.json`), otherwise the profile with that key in the store.
///
/// # Errors
/// The errors of [`Profile::load`] (malformed files name the JSON path of the problem) and
/// [`ProfileStore::get`]; [`ErrorKind::NotFound`] when the store does not exist.
pub fn resolve(arg: &str, store: Option<&Path>) -> Result<Profile> {
    let path = Path::new(arg);
    if path.is_file() || arg.ends_with(".json") {
        return Profile::load(path);
    }
    existing_store(store)?.get(arg)
}

/// The store, without creating it: reading commands on a missing store find nothing.
fn existing_store(flag: Option<&Path>) -> Result<ProfileStore> {
    let dir = store_dir(flag)?;
    if !dir.is_dir() {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!(
                "no profile file or stored profile by that name (the store {} does not exist)",
                dir.display()
            ),
        ));
    }
    ProfileStore::open(dir)
}

/// `ferry profile ...`.
#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Make a profile and save it in the store
    New {
        /// Its name
        name: String,
        /// Its group (`/`-separated)
        #[arg(long, default_value = "")]
        group: String,
        /// What it does
        #[arg(long, value_enum, default_value = "mirror")]
        operation: OperationArg,
        /// A first folder pair: the source (a relative path is stored absolute; `$VAR` and
        /// `~` are kept, to be expanded when the profile runs)
        #[arg(long, requires = "destination")]
        source: Option<String>,
        /// A first folder pair: the destination (stored as --source is)
        #[arg(long, requires = "source")]
        destination: Option<String>,
        /// The folder pair's name
        #[arg(long, default_value = "main")]
        folder: String,
    },
    /// Print a stored profile (or a profile file) as JSON
    Show {
        /// A profile key (`group/name`, `/name`, `name`) or file
        profile: String,
    },
    /// Check a profile file or stored profile; exits 2 naming the first problem
    Validate {
        /// A profile key or file
        profile: String,
    },
    /// Add the profiles of a file (one profile or a group export) to the store
    Import {
        /// The file
        file: PathBuf,
        /// Replace profiles that exist
        #[arg(long)]
        overwrite: bool,
    },
    /// Print a stored profile, or with --group a whole group, as JSON
    Export {
        /// A profile key, or with --group a group path ("" for all)
        key: String,
        /// Export the group KEY and its subgroups
        #[arg(long)]
        group: bool,
    },
    /// List the stored profiles
    List,
    /// Rename a stored profile (in its group)
    Rename {
        /// A profile key
        key: String,
        /// The new name
        new_name: String,
    },
    /// Copy a stored profile under a new name (in its group)
    Duplicate {
        /// A profile key
        key: String,
        /// The copy's name
        new_name: String,
    },
    /// Delete a stored profile
    Delete {
        /// A profile key
        key: String,
    },
    /// Let a stored profile run
    Enable {
        /// A profile key
        key: String,
    },
    /// Keep a stored profile from running
    Disable {
        /// A profile key
        key: String,
    },
}

/// The operations a new profile may have.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum OperationArg {
    /// Copy new and changed files
    Copy,
    /// Copy, and delete what the source does not have
    Mirror,
    /// Copy, verify, delete the source files
    Move,
    /// Copy into a new timestamped folder per run
    VersionedBackup,
    /// Two-way: changes on either side reach the other
    Synchronize,
}

impl From<OperationArg> for Operation {
    fn from(op: OperationArg) -> Operation {
        match op {
            OperationArg::Copy => Operation::Copy,
            OperationArg::Mirror => Operation::Mirror,
            OperationArg::Move => Operation::Move,
            OperationArg::VersionedBackup => Operation::VersionedBackup,
            OperationArg::Synchronize => Operation::Synchronize,
        }
    }
}

/// Runs `ferry profile ...` and returns the exit code.
///
/// # Errors
/// The store's errors: not found, already exists, invalid profiles, I/O.
pub fn run(command: ProfileCommand, store: Option<&Path>) -> Result<u8> {
    let open = || ProfileStore::open(store_dir(store)?);
    match command {
        ProfileCommand::New {
            name,
            group,
            operation,
            source,
            destination,
            folder,
        } => {
            let mut profile = Profile::new(name, operation.into());
            profile.group = group;
            if let (Some(src), Some(dst)) = (source, destination) {
                profile
                    .folders
                    .push(Folder::new(folder, absolute(&src)?, absolute(&dst)?));
            }
            let store = open()?;
            let key = profile.key();
            if store.get(&key).is_ok() {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!("profile {key:?} already exists"),
                ));
            }
            store.save(&profile)?;
            say!(
                "Saved {} in {}",
                escape(&key),
                escape(&store.root().display().to_string())
            );
        }
        ProfileCommand::Show { profile } => say!("{}", resolve(&profile, store)?.to_json()),
        ProfileCommand::Validate { profile: arg } => {
            let p = resolve(&arg, store)?;
            p.validate()?;
            if p.folders.is_empty() {
                return Err(Error::invalid(
                    "folders: no folder pairs (a profile needs at least one to run)",
                )
                .with_path(&arg));
            }
            say!("{}: valid", escape(&p.key()));
        }
        ProfileCommand::Import { file, overwrite } => {
            let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
            let keys = open()?
                .import(&text, overwrite)
                .map_err(|e| match e.kind() {
                    ErrorKind::AlreadyExists => Error::new(
                        e.kind(),
                        format!("{} (--overwrite replaces it)", e.message()),
                    ),
                    _ => e,
                })
                .map_err(|e| e.with_path(&file))?;
            for key in keys {
                say!("Imported {}", escape(&key));
            }
        }
        ProfileCommand::Export { key, group } => {
            let store = existing_store(store)?;
            let text = if group {
                store.export_group(&key)?
            } else {
                store.export(&key)?
            };
            say!("{text}");
        }
        ProfileCommand::List => {
            let dir = store_dir(store)?;
            let profiles = match existing_store(store) {
                Ok(store) => store.list()?,
                Err(_) => Vec::new(),
            };
            if profiles.is_empty() {
                say!(
                    "No profiles in {} (`ferry profile new` makes one)",
                    escape(&dir.display().to_string())
                );
            }
            for p in profiles {
                say!(
                    "{:<30} {:<16} {:>2} folder(s){}",
                    escape(&p.key()),
                    p.operation.name(),
                    p.folders.len(),
                    if p.enabled { "" } else { "  (disabled)" }
                );
            }
        }
        ProfileCommand::Rename { key, new_name } => {
            existing_store(store)?.rename(&key, &new_name)?;
            say!("Renamed {} to {}", escape(&key), escape(&new_name));
        }
        ProfileCommand::Duplicate { key, new_name } => {
            existing_store(store)?.duplicate(&key, &new_name)?;
            say!("Copied {} as {}", escape(&key), escape(&new_name));
        }
        ProfileCommand::Delete { key } => {
            existing_store(store)?.delete(&key)?;
            say!("Deleted {}", escape(&key));
        }
        ProfileCommand::Enable { key } => existing_store(store)?.set_enabled(&key, true)?,
        ProfileCommand::Disable { key } => existing_store(store)?.set_enabled(&key, false)?,
    }
    Ok(0)
}

/// A folder as `profile new` stores it: a relative path made absolute from the current folder
/// (`.` and `..` resolved, a trailing `/` dropped), so that the profile means the same folder
/// wherever it runs; an absolute path, a URL, and a path starting with `~` or `$VAR` (expanded
/// when the profile runs), as typed.
///
/// # Errors
/// [`ErrorKind::InvalidInput`] for an empty path; the current folder's error.
fn absolute(path: &str) -> Result<String> {
    if path.is_empty() {
        return Err(Error::invalid("an empty folder path"));
    }
    if path.starts_with(['/', '~', '$']) || path.contains("://") {
        return Ok(path.to_string());
    }
    let cwd = std::env::current_dir().map_err(|e| Error::io(Path::new("."), e))?;
    let mut out = PathBuf::new();
    for component in cwd.join(path).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    Ok(out.display().to_string())
}

/// The folder pair named `name`, or the first one.
///
/// # Errors
/// [`ErrorKind::NotFound`] when there is no such folder.
pub fn pick_folder<'p>(profile: &'p Profile, name: Option<&str>) -> Result<&'p Folder> {
    match name {
        Some(name) => profile.folders.iter().find(|f| f.name == name),
        None => profile.folders.first(),
    }
    .ok_or_else(|| {
        Error::new(
            ErrorKind::NotFound,
            match name {
                Some(name) => format!("profile {:?} has no folder {name:?}", profile.name),
                None => format!("profile {:?} has no folders", profile.name),
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_flag_wins() {
        let dir = store_dir(Some(Path::new("/x/store"))).unwrap();
        assert_eq!(dir, Path::new("/x/store"));
    }

    #[test]
    fn a_name_without_a_store_is_not_found() {
        let err = resolve("nightly", Some(Path::new("/nonexistent/ferry-store"))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }
}
