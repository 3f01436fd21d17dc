//! `ferry_run`: a run on its own thread, its events (pulled, or pushed to a callback), its
//! prompts (confirm deletes, resolve a two-way conflict), and the `ferry_report` it ends with.

use std::collections::HashMap;
use std::ffi::{c_char, c_void, CString};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use ferry_core::{
    Action, ActionOutcome, ConflictPolicy, Event, EventSink, FolderPlan, Prompt, Reason, Report,
    RunControl, RunOptions, RunStatus,
};

use crate::plan::{c_string, ferry_engine, ferry_entry_kind, ferry_summary};
use crate::profile::ferry_profile;
use crate::result::{
    boundary, boundary_value, deref, ferry_result, out_ptr, owned_string, write_out, write_text,
    Failure,
};
use crate::two_way::{ferry_conflict_kind, ferry_conflict_policy, ferry_stamp};

/// How long a prompt waits for an answer when the options do not say.
const DEFAULT_PROMPT_TIMEOUT_MS: u32 = 30_000;

/// Events a run may queue before the engine waits for the caller to take some (progress
/// events are dropped instead of waiting).
const QUEUE: usize = 256;

/// Receives each event of a run on an engine thread. `userdata` first; `event` is borrowed
/// for the duration of the call only (do not free it, do not keep it).
pub type ferry_event_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, event: *const ferry_event)>;

/// How a run goes. Zero-initialize it (`ferry_run_options opts = {0};`) or fill it with
/// `ferry_run_options_init`, then set what you need. Passing NULL instead means the defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ferry_run_options {
    /// Plan and report, change nothing.
    pub dry_run: bool,
    /// Go ahead although a guard (mass delete) objects.
    pub force: bool,
    /// How long a prompt waits for its answer before the run takes the default: for
    /// CONFIRM_DELETES yes (delete, as the profile asked), for CONFLICT_PROMPT keep both.
    /// 0 means the default, 30000 ms.
    pub prompt_timeout_ms: u32,
    /// The shortest time between two progress events; 0 means the default, 200 ms.
    pub progress_interval_ms: u32,
    /// When set, every event goes to this function, on an engine thread, instead of the
    /// queue read by `ferry_run_next_event` (which then only reports RUN_FINISHED). The
    /// callback must return quickly and must not call `ferry_run_wait` or `ferry_run_free`.
    /// It may call `ferry_run_answer`, `ferry_run_answer_conflict`, `ferry_run_cancel`,
    /// `ferry_run_pause`, `ferry_run_resume`.
    pub event_callback: ferry_event_callback,
    /// Passed as the first argument of `event_callback`.
    pub userdata: *mut c_void,
    /// Two-way: forget the state database's record of the folder pairs first, so the run is
    /// a first run again (a union that deletes nothing).
    pub resync: bool,
}

impl Default for ferry_run_options {
    fn default() -> Self {
        ferry_run_options {
            dry_run: false,
            force: false,
            prompt_timeout_ms: DEFAULT_PROMPT_TIMEOUT_MS,
            progress_interval_ms: 200,
            event_callback: None,
            userdata: std::ptr::null_mut(),
            resync: false,
        }
    }
}

/// Fills `*out` with the default options.
#[no_mangle]
pub extern "C" fn ferry_run_options_init(out: *mut ferry_run_options) -> ferry_result {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        write_out(out, ferry_run_options::default());
        Ok(())
    })
}

/// What an event is about.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ferry_event_kind {
    /// Not an event: `ferry_event_get_kind(NULL)`.
    None = 0,
    /// The run planned its work and starts.
    Started = 1,
    /// A folder pair starts.
    FolderStarted = 2,
    /// How far the run is (`ferry_event_progress`); throttled.
    Progress = 3,
    /// An action finished.
    Action = 4,
    /// A warning (`ferry_event_message`).
    Warning = 5,
    /// A per-file error; the run goes on.
    Error = 6,
    /// The run asks whether to delete unmatched destination entries of a folder (profile
    /// option `copy.confirm-deletes`). Answer with `ferry_run_answer(run,
    /// ferry_event_prompt_id(ev), yes)`.
    ConfirmDeletes = 7,
    /// The run ended; the last event.
    Finished = 8,
    /// A two-way conflict whose policy is "prompt": the run asks how to resolve it
    /// (`ferry_event_conflict` says what it is). Answer with `ferry_run_answer_conflict(run,
    /// ferry_event_prompt_id(ev), policy)`; unanswered, both versions are kept.
    ConflictPrompt = 9,
}

/// How far a run is.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ferry_progress {
    /// Actions finished.
    pub items_done: u64,
    /// Actions planned.
    pub items_total: u64,
    /// Bytes copied.
    pub bytes_done: u64,
    /// Bytes to copy.
    pub bytes_total: u64,
}

