//! `Engine`, `Run` (a run on a Rust thread, seen from Python as an iterator of events),
//! `Event`, `Conflict` (the question of a conflict prompt), `Report` and `Problem`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use ferrysync::{
    ActionKind, ConflictPolicy, EventSink, FolderPlan, Reason, RunControl, RunOptions,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyList, PyString};

use crate::convert;
use crate::errors::{self, IntoPyResult};
use crate::plan::{stamp, Action, Plan, Stamp};
use crate::profile::Profile;

/// Events waiting for Python before the engine waits too. Progress events are dropped when
/// the channel is full (the next one says the same, later); the others wait.
const CHANNEL_CAPACITY: usize = 1024;

/// How often a waiting Python thread checks for signals (Ctrl-C).
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// What the run thread tells the Python side.
enum Msg {
    Event(ferrysync::Event),
    Confirm {
        id: u64,
        folder: String,
        paths: Vec<String>,
    },
    Conflict {
        id: u64,
        folder: String,
        action: ferrysync::Action,
    },
}

/// An answer to a prompt: yes or no to a confirm-deletes prompt, a policy (`None`: keep
/// both) to a conflict prompt.
#[derive(Debug, Clone, Copy)]
enum Answer {
    Yes(bool),
    Policy(Option<ConflictPolicy>),
}

impl Answer {
    /// What a conflict callback or `Run.answer` gave for a conflict: a policy name or `None`.
    fn policy(value: &Bound<'_, PyAny>) -> PyResult<Answer> {
        if value.is_none() {
            return Ok(Answer::Policy(None));
        }
        let name = value.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "a conflict is answered with a policy name or None, not {}",
                value
                    .get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        let name = name.to_cow()?;
        let invalid = |msg: String| {
            errors::to_py(ferrysync::Error::new(
                ferrysync::ErrorKind::InvalidInput,
                msg,
            ))
        };
        match name.parse::<ConflictPolicy>() {
            Ok(ConflictPolicy::Prompt) => Err(invalid(
                "\"prompt\" cannot answer a conflict prompt".to_owned(),
            )),
            Ok(policy) => Ok(Answer::Policy(Some(policy))),
            Err(msg) => Err(invalid(msg)),
        }
    }
}

/// Which prompt: it says which answers fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Question {
    ConfirmDeletes,
    Conflict,
}

/// Prompts asked and not yet taken back by the run, with their answers once given.
#[derive(Default)]
struct Answers {
    pending: Mutex<HashMap<u64, (Question, Option<Answer>)>>,
    wake: Condvar,
}

impl Answers {
    fn ask(&self, id: u64, question: Question) {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, (question, None));
    }

    /// Answers prompt `id`; a prompt no longer waiting (answered, timed out) ignores it.
    fn give(&self, id: u64, answer: Answer) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, slot @ None)) = pending.get_mut(&id) {
            *slot = Some(answer);
            self.wake.notify_all();
        }
    }

    /// The question of prompt `id`, while it waits.
    fn question(&self, id: u64) -> Option<Question> {
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.get(&id).map(|(q, _)| *q)
    }
}

/// The run's [`ferrysync::Prompt`]: sends a confirm-deletes or conflict event, then waits for
/// [`Run::answer`] until the timeout, then takes the default (deletions: `default`;
/// conflicts: keep both). A cancelled run declines deletions and skips conflicts.
struct ChannelPrompt {
    tx: Sender<Msg>,
    next: AtomicU64,
    answers: Arc<Answers>,
    timeout: Duration,
    default: bool,
    control: RunControl,
}

/// How waiting for an answer ended.
enum Waited {
    Answered(Answer),
    TimedOut,
    Cancelled,
}

impl ChannelPrompt {
    /// Sends the prompt `msg` made for a new id and waits for its answer.
    fn ask(&self, question: Question, msg: impl FnOnce(u64) -> Msg) -> Waited {
        let id = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        self.answers.ask(id, question);
        let waited = if self.tx.send(msg(id)).is_err() {
            Waited::TimedOut
        } else {
            self.wait(id)
        };
        self.answers
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        waited
    }

