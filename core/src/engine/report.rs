//! What a run tells its caller: options, events and the final report.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::error::{Error, ErrorKind};
use crate::path::RelPath;
use crate::plan::{Action, ConflictKind, FolderPlan, Resolution, Summary};
use crate::profile::ConflictPolicy;
use crate::vocab::{RunControl, Stamp};

/// Answers the questions a run may ask. Absent methods use the profile's defaults.
pub trait Prompt: Send + Sync {
    /// Whether the deletions planned for this folder may go ahead ("prompt to delete
    /// unmatched files"). Declining keeps every destination file; copies still run.
    fn confirm_deletes(&self, plan: &FolderPlan) -> bool {
        let _ = plan;
        true
    }

    /// How to resolve a two-way conflict whose policy is "prompt": `action` is the conflict
    /// (both sides' size and time in `source` and `destination`). `None` keeps both.
    fn resolve_conflict(&self, folder: &str, action: &Action) -> Option<ConflictPolicy> {
        let _ = (folder, action);
        None
    }
}

/// Receives the events of a run, on engine threads.
pub type EventSink = Arc<dyn Fn(&Event) + Send + Sync>;

/// How one run goes.
#[derive(Clone)]
#[non_exhaustive]
pub struct RunOptions {
    /// Plan and report, change nothing.
    pub dry_run: bool,
    /// Go ahead although a guard objects (mass delete, an empty source; two-way: a side that
    /// looks unmounted, every file of a side changed), and run a disabled profile.
    pub force: bool,
    /// Run only these folders of the profile (by name), enabled or not; empty runs every
    /// enabled folder and reports the disabled ones as skipped.
    pub folders: Vec<String>,
    /// Cancel, pause and resume.
    pub control: RunControl,
    /// Where events go (called on engine threads; keep it quick).
    pub events: Option<EventSink>,
    /// Answers to questions; `None` uses the profile's defaults.
    pub prompt: Option<Arc<dyn Prompt>>,
    /// The shortest time between two progress events.
    pub progress_interval: Duration,
    /// Two-way: forget the state first; the run is then a first run (a union).
    pub resync: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            dry_run: false,
            force: false,
            folders: Vec::new(),
            control: RunControl::new(),
            events: None,
            prompt: None,
            progress_interval: Duration::from_millis(200),
            resync: false,
        }
    }
}

impl fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunOptions")
            .field("dry_run", &self.dry_run)
            .field("force", &self.force)
            .field("folders", &self.folders)
            .field("events", &self.events.is_some())
            .field("prompt", &self.prompt.is_some())
            .finish()
    }
}

impl RunOptions {
    pub(crate) fn emit(&self, event: Event) {
        if let Some(sink) = &self.events {
            sink(&event);
        }
    }
}

/// How far a run is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Progress {
    /// Actions finished.
    pub items_done: u64,
    /// Actions planned.
    pub items_total: u64,
    /// Bytes copied.
    pub bytes_done: u64,
    /// Bytes to copy.
    pub bytes_total: u64,
    /// The item being worked on.
    pub current: Option<String>,
}

/// What became of one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionOutcome {
    /// Done.
    Done,
    /// Not done, on purpose (declined, dry run, still in use); see the warnings.
    Skipped,
    /// Failed; see the errors.
    Failed,
}

impl ActionOutcome {
    /// The kebab-case name used in JSON and by the bindings.
    pub fn name(self) -> &'static str {
        match self {
            ActionOutcome::Done => "done",
            ActionOutcome::Skipped => "skipped",
            ActionOutcome::Failed => "failed",
        }
    }
}

/// A warning or error of a run, with the folder and path it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Problem {
    /// The profile folder concerned.
    pub folder: String,
    /// The path concerned (absolute, or relative to the folder's roots).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The kind of failure ([`ErrorKind::name`]), or [`Problem::DISABLED`] for a folder
    /// skipped because the profile disables it.
    pub kind: &'static str,
    /// One line.
    pub message: String,
}