/// The question of a CONFIRM_DELETES event.
#[derive(Debug, Clone)]
struct ConfirmDeletes {
    id: u64,
    folder: String,
    destination: String,
    deletions: u64,
    bytes: u64,
}

/// The question of a CONFLICT_PROMPT event, with the strings it lends.
#[derive(Debug, Clone)]
struct ConflictPrompt {
    id: u64,
    folder: CString,
    path: CString,
    action: Action,
}

impl ConflictPrompt {
    fn kind(&self) -> ferry_conflict_kind {
        match self.action.reason {
            Reason::Conflict(kind) => kind.into(),
            _ => ferry_conflict_kind::None,
        }
    }
}

#[derive(Debug, Clone)]
enum EventData {
    Core(Event),
    ConfirmDeletes(ConfirmDeletes),
    ConflictPrompt(ConflictPrompt),
}

/// What one side of a conflict looks like in a message.
fn side_text(stamp: Option<ferry_core::Stamp>) -> String {
    match stamp {
        Some(s) => format!("{} bytes, mtime {} ns", s.size, s.mtime_ns),
        None => "absent".to_string(),
    }
}

/// One event of a run. From `ferry_run_next_event` (release with `ferry_event_free`) or lent
/// to an `event_callback` for the duration of the call.
#[derive(Debug, Clone)]
pub struct ferry_event {
    data: EventData,
}

impl ferry_event {
    fn kind(&self) -> ferry_event_kind {
        match &self.data {
            EventData::ConfirmDeletes(_) => ferry_event_kind::ConfirmDeletes,
            EventData::ConflictPrompt(_) => ferry_event_kind::ConflictPrompt,
            EventData::Core(e) => match e {
                Event::Started { .. } => ferry_event_kind::Started,
                Event::FolderStarted { .. } => ferry_event_kind::FolderStarted,
                Event::Progress(_) => ferry_event_kind::Progress,
                Event::ActionDone { .. } => ferry_event_kind::Action,
                Event::Warning(_) => ferry_event_kind::Warning,
                Event::Error(_) => ferry_event_kind::Error,
                Event::Finished(_) => ferry_event_kind::Finished,
            },
        }
    }

    fn message(&self) -> String {
        match &self.data {
            EventData::ConfirmDeletes(c) => format!(
                "[{}] delete {} unmatched entries ({} bytes) in {}?",
                c.folder, c.deletions, c.bytes, c.destination
            ),
            EventData::ConflictPrompt(c) => format!(
                "[{}] conflict ({}) at {}: source {}, destination {}",
                c.folder.to_string_lossy(),
                conflict_kind_name(&c.action),
                c.action.path,
                side_text(c.action.source),
                side_text(c.action.destination),
            ),
            EventData::Core(e) => match e {
                Event::Started { profile, summary } => format!(
                    "profile {profile}: {} new, {} modified, {} to delete",
                    summary.new_files + summary.new_dirs,
                    summary.modified_files,
                    summary.deletions
                ),
                Event::FolderStarted { folder } => format!("[{folder}] started"),
                Event::Progress(p) => p.current.clone().unwrap_or_default(),
                Event::ActionDone {
                    folder,
                    action,
                    outcome,
                } => {
                    let kind = serde_json::to_value(action.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    let outcome = match outcome {
                        ActionOutcome::Done => "done",
                        ActionOutcome::Skipped => "skipped",
                        ActionOutcome::Failed => "failed",
                    };
                    format!("[{folder}] {kind} {}: {outcome}", action.path)
                }
                Event::Warning(p) | Event::Error(p) => p.to_string(),
                Event::Finished(r) => format!("profile {}: {}", r.profile, status_name(r.status)),
            },
        }
    }

    fn to_json(&self) -> String {
        match &self.data {
            EventData::Core(e) => serde_json::to_string(e).unwrap_or_else(|e| {
                serde_json::json!({"event": "error", "message": e.to_string()}).to_string()
            }),
            EventData::ConfirmDeletes(c) => serde_json::json!({
                "event": "confirm-deletes",
                "prompt-id": c.id,
                "folder": c.folder,
                "destination": c.destination,
                "deletions": c.deletions,
                "bytes-to-delete": c.bytes,
            })
            .to_string(),
            EventData::ConflictPrompt(c) => serde_json::json!({
                "event": "conflict-prompt",
                "prompt-id": c.id,
                "folder": c.folder.to_string_lossy(),
                "action": c.action,
            })
            .to_string(),
        }
    }
}

/// `both-changed`, ... for a two-way conflict action.
fn conflict_kind_name(action: &Action) -> String {
    serde_json::to_value(action.reason)
        .ok()
        .and_then(|v| v.get("detail")?.as_str().map(str::to_string))
        .unwrap_or_else(|| "conflict".to_string())
}

fn status_name(s: RunStatus) -> &'static str {
    match s {
        RunStatus::Ok => "ok",
        RunStatus::Errors => "errors",
        RunStatus::Incomplete => "incomplete",
        RunStatus::Cancelled => "cancelled",
    }
}

