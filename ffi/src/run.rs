//! `ferry_run`: the core's run handle ([`ferry_core::Run`]) in C: its events (pulled, or
//! pushed to a callback), its prompts (confirm deletes, resolve a two-way conflict), and the
//! `ferry_report` it ends with. The run thread, the queue, prompt ids, timeouts and the
//! defaults of unanswered prompts are the core's; this file only translates.

use std::ffi::{c_char, c_void, CString};
use std::mem::{offset_of, size_of, MaybeUninit};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ferry_core::{
    Answer, ErrorKind, Event, EventSink, Next, Question, Reason, Report, Run, RunOptions,
    RunStatus, StartOptions, DEFAULT_PROMPT_TIMEOUT,
};

use crate::plan::{c_string, ferry_engine, ferry_entry_kind, ferry_summary};
use crate::profile::ferry_profile;
use crate::result::{
    boundary, boundary_value, deref, ferry_result, out_ptr, owned_string, write_out, write_text,
    Failure,
};
use crate::two_way::{ferry_conflict_kind, ferry_conflict_policy, ferry_stamp};

/// Receives each event of a run on an engine thread. `userdata` first; `event` is borrowed
/// for the duration of the call only (do not free it, do not keep it).
pub type ferry_event_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, event: *const ferry_event)>;

/// How a run goes. Fill it with `ferry_run_options_init(&opts, sizeof opts)`, or
/// zero-initialize it (`ferry_run_options opts = {0};`), then set what you need. Passing NULL
/// instead means the defaults. Every field's zero value means its default.
///
/// The struct only grows, at its end (see the ABI policy in the README): `struct_size` says
/// which layout the caller has.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ferry_run_options {
    /// `sizeof(ferry_run_options)` as the caller's header declares it
    /// (`ferry_run_options_init` sets it). 0 means the first published layout, this one:
    /// a zeroed struct stays valid. Fields a later layout adds are read only when
    /// `struct_size` covers them; a struct larger than this library knows is accepted when
    /// the fields it does not know are zero (their defaults), else the call fails with
    /// `FERRY_RESULT_NOT_SUPPORTED`.
    pub struct_size: usize,
    /// Plan and report, change nothing.
    pub dry_run: bool,
    /// Go ahead although a guard (mass delete) objects.
    pub force: bool,
    /// How long a prompt waits for its answer before the run takes the default: for
    /// CONFIRM_DELETES no (the destination keeps its files), for CONFLICT_PROMPT keep both.
    /// 0 means the default, 60000 ms.
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

/// The size of the first published layout of `ferry_run_options`: where its last field ends.
/// Fixed for ever; fields added later lie beyond it.
const FIRST_LAYOUT: usize = offset_of!(ferry_run_options, resync) + size_of::<bool>();

impl Default for ferry_run_options {
    fn default() -> Self {
        ferry_run_options {
            struct_size: size_of::<ferry_run_options>(),
            dry_run: false,
            force: false,
            prompt_timeout_ms: 0,
            progress_interval_ms: 0,
            event_callback: None,
            userdata: std::ptr::null_mut(),
            resync: false,
        }
    }
}

impl ferry_run_options {
    /// Every field zero: the defaults, in the first layout.
    fn zeroed() -> ferry_run_options {
        // SAFETY: every field is an integer, a bool, a nullable pointer or an `Option` of a
        // function pointer, for all of which zero bytes are a valid value.
        unsafe { MaybeUninit::<ferry_run_options>::zeroed().assume_init() }
    }

    /// The core's options for a run going as these say.
    fn start_options(&self) -> StartOptions {
        let mut run = RunOptions::default();
        run.dry_run = self.dry_run;
        run.force = self.force;
        run.resync = self.resync;
        if self.progress_interval_ms != 0 {
            run.progress_interval = Duration::from_millis(u64::from(self.progress_interval_ms));
        }
        let mut start = StartOptions::new(run);
        start.prompt_timeout = Some(match self.prompt_timeout_ms {
            0 => DEFAULT_PROMPT_TIMEOUT,
            ms => Duration::from_millis(u64::from(ms)),
        });
        start
    }
}

