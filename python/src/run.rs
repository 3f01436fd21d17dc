//! `Engine`, `Run` (the core's run handle, [`ferrysync::Run`], seen from Python as an
//! iterator of events), `Event`, `Conflict` (the question of a conflict prompt), `Report` and
//! `Problem`. The run thread, its queue, prompt ids, timeouts and defaults are the core's;
//! this file translates them and checks for Ctrl-C while it waits.

use std::time::Duration;

use ferrysync::{
    Answer, ConflictPolicy, Next, Question, Reason, RunOptions, RunStatus, StartOptions,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyList, PyString};

use crate::convert;
use crate::errors::{self, IntoPyResult};
use crate::plan::{stamp, Action, Plan, Stamp};
use crate::profile::Profile;

/// The longest a waiting Python thread goes without checking for signals (Ctrl-C), however
/// many events arrive.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// The default of `Engine.start(prompt_timeout=...)`, in seconds: the core's
/// [`ferrysync::DEFAULT_PROMPT_TIMEOUT`].
const PROMPT_TIMEOUT_SECS: f64 = 60.0;

/// What a conflict callback or `Run.answer` gave for a conflict: a policy name, or `None` to
/// keep both.
fn conflict_answer(value: &Bound<'_, PyAny>) -> PyResult<Answer> {
    if value.is_none() {
        return Ok(Answer::Conflict(ConflictPolicy::KeepBoth));
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
    let invalid = |msg: String| errors::to_py(ferrysync::Error::invalid(msg));
    match name.parse::<ConflictPolicy>() {
        Ok(ConflictPolicy::Prompt) => Err(invalid(
            "\"prompt\" cannot answer a conflict prompt".to_owned(),
        )),
        Ok(policy) => Ok(Answer::Conflict(policy)),
        Err(msg) => Err(invalid(msg)),
    }
}

/// Runs profiles. One engine may run several profiles at once from different threads.
#[pyclass(module = "ferrysync._native", frozen)]
pub struct Engine {
    inner: ferrysync::Engine,
}

fn options(dry_run: bool, force: bool, folders: Option<Vec<String>>, resync: bool) -> RunOptions {
    let mut opts = RunOptions::default();
    opts.dry_run = dry_run;
    opts.force = force;
    opts.folders = folders.unwrap_or_default();
    opts.resync = resync;
    opts
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
            inner: std::sync::Arc::new(plan),
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
        // Every prompt is answered here, at once: no timeout.
        let mut opts = StartOptions::new(options(dry_run, force, folders, resync));
        opts.prompt_timeout = None;
        let run = Run::start(&self.inner, &profile.inner, opts)?;
        while let Some(event) = run.next(py)? {
            let handled = (|| -> PyResult<()> {
                let asks = match &event {
                    ferrysync::Event::ConfirmDeletes(q) => {
                        Some((q.prompt_id, Question::ConfirmDeletes))
                    }
                    ferrysync::Event::ConflictPrompt(q) => Some((q.prompt_id, Question::Conflict)),
                    _ => None,
                };
                match asks {
                    Some((id, Question::ConfirmDeletes)) => {
                        let yes = match &confirm {
                            Some(confirm) => {
                                confirm.call1((run.deliver(py, event)?,))?.is_truthy()?
                            }
                            None => true,
                        };
                        run.give(id, Answer::Deletes(yes))
                    }
                    Some((id, Question::Conflict)) => {
                        let answer = match &conflict {
                            Some(resolve) => {
                                let event = run.deliver(py, event)?;
                                let asked = event.conflict.as_ref().map(|c| c.clone_ref(py));
                                conflict_answer(&resolve.call1((asked,))?)?
                            }
                            None => Answer::Conflict(ConflictPolicy::KeepBoth),
                        };
                        run.give(id, answer)
                    }
                    None => match &progress {
                        Some(progress) => {
                            progress.call1((run.deliver(py, event)?,))?;
                            Ok(())
                        }
                        None => log(py, &event),
                    },
                }
            })();
            if let Err(e) = handled {
                run.stop(py);
                return Err(e);
            }
        }
        run.report(py)
    }

    /// Starts `profile` on a background thread. The returned `Run` is an iterator of events
    /// and a context manager. Prompts wait `prompt_timeout` seconds (`None`: until `wait()`)
    /// for `Run.answer`; then confirm-deletes prompts take `prompt_default` (no: the files are
    /// kept) and conflict prompts keep both versions.
    #[pyo3(signature = (profile, *, dry_run = false, force = false, folders = None, prompt_timeout = Some(PROMPT_TIMEOUT_SECS), prompt_default = false, resync = false))]
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
        let prompt_timeout = match prompt_timeout {
            None => None,
            Some(s) => Some(
                Duration::try_from_secs_f64(s)
                    .map_err(|_| PyValueError::new_err("prompt_timeout: not a valid duration"))?,
            ),
        };
        let mut opts = StartOptions::new(options(dry_run, force, folders, resync));
        opts.prompt_timeout = prompt_timeout;
        opts.delete_unanswered = prompt_default;
        Run::start(&self.inner, &profile.inner, opts)
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

/// Logs a warning or error event to the `ferrysync` logger.
fn log(py: Python<'_>, event: &ferrysync::Event) -> PyResult<()> {
    let (level, problem) = match event {
        ferrysync::Event::Warning(p) => ("warning", p),
        ferrysync::Event::Error(p) => ("error", p),
        _ => return Ok(()),
    };
    py.import("logging")?
        .call_method1("getLogger", ("ferrysync",))?
        .call_method1(level, ("%s", problem.to_string()))?;
    Ok(())
}

/// A run in progress: iterate it for its events; `wait()` for the report.
#[pyclass(module = "ferrysync._native", frozen)]
pub struct Run {
    inner: ferrysync::Run,
}

impl Run {
    fn start(
        engine: &ferrysync::Engine,
        profile: &ferrysync::Profile,
        opts: StartOptions,
    ) -> PyResult<Run> {
        Ok(Run {
            inner: engine.start(profile, opts).py()?,
        })
    }

    /// The next event, waiting without the GIL; `None` once the run is over. Signals
    /// (Ctrl-C) are checked before every event and at least every [`SIGNAL_CHECK`] while
    /// none comes; on a signal the run is stopped before the error returns.
    fn next(&self, py: Python<'_>) -> PyResult<Option<ferrysync::Event>> {
        loop {
            if let Err(e) = py.check_signals() {
                self.stop(py);
                return Err(e);
            }
            match py.detach(|| self.inner.next_event(SIGNAL_CHECK)) {
                Next::Event(e) => return Ok(Some(e)),
                Next::Empty => {}
                Next::Finished => return Ok(None),
            }
        }
    }

    /// Answers prompt `id`; a prompt no longer waiting (answered, timed out) ignores it.
    fn give(&self, id: u64, answer: Answer) -> PyResult<()> {
        match self.inner.answer(id, answer) {
            Err(e) if e.kind() != ferrysync::ErrorKind::NotFound => Err(errors::to_py(e)),
            _ => Ok(()),
        }
    }

    /// Cancels, lets the run stop cleanly (its events are dropped) and waits for it.
    fn stop(&self, py: Python<'_>) {
        self.inner.cancel();
        let _ = py.detach(|| self.inner.wait());
    }

    /// The report of the run (waiting for its end), or its error.
    fn report(&self, py: Python<'_>) -> PyResult<Report> {
        let report = py.detach(|| self.inner.wait()).py()?;
        Ok(Report { inner: report })
    }

    /// The event as an `Event`, logging warnings and errors to the `ferrysync` logger.
    fn deliver(&self, py: Python<'_>, event: ferrysync::Event) -> PyResult<Event> {
        log(py, &event)?;
        Event::new(py, event)
    }
}

#[pymethods]
impl Run {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// The next event; at the end, the run's error is raised if it failed.
    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Event>> {
        match self.next(py)? {
            Some(event) => self.deliver(py, event).map(Some),
            None => self.report(py).map(|_| None),
        }
    }

    /// Waits for the end (prompts take their default at once; warnings and errors nobody
    /// iterated are logged) and returns the report; raises the run's error.
    fn wait(&self, py: Python<'_>) -> PyResult<Report> {
        self.inner.close_prompts();
        while let Some(event) = self.next(py)? {
            log(py, &event)?;
        }
        self.report(py)
    }

    /// Stops the run at the next item; nothing half-written is left behind.
    fn cancel(&self) {
        self.inner.cancel();
    }

    /// Holds the workers before their next item.
    fn pause(&self) {
        self.inner.pause();
    }

    /// Lets a paused run go on.
    fn resume(&self) {
        self.inner.resume();
    }

    /// Answers the prompt `prompt_id` (from its event): a confirm-deletes prompt with a
    /// bool, a conflict prompt with a policy name (`"newer"`, `"source"`, `"skip"`...) or
    /// `None` to keep both. A prompt no longer waiting (answered, timed out) ignores it.
    fn answer(&self, prompt_id: u64, answer: &Bound<'_, PyAny>) -> PyResult<()> {
        let answer = match self.inner.pending(prompt_id) {
            None => return Ok(()),
            Some(Question::Conflict) => conflict_answer(answer)?,
            Some(Question::ConfirmDeletes) => match answer.cast::<PyBool>() {
                Ok(yes) => Answer::Deletes(yes.is_true()),
                Err(_) => {
                    return Err(PyTypeError::new_err(format!(
                        "prompt {prompt_id} confirms deletions: answer it with True or False"
                    )))
                }
            },
        };
        self.give(prompt_id, answer)
    }

    /// Whether the run is over (its thread ended).
    #[getter]
    fn finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// Whether `pause()` holds the run.
    #[getter]
    fn paused(&self) -> bool {
        self.inner.is_paused()
    }

    /// Whether `cancel()` was called.
    #[getter]
    fn cancelled(&self) -> bool {
        self.inner.is_cancelled()
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
    kind: &'static str,
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
    outcome: Option<&'static str>,
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
    fn new(py: Python<'_>, event: ferrysync::Event) -> PyResult<Event> {
        use ferrysync::Event as E;
        let mut ev = Event {
            kind: event.name(),
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
            prompt_id: event.prompt_id(),
            paths: None,
            conflict: None,
        };
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
                ev.outcome = Some(outcome.name());
            }
            E::Warning(p) | E::Error(p) => {
                ev.folder = Some(p.folder.clone());
                ev.problem = Some(Py::new(py, Problem { inner: p })?);
            }
            E::Finished(report) => {
                ev.report = Some(Py::new(py, Report { inner: *report })?);
            }
            E::ConfirmDeletes(q) => {
                ev.folder = Some(q.folder);
                ev.paths = Some(q.paths.iter().map(ToString::to_string).collect());
            }
            E::ConflictPrompt(q) => {
                ev.conflict = Some(Py::new(
                    py,
                    Conflict {
                        prompt_id: q.prompt_id,
                        action: Action::new(&q.folder, &q.action),
                        folder: q.folder.clone(),
                        inner: q.action,
                    },
                )?);
                ev.folder = Some(q.folder);
            }
            // An event of a later release: its name only.
            _ => {}
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
    fn kind(&self) -> &'static str {
        match self.inner.reason {
            Reason::Conflict(kind) => kind.name(),
            _ => "conflict",
        }
    }

    /// `file`, `dir`, `symlink` or `special`.
    #[getter]
    fn entry(&self) -> &'static str {
        self.inner.entry.name()
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
            self.kind()
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
    fn status(&self) -> &'static str {
        self.inner.status.name()
    }

    /// The exit code the `ferry` CLI would give: 0 ok, 1 finished with errors, 4 incomplete,
    /// 130 cancelled.
    #[getter]
    fn exit_code(&self) -> i32 {
        match self.inner.status {
            RunStatus::Ok => 0,
            RunStatus::Errors => 1,
            RunStatus::Incomplete => 4,
            RunStatus::Cancelled => 130,
        }
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
            self.status(),
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