    fn wait(&self, id: u64) -> Waited {
        let deadline = Instant::now().checked_add(self.timeout);
        let mut pending = self
            .answers
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some((_, Some(answer))) = pending.get(&id) {
                return Waited::Answered(*answer);
            }
            if self.control.is_cancelled() {
                return Waited::Cancelled;
            }
            let wait = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left.min(SIGNAL_CHECK),
                    _ => return Waited::TimedOut,
                },
                None => SIGNAL_CHECK,
            };
            pending = self
                .answers
                .wake
                .wait_timeout(pending, wait)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

impl ferrysync::Prompt for ChannelPrompt {
    fn confirm_deletes(&self, plan: &FolderPlan) -> bool {
        let paths = plan
            .actions
            .iter()
            .filter(|a| a.kind == ActionKind::Delete && a.reason == Reason::Unmatched)
            .map(|a| a.path.to_string())
            .collect();
        let msg = |id| Msg::Confirm {
            id,
            folder: plan.folder.clone(),
            paths,
        };
        match self.ask(Question::ConfirmDeletes, msg) {
            Waited::Answered(Answer::Yes(yes)) => yes,
            Waited::Answered(Answer::Policy(_)) | Waited::TimedOut => self.default,
            Waited::Cancelled => false,
        }
    }

    fn resolve_conflict(&self, folder: &str, action: &ferrysync::Action) -> Option<ConflictPolicy> {
        let msg = |id| Msg::Conflict {
            id,
            folder: folder.to_owned(),
            action: action.clone(),
        };
        match self.ask(Question::Conflict, msg) {
            Waited::Answered(Answer::Policy(policy)) => policy,
            Waited::Answered(Answer::Yes(_)) | Waited::TimedOut => None,
            // Nothing more should change in a cancelled run.
            Waited::Cancelled => Some(ConflictPolicy::Skip),
        }
    }
}

/// Runs profiles. One engine may run several profiles at once from different threads.
#[pyclass(module = "ferrysync._native", frozen)]
pub struct Engine {
    inner: ferrysync::Engine,
}

fn options(dry_run: bool, force: bool, folders: Option<Vec<String>>, resync: bool) -> RunOptions {
    RunOptions {
        dry_run,
        force,
        folders: folders.unwrap_or_default(),
        resync,
        ..RunOptions::default()
    }
}

#[pymethods]
impl Engine {
    /// An engine; `threads` sets the workers of profiles that do not set their own.
    #[new]
    #[pyo3(signature = (threads = None))]
    fn new(threads: Option<usize>) -> Engine {
        let mut inner = ferrysync::Engine::new();
        if let Some(n) = threads {
            inner = inner.with_threads(n);
        }
        Engine { inner }
    }

    /// The preview: what running `profile` would do now (of `folders` only, when given;
    /// with `resync`, a two-way plan ignores the state database, as a first run).
    #[pyo3(signature = (profile, *, folders = None, resync = false))]
    fn plan(
        &self,
        py: Python<'_>,
        profile: &Profile,
        folders: Option<Vec<String>>,
        resync: bool,
    ) -> PyResult<Plan> {
        let opts = options(false, false, folders, resync);
        let plan = py
            .detach(|| self.inner.plan_with(&profile.inner, &opts))
            .py()?;
        Ok(Plan {
            inner: Arc::new(plan),
        })
    }