/// Fills `*out` with the default options, for a struct of `size` bytes (pass `sizeof *out`):
/// every byte zero, then `struct_size = size`. `FERRY_RESULT_INVALID_INPUT` (nothing written)
/// when `size` is smaller than the first published layout.
#[no_mangle]
pub extern "C" fn ferry_run_options_init(out: *mut ferry_run_options, size: usize) -> ferry_result {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        check_size(size)?;
        let known = size_of::<ferry_run_options>();
        let mut opts = ferry_run_options::zeroed();
        opts.struct_size = size;
        // SAFETY: `out` points to `size` writable bytes (C contract); the first
        // `min(size, known)` come from `opts`, the rest are zeroed.
        unsafe {
            let bytes = out.cast::<u8>();
            std::ptr::copy_nonoverlapping(
                (&opts as *const ferry_run_options).cast::<u8>(),
                bytes,
                size.min(known),
            );
            if size > known {
                std::ptr::write_bytes(bytes.add(known), 0, size - known);
            }
        }
        Ok(())
    })
}

fn check_size(size: usize) -> Result<(), Failure> {
    if size < FIRST_LAYOUT {
        return Err(ferry_core::Error::invalid(format!(
            "ferry_run_options of {size} bytes is smaller than its first layout \
             ({FIRST_LAYOUT} bytes): pass sizeof(ferry_run_options)"
        ))
        .into());
    }
    Ok(())
}

/// The caller's options: NULL means the defaults; `struct_size` says how much of the struct
/// the caller has (0: the first layout).
pub(crate) fn options(opts: *const ferry_run_options) -> Result<ferry_run_options, Failure> {
    if opts.is_null() {
        return Ok(ferry_run_options::default());
    }
    // SAFETY: a pointer to a ferry_run_options (C contract), whose first field is its size.
    let declared = unsafe { std::ptr::addr_of!((*opts).struct_size).read() };
    let size = if declared == 0 {
        FIRST_LAYOUT
    } else {
        declared
    };
    check_size(size)?;
    let known = size_of::<ferry_run_options>();
    let bytes = opts.cast::<u8>();
    if size > known {
        // SAFETY: the caller's struct holds `size` bytes, as its `struct_size` says.
        let unknown = unsafe { std::slice::from_raw_parts(bytes.add(known), size - known) };
        if unknown.iter().any(|b| *b != 0) {
            return Err(ferry_core::Error::not_supported(format!(
                "options of a later ferrysync (ferry_run_options of {size} bytes, this library \
                 knows {known})"
            ))
            .into());
        }
    }
    let mut read = ferry_run_options::zeroed();
    // SAFETY: the caller's struct holds at least `min(size, known)` bytes; `read` has `known`.
    unsafe {
        std::ptr::copy_nonoverlapping(
            bytes,
            (&mut read as *mut ferry_run_options).cast::<u8>(),
            size.min(known),
        );
    }
    Ok(read)
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
    /// ferry_event_prompt_id(ev), yes)`; unanswered, the entries are kept.
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
    event: Event,
    /// A conflict prompt's folder and path, lent by `ferry_event_conflict`.
    conflict: Option<(CString, CString)>,
}

impl ferry_event {
    fn new(event: Event) -> ferry_event {
        let conflict = match &event {
            Event::ConflictPrompt(q) => Some((
                c_string(q.folder.as_bytes()),
                c_string(q.action.path.as_bytes()),
            )),
            _ => None,
        };
        ferry_event { event, conflict }
    }

    fn kind(&self) -> ferry_event_kind {
        match &self.event {
            Event::Started { .. } => ferry_event_kind::Started,
            Event::FolderStarted { .. } => ferry_event_kind::FolderStarted,
            Event::Progress(_) => ferry_event_kind::Progress,
            Event::ActionDone { .. } => ferry_event_kind::Action,
            Event::Warning(_) => ferry_event_kind::Warning,
            Event::Error(_) => ferry_event_kind::Error,
            Event::Finished(_) => ferry_event_kind::Finished,
            Event::ConfirmDeletes(_) => ferry_event_kind::ConfirmDeletes,
            Event::ConflictPrompt(_) => ferry_event_kind::ConflictPrompt,
            // The core may grow events; this ABI is built with the core it ships with, so
            // one it does not know never reaches it.
            _ => ferry_event_kind::None,
        }
    }

    fn message(&self) -> String {
        match &self.event {
            Event::ConfirmDeletes(q) => format!(
                "[{}] delete {} unmatched entries ({} bytes) in {}?",
                q.folder, q.deletions, q.bytes_to_delete, q.destination
            ),
            Event::ConflictPrompt(q) => format!(
                "[{}] conflict ({}) at {}: source {}, destination {}",
                q.folder,
                match q.action.reason {
                    Reason::Conflict(kind) => kind.name(),
                    _ => "conflict",
                },
                q.action.path,
                side_text(q.action.source),
                side_text(q.action.destination),
            ),
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
            } => format!(
                "[{folder}] {} {}: {}",
                action.kind.name(),
                action.path,
                outcome.name()
            ),
            Event::Warning(p) | Event::Error(p) => p.to_string(),
            Event::Finished(r) => format!("profile {}: {}", r.profile, r.status.name()),
            other => other.name().to_string(),
        }
    }

    fn to_json(&self) -> String {
        serde_json::to_string(&self.event).unwrap_or_else(|e| {
            serde_json::json!({"event": "error", "message": e.to_string()}).to_string()
        })
    }
}

