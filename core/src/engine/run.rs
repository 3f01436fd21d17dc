//! A run on its own thread, driven from outside: its events pulled from one bounded queue,
//! its questions (confirm deletes, resolve a conflict) answered by id, pause, resume, cancel,
//! and the report it ends with. The C ABI and the Python module translate this handle (the
//! daemon and the remote monitor will too); none keeps a run thread, queue or prompt ids of
//! its own.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};

use super::execute::is_unmatched;
use super::report::{
    ConflictQuestion, DeletesQuestion, Event, EventSink, Prompt, Report, RunOptions,
};
use super::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::plan::{Action, ActionKind, FolderPlan};
use crate::profile::{ConflictPolicy, Profile};
use crate::vocab::RunControl;

/// Events a started run queues for its caller before the engine waits for the caller to take
/// some. [`Event::Progress`] is never waited for: when the queue is full it is dropped (the
/// next one says the same, later).
pub const EVENT_QUEUE: usize = 1024;

/// How long a question waits for its answer unless [`StartOptions::prompt_timeout`] says
/// otherwise.
pub const DEFAULT_PROMPT_TIMEOUT: Duration = Duration::from_secs(60);

/// How often a waiting question looks whether the run was cancelled.
const CANCEL_CHECK: Duration = Duration::from_millis(100);

/// How a started run goes: the run's own options and how its questions wait.
///
/// Defaults for questions left unanswered (the timeout passed, or [`Run::wait`] or
/// [`Run::close_prompts`] said nobody will answer): deletions are declined (the destination
/// keeps its files; every other action still runs) unless
/// [`StartOptions::delete_unanswered`], and a conflict keeps both versions. In a cancelled run
/// deletions are declined and conflicts skipped.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StartOptions {
    /// Dry run, force, folders, resync and the progress interval as for
    /// [`Engine::run`]. Its control is the run's: [`Run::cancel`], [`Run::pause`] and
    /// [`Run::resume`] act on it. When `events` is set, every event (questions too) goes to it
    /// on the run's threads instead of the queue, and [`Run::next_event`] only says when the
    /// run has finished. When `prompt` is set, it answers the run's questions instead of
    /// [`Run::answer`].
    pub run: RunOptions,
    /// How long a question waits for [`Run::answer`] before it takes the default; `None`
    /// waits until the run is cancelled or [`Run::wait`]ed for. Default:
    /// [`DEFAULT_PROMPT_TIMEOUT`].
    pub prompt_timeout: Option<Duration>,
    /// Whether an unanswered confirm-deletes question lets the deletions go ahead. Default:
    /// no (the files are kept).
    pub delete_unanswered: bool,
}

impl Default for StartOptions {
    fn default() -> Self {
        StartOptions {
            run: RunOptions::default(),
            prompt_timeout: Some(DEFAULT_PROMPT_TIMEOUT),
            delete_unanswered: false,
        }
    }
}

impl StartOptions {
    /// Options for a run going as `run` says, with the default prompt settings.
    pub fn new(run: RunOptions) -> StartOptions {
        StartOptions {
            run,
            ..StartOptions::default()
        }
    }
}

/// Which question a prompt asks, and so which [`Answer`] it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Question {
    /// [`Event::ConfirmDeletes`]: answered with [`Answer::Deletes`].
    ConfirmDeletes,
    /// [`Event::ConflictPrompt`]: answered with [`Answer::Conflict`].
    Conflict,
}

impl Question {
    /// The kebab-case name of the event that asks it.
    pub fn name(self) -> &'static str {
        match self {
            Question::ConfirmDeletes => "confirm-deletes",
            Question::Conflict => "conflict-prompt",
        }
    }
}

/// An answer to a question of a started run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Whether the deletions go ahead (`false` keeps the files).
    Deletes(bool),
    /// How to resolve the conflict: any policy but [`ConflictPolicy::Prompt`];
    /// [`ConflictPolicy::KeepBoth`] keeps both versions.
    Conflict(ConflictPolicy),
}

impl Answer {
    fn question(self) -> Question {
        match self {
            Answer::Deletes(_) => Question::ConfirmDeletes,
            Answer::Conflict(_) => Question::Conflict,
        }
    }
}

/// What [`Run::next_event`] found.
#[derive(Debug, Clone)]
pub enum Next {
    /// The next event.
    Event(Event),
    /// None came within the timeout (or none is waiting).
    Empty,
    /// The run has ended and every event was taken: [`Run::wait`] gives its report.
    Finished,
}