/// Where events go: the queue, or the caller's callback.
#[derive(Clone)]
enum Delivery {
    Queue(Sender<ferry_event>),
    Callback(Callback),
}

#[derive(Clone, Copy)]
struct Callback {
    func: unsafe extern "C" fn(*mut c_void, *const ferry_event),
    userdata: *mut c_void,
}

// SAFETY: the C caller registers the callback knowing it is called on engine threads
// (documented on `ferry_run_options.event_callback`); userdata is theirs to synchronize.
unsafe impl Send for Callback {}
// SAFETY: as above.
unsafe impl Sync for Callback {}

impl Delivery {
    fn deliver(&self, event: ferry_event) {
        match self {
            Delivery::Queue(tx) => {
                if matches!(&event.data, EventData::Core(Event::Progress(_))) {
                    // Progress is throttled and superseded by the next one: never wait for it.
                    let _ = tx.try_send(event);
                } else {
                    let _ = tx.send(event);
                }
            }
            Delivery::Callback(cb) => {
                // SAFETY: a function pointer the caller registered, with its own userdata;
                // the event outlives the call.
                unsafe { (cb.func)(cb.userdata, &event) }
            }
        }
    }
}

/// What a prompt asks, and so which answer it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Question {
    ConfirmDeletes,
    Conflict,
}

/// An answer from `ferry_run_answer` or `ferry_run_answer_conflict`.
#[derive(Debug, Clone, Copy)]
enum Answer {
    Yes(bool),
    Policy(ConflictPolicy),
}

/// How a wait for an answer ended.
enum Waited {
    Answered(Answer),
    /// Unanswered in time, or nobody will answer any more (wait, free).
    Default,
    Cancelled,
}

/// A prompt asked and not yet taken back by the asking thread.
struct Pending {
    question: Question,
    answer: Option<Answer>,
}

/// Prompts waiting for `ferry_run_answer` / `ferry_run_answer_conflict`.
#[derive(Default)]
struct Prompts {
    next_id: AtomicU64,
    pending: Mutex<HashMap<u64, Pending>>,
    wake: Condvar,
    /// Set when nobody will answer any more (wait, free): prompts take the default at once.
    closed: AtomicBool,
}

impl Prompts {
    /// A new prompt id, waiting for its answer.
    fn ask(&self, question: Question) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst) + 1;
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                id,
                Pending {
                    question,
                    answer: None,
                },
            );
        id
    }

    fn answer(&self, id: u64, answer: Answer) -> Result<(), Failure> {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let slot = match pending.get_mut(&id) {
            Some(p) if p.answer.is_none() => p,
            _ => {
                return Err(Failure::new(
                    ferry_result::UnknownPrompt,
                    format!("prompt {id} is not waiting for an answer"),
                ))
            }
        };
        match (slot.question, answer) {
            (Question::ConfirmDeletes, Answer::Yes(_))
            | (Question::Conflict, Answer::Policy(_)) => {}
            (Question::ConfirmDeletes, Answer::Policy(_)) => {
                return Err(Failure::new(
                    ferry_result::WrongEventKind,
                    format!("prompt {id} confirms deletions: answer it with ferry_run_answer"),
                ))
            }
            (Question::Conflict, Answer::Yes(_)) => {
                return Err(Failure::new(
                    ferry_result::WrongEventKind,
                    format!("prompt {id} is a conflict: answer it with ferry_run_answer_conflict"),
                ))
            }
        }
        slot.answer = Some(answer);
        self.wake.notify_all();
        Ok(())
    }

    /// Waits for the answer to prompt `id` until `timeout`, and forgets the prompt.
    fn wait(&self, id: u64, timeout: Duration, control: &RunControl) -> Waited {
        let deadline = Instant::now() + timeout;
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(Pending {
                answer: Some(answer),
                ..
            }) = pending.get(&id)
            {
                let answer = *answer;
                pending.remove(&id);
                return Waited::Answered(answer);
            }
            let now = Instant::now();
            if control.is_cancelled() {
                pending.remove(&id);
                return Waited::Cancelled;
            }
            if now >= deadline || self.closed.load(Ordering::SeqCst) {
                pending.remove(&id);
                return Waited::Default;
            }
            // Short slices so a cancel is noticed promptly.
            let slice = (deadline - now).min(Duration::from_millis(100));
            pending = self
                .wake
                .wait_timeout(pending, slice)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let _guard = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        self.wake.notify_all();
    }
}