    /// Runs `profile` and returns its report. `progress` is called with every event on
    /// this thread; `confirm` answers confirm-deletes prompts (without it deletions go
    /// ahead); `conflict` resolves two-way conflicts whose policy is "prompt": it gets a
    /// `Conflict` and returns a policy name, or `None` to keep both (also what happens
    /// without it). `resync` makes a two-way run a first run again. Ctrl-C cancels the run,
    /// waits for it to stop cleanly and raises; so does an exception in a callback.
    #[pyo3(signature = (profile, progress = None, *, dry_run = false, force = false, folders = None, confirm = None, conflict = None, resync = false))]
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        py: Python<'_>,
        profile: &Profile,
        progress: Option<Bound<'_, PyAny>>,
        dry_run: bool,
        force: bool,
        folders: Option<Vec<String>>,
        confirm: Option<Bound<'_, PyAny>>,
        conflict: Option<Bound<'_, PyAny>>,
        resync: bool,
    ) -> PyResult<Report> {
        let prompt = (confirm.is_some() || conflict.is_some()).then_some((None, true));
        let run = Run::start(
            &self.inner,
            &profile.inner,
            options(dry_run, force, folders, resync),
            prompt,
        );
        while let Some(msg) = run.next_msg(py)? {
            let handled = (|| -> PyResult<()> {
                let prompt = match &msg {
                    Msg::Confirm { id, .. } => Some((*id, Question::ConfirmDeletes)),
                    Msg::Conflict { id, .. } => Some((*id, Question::Conflict)),
                    Msg::Event(_) => None,
                };
                let event = run.deliver(py, msg)?;
                match (prompt, &progress) {
                    (Some((id, Question::ConfirmDeletes)), _) => {
                        let yes = match &confirm {
                            Some(confirm) => confirm.call1((event,))?.is_truthy()?,
                            None => true,
                        };
                        run.answers.give(id, Answer::Yes(yes));
                    }
                    (Some((id, Question::Conflict)), _) => {
                        let answer = match (&conflict, &event.conflict) {
                            (Some(resolve), Some(c)) => {
                                Answer::policy(&resolve.call1((c.clone_ref(py),))?)?
                            }
                            _ => Answer::Policy(None),
                        };
                        run.answers.give(id, answer);
                    }
                    (None, Some(progress)) => {
                        progress.call1((event,))?;
                    }
                    (None, None) => {}
                }
                Ok(())
            })();
            if let Err(e) = handled {
                run.stop(py);
                return Err(e);
            }
        }
        run.report()
    }

    /// Starts `profile` on a background thread. The returned `Run` is an iterator of events
    /// and a context manager. Prompts wait `prompt_timeout` seconds (`None`: for ever) for
    /// `Run.answer`; then confirm-deletes prompts take `prompt_default` and conflict prompts
    /// keep both versions.
    #[pyo3(signature = (profile, *, dry_run = false, force = false, folders = None, prompt_timeout = Some(60.0), prompt_default = false, resync = false))]
    #[allow(clippy::too_many_arguments)]
    fn start(
        &self,
        profile: &Profile,
        dry_run: bool,
        force: bool,
        folders: Option<Vec<String>>,
        prompt_timeout: Option<f64>,
        prompt_default: bool,
        resync: bool,
    ) -> PyResult<Run> {
        let timeout = match prompt_timeout {
            None => None,
            Some(s) => Some(Duration::try_from_secs_f64(s).map_err(|_| {
                pyo3::exceptions::PyValueError::new_err("prompt_timeout: not a valid duration")
            })?),
        };
        Ok(Run::start(
            &self.inner,
            &profile.inner,
            options(dry_run, force, folders, resync),
            Some((timeout, prompt_default)),
        ))
    }

    /// Forgets the two-way state of the profile's folder pairs: the next run is a first run,
    /// a union that deletes nothing. Raises `InvalidInputError` for a profile that is not
    /// two-way, `BusyError` while a run synchronizes one of its pairs.
    fn clear_state(&self, py: Python<'_>, profile: &Profile) -> PyResult<()> {
        py.detach(|| self.inner.clear_state(&profile.inner)).py()
    }

    /// Records both sides of the profile's folder pairs as they are now as in sync: paths
    /// equal on both sides form the new state; paths that differ are left out (the next run
    /// sees them as created on both sides). Returns the number of entries recorded.
    fn reset_state(&self, py: Python<'_>, profile: &Profile) -> PyResult<u64> {
        py.detach(|| self.inner.reset_state(&profile.inner)).py()
    }

    fn __repr__(&self) -> String {
        "Engine()".to_owned()
    }
}

type Outcome = ferrysync::Result<ferrysync::Report>;

/// A run in progress: iterate it for its events; `wait()` for the report.
#[pyclass(module = "ferrysync._native", frozen)]
pub struct Run {
    rx: Receiver<Msg>,
    control: RunControl,
    answers: Arc<Answers>,
    prompt_default: bool,
    thread: Mutex<Option<JoinHandle<Outcome>>>,
    outcome: Mutex<Option<Outcome>>,
}