/// A run of a profile on its own thread, started by [`Engine::start`].
///
/// Pull its events with [`Run::next_event`] (a bounded queue of [`EVENT_QUEUE`]; the run
/// waits when it is full, except for progress events, which are dropped), answer its
/// questions ([`Event::ConfirmDeletes`], [`Event::ConflictPrompt`]) with [`Run::answer`],
/// and [`Run::wait`] for the report. Every method takes `&self`, so one thread may wait while
/// another answers or cancels. Dropping an unfinished run cancels it without waiting for it
/// to stop.
pub struct Run {
    events: Receiver<Event>,
    control: RunControl,
    prompts: Arc<Prompts>,
    thread: Mutex<Option<JoinHandle<Result<Report>>>>,
    outcome: Mutex<Option<Result<Report>>>,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("cancelled", &self.control.is_cancelled())
            .field("paused", &self.control.is_paused())
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl Engine {
    /// Starts running `profile` on its own thread and returns at once: the handle to pull its
    /// events from, answer its questions, pause, resume or cancel it, and wait for its
    /// [`Report`]. Everything [`Engine::run`] rejects comes out of [`Run::wait`].
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the thread cannot be started.
    pub fn start(&self, profile: &Profile, options: StartOptions) -> Result<Run> {
        let StartOptions {
            run: mut opts,
            prompt_timeout,
            delete_unanswered,
        } = options;
        let (tx, rx) = crossbeam_channel::bounded(EVENT_QUEUE);
        let delivery = Delivery {
            queue: tx,
            sink: opts.events.take(),
        };
        let control = opts.control.clone();
        let prompts = Arc::new(Prompts::default());
        if opts.prompt.is_none() {
            opts.prompt = Some(Arc::new(EventPrompt {
                prompts: Arc::clone(&prompts),
                delivery: delivery.clone(),
                timeout: prompt_timeout,
                delete_unanswered,
                control: control.clone(),
            }));
        }
        opts.events = Some(Arc::new(move |e: &Event| delivery.deliver(e.clone())));
        let engine = self.clone();
        let profile = profile.clone();
        let thread = std::thread::Builder::new()
            .name("ferrysync-run".into())
            .spawn(move || {
                // `opts` holds every sender of the queue: when this returns, it closes and the
                // reader learns that the run has finished.
                let outcome = catch_unwind(AssertUnwindSafe(|| engine.run(&profile, &opts)));
                outcome.unwrap_or_else(|payload| Err(panicked(payload.as_ref())))
            })
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot start a run thread: {e}")))?;
        Ok(Run {
            events: rx,
            control,
            prompts,
            thread: Mutex::new(Some(thread)),
            outcome: Mutex::new(None),
        })
    }
}

/// The documented error of a run whose thread panicked: [`ErrorKind::Internal`].
fn panicked(payload: &(dyn std::any::Any + Send)) -> Error {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into());
    Error::new(ErrorKind::Internal, format!("the run panicked: {what}"))
}

impl Run {
    /// Waits up to `timeout` for the next event.
    pub fn next_event(&self, timeout: Duration) -> Next {
        match self.events.recv_timeout(timeout) {
            Ok(e) => Next::Event(e),
            Err(RecvTimeoutError::Timeout) => Next::Empty,
            Err(RecvTimeoutError::Disconnected) => Next::Finished,
        }
    }

    /// The next event if one is waiting, without blocking.
    pub fn try_next_event(&self) -> Next {
        match self.events.try_recv() {
            Ok(e) => Next::Event(e),
            Err(TryRecvError::Empty) => Next::Empty,
            Err(TryRecvError::Disconnected) => Next::Finished,
        }
    }

    /// Answers the question `prompt_id` (from [`Event::prompt_id`]). Safe from any thread.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when that question is not waiting (answered, timed out, never
    /// asked); [`ErrorKind::InvalidInput`] for an answer of the other kind ([`Run::pending`]
    /// says which kind it takes) or [`ConflictPolicy::Prompt`].
    pub fn answer(&self, prompt_id: u64, answer: Answer) -> Result<()> {
        self.prompts.answer(prompt_id, answer)
    }

