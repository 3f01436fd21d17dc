//! `ferry state clear|reset PROFILE`: the state database of a two-way profile, as the Compare
//! Files dialog's "Clear" and "Reset" offer it.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use ferrysync::{expand_vars, Engine, Error, Operation, Profile, Result, StateDb};

use crate::escape::escape;
use crate::profiles::resolve;
use crate::say;

/// `ferry state ...`.
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Forget what the last sync saw: the next run is a first run, a union of both sides
    /// that deletes nothing
    Clear {
        /// A two-way profile file (JSON), or a profile name
        profile: String,
        /// Only this folder pair (repeatable; default: every enabled one)
        #[arg(long, value_name = "F")]
        folder: Vec<String>,
    },
    /// Record both sides as they are now as in sync: the next run sees only later changes
    /// (paths that differ now are left out, and meet as created on both sides)
    Reset {
        /// A two-way profile file (JSON), or a profile name
        profile: String,
        /// Only this folder pair (repeatable; default: every enabled one)
        #[arg(long, value_name = "F")]
        folder: Vec<String>,
    },
}

/// Runs a `ferry state` command; returns the exit code.
///
/// # Errors
/// A missing or malformed profile, one that is not two-way, an unknown folder, a state
/// database that cannot be opened, or a pair another run is synchronizing.
pub fn run(command: StateCommand, store: Option<&Path>) -> Result<u8> {
    match command {
        StateCommand::Clear { profile, folder } => {
            let profile = selected(&resolve(&profile, store)?, &folder)?;
            Engine::new().clear_state(&profile)?;
            say!(
                "Cleared the state of {} ({}): the next run is a first run, a union that \
                 deletes nothing.",
                escape(&profile.name),
                escape(&state_path(&profile)?.display().to_string())
            );
        }
        StateCommand::Reset { profile, folder } => {
            let profile = selected(&resolve(&profile, store)?, &folder)?;
            let recorded = Engine::new().reset_state(&profile)?;
            say!(
                "Recorded {recorded} entries of {} as in sync ({}): the next run sees only \
                 later changes.",
                escape(&profile.name),
                escape(&state_path(&profile)?.display().to_string())
            );
        }
    }
    Ok(0)
}

/// `profile` with only the named folder pairs (all of them when none are named), enabled.
fn selected(profile: &Profile, folders: &[String]) -> Result<Profile> {
    if profile.operation != Operation::Synchronize {
        return Err(Error::invalid(format!(
            "profile {:?} is not a two-way profile (operation {:?}): only \"synchronize\" \
             profiles have a state",
            profile.name,
            profile.operation.name()
        )));
    }
    let mut p = profile.clone();
    if folders.is_empty() {
        return Ok(p);
    }
    for name in folders {
        if !p.folders.iter().any(|f| &f.name == name) {
            return Err(Error::new(
                ferrysync::ErrorKind::NotFound,
                format!("profile {:?} has no folder {name:?}", p.name),
            ));
        }
    }
    p.folders.retain(|f| folders.contains(&f.name));
    for f in &mut p.folders {
        f.enabled = true;
    }
    Ok(p)
}

/// Where the profile's state database is.
fn state_path(profile: &Profile) -> Result<PathBuf> {
    match &profile.sync.state {
        Some(p) => expand_vars(p).map(PathBuf::from),
        None => StateDb::default_path(&profile.name),
    }
}
