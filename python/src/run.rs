//! `Engine`, `Run` (a run on a Rust thread, seen from Python as an iterator of events),
//! `Event`, `Report` and `Problem`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use ferrysync::{ActionKind, EventSink, FolderPlan, Reason, RunControl, RunOptions};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::convert;
use crate::errors::{self, IntoPyResult};
use crate::plan::{Action, Plan};
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
}

/// Answers to confirm-deletes prompts, by prompt id.
#[derive(Default)]
struct Answers {
    given: Mutex<HashMap<u64, bool>>,
    wake: Condvar,
}

impl Answers {
    fn give(&self, id: u64, yes: bool) {
        self.given
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, yes);
        self.wake.notify_all();
    }
}

/// The run's [`ferrysync::Prompt`]: sends a confirm-deletes event, then waits for
/// [`Run::answer`] until the timeout, then takes the default. A cancelled run declines.
struct ChannelPrompt {
    tx: Sender<Msg>,
    next: AtomicU64,
    answers: Arc<Answers>,
    timeout: Duration,
    default: bool,
    control: RunControl,
}

impl ferrysync::Prompt for ChannelPrompt {
    fn confirm_deletes(&self, plan: &FolderPlan) -> bool {
        let id = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        let paths = plan
            .actions
            .iter()
            .filter(|a| a.kind == ActionKind::Delete && a.reason == Reason::Unmatched)
            .map(|a| a.path.to_string())
            .collect();
        let msg = Msg::Confirm {
            id,
            folder: plan.folder.clone(),
            paths,
        };
        if self.tx.send(msg).is_err() {
            return self.default;
        }
        let deadline = Instant::now().checked_add(self.timeout);
        let mut given = self.answers.given.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(yes) = given.remove(&id) {
                return yes;
            }
            if self.control.is_cancelled() {
                return false;
            }
            let wait = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left.min(SIGNAL_CHECK),
                    _ => return self.default,
                },
                None => SIGNAL_CHECK,
            };
            given = self
                .answers
                .wake
                .wait_timeout(given, wait)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

/// Runs profiles. One engine may run several profiles at once from different threads.
#[pyclass(module = "ferrysync._native", frozen)]
pub struct Engine {
    inner: ferrysync::Engine,
}

fn options(dry_run: bool, force: bool, folders: Option<Vec<String>>) -> RunOptions {
    RunOptions {
        dry_run,
        force,
        folders: folders.unwrap_or_default(),
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

    /// The preview: what running `profile` would do now (of `folders` only, when given).
    #[pyo3(signature = (profile, *, folders = None))]
    fn plan(
        &self,
        py: Python<'_>,
        profile: &Profile,
        folders: Option<Vec<String>>,
    ) -> PyResult<Plan> {
        let opts = options(false, false, folders);
        let plan = py
            .detach(|| self.inner.plan_with(&profile.inner, &opts))
            .py()?;
        Ok(Plan {
            inner: Arc::new(plan),
        })
    }

    /// Runs `profile` and returns its report. `progress` is called with every event on
    /// this thread; `confirm` answers confirm-deletes prompts (without it deletions go
    /// ahead). Ctrl-C cancels the run, waits for it to stop cleanly and raises.
    #[pyo3(signature = (profile, progress = None, *, dry_run = false, force = false, folders = None, confirm = None))]
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
    ) -> PyResult<Report> {
        let prompt = confirm.as_ref().map(|_| (None, false));
        let run = Run::start(
            &self.inner,
            &profile.inner,
            options(dry_run, force, folders),
            prompt,
        );
        while let Some(msg) = run.next_msg(py)? {
            let handled = (|| -> PyResult<()> {
                let confirm_id = match &msg {
                    Msg::Confirm { id, .. } => Some(*id),
                    Msg::Event(_) => None,
                };
                let event = run.deliver(py, msg)?;
                match (confirm_id, &confirm, &progress) {
                    (Some(id), Some(confirm), _) => {
                        let yes = confirm.call1((event,))?.is_truthy()?;
                        run.answers.give(id, yes);
                    }
                    (None, _, Some(progress)) => {
                        progress.call1((event,))?;
                    }
                    _ => {}
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
    /// and a context manager. Confirm-deletes prompts wait `prompt_timeout` seconds (`None`:
    /// for ever) for `Run.answer`, then take `prompt_default`.
    #[pyo3(signature = (profile, *, dry_run = false, force = false, folders = None, prompt_timeout = Some(60.0), prompt_default = false))]
    fn start(
        &self,
        profile: &Profile,
        dry_run: bool,
        force: bool,
        folders: Option<Vec<String>>,
        prompt_timeout: Option<f64>,
        prompt_default: bool,
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
            options(dry_run, force, folders),
            Some((timeout, prompt_default)),
        ))
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
            if let Msg::Confirm { id, .. } = &msg {
                self.answers.give(*id, self.prompt_default);
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

    /// Answers the confirm-deletes prompt `prompt_id` (from its event).
    fn answer(&self, prompt_id: u64, yes: bool) {
        self.answers.give(prompt_id, yes);
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
    /// `finished` or `confirm-deletes`.
    kind: String,
    /// started: the profile.
    profile: Option<String>,
    /// started: what is to be done (snake_case keys).
    summary: Option<Py<PyAny>>,
    /// folder-started, action-done, confirm-deletes: the folder pair.
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
    /// confirm-deletes: the id to pass to `Run.answer`.
    prompt_id: Option<u64>,
    /// confirm-deletes: the destination paths that would be deleted.
    paths: Option<Vec<String>>,
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
        };
        let event = match msg {
            Msg::Confirm { id, folder, paths } => {
                ev.kind = "confirm-deletes".into();
                ev.folder = Some(folder);
                ev.prompt_id = Some(id);
                ev.paths = Some(paths);
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

    /// `ok`, `errors` or `cancelled`.
    #[getter]
    fn status(&self) -> Option<String> {
        serde_json::to_value(self.inner.status)
            .ok()?
            .as_str()
            .map(str::to_owned)
    }

    /// The `ferry` exit code: 0 ok, 1 finished with errors, 130 cancelled.
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