/// A two-way conflict as a run met it: both sides, and what the run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ConflictOutcome {
    /// The profile folder concerned.
    pub folder: String,
    /// The path, relative to both roots.
    pub path: RelPath,
    /// Which conflict.
    pub kind: ConflictKind,
    /// The source side as planned (absent: deleted there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Stamp>,
    /// The destination side as planned (absent: deleted there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<Stamp>,
    /// What was done; a prompt shows the answer it got ([`Resolution::Skip`] when left
    /// alone).
    #[serde(flatten)]
    pub resolution: Resolution,
    /// "Keep both", or a winner with `conflict-loser: rename`: the name the older version (the
    /// loser) got, on both sides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict_copy: Option<RelPath>,
    /// Whether it was carried out (false: it failed, see the errors).
    pub resolved: bool,
}

impl Problem {
    /// The [`Problem::kind`] of a folder skipped because the profile disables it.
    pub const DISABLED: &'static str = "disabled";

    pub(crate) fn from_error(folder: &str, err: &Error) -> Problem {
        Problem {
            folder: folder.to_string(),
            path: err.path().map(|p| p.display().to_string()),
            kind: err.kind().name(),
            message: err.message().to_string(),
        }
    }

    pub(crate) fn note(
        folder: &str,
        path: Option<String>,
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> Problem {
        Problem {
            folder: folder.to_string(),
            path,
            kind: kind.name(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "[{}] {}: {}", self.folder, p, self.message),
            None => write!(f, "[{}] {}", self.folder, self.message),
        }
    }
}

/// Something that happened during a run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case", tag = "event")]
#[non_exhaustive]
pub enum Event {
    /// The run planned its work and starts.
    Started {
        /// The profile.
        profile: String,
        /// What is to be done.
        summary: Summary,
    },
    /// A folder pair starts.
    FolderStarted {
        /// Its name.
        folder: String,
    },
    /// Progress (throttled).
    Progress(Progress),
    /// An action finished.
    ActionDone {
        /// The folder.
        folder: String,
        /// The action.
        action: Action,
        /// How it went.
        outcome: ActionOutcome,
    },
    /// A warning.
    Warning(Problem),
    /// A per-file error; the run goes on.
    Error(Problem),
    /// The run ended.
    Finished(Box<Report>),
    /// A started run ([`Run`](crate::Run)) asks whether the deletions of a folder may go
    /// ahead (`copy.confirm-deletes`); answer with [`Answer::Deletes`](crate::Answer). Only a
    /// started run sends it: [`Engine::run`](crate::Engine::run) asks its [`Prompt`] directly.
    ConfirmDeletes(DeletesQuestion),
    /// A started run asks how to resolve a two-way conflict whose policy is "prompt"; answer
    /// with [`Answer::Conflict`](crate::Answer). Only a started run sends it.
    ConflictPrompt(ConflictQuestion),
}

impl Event {
    /// The kebab-case name used in JSON (its `"event"` key) and by the bindings.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Started { .. } => "started",
            Event::FolderStarted { .. } => "folder-started",
            Event::Progress(_) => "progress",
            Event::ActionDone { .. } => "action-done",
            Event::Warning(_) => "warning",
            Event::Error(_) => "error",
            Event::Finished(_) => "finished",
            Event::ConfirmDeletes(_) => "confirm-deletes",
            Event::ConflictPrompt(_) => "conflict-prompt",
        }
    }

    /// The id of the question a [`Event::ConfirmDeletes`] or [`Event::ConflictPrompt`] asks,
    /// for [`Run::answer`](crate::Run::answer); `None` for other events.
    pub fn prompt_id(&self) -> Option<u64> {
        match self {
            Event::ConfirmDeletes(q) => Some(q.prompt_id),
            Event::ConflictPrompt(q) => Some(q.prompt_id),
            _ => None,
        }
    }
}

/// The question of an [`Event::ConfirmDeletes`]: may these deletions go ahead?
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct DeletesQuestion {
    /// The id to answer with.
    pub prompt_id: u64,
    /// The profile folder concerned.
    pub folder: String,
    /// Its destination, as shown to people.
    pub destination: String,
    /// How many entries would be deleted (`paths.len()`).
    pub deletions: u64,
    /// How many bytes they hold.
    pub bytes_to_delete: u64,
    /// The entries that would be deleted, relative to the folder's roots: those the other
    /// side does not have (declining keeps them; every other action still runs).
    pub paths: Vec<RelPath>,
}