impl Drop for Run {
    fn drop(&mut self) {
        // Nobody can see this run any more: stop it (the channel closes with `rx`).
        if self
            .thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
        {
            self.control.cancel();
        }
    }
}

impl Run {
    /// Starts the run thread; `prompt` is `(timeout, default)` when prompts are answered.
    fn start(
        engine: &ferrysync::Engine,
        profile: &ferrysync::Profile,
        mut opts: RunOptions,
        prompt: Option<(Option<Duration>, bool)>,
    ) -> Run {
        let (tx, rx) = crossbeam_channel::bounded(CHANNEL_CAPACITY);
        let answers = Arc::new(Answers::default());
        let sink_tx = tx.clone();
        let sink: EventSink = Arc::new(move |event: &ferrysync::Event| {
            let msg = Msg::Event(event.clone());
            let _ = match event {
                ferrysync::Event::Progress(_) => sink_tx.try_send(msg).map_err(|_| ()),
                _ => sink_tx.send(msg).map_err(|_| ()),
            };
        });
        opts.events = Some(sink);
        let mut prompt_default = false;
        if let Some((timeout, default)) = prompt {
            prompt_default = default;
            opts.prompt = Some(Arc::new(ChannelPrompt {
                tx: tx.clone(),
                next: AtomicU64::new(0),
                answers: answers.clone(),
                timeout: timeout.unwrap_or(Duration::MAX),
                default,
                control: opts.control.clone(),
            }));
        }
        drop(tx);
        let control = opts.control.clone();
        let engine = engine.clone();
        let profile = profile.clone();
        let thread = std::thread::Builder::new()
            .name("ferrysync-run".into())
            .spawn(move || engine.run(&profile, &opts));
        let (thread, outcome) = match thread {
            Ok(t) => (Some(t), None),
            Err(e) => (None, Some(Err(ferrysync::Error::io("", e)))),
        };
        Run {
            rx,
            control,
            answers,
            prompt_default,
            thread: Mutex::new(thread),
            outcome: Mutex::new(outcome),
        }
    }

    /// The next message, waiting without the GIL and checking for signals; `None` once the
    /// run is over (and joined). On a signal the run is stopped before the error returns.
    fn next_msg(&self, py: Python<'_>) -> PyResult<Option<Msg>> {
        loop {
            match py.detach(|| self.rx.recv_timeout(SIGNAL_CHECK)) {
                Ok(msg) => return Ok(Some(msg)),
                Err(RecvTimeoutError::Timeout) => {
                    if let Err(e) = py.check_signals() {
                        self.stop(py);
                        return Err(e);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.join(py);
                    return Ok(None);
                }
            }
        }
    }

    /// Cancels, lets the run stop cleanly (its events are dropped) and joins it.
    fn stop(&self, py: Python<'_>) {
        self.control.cancel();
        py.detach(|| while self.rx.recv().is_ok() {});
        self.join(py);
    }

    fn join(&self, py: Python<'_>) {
        py.detach(|| {
            let handle = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(handle) = handle {
                let outcome = handle.join().unwrap_or_else(|_| {
                    Err(ferrysync::Error::new(
                        ferrysync::ErrorKind::Io,
                        "the run thread panicked",
                    ))
                });
                *self.outcome.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
            }
        });
    }

    /// The report of a finished run, or its error.
    fn report(&self) -> PyResult<Report> {
        match &*self.outcome.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(Ok(report)) => Ok(Report {
                inner: report.clone(),
            }),
            Some(Err(e)) => Err(errors::to_py(errors::copy(e))),
            None => Err(pyo3::exceptions::PyRuntimeError::new_err(
                "the run has not finished",
            )),
        }
    }

    /// The message as an `Event`, logging warnings and errors to the `ferrysync` logger.
    fn deliver(&self, py: Python<'_>, msg: Msg) -> PyResult<Event> {
        let event = Event::new(py, msg)?;
        if let Some(problem) = &event.problem {
            let level = if event.kind == "warning" {
                "warning"
            } else {
                "error"
            };
            py.import("logging")?
                .call_method1("getLogger", ("ferrysync",))?
                .call_method1(level, ("%s", problem.get().to_string()))?;
        }
        Ok(event)
    }
}