    /// The kind of question `prompt_id` is while it waits for an answer; `None` once it was
    /// answered or timed out, or when it was never asked.
    pub fn pending(&self, prompt_id: u64) -> Option<Question> {
        self.prompts
            .lock()
            .get(&prompt_id)
            .filter(|p| p.answer.is_none())
            .map(|p| p.question)
    }

    /// From now on, questions waiting and to come take their default at once: nobody will
    /// answer them. [`Run::wait`] does this first.
    pub fn close_prompts(&self) {
        self.prompts.close();
    }

    /// Stops the run at the next item; nothing half-written is left behind. A waiting
    /// question is declined (a conflict: skipped). The run ends with
    /// [`RunStatus::Cancelled`](crate::RunStatus).
    pub fn cancel(&self) {
        self.control.cancel();
        self.prompts.wake();
    }

    /// Holds the run's workers before their next item until [`Run::resume`].
    pub fn pause(&self) {
        self.control.pause();
    }

    /// Lets a paused run go on.
    pub fn resume(&self) {
        self.control.resume();
    }

    /// Whether [`Run::cancel`] was called (or the run's control cancelled).
    pub fn is_cancelled(&self) -> bool {
        self.control.is_cancelled()
    }

    /// Whether [`Run::pause`] holds the run.
    pub fn is_paused(&self) -> bool {
        self.control.is_paused()
    }

    /// The run's control, to share with code that cancels, pauses or resumes it.
    pub fn control(&self) -> &RunControl {
        &self.control
    }

    /// Whether the run's thread has ended.
    pub fn is_finished(&self) -> bool {
        lock(&self.outcome).is_some()
            || lock(&self.thread)
                .as_ref()
                .is_none_or(JoinHandle::is_finished)
    }

    /// Waits for the run to end and gives its report. Questions take their default at once
    /// ([`Run::close_prompts`]) and events not yet taken are discarded. May be called again,
    /// from any thread: each call gives the same report (or the same error).
    ///
    /// # Errors
    /// Everything [`Engine::run`] rejects, and [`ErrorKind::Internal`] when the run's thread
    /// panicked (a bug: the run stopped where it was).
    pub fn wait(&self) -> Result<Report> {
        let mut outcome = lock(&self.outcome);
        if outcome.is_none() {
            self.prompts.close();
            // Events nobody will read: taken, so the run never waits on a full queue.
            while self.events.recv().is_ok() {}
            let thread = lock(&self.thread).take();
            *outcome = Some(match thread.map(JoinHandle::join) {
                Some(Ok(o)) => o,
                Some(Err(payload)) => Err(panicked(payload.as_ref())),
                None => Err(Error::new(ErrorKind::Internal, "the run has no thread")),
            });
        }
        match outcome.as_ref().expect("set above") {
            Ok(report) => Ok(report.clone()),
            Err(e) => Err(copy(e)),
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if lock(&self.outcome).is_none() {
            self.control.cancel();
            self.prompts.close();
        }
    }
}

/// A copy of `e` for a second caller (errors are not `Clone`).
fn copy(e: &Error) -> Error {
    let copy = Error::new(e.kind(), e.message());
    match e.path() {
        Some(p) => copy.with_path(p),
        None => copy,
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Where the events of a started run go: the queue, or the caller's sink.
#[derive(Clone)]
struct Delivery {
    queue: Sender<Event>,
    sink: Option<EventSink>,
}

impl Delivery {
    fn deliver(&self, event: Event) {
        if let Some(sink) = &self.sink {
            sink(&event);
        } else if matches!(event, Event::Progress(_)) {
            // Throttled and superseded by the next one: never waited for.
            let _ = self.queue.try_send(event);
        } else {
            // Fails only when the run's handle is gone: nobody is listening.
            let _ = self.queue.send(event);
        }
    }
}

/// A question asked and not yet taken back by the asking thread.
struct Pending {
    question: Question,
    answer: Option<Answer>,
}

/// How waiting for an answer ended.
enum Waited {
    Answered(Answer),
    /// Timed out, or nobody will answer any more.
    Unanswered,
    Cancelled,
}

/// The questions of a run waiting for [`Run::answer`], by id.
#[derive(Default)]
struct Prompts {
    next_id: AtomicU64,
    pending: Mutex<HashMap<u64, Pending>>,
    wake: Condvar,
    /// Set when nobody will answer any more: questions take their default at once.
    closed: AtomicBool,
}

impl Prompts {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Pending>> {
        lock(&self.pending)
    }

    /// A new question, waiting for its answer; its id.
    fn ask(&self, question: Question) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst) + 1;
        self.lock().insert(
            id,
            Pending {
                question,
                answer: None,
            },
        );
        id
    }

    fn answer(&self, id: u64, answer: Answer) -> Result<()> {
        let mut pending = self.lock();
        let slot = match pending.get_mut(&id) {
            Some(p) if p.answer.is_none() => p,
            _ => {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("prompt {id} is not waiting for an answer"),
                ))
            }
        };
        if slot.question != answer.question() {
            let wanted = match slot.question {
                Question::ConfirmDeletes => "yes or no",
                Question::Conflict => "a conflict policy",
            };
            return Err(Error::invalid(format!(
                "prompt {id} is a {} question: answer it with {wanted}",
                slot.question.name()
            )));
        }
        if answer == Answer::Conflict(ConflictPolicy::Prompt) {
            return Err(Error::invalid(format!(
                "\"prompt\" cannot answer a conflict prompt (prompt {id})"
            )));
        }
        slot.answer = Some(answer);
        self.wake.notify_all();
        Ok(())
    }

    /// Waits for the answer to question `id` until `timeout` (`None`: no limit), and forgets
    /// the question.
    fn wait(&self, id: u64, timeout: Option<Duration>, control: &RunControl) -> Waited {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut pending = self.lock();
        let waited = loop {
            if let Some(answer) = pending.get(&id).and_then(|p| p.answer) {
                break Waited::Answered(answer);
            }
            if control.is_cancelled() {
                break Waited::Cancelled;
            }
            if self.closed.load(Ordering::SeqCst) {
                break Waited::Unanswered;
            }
            let slice = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left.min(CANCEL_CHECK),
                    _ => break Waited::Unanswered,
                },
                None => CANCEL_CHECK,
            };
            pending = self
                .wake
                .wait_timeout(pending, slice)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        };
        pending.remove(&id);
        waited
    }

    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.wake();
    }

    fn wake(&self) {
        let _guard = self.lock();
        self.wake.notify_all();
    }
}