/// The run's answers to the engine's questions: ask the caller through an event, wait for
/// the answer or the timeout.
struct EventPrompt {
    prompts: Arc<Prompts>,
    delivery: Delivery,
    timeout: Duration,
    control: RunControl,
}

impl Prompt for EventPrompt {
    fn confirm_deletes(&self, plan: &FolderPlan) -> bool {
        let id = self.prompts.ask(Question::ConfirmDeletes);
        self.delivery.deliver(ferry_event {
            data: EventData::ConfirmDeletes(ConfirmDeletes {
                id,
                folder: plan.folder.clone(),
                destination: plan.destination.clone(),
                deletions: plan.summary.deletions,
                bytes: plan.summary.bytes_to_delete,
            }),
        });
        match self.prompts.wait(id, self.timeout, &self.control) {
            Waited::Answered(Answer::Yes(yes)) => yes,
            // The profile asked for deletions; without an answer they go ahead.
            Waited::Answered(Answer::Policy(_)) | Waited::Default => true,
            // Nothing more should change in a cancelled run.
            Waited::Cancelled => false,
        }
    }

    fn resolve_conflict(&self, folder: &str, action: &Action) -> Option<ConflictPolicy> {
        let id = self.prompts.ask(Question::Conflict);
        self.delivery.deliver(ferry_event {
            data: EventData::ConflictPrompt(ConflictPrompt {
                id,
                folder: c_string(folder.as_bytes()),
                path: c_string(action.path.as_bytes()),
                action: action.clone(),
            }),
        });
        match self.prompts.wait(id, self.timeout, &self.control) {
            Waited::Answered(Answer::Policy(policy)) => Some(policy),
            // Unanswered: keep both, which loses nothing.
            Waited::Answered(Answer::Yes(_)) | Waited::Default => None,
            Waited::Cancelled => Some(ConflictPolicy::Skip),
        }
    }
}

type Outcome = Result<Report, Failure>;

/// A run in progress on its own thread. Made by `ferry_engine_run_start`, released by
/// `ferry_run_free`.
pub struct ferry_run {
    events: Receiver<ferry_event>,
    control: RunControl,
    prompts: Arc<Prompts>,
    /// Every call takes the run by shared reference: a callback may use it from an engine
    /// thread while the caller waits.
    thread: Mutex<Option<JoinHandle<Outcome>>>,
    outcome: Mutex<Option<Outcome>>,
}

impl ferry_run {
    /// Starts `profile` on a thread. The thread waits for `go` before its first event, so the
    /// caller can publish the handle first.
    fn start(
        engine: &ferry_engine,
        profile: &ferry_profile,
        opts: &ferry_run_options,
    ) -> Result<(ferry_run, Sender<()>), Failure> {
        let (tx, rx) = crossbeam_channel::bounded::<ferry_event>(QUEUE);
        let delivery = match opts.event_callback {
            Some(func) => Delivery::Callback(Callback {
                func,
                userdata: opts.userdata,
            }),
            None => Delivery::Queue(tx.clone()),
        };
        let control = RunControl::new();
        let prompts = Arc::new(Prompts::default());
        let timeout_ms = match opts.prompt_timeout_ms {
            0 => DEFAULT_PROMPT_TIMEOUT_MS,
            n => n,
        };
        let interval_ms = match opts.progress_interval_ms {
            0 => 200,
            n => n,
        };
        let sink_delivery = delivery.clone();
        let sink: EventSink = Arc::new(move |e: &Event| {
            sink_delivery.deliver(ferry_event {
                data: EventData::Core(e.clone()),
            })
        });
        let run_opts = RunOptions {
            dry_run: opts.dry_run,
            force: opts.force,
            folders: Vec::new(),
            control: control.clone(),
            events: Some(sink),
            prompt: Some(Arc::new(EventPrompt {
                prompts: Arc::clone(&prompts),
                delivery,
                timeout: Duration::from_millis(u64::from(timeout_ms)),
                control: control.clone(),
            })),
            progress_interval: Duration::from_millis(u64::from(interval_ms)),
            resync: opts.resync,
        };
        let engine = engine.engine.clone();
        let profile = profile.profile.clone();
        let (go_tx, go_rx) = crossbeam_channel::bounded::<()>(1);
        let thread = std::thread::Builder::new()
            .name("ferry-run".to_string())
            .spawn(move || {
                // `tx` lives as long as the run: its drop tells the reader the run ended.
                let _end = tx;
                let _ = go_rx.recv();
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    engine.run(&profile, &run_opts)
                })) {
                    Ok(r) => r.map_err(Failure::from),
                    Err(_) => Err(Failure::new(ferry_result::Panic, "panic: the run panicked")),
                }
            })
            .map_err(|e| Failure::new(ferry_result::Io, format!("cannot start a thread: {e}")))?;
        Ok((
            ferry_run {
                events: rx,
                control,
                prompts,
                thread: Mutex::new(Some(thread)),
                outcome: Mutex::new(None),
            },
            go_tx,
        ))
    }

    /// Takes every event left (prompts in them take the default at once) and joins the
    /// thread.
    fn finish(&self) -> Outcome {
        let mut outcome = self.outcome.lock().unwrap_or_else(|p| p.into_inner());
        if outcome.is_none() {
            self.prompts.close();
            // Events no one will read: drained so the engine never waits on a full queue.
            while self.events.recv().is_ok() {}
            let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
            *outcome = Some(match thread.map(JoinHandle::join) {
                Some(Ok(o)) => o,
                Some(Err(_)) | None => {
                    Err(Failure::new(ferry_result::Panic, "panic: the run panicked"))
                }
            });
        }
        outcome.clone().expect("set above")
    }

    fn finished(&self) -> bool {
        self.outcome
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }
}