/// The caller's event callback.
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

/// Holds a callback's first event until the caller has the run's handle in `*out`.
#[derive(Default)]
struct Gate {
    open: AtomicBool,
    held: Mutex<()>,
}

impl Gate {
    fn hold(&self) -> MutexGuard<'_, ()> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pass(&self) {
        if !self.open.load(Ordering::Acquire) {
            drop(self.hold());
            self.open.store(true, Ordering::Release);
        }
    }
}

/// The sink that hands every event to `cb`, once `gate` opens.
fn callback_sink(cb: Callback, gate: Arc<Gate>) -> EventSink {
    Arc::new(move |e: &Event| {
        gate.pass();
        cb.call(&ferry_event::new(e.clone()));
    })
}

impl Callback {
    fn call(&self, event: &ferry_event) {
        // SAFETY: a function pointer the caller registered, with its own userdata; the event
        // outlives the call.
        unsafe { (self.func)(self.userdata, event) }
    }
}

/// A run in progress on its own thread. Made by `ferry_engine_run_start`, released by
/// `ferry_run_free`.
pub struct ferry_run {
    run: Run,
}

/// Starts `profile` as `opts` say. With a callback, its events wait behind `gate`.
fn start(
    engine: &ferry_engine,
    profile: &ferry_profile,
    opts: &ferry_run_options,
    gate: &Arc<Gate>,
) -> Result<ferry_run, Failure> {
    let mut start = opts.start_options();
    if let Some(func) = opts.event_callback {
        let cb = Callback {
            func,
            userdata: opts.userdata,
        };
        start.run.events = Some(callback_sink(cb, Arc::clone(gate)));
    }
    let run = engine.engine.start(&profile.profile, start)?;
    Ok(ferry_run { run })
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
        let opts = options(opts)?;
        let gate = Arc::new(Gate::default());
        let held = gate.hold();
        let run = start(engine, profile, &opts, &gate)?;
        write_out(out, Box::into_raw(Box::new(run)));
        drop(held);
        Ok(())
    })
}

/// Runs `profile` to the end on the calling thread's behalf and gives the report in `*out`.
/// `opts` may be NULL. Prompts take their default at once (nobody can answer them: the
/// entries are kept, conflicts keep both versions); without a callback, events are
/// discarded.
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
        let opts = options(opts)?;
        let gate = Arc::new(Gate::default());
        let run = start(engine, profile, &opts, &gate)?;
        let report = run.run.wait()?;
        write_out(out, Box::into_raw(Box::new(ferry_report { report })));
        Ok(())
    })
}

/// An event for `*out`, or the failure that says why there is none.
fn pulled(next: Next, none: Failure) -> Result<*mut ferry_event, Failure> {
    match next {
        Next::Event(e) => Ok(Box::into_raw(Box::new(ferry_event::new(e)))),
        Next::Empty => Err(none),
        Next::Finished => Err(Failure::new(
            ferry_result::RunFinished,
            "the run has finished",
        )),
    }
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
        let next = run
            .run
            .next_event(Duration::from_millis(u64::from(timeout_ms)));
        let none = Failure::new(
            ferry_result::Timeout,
            format!("no event within {timeout_ms} ms"),
        );
        write_out(out, pulled(next, none)?);
        Ok(())
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
        let none = Failure::new(ferry_result::NoEvent, "no event is waiting");
        write_out(out, pulled(run.run.try_next_event(), none)?);
        Ok(())
    })
}