#[pymethods]
impl Run {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// The next event; at the end, the run's error is raised if it failed.
    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Event>> {
        match self.next_msg(py)? {
            Some(msg) => self.deliver(py, msg).map(Some),
            None => self.report().map(|_| None),
        }
    }

    /// Waits for the end (receiving the events nobody iterated: warnings are logged,
    /// prompts take the default) and returns the report; raises the run's error.
    fn wait(&self, py: Python<'_>) -> PyResult<Report> {
        while let Some(msg) = self.next_msg(py)? {
            match &msg {
                Msg::Confirm { id, .. } => self.answers.give(*id, Answer::Yes(self.prompt_default)),
                Msg::Conflict { id, .. } => self.answers.give(*id, Answer::Policy(None)),
                Msg::Event(_) => {}
            }
            self.deliver(py, msg)?;
        }
        self.report()
    }

    /// Stops the run at the next item; nothing half-written is left behind.
    fn cancel(&self) {
        self.control.cancel();
    }

    /// Holds the workers before their next item.
    fn pause(&self) {
        self.control.pause();
    }

    /// Lets a paused run go on.
    fn resume(&self) {
        self.control.resume();
    }

    /// Answers the prompt `prompt_id` (from its event): a confirm-deletes prompt with a
    /// bool, a conflict prompt with a policy name (`"newer"`, `"source"`, `"skip"`...) or
    /// `None` to keep both. A prompt no longer waiting (answered, timed out) ignores it.
    fn answer(&self, prompt_id: u64, answer: &Bound<'_, PyAny>) -> PyResult<()> {
        let answer = match self.answers.question(prompt_id) {
            None => return Ok(()),
            Some(Question::Conflict) => Answer::policy(answer)?,
            Some(Question::ConfirmDeletes) => match answer.cast::<PyBool>() {
                Ok(yes) => Answer::Yes(yes.is_true()),
                Err(_) => {
                    return Err(PyTypeError::new_err(format!(
                        "prompt {prompt_id} confirms deletions: answer it with True or False"
                    )))
                }
            },
        };
        self.answers.give(prompt_id, answer);
        Ok(())
    }