pub(crate) fn options(opts: *const ferry_run_options) -> ferry_run_options {
    // SAFETY: NULL or a pointer to an initialized ferry_run_options (C contract).
    match unsafe { opts.as_ref() } {
        Some(o) => *o,
        None => ferry_run_options::default(),
    }
}

/// Starts running `profile` on a new thread and gives the run in `*out`. `opts` may be NULL
/// (defaults). Read its events with `ferry_run_next_event` (or receive them through
/// `opts->event_callback`), then `ferry_run_wait` for the report, then `ferry_run_free`.
///
/// `*out` is written before the first event is delivered, so a callback may use it.
#[no_mangle]
pub extern "C" fn ferry_engine_run_start(
    engine: *const ferry_engine,
    profile: *const ferry_profile,
    opts: *const ferry_run_options,
    out: *mut *mut ferry_run,
) -> ferry_result {
    boundary(|| {
        let engine = deref(engine, "engine")?;
        let profile = deref(profile, "profile")?;
        let out = out_ptr(out, "out")?;
        let (run, go) = ferry_run::start(engine, profile, &options(opts))?;
        write_out(out, Box::into_raw(Box::new(run)));
        let _ = go.send(());
        Ok(())
    })
}

/// Runs `profile` to the end on the calling thread's behalf and gives the report in `*out`.
/// `opts` may be NULL. Without a callback, events are discarded and prompts take the
/// default at once.
///
/// Errors: an invalid profile, an unavailable folder whose policy is "abort", or
/// `FERRY_RESULT_GUARD` when a guard stopped the run before anything changed. Per-file
/// failures are not errors: they are in the report.
#[no_mangle]
pub extern "C" fn ferry_engine_run(
    engine: *const ferry_engine,
    profile: *const ferry_profile,
    opts: *const ferry_run_options,
    out: *mut *mut ferry_report,
) -> ferry_result {
    boundary(|| {
        let engine = deref(engine, "engine")?;
        let profile = deref(profile, "profile")?;
        let out = out_ptr(out, "out")?;
        let (run, go) = ferry_run::start(engine, profile, &options(opts))?;
        let _ = go.send(());
        let report = run.finish()?;
        write_out(out, Box::into_raw(Box::new(ferry_report { report })));
        Ok(())
    })
}

/// Waits up to `timeout_ms` for the next event of the run and gives it in `*out` (release it
/// with `ferry_event_free`). `FERRY_RESULT_TIMEOUT` when none arrived in time,
/// `FERRY_RESULT_RUN_FINISHED` once the run has ended and every event was taken (call
/// `ferry_run_wait` then). A timeout of 0 does not wait.
#[no_mangle]
pub extern "C" fn ferry_run_next_event(
    run: *mut ferry_run,
    timeout_ms: u32,
    out: *mut *mut ferry_event,
) -> ferry_result {
    boundary(|| {
        let run = deref(run, "run")?;
        let out = out_ptr(out, "out")?;
        let got = run
            .events
            .recv_timeout(Duration::from_millis(u64::from(timeout_ms)));
        match got {
            Ok(ev) => {
                write_out(out, Box::into_raw(Box::new(ev)));
                Ok(())
            }
            Err(RecvTimeoutError::Timeout) => Err(Failure::new(
                ferry_result::Timeout,
                format!("no event within {timeout_ms} ms"),
            )),
            Err(RecvTimeoutError::Disconnected) => Err(Failure::new(
                ferry_result::RunFinished,
                "the run has finished",
            )),
        }
    })
}

