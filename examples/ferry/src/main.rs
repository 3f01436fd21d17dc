//! `ferry`: the example command-line front end of ferrysync.
//!
//! `ferry demo` makes a sample tree and mirrors it; `ferry copy|mirror|move SRC DST` runs a
//! one-off profile built from flags, and `ferry sync PATH1 PATH2` a one-off two-way sync;
//! `ferry plan` and `ferry run` preview and run a profile file or a profile of the store;
//! `ferry explain` tells which filter rule decides a path; `ferry profile ...` manages the
//! profile store, `ferry versions ...` the file versions a destination keeps, and
//! `ferry state clear|reset` the state of a two-way profile.
//!
//! # Exit codes
//!
//! | code | meaning |
//! | ---- | ------- |
//! | 0    | done (or nothing to do); folders skipped under the "info" policy are listed |
//! | 1    | finished, but some files failed (see the report) |
//! | 2    | bad input: a malformed profile or argument, an unsupported option, a missing profile, folder, path or version, a SRC (or PATH1) that is missing or not a folder, a profile that already exists, a disabled profile (without --force), credentials a server refuses; nothing was run |
//! | 3    | aborted by a guard (too many deletions, an empty source; two-way: a side that looks unmounted, every file of a side changed) or an unavailable folder whose policy is "abort"; nothing was changed |
//! | 4    | incomplete: a folder of the profile was skipped as unavailable (its policy is "warning", the default); the other folders ran |
//! | 5    | busy: another run holds a two-way folder pair (or synchronized it since the plan was made), or a server timed out or dropped the connection; nothing was run, try again later |
//! | 130  | cancelled (Ctrl-C) |

mod cancel;
mod demo;
mod escape;
mod exit;
mod explain;
mod one_off;
mod preview;
mod profiles;
mod progress;
mod prompt;
mod run;
mod state;
mod time;
mod versions;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use ferrysync::{Error, ErrorKind, Operation};

const EXIT_CODES: &str = "\
Exit codes:
  0    done (or nothing to do); folders skipped under the \"info\" policy are listed
  1    finished, but some files failed (see the report)
  2    bad input: a malformed profile or argument, an unsupported option, a missing
       profile, folder, path or version, a SRC (or PATH1) that is missing or not a
       folder, a profile that already exists, a disabled profile (without --force),
       credentials a server refuses; nothing was run
  3    aborted by a guard (too many deletions, an empty source; two-way: a side that
       looks unmounted, every file of a side changed) or an unavailable folder whose
       policy is \"abort\"; nothing was changed
  4    incomplete: a folder of the profile was skipped as unavailable (its policy is
       \"warning\", the default); the other folders ran
  5    busy: another run holds a two-way folder pair (or synchronized it since the
       plan was made), or a server timed out or dropped the connection; nothing
       was run, try again later
  130  cancelled (Ctrl-C)";

/// The example command-line front end of ferrysync.
#[derive(Debug, Parser)]
#[command(
    name = "ferry",
    version,
    about = "Copy, mirror and move folders with ferrysync",
    long_about = "Copy, mirror and move folders with ferrysync.\n\n\
                  Start with `ferry demo`, which makes a sample tree in a temporary folder and \
                  mirrors it.",
    after_long_help = EXIT_CODES
)]
struct Cli {
    /// The profile store [default: $FERRY_STORE, $XDG_CONFIG_HOME/ferrysync/profiles or
    /// ~/.config/ferrysync/profiles]
    #[arg(long, global = true, value_name = "DIR")]
    store: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Make a sample tree under DIR and mirror DIR/source to DIR/destination
    #[command(after_long_help = EXIT_CODES)]
    Demo {
        /// Where to make the sample (default: a new temporary folder)
        dir: Option<PathBuf>,
    },
    /// Copy new and changed files from SRC to DST
    #[command(after_long_help = EXIT_CODES)]
    Copy(one_off::OneOff),
    /// Make DST like SRC: copy new and changed files, delete what SRC does not have
    #[command(after_long_help = EXIT_CODES)]
    Mirror(one_off::OneOff),
    /// Copy new and changed files from SRC to DST, verify them, then delete them from SRC
    #[command(after_long_help = EXIT_CODES)]
    Move(one_off::OneOff),
    /// Synchronize PATH1 and PATH2 both ways: changes, additions and deletions on either side
    /// reach the other; edits on both sides are conflicts resolved by --conflict
    #[command(after_long_help = EXIT_CODES)]
    Sync(one_off::SyncArgs),
    /// Show what running a profile would do
    #[command(after_long_help = EXIT_CODES)]
    Plan {
        /// A profile file (JSON), or a profile name
        profile: String,
        /// Only this folder pair (repeatable)
        #[arg(long, value_name = "F")]
        folder: Vec<String>,
        /// Print the plan as JSON
        #[arg(long)]
        json: bool,
    },
    /// Run a profile
    #[command(after_long_help = EXIT_CODES)]
    Run {
        /// A profile file (JSON), or a profile name
        profile: String,
        #[command(flatten)]
        run: RunFlags,
        /// Only this folder pair (repeatable)
        #[arg(long, value_name = "F")]
        folder: Vec<String>,
        /// Answer yes when the profile asks before deleting (copy.confirm-deletes)
        #[arg(long)]
        yes: bool,
        /// Two-way profiles: forget the state first; the run is a union that deletes nothing
        #[arg(long)]
        resync: bool,
    },
    /// Tell which filter rule decides whether PATH takes part
    #[command(after_long_help = EXIT_CODES)]
    Explain {
        /// A profile file (JSON), or a profile name
        profile: String,
        /// A path relative to the folder's source
        path: String,
        /// The folder pair (default: the first)
        #[arg(long, value_name = "F")]
        folder: Option<String>,
    },
    /// Manage the profile store
    #[command(subcommand, after_long_help = EXIT_CODES)]
    Profile(profiles::ProfileCommand),
    /// List, restore and clean up earlier versions of files
    #[command(subcommand, after_long_help = EXIT_CODES)]
    Versions(versions::VersionsCommand),
    /// Clear or reset the state (the last sync's view) of a two-way profile
    #[command(subcommand, after_long_help = EXIT_CODES)]
    State(state::StateCommand),
}