/// A started run's answers to the engine's questions: ask the caller through an event, wait
/// for [`Run::answer`] or the timeout, else take the default.
struct EventPrompt {
    prompts: Arc<Prompts>,
    delivery: Delivery,
    timeout: Option<Duration>,
    delete_unanswered: bool,
    control: RunControl,
}

impl EventPrompt {
    fn ask(&self, question: Question, event: impl FnOnce(u64) -> Event) -> Waited {
        let id = self.prompts.ask(question);
        self.delivery.deliver(event(id));
        self.prompts.wait(id, self.timeout, &self.control)
    }
}

impl Prompt for EventPrompt {
    fn confirm_deletes(&self, plan: &FolderPlan) -> bool {
        let deleted: Vec<&Action> = plan
            .actions
            .iter()
            .filter(|a| a.kind == ActionKind::Delete && is_unmatched(a))
            .collect();
        let question = |prompt_id| {
            Event::ConfirmDeletes(DeletesQuestion {
                prompt_id,
                folder: plan.folder.clone(),
                destination: plan.destination.describe(),
                deletions: deleted.len() as u64,
                bytes_to_delete: deleted.iter().map(|a| a.size).sum(),
                paths: deleted.iter().map(|a| a.path.clone()).collect(),
            })
        };
        match self.ask(Question::ConfirmDeletes, question) {
            Waited::Answered(Answer::Deletes(yes)) => yes,
            Waited::Answered(Answer::Conflict(_)) | Waited::Unanswered => self.delete_unanswered,
            // Nothing more should change in a cancelled run.
            Waited::Cancelled => false,
        }
    }

    fn resolve_conflict(&self, folder: &str, action: &Action) -> Option<ConflictPolicy> {
        let question = |prompt_id| {
            Event::ConflictPrompt(ConflictQuestion {
                prompt_id,
                folder: folder.to_string(),
                action: action.clone(),
            })
        };
        match self.ask(Question::Conflict, question) {
            Waited::Answered(Answer::Conflict(policy)) => Some(policy),
            // Unanswered: keep both, which loses nothing.
            Waited::Answered(Answer::Deletes(_)) | Waited::Unanswered => None,
            Waited::Cancelled => Some(ConflictPolicy::Skip),
        }
    }
}