/// The next event if one is waiting, without blocking: `FERRY_RESULT_NO_EVENT` when none is,
/// `FERRY_RESULT_RUN_FINISHED` once the run has ended and every event was taken.
#[no_mangle]
pub extern "C" fn ferry_run_try_next_event(
    run: *mut ferry_run,
    out: *mut *mut ferry_event,
) -> ferry_result {
    boundary(|| {
        let run = deref(run, "run")?;
        let out = out_ptr(out, "out")?;
        match run.events.try_recv() {
            Ok(ev) => {
                write_out(out, Box::into_raw(Box::new(ev)));
                Ok(())
            }
            Err(TryRecvError::Empty) => {
                Err(Failure::new(ferry_result::NoEvent, "no event is waiting"))
            }
            Err(TryRecvError::Disconnected) => Err(Failure::new(
                ferry_result::RunFinished,
                "the run has finished",
            )),
        }
    })
}

/// Answers the CONFIRM_DELETES prompt `prompt_id`: `yes` lets the deletions of that folder go
/// ahead, `false` keeps every destination entry (copies still run).
/// `FERRY_RESULT_UNKNOWN_PROMPT` when that prompt is not waiting (already answered, timed
/// out), `FERRY_RESULT_WRONG_EVENT_KIND` when it is a conflict prompt. Safe to call from any
/// thread, including an event callback.
#[no_mangle]
pub extern "C" fn ferry_run_answer(
    run: *const ferry_run,
    prompt_id: u64,
    yes: bool,
) -> ferry_result {
    boundary(|| {
        let run = deref(run, "run")?;
        run.prompts.answer(prompt_id, Answer::Yes(yes))
    })
}

/// Answers the CONFLICT_PROMPT `prompt_id` with `policy`, a `ferry_conflict_policy` other than
/// PROMPT: `FERRY_CONFLICT_POLICY_KEEP_BOTH` keeps both versions, `..._NEWER` lets the newer
/// win, `..._SKIP` leaves both sides alone, and so on. `FERRY_RESULT_INVALID_INPUT` for
/// another value, `FERRY_RESULT_UNKNOWN_PROMPT` when that prompt is not waiting,
/// `FERRY_RESULT_WRONG_EVENT_KIND` when it is a CONFIRM_DELETES prompt. Safe to call from any
/// thread, including an event callback.
#[no_mangle]
pub extern "C" fn ferry_run_answer_conflict(
    run: *const ferry_run,
    prompt_id: u64,
    policy: u32,
) -> ferry_result {
    boundary(|| {
        let run = deref(run, "run")?;
        let policy = ferry_conflict_policy::answer(policy)?;
        run.prompts.answer(prompt_id, Answer::Policy(policy))
    })
}

/// Cancels the run: it stops at the next item, leaving nothing half-written, and ends with
/// status CANCELLED. A waiting prompt is answered "no" (a conflict prompt: "skip"). Safe from
/// any thread (a signal handler should set a flag instead and call this from the event loop).
#[no_mangle]
pub extern "C" fn ferry_run_cancel(run: *const ferry_run) -> ferry_result {
    boundary(|| {
        let run = deref(run, "run")?;
        run.control.cancel();
        run.prompts.close();
        Ok(())
    })
}

/// Holds the run's workers before their next item until `ferry_run_resume`.
#[no_mangle]
pub extern "C" fn ferry_run_pause(run: *const ferry_run) -> ferry_result {
    boundary(|| {
        deref(run, "run")?.control.pause();
        Ok(())
    })
}

/// Lets a paused run go on.
#[no_mangle]
pub extern "C" fn ferry_run_resume(run: *const ferry_run) -> ferry_result {
    boundary(|| {
        deref(run, "run")?.control.resume();
        Ok(())
    })
}

/// Waits for the run to end and gives its report in `*out` (release with
/// `ferry_report_free`). Events not yet taken are discarded and prompts take their default at
/// once. May be called again: each call gives a new copy of the report (or the same error).
///
/// Errors: those of `ferry_engine_run`.
#[no_mangle]
pub extern "C" fn ferry_run_wait(run: *mut ferry_run, out: *mut *mut ferry_report) -> ferry_result {
    boundary(|| {
        let run = deref(run, "run")?;
        let out = out_ptr(out, "out")?;
        let report = run.finish()?;
        write_out(out, Box::into_raw(Box::new(ferry_report { report })));
        Ok(())
    })
}

/// Releases a run. A run still going is cancelled and waited for first. NULL is a no-op.
/// Events already taken stay valid until `ferry_event_free`.
#[no_mangle]
pub extern "C" fn ferry_run_free(run: *mut ferry_run) {
    boundary_value((), || {
        if !run.is_null() {
            // SAFETY: a handle from `ferry_engine_run_start`, released once.
            let run = unsafe { Box::from_raw(run) };
            if !run.finished() {
                run.control.cancel();
                let _ = run.finish();
            }
        }
    })
}