    /// Whether the run is over (its thread joined).
    #[getter]
    fn finished(&self) -> bool {
        self.outcome
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// Whether `pause()` holds the run.
    #[getter]
    fn paused(&self) -> bool {
        self.control.is_paused()
    }

    /// Whether `cancel()` was called.
    #[getter]
    fn cancelled(&self) -> bool {
        self.control.is_cancelled()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Cancels the run if it is still going and waits for it to stop.
    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: Option<Bound<'_, PyAny>>,
        _exc: Option<Bound<'_, PyAny>>,
        _tb: Option<Bound<'_, PyAny>>,
    ) -> bool {
        if !self.finished() {
            self.stop(py);
        }
        false
    }
}

/// Something that happened during a run. `kind` says what; the other fields are set for the
/// kinds they belong to and `None` otherwise.
#[pyclass(module = "ferrysync._native", frozen, get_all)]
pub struct Event {
    /// `started`, `folder-started`, `progress`, `action-done`, `warning`, `error`,
    /// `finished`, `confirm-deletes` or `conflict-prompt`.
    kind: String,
    /// started: the profile.
    profile: Option<String>,
    /// started: what is to be done (snake_case keys).
    summary: Option<Py<PyAny>>,
    /// folder-started, action-done, confirm-deletes, conflict-prompt: the folder pair.
    folder: Option<String>,
    /// progress: actions finished.
    items_done: Option<u64>,
    /// progress: actions planned.
    items_total: Option<u64>,
    /// progress: bytes copied.
    bytes_done: Option<u64>,
    /// progress: bytes to copy.
    bytes_total: Option<u64>,
    /// progress: the item being worked on.
    current: Option<String>,
    /// action-done: the action.
    action: Option<Py<Action>>,
    /// action-done: `done`, `skipped` or `failed`.
    outcome: Option<String>,
    /// warning, error: what went wrong.
    problem: Option<Py<Problem>>,
    /// finished: the report.
    report: Option<Py<Report>>,
    /// confirm-deletes, conflict-prompt: the id to pass to `Run.answer`.
    prompt_id: Option<u64>,
    /// confirm-deletes: the destination paths that would be deleted.
    paths: Option<Vec<String>>,
    /// conflict-prompt: the conflict to resolve.
    conflict: Option<Py<Conflict>>,
}

impl Event {
    fn new(py: Python<'_>, msg: Msg) -> PyResult<Event> {
        use ferrysync::Event as E;
        let mut ev = Event {
            kind: String::new(),
            profile: None,
            summary: None,
            folder: None,
            items_done: None,
            items_total: None,
            bytes_done: None,
            bytes_total: None,
            current: None,
            action: None,
            outcome: None,
            problem: None,
            report: None,
            prompt_id: None,
            paths: None,
            conflict: None,
        };
        let event = match msg {
            Msg::Confirm { id, folder, paths } => {
                ev.kind = "confirm-deletes".into();
                ev.folder = Some(folder);
                ev.prompt_id = Some(id);
                ev.paths = Some(paths);
                return Ok(ev);
            }
            Msg::Conflict { id, folder, action } => {
                ev.kind = "conflict-prompt".into();
                ev.prompt_id = Some(id);
                ev.conflict = Some(Py::new(
                    py,
                    Conflict {
                        prompt_id: id,
                        action: Action::new(&folder, &action),
                        folder: folder.clone(),
                        inner: action,
                    },
                )?);
                ev.folder = Some(folder);
                return Ok(ev);
            }
            Msg::Event(event) => event,
        };
        ev.kind = serde_json::to_value(&event)
            .ok()
            .and_then(|v| v.get("event")?.as_str().map(str::to_owned))
            .unwrap_or_default();
        match event {
            E::Started { profile, summary } => {
                ev.profile = Some(profile);
                ev.summary = Some(convert::serialized(py, &summary)?.unbind());
            }
            E::FolderStarted { folder } => ev.folder = Some(folder),
            E::Progress(p) => {
                ev.items_done = Some(p.items_done);
                ev.items_total = Some(p.items_total);
                ev.bytes_done = Some(p.bytes_done);
                ev.bytes_total = Some(p.bytes_total);
                ev.current = p.current;
            }
            E::ActionDone {
                folder,
                action,
                outcome,
            } => {
                ev.action = Some(Py::new(py, Action::new(&folder, &action))?);
                ev.folder = Some(folder);
                ev.outcome = serde_json::to_value(outcome)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned));
            }
            E::Warning(p) | E::Error(p) => {
                ev.folder = Some(p.folder.clone());
                ev.problem = Some(Py::new(py, Problem { inner: p })?);
            }
            E::Finished(report) => {
                ev.report = Some(Py::new(py, Report { inner: *report })?);
            }
        }
        Ok(ev)
    }
}

#[pymethods]
impl Event {
    fn __repr__(&self) -> String {
        match (&self.folder, self.items_done, self.items_total) {
            (_, Some(done), Some(total)) => {
                format!("Event(kind={:?}, items={done}/{total})", self.kind)
            }
            (Some(folder), _, _) => format!("Event(kind={:?}, folder={folder:?})", self.kind),
            _ => format!("Event(kind={:?})", self.kind),
        }
    }
}

/// A two-way conflict the run asks about (policy "prompt"): both sides changed the path.
#[pyclass(module = "ferrysync._native", frozen)]
pub struct Conflict {
    prompt_id: u64,
    folder: String,
    inner: ferrysync::Action,
    action: Action,
}

#[pymethods]
impl Conflict {
    /// The id of the prompt, for `Run.answer`.
    #[getter]
    fn prompt_id(&self) -> u64 {
        self.prompt_id
    }

    /// The folder pair (its name in the profile).
    #[getter]
    fn folder(&self) -> &str {
        &self.folder
    }

    /// The path, relative to both roots, `/`-separated.
    #[getter]
    fn path(&self) -> String {
        self.inner.path.to_string()
    }

    /// `both-changed`, `both-created`, `changed-deleted` or `kind-changed`.
    #[getter]
    fn kind(&self) -> Option<String> {
        serde_json::to_value(self.inner.reason)
            .ok()?
            .get("detail")?
            .as_str()
            .map(str::to_owned)
    }