/// Gives `answer` to prompt `id` of `run` when it asks `question`.
fn answer(run: &ferry_run, id: u64, question: Question, answer: Answer) -> Result<(), Failure> {
    let not_waiting = || {
        Failure::new(
            ferry_result::UnknownPrompt,
            format!("prompt {id} is not waiting for an answer"),
        )
    };
    match run.run.pending(id) {
        None => return Err(not_waiting()),
        Some(q) if q != question => {
            let (what, with) = match q {
                Question::ConfirmDeletes => ("confirms deletions", "ferry_run_answer"),
                Question::Conflict => ("is a conflict", "ferry_run_answer_conflict"),
            };
            return Err(Failure::new(
                ferry_result::WrongEventKind,
                format!("prompt {id} {what}: answer it with {with}"),
            ));
        }
        Some(_) => {}
    }
    run.run.answer(id, answer).map_err(|e| match e.kind() {
        // Timed out since.
        ErrorKind::NotFound => not_waiting(),
        _ => e.into(),
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
        answer(
            run,
            prompt_id,
            Question::ConfirmDeletes,
            Answer::Deletes(yes),
        )
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
        answer(run, prompt_id, Question::Conflict, Answer::Conflict(policy))
    })
}

/// Cancels the run: it stops at the next item, leaving nothing half-written, and ends with
/// status CANCELLED. A waiting prompt is answered "no" (a conflict prompt: "skip"). Safe from
/// any thread (a signal handler should set a flag instead and call this from the event loop).
#[no_mangle]
pub extern "C" fn ferry_run_cancel(run: *const ferry_run) -> ferry_result {
    boundary(|| {
        deref(run, "run")?.run.cancel();
        Ok(())
    })
}

/// Holds the run's workers before their next item until `ferry_run_resume`.
#[no_mangle]
pub extern "C" fn ferry_run_pause(run: *const ferry_run) -> ferry_result {
    boundary(|| {
        deref(run, "run")?.run.pause();
        Ok(())
    })
}

/// Lets a paused run go on.
#[no_mangle]
pub extern "C" fn ferry_run_resume(run: *const ferry_run) -> ferry_result {
    boundary(|| {
        deref(run, "run")?.run.resume();
        Ok(())
    })
}

/// Waits for the run to end and gives its report in `*out` (release with
/// `ferry_report_free`). Events not yet taken are discarded and prompts take their default at
/// once. May be called again: each call gives a new copy of the report (or the same error).
///
/// Errors: those of `ferry_engine_run`, and `FERRY_RESULT_PANIC` when the run's thread
/// panicked (a bug: the run stopped where it was).
#[no_mangle]
pub extern "C" fn ferry_run_wait(run: *mut ferry_run, out: *mut *mut ferry_report) -> ferry_result {
    boundary(|| {
        let run = deref(run, "run")?;
        let out = out_ptr(out, "out")?;
        let report = run.run.wait()?;
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
            if !run.run.is_finished() {
                run.run.cancel();
            }
            let _ = run.run.wait();
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
        match &event.event {
            Event::Progress(p) => {
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
        match event.event.prompt_id() {
            Some(id) => {
                write_out(out, id);
                Ok(())
            }
            None => Err(Failure::new(
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
        match (&event.event, &event.conflict) {
            (Event::ConflictPrompt(q), Some((folder, path))) => {
                write_out(
                    out,
                    ferry_conflict_info {
                        prompt_id: q.prompt_id,
                        kind: match q.action.reason {
                            Reason::Conflict(kind) => kind.into(),
                            _ => ferry_conflict_kind::None,
                        },
                        entry: q.action.entry.into(),
                        folder: folder.as_ptr(),
                        path: path.as_ptr(),
                        source: q.action.source.into(),
                        destination: q.action.destination.into(),
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
/// is `{"event": "confirm-deletes", "prompt-id": 1, "folder": ..., "destination": ...,
/// "deletions": 2, "bytes-to-delete": ..., "paths": [...]}`, the CONFLICT_PROMPT
/// `{"event": "conflict-prompt", "prompt-id": 2, "folder": ..., "action": {the conflict
/// action as in the plan's JSON}}`) into `*out`; release it with `ferry_string_free`.
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

/// The exit code the `ferry` CLI would give for the report: 0 ok, 1 finished with errors,
/// 4 incomplete (a folder skipped as unavailable), 130 cancelled; -1 for NULL. A program
/// that ends with its run can exit with it.
#[no_mangle]
pub extern "C" fn ferry_report_exit_code(report: *const ferry_report) -> i32 {
    boundary_value(-1, || {
        deref(report, "report").map_or(-1, |r| cli_exit_code(r.report.status))
    })
}

/// The `ferry` CLI's exit code of a run that ended as `status` (its table is the CLI's:
/// examples/ferry/src/exit.rs).
fn cli_exit_code(status: RunStatus) -> i32 {
    match status {
        RunStatus::Ok => 0,
        RunStatus::Errors => 1,
        RunStatus::Incomplete => 4,
        RunStatus::Cancelled => 130,
    }
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