/// The kind of an event; `FERRY_EVENT_KIND_NONE` for NULL.
#[no_mangle]
pub extern "C" fn ferry_event_get_kind(event: *const ferry_event) -> ferry_event_kind {
    boundary_value(ferry_event_kind::None, || {
        deref(event, "event").map_or(ferry_event_kind::None, ferry_event::kind)
    })
}

/// The numbers of a PROGRESS event into `*out`; `FERRY_RESULT_WRONG_EVENT_KIND` for other
/// events.
#[no_mangle]
pub extern "C" fn ferry_event_progress(
    event: *const ferry_event,
    out: *mut ferry_progress,
) -> ferry_result {
    boundary(|| {
        let event = deref(event, "event")?;
        let out = out_ptr(out, "out")?;
        match &event.data {
            EventData::Core(Event::Progress(p)) => {
                write_out(
                    out,
                    ferry_progress {
                        items_done: p.items_done,
                        items_total: p.items_total,
                        bytes_done: p.bytes_done,
                        bytes_total: p.bytes_total,
                    },
                );
                Ok(())
            }
            _ => Err(Failure::new(
                ferry_result::WrongEventKind,
                "not a PROGRESS event",
            )),
        }
    })
}

/// The id of a CONFIRM_DELETES or CONFLICT_PROMPT event's prompt into `*out`, for
/// `ferry_run_answer` or `ferry_run_answer_conflict`; `FERRY_RESULT_WRONG_EVENT_KIND` for
/// other events.
#[no_mangle]
pub extern "C" fn ferry_event_prompt_id(event: *const ferry_event, out: *mut u64) -> ferry_result {
    boundary(|| {
        let event = deref(event, "event")?;
        let out = out_ptr(out, "out")?;
        match &event.data {
            EventData::ConfirmDeletes(ConfirmDeletes { id, .. })
            | EventData::ConflictPrompt(ConflictPrompt { id, .. }) => {
                write_out(out, *id);
                Ok(())
            }
            _ => Err(Failure::new(
                ferry_result::WrongEventKind,
                "not a CONFIRM_DELETES or CONFLICT_PROMPT event",
            )),
        }
    })
}

/// The conflict a CONFLICT_PROMPT event asks about, as `ferry_event_conflict` gives it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ferry_conflict_info {
    /// The id to answer with `ferry_run_answer_conflict`.
    pub prompt_id: u64,
    /// Which conflict.
    pub kind: ferry_conflict_kind,
    /// What the entry is (on the side the plan read).
    pub entry: ferry_entry_kind,
    /// The profile folder. Borrowed: valid while the event lives (for a callback: during the
    /// call).
    pub folder: *const c_char,
    /// The path relative to both roots, `/`-separated. Borrowed like `folder`.
    pub path: *const c_char,
    /// The source's version (`exists` is false when the source deleted it).
    pub source: ferry_stamp,
    /// The destination's version.
    pub destination: ferry_stamp,
}

/// What a CONFLICT_PROMPT event asks about into `*out`; `FERRY_RESULT_WRONG_EVENT_KIND` for
/// other events.
#[no_mangle]
pub extern "C" fn ferry_event_conflict(
    event: *const ferry_event,
    out: *mut ferry_conflict_info,
) -> ferry_result {
    boundary(|| {
        let event = deref(event, "event")?;
        let out = out_ptr(out, "out")?;
        match &event.data {
            EventData::ConflictPrompt(c) => {
                write_out(
                    out,
                    ferry_conflict_info {
                        prompt_id: c.id,
                        kind: c.kind(),
                        entry: c.action.entry.into(),
                        folder: c.folder.as_ptr(),
                        path: c.path.as_ptr(),
                        source: c.action.source.into(),
                        destination: c.action.destination.into(),
                    },
                );
                Ok(())
            }
            _ => Err(Failure::new(
                ferry_result::WrongEventKind,
                "not a CONFLICT_PROMPT event",
            )),
        }
    })
}