    /// `file`, `dir`, `symlink` or `special`.
    #[getter]
    fn entry(&self) -> Option<String> {
        serde_json::to_value(self.inner.entry)
            .ok()?
            .as_str()
            .map(str::to_owned)
    }

    /// The source's version (`None` when the source deleted it).
    #[getter]
    fn source(&self) -> Option<Stamp> {
        stamp(&self.inner.source)
    }

    /// The destination's version (`None` when the destination deleted it).
    #[getter]
    fn destination(&self) -> Option<Stamp> {
        stamp(&self.inner.destination)
    }

    /// The conflict as the plan's action.
    #[getter]
    fn action(&self) -> Action {
        self.action.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "Conflict(folder={:?}, path={:?}, kind={:?})",
            self.folder,
            self.path(),
            self.kind().unwrap_or_default()
        )
    }
}

/// What a run did.
#[pyclass(module = "ferrysync._native", frozen)]
pub struct Report {
    inner: ferrysync::Report,
}

fn problems<'py>(py: Python<'py>, list: &[ferrysync::Problem]) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, list.iter().map(|p| Problem { inner: p.clone() }))
}

#[pymethods]
impl Report {
    /// The profile.
    #[getter]
    fn profile(&self) -> &str {
        &self.inner.profile
    }

    /// `ok`, `errors`, `incomplete` (a folder skipped as unavailable) or `cancelled`.
    #[getter]
    fn status(&self) -> Option<String> {
        serde_json::to_value(self.inner.status)
            .ok()?
            .as_str()
            .map(str::to_owned)
    }

    /// The `ferry` exit code: 0 ok, 1 finished with errors, 4 incomplete, 130 cancelled.
    #[getter]
    fn exit_code(&self) -> i32 {
        self.inner.exit_code()
    }

    /// Whether it was a dry run (nothing changed).
    #[getter]
    fn dry_run(&self) -> bool {
        self.inner.dry_run
    }

    /// What was done (snake_case keys: `new_files`, `bytes_to_copy`...).
    #[getter]
    fn done<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::serialized(py, &self.inner.done)
    }

    /// Bytes actually written.
    #[getter]
    fn bytes_written(&self) -> u64 {
        self.inner.bytes_written
    }

    /// Actions that failed.
    #[getter]
    fn failed(&self) -> u64 {
        self.inner.failed
    }

    /// Folders skipped, with the reason.
    #[getter]
    fn skipped_folders<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        problems(py, &self.inner.skipped_folders)
    }

    /// Warnings.
    #[getter]
    fn warnings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        problems(py, &self.inner.warnings)
    }

    /// Per-file errors.
    #[getter]
    fn errors<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        problems(py, &self.inner.errors)
    }

    /// Wall time, a `datetime.timedelta`.
    #[getter]
    fn duration<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::timedelta(py, self.inner.duration)
    }

    /// The report as pretty JSON.
    fn to_json(&self) -> PyResult<String> {
        convert::pretty(&self.inner)
    }

    fn __repr__(&self) -> String {
        format!(
            "Report(profile={:?}, status={:?}, errors={}, warnings={})",
            self.inner.profile,
            self.status().unwrap_or_default(),
            self.inner.errors.len(),
            self.inner.warnings.len()
        )
    }
}

/// A warning or error of a run.
#[pyclass(module = "ferrysync._native", frozen)]
pub struct Problem {
    inner: ferrysync::Problem,
}

#[pymethods]
impl Problem {
    /// The profile folder concerned.
    #[getter]
    fn folder(&self) -> &str {
        &self.inner.folder
    }

    /// The path concerned, when there is one.
    #[getter]
    fn path(&self) -> Option<&str> {
        self.inner.path.as_deref()
    }

    /// The kind of failure: `not-found`, `permission-denied`, `io`...
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.kind
    }

    /// One line.
    #[getter]
    fn message(&self) -> &str {
        &self.inner.message
    }

    fn __str__(&self) -> String {
        self.inner.to_string()
    }

    fn __repr__(&self) -> String {
        format!(
            "Problem(kind={:?}, folder={:?}, path={:?}, message={:?})",
            self.inner.kind, self.inner.folder, self.inner.path, self.inner.message
        )
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}