/// Flags every run takes.
#[derive(Debug, Clone, Args)]
struct RunFlags {
    /// Show the plan (the preview) and check the guards; change nothing
    #[arg(long)]
    dry_run: bool,
    /// Go ahead although a guard objects (too many deletions, an empty source; two-way: a side
    /// that looks unmounted, every file of a side changed); run a disabled profile
    #[arg(long)]
    force: bool,
    /// Print the report as JSON (with --dry-run: the plan)
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let store = cli.store.as_deref();
    let result = match cli.command {
        Command::Demo { dir } => demo::run(dir),
        Command::Copy(args) => one_off::run(Operation::Copy, &args),
        Command::Mirror(args) => one_off::run(Operation::Mirror, &args),
        Command::Move(args) => one_off::run(Operation::Move, &args),
        Command::Sync(args) => one_off::run_sync(&args),
        Command::Plan {
            profile,
            folder,
            json,
        } => profiles::resolve(&profile, store).and_then(|p| run::plan(&p, &folder, json)),
        Command::Run {
            profile,
            run: flags,
            folder,
            yes,
            resync,
        } => profiles::resolve(&profile, store).and_then(|p| {
            let settings = run::Settings {
                dry_run: flags.dry_run,
                force: flags.force,
                json: flags.json,
                yes,
                folders: folder,
                resync,
            };
            run::run(&p, &settings)
        }),
        Command::Explain {
            profile,
            path,
            folder,
        } => profiles::resolve(&profile, store)
            .and_then(|p| explain::run(&p, folder.as_deref(), &path)),
        Command::Profile(command) => profiles::run(command, store),
        Command::Versions(command) => versions::run(command, store),
        Command::State(command) => state::run(command, store),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            report_error(&err);
            ExitCode::from(exit::of_error(&err))
        }
    }
}

fn report_error(err: &Error) {
    eprintln!("ferry: {}", escape::escape(&err.to_string()));
    if err.kind() == ErrorKind::Guard {
        eprintln!("hint: use --force to go ahead");
    }
}

/// `println!` that stops quietly when stdout is closed (`ferry ... | head`) instead of
/// panicking.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::write_stdout(&format!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use say;

/// Writes `text` to stdout; a closed stdout ends the process with exit code 0.
fn write_stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("ferry: writing to stdout: {e}");
        std::process::exit(1);
    }
}

/// Whether stdout gets ANSI colors: a terminal, and `NO_COLOR` unset.
fn colors() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
