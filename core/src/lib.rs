//! # ferrysync
//!
//! An embeddable file synchronization and backup library.
//!
//! A [`Profile`] names folder pairs and options; the [`Engine`] scans both sides of each pair
//! into [`Listing`]s, plans what to do ([`Plan`], pure and serializable: the preview), then runs
//! the plan on a worker pool, reporting [`Event`]s and returning a [`Report`].
//!
//! Each side of a pair is a [`Location`] (a path or a URL, secrets never shown); the engine
//! reads and writes it through a [`Transport`](transport::Transport) from its
//! [`TransportFactory`](transport::TransportFactory), which [`Engine::builder`] can replace.
//!
//! ```no_run
//! use ferrysync::{Engine, Folder, Operation, Profile, RunOptions};
//!
//! let profile = Profile::new("docs", Operation::Mirror)
//!     .with_folder(Folder::new("docs", "/home/me/Documents", "/mnt/backup/Documents"));
//! let engine = Engine::new();
//! let plan = engine.plan(&profile)?;
//! println!("{} files to copy", plan.summary().new_files);
//! let report = engine.run(&profile, &RunOptions::default())?;
//! assert!(report.errors.is_empty());
//! # Ok::<(), ferrysync::Error>(())
//! ```
//!
//! ## A run on its own thread
//!
//! [`Engine::start`] runs a profile on its own thread and returns a [`Run`]: pull its
//! [`Event`]s with a timeout, answer its questions by id (whether deletions may go ahead,
//! how to resolve a two-way conflict), pause, resume or cancel it, and wait for the report.
//! A question left unanswered past [`StartOptions::prompt_timeout`] takes the safe default:
//! deletions are declined, a conflict keeps both versions. The C ABI and the Python module
//! are thin translations of this handle.
//!
//! ```no_run
//! use std::time::Duration;
//! use ferrysync::{Answer, Engine, Event, Next, Profile, StartOptions};
//!
//! # fn main() -> ferrysync::Result<()> {
//! # let profile: Profile = unimplemented!();
//! let run = Engine::new().start(&profile, StartOptions::default())?;
//! loop {
//!     match run.next_event(Duration::from_millis(100)) {
//!         Next::Event(Event::ConfirmDeletes(q)) => {
//!             // NotFound when the question timed out meanwhile.
//!             let _ = run.answer(q.prompt_id, Answer::Deletes(q.deletions < 10));
//!         }
//!         Next::Event(e) => println!("{}", e.name()),
//!         Next::Empty => {}
//!         Next::Finished => break,
//!     }
//! }
//! let report = run.wait()?;
//! println!("{}", report.status.name());
//! # Ok(())
//! # }
//! ```
//!
//! ## Types that grow
//!
//! The option structs ([`RunOptions`], [`StartOptions`], [`CopyOptions`], [`SyncOptions`],
//! [`VersionsOptions`], [`GuardOptions`], [`CompareOptions`], [`FilterSpec`],
//! [`FilterOverrides`], [`ScanOptions`], [`RestoreOptions`], and [`Profile`] and [`Folder`]
//! themselves), [`Capabilities`](transport::Capabilities) and the enums [`Operation`] and
//! [`Event`] are `#[non_exhaustive]`: later releases add fields and variants without
//! breaking programs. Start from `Default` (or a constructor: [`Profile::new`],
//! [`Folder::new`], [`StartOptions::new`], [`RestoreOptions::overwriting`],
//! [`Capabilities::full`](transport::Capabilities::full)) and set the fields you need; match
//! events and operations with a `_` arm.
//!
//! ```
//! use ferrysync::{Event, RunOptions};
//!
//! let mut opts = RunOptions::default();
//! opts.force = true;
//! let line = |e: &Event| match e {
//!     Event::Warning(p) | Event::Error(p) => p.to_string(),
//!     other => other.name().to_string(),
//! };
//! # let _ = (opts, line);
//! ```
//!
//! A struct expression does not compile outside the crate:
//!
//! ```compile_fail,E0639
//! let opts = ferrysync::RunOptions { force: true, ..Default::default() };
//! ```
#![deny(missing_docs)]

mod compare;
mod engine;
mod error;
mod filter;
mod location;
mod path;
mod plan;
mod profile;
mod scan;
mod state;
pub mod transport;
mod versions;
mod vocab;

pub use compare::{
    blake3_file, Comparator, CompareMode, CompareOptions, Difference, MtimeRule, Verdict,
};
pub use engine::{
    ActionOutcome, Answer, ConflictOutcome, ConflictQuestion, DeletesQuestion, Engine,
    EngineBuilder, Event, EventSink, Next, Problem, Progress, Prompt, Question, Report, Run,
    RunOptions, RunStatus, StartOptions, DEFAULT_PROMPT_TIMEOUT, EVENT_QUEUE,
};
pub use error::{Error, ErrorKind, Result};
pub use filter::{
    Age, AgeUnit, ByteSize, Decision, Filter, FilterOverrides, FilterSpec, SiblingRule,
};
pub use location::{expand_vars, Location, Scheme};
pub use path::RelPath;
pub use plan::{
    Action, ActionKind, ConflictKind, ContentVerdicts, FolderPlan, Group, Plan, Planner, Reason,
    Resolution, Summary,
};
pub use profile::{
    profiles_from_json, profiles_to_json, ConflictLoser, ConflictPolicy, ConflictRule, CopyOptions,
    DeleteLimit, DeletionMode, Folder, GuardOptions, IfUnavailable, Operation, Profile,
    ProfileStore, SymlinkMode, SyncOptions, VersionsOptions, DEFAULT_CONFLICT_NAME, FORMAT,
};
pub use scan::{scan, Listing, ScanOptions, ScanWarning};
pub use state::{PairInfo, PairKey, RunRecord, StateDb};
pub use versions::{
    CleanReport, RestoreOptions, RestoreReport, Version, Versions, DEFAULT_VERSIONS_FOLDER,
};
pub use vocab::{RunControl, Side, Stamp};

/// The README's examples, compiled and run as doc tests so they never rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