/// A one-line description of the event into `buf` (for a warning or error: `[folder] path:
/// message`; for progress: the current item, possibly empty). Buffer rules as
/// `ferry_result_message`.
#[no_mangle]
pub extern "C" fn ferry_event_message(
    event: *const ferry_event,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> ferry_result {
    boundary(|| {
        let event = deref(event, "event")?;
        write_text(&event.message(), buf, len, out_n)
    })
}

/// The event as one line of JSON (`{"event": "progress", ...}`; the CONFIRM_DELETES prompt
/// is `{"event": "confirm-deletes", "prompt-id": 1, "folder": ..., "deletions": ...}`, the
/// CONFLICT_PROMPT `{"event": "conflict-prompt", "prompt-id": 2, "folder": ..., "action":
/// {the conflict action as in the plan's JSON}}`) into `*out`; release it with
/// `ferry_string_free`.
#[no_mangle]
pub extern "C" fn ferry_event_to_json(
    event: *const ferry_event,
    out: *mut *mut c_char,
) -> ferry_result {
    boundary(|| {
        let event = deref(event, "event")?;
        let out = out_ptr(out, "out")?;
        write_out(out, owned_string(event.to_json()));
        Ok(())
    })
}

/// Releases an event from `ferry_run_next_event`. NULL is a no-op. Never pass an event lent
/// to a callback.
#[no_mangle]
pub extern "C" fn ferry_event_free(event: *mut ferry_event) {
    boundary_value((), || {
        if !event.is_null() {
            // SAFETY: a handle from `ferry_run_next_event`, released once.
            drop(unsafe { Box::from_raw(event) });
        }
    })
}

/// How a run ended.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ferry_run_status {
    /// Everything done.
    Ok = 0,
    /// Done, but some items failed (see the errors in the report).
    Errors = 1,
    /// Stopped by `ferry_run_cancel`.
    Cancelled = 2,
    /// Done, but folders were skipped as unavailable under the "warning" policy (see the
    /// skipped folders and warnings in the report); no item failed.
    Incomplete = 3,
}

/// Counters of a report beside its summary (`ferry_report_get_counts`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ferry_report_counts {
    /// Bytes actually written.
    pub bytes_written: u64,
    /// Actions that failed.
    pub failed: u64,
    /// Warnings.
    pub warnings: u64,
    /// Per-file errors.
    pub errors: u64,
    /// Folders skipped (unavailable, or disabled in the profile).
    pub skipped_folders: u64,
}

/// What a run did. From `ferry_run_wait` or `ferry_engine_run`, released by
/// `ferry_report_free`.
pub struct ferry_report {
    report: Report,
}

/// How the run ended into `*out`.
#[no_mangle]
pub extern "C" fn ferry_report_status(
    report: *const ferry_report,
    out: *mut ferry_run_status,
) -> ferry_result {
    boundary(|| {
        let report = deref(report, "report")?;
        let out = out_ptr(out, "out")?;
        write_out(
            out,
            match report.report.status {
                RunStatus::Ok => ferry_run_status::Ok,
                RunStatus::Errors => ferry_run_status::Errors,
                RunStatus::Incomplete => ferry_run_status::Incomplete,
                RunStatus::Cancelled => ferry_run_status::Cancelled,
            },
        );
        Ok(())
    })
}

/// The `ferry` CLI's exit code for the report: 0 ok, 1 finished with errors, 4 incomplete (a
/// folder skipped as unavailable), 130 cancelled; -1 for NULL.
#[no_mangle]
pub extern "C" fn ferry_report_exit_code(report: *const ferry_report) -> i32 {
    boundary_value(-1, || {
        deref(report, "report").map_or(-1, |r| r.report.exit_code())
    })
}

/// What was done (for a dry run: what would have been) into `*out`.
#[no_mangle]
pub extern "C" fn ferry_report_summary(
    report: *const ferry_report,
    out: *mut ferry_summary,
) -> ferry_result {
    boundary(|| {
        let report = deref(report, "report")?;
        let out = out_ptr(out, "out")?;
        write_out(out, report.report.done.into());
        Ok(())
    })
}

/// Bytes written and the numbers of failures, warnings, errors and skipped folders into
/// `*out`.
#[no_mangle]
pub extern "C" fn ferry_report_get_counts(
    report: *const ferry_report,
    out: *mut ferry_report_counts,
) -> ferry_result {
    boundary(|| {
        let r = &deref(report, "report")?.report;
        let out = out_ptr(out, "out")?;
        write_out(
            out,
            ferry_report_counts {
                bytes_written: r.bytes_written,
                failed: r.failed,
                warnings: r.warnings.len() as u64,
                errors: r.errors.len() as u64,
                skipped_folders: r.skipped_folders.len() as u64,
            },
        );
        Ok(())
    })
}

/// The report as pretty JSON (with every warning and error) into `*out`; release it with
/// `ferry_string_free`.
#[no_mangle]
pub extern "C" fn ferry_report_to_json(
    report: *const ferry_report,
    out: *mut *mut c_char,
) -> ferry_result {
    boundary(|| {
        let report = deref(report, "report")?;
        let out = out_ptr(out, "out")?;
        let json = serde_json::to_string_pretty(&report.report)
            .map_err(|e| Failure::new(ferry_result::Unknown, e.to_string()))?;
        write_out(out, owned_string(json));
        Ok(())
    })
}

/// Releases a report. NULL is a no-op.
#[no_mangle]
pub extern "C" fn ferry_report_free(report: *mut ferry_report) {
    boundary_value((), || {
        if !report.is_null() {
            // SAFETY: a handle from `ferry_run_wait` or `ferry_engine_run`, released once.
            drop(unsafe { Box::from_raw(report) });
        }
    })
}