/// The question of an [`Event::ConflictPrompt`]: how to resolve this two-way conflict?
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ConflictQuestion {
    /// The id to answer with.
    pub prompt_id: u64,
    /// The profile folder concerned.
    pub folder: String,
    /// The conflict, as in the plan: its path, kind (in [`Action::reason`]) and both sides'
    /// size and time.
    pub action: Action,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// Everything done.
    Ok,
    /// Done, but some items failed (see the errors).
    Errors,
    /// Done, but folders were skipped as unavailable under the "warning" policy (see the
    /// skipped folders and the warnings); no item failed.
    Incomplete,
    /// Stopped by the caller.
    Cancelled,
}

impl RunStatus {
    /// The kebab-case name used in JSON and by the bindings.
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::Errors => "errors",
            RunStatus::Incomplete => "incomplete",
            RunStatus::Cancelled => "cancelled",
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Report {
    /// The profile.
    pub profile: String,
    /// How it ended.
    pub status: RunStatus,
    /// Whether it was a dry run (nothing changed).
    pub dry_run: bool,
    /// What was done (for a dry run: what would have been).
    pub done: Summary,
    /// Bytes actually written.
    pub bytes_written: u64,
    /// Actions that failed.
    pub failed: u64,
    /// Folders skipped, with the reason: unavailable ones (kind `unavailable`; under the
    /// "warning" policy also in the warnings) and those the profile disables (kind
    /// [`Problem::DISABLED`]).
    pub skipped_folders: Vec<Problem>,
    /// Warnings.
    pub warnings: Vec<Problem>,
    /// Per-file errors.
    pub errors: Vec<Problem>,
    /// Two-way conflicts met by the run and what was done about each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<ConflictOutcome>,
    /// Wall time.
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl Report {
    pub(crate) fn new(profile: &str, dry_run: bool) -> Report {
        Report {
            profile: profile.to_string(),
            status: RunStatus::Ok,
            dry_run,
            done: Summary::default(),
            bytes_written: 0,
            failed: 0,
            skipped_folders: Vec::new(),
            warnings: Vec::new(),
            errors: Vec::new(),
            conflicts: Vec::new(),
            duration: Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ActionKind;
    use crate::vocab::{EntryKind, Side};

    fn action() -> Action {
        Action {
            kind: ActionKind::Conflict,
            path: RelPath::new("f.txt").unwrap(),
            entry: EntryKind::File,
            reason: crate::plan::Reason::Conflict(ConflictKind::BothChanged),
            size: 1,
            source: None,
            destination: None,
            to: Side::Destination,
            from: None,
            resolution: None,
        }
    }

    /// Issue 11, item 6: the bindings take event, status and outcome names from `name()`,
    /// which must say what the JSON says.
    #[test]
    fn names_match_the_json_form() {
        let problem = Problem::note("f", None, ErrorKind::Io, "m");
        let events = [
            Event::Started {
                profile: "p".into(),
                summary: Summary::default(),
            },
            Event::FolderStarted { folder: "f".into() },
            Event::Progress(Progress::default()),
            Event::ActionDone {
                folder: "f".into(),
                action: action(),
                outcome: ActionOutcome::Done,
            },
            Event::Warning(problem.clone()),
            Event::Error(problem),
            Event::Finished(Box::new(Report::new("p", false))),
            Event::ConfirmDeletes(DeletesQuestion {
                prompt_id: 1,
                folder: "f".into(),
                destination: "/d".into(),
                deletions: 1,
                bytes_to_delete: 1,
                paths: vec![RelPath::new("x").unwrap()],
            }),
            Event::ConflictPrompt(ConflictQuestion {
                prompt_id: 2,
                folder: "f".into(),
                action: action(),
            }),
        ];
        for e in &events {
            let json = serde_json::to_value(e).unwrap();
            assert_eq!(json["event"], e.name(), "{json}");
            assert_eq!(json["prompt-id"].as_u64(), e.prompt_id(), "{json}");
        }
        for o in [
            ActionOutcome::Done,
            ActionOutcome::Skipped,
            ActionOutcome::Failed,
        ] {
            assert_eq!(serde_json::to_value(o).unwrap(), o.name());
        }
        for s in [
            RunStatus::Ok,
            RunStatus::Errors,
            RunStatus::Incomplete,
            RunStatus::Cancelled,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.name());
        }
    }
}
