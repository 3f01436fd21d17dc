//! `ferry_engine` and `ferry_plan`: the engine and its preview.

use std::ffi::{c_char, CString};

use ferry_core::transport::EntryKind;
use ferry_core::{ActionKind, Engine, Group, Plan, Reason, Summary};

use crate::profile::ferry_profile;
use crate::result::{
    boundary, boundary_value, deref, ferry_result, out_ptr, owned_string, write_out, Failure,
};
use crate::run::{ferry_run_options, options};
use crate::two_way::{ferry_conflict_kind, ferry_resolution, ferry_side, ferry_stamp, resolution};

/// Runs profiles. One engine may run several profiles at once from different threads.
/// Made by `ferry_engine_new`, released by `ferry_engine_free`.
pub struct ferry_engine {
    pub(crate) engine: Engine,
}

/// Makes an engine with default settings into `*out`.
#[no_mangle]
pub extern "C" fn ferry_engine_new(out: *mut *mut ferry_engine) -> ferry_result {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        write_out(
            out,
            Box::into_raw(Box::new(ferry_engine {
                engine: Engine::new(),
            })),
        );
        Ok(())
    })
}

/// Releases an engine. NULL is a no-op. Runs started from it keep going (they hold their own
/// copy).
#[no_mangle]
pub extern "C" fn ferry_engine_free(engine: *mut ferry_engine) {
    boundary_value((), || {
        if !engine.is_null() {
            // SAFETY: a handle from `ferry_engine_new`, released once.
            drop(unsafe { Box::from_raw(engine) });
        }
    })
}

/// What an action does.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ferry_action_kind {
    /// Create a folder on the destination.
    CreateDir = 1,
    /// Copy a file or link to the destination (new or replacing).
    Copy = 2,
    /// Apply the source's metadata to an equal destination entry.
    UpdateMeta = 3,
    /// Delete a destination entry.
    Delete = 4,
    /// Delete the source entry after its copy is verified (move).
    DeleteSource = 5,
    /// Both sides changed (two-way), or the sides cannot be reconciled (one-way).
    Conflict = 6,
    /// Two-way: rename an entry as the other side did.
    Rename = 7,
    /// Two-way: both sides agree; only the state database changes.
    Record = 8,
}

/// How the preview groups actions.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ferry_action_group {
    /// New on the destination.
    New = 1,
    /// Replaced or updated on the destination.
    Modified = 2,
    /// Deleted (from the destination, or the source for a move).
    Deleted = 3,
    /// Cannot be reconciled.
    Conflict = 4,
    /// Renamed or moved (two-way).
    Renamed = 5,
    /// Already equal: only the state database changes (two-way).
    Recorded = 6,
}

/// What the entry of an action is.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ferry_entry_kind {
    /// A regular file.
    File = 1,
    /// A folder.
    Dir = 2,
    /// A symbolic link.
    Symlink = 3,
    /// A socket, FIFO or device.
    Special = 4,
}

impl From<EntryKind> for ferry_entry_kind {
    fn from(k: EntryKind) -> ferry_entry_kind {
        match k {
            EntryKind::File => ferry_entry_kind::File,
            EntryKind::Dir => ferry_entry_kind::Dir,
            EntryKind::Symlink => ferry_entry_kind::Symlink,
            EntryKind::Special => ferry_entry_kind::Special,
        }
    }
}

/// One action of a plan, as `ferry_plan_action_get` gives it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ferry_action_info {
    /// What to do.
    pub kind: ferry_action_kind,
    /// The preview group.
    pub group: ferry_action_group,
    /// What the entry is.
    pub entry: ferry_entry_kind,
    /// Bytes the action copies or frees.
    pub size: u64,
    /// The path relative to both roots, `/`-separated, NUL-terminated: the file system's
    /// bytes (UTF-8 unless a name is not). Borrowed: valid while the plan lives.
    pub path: *const c_char,
    /// The profile folder the action belongs to. Borrowed like `path`.
    pub folder: *const c_char,
    /// The side the action changes: the destination, except for a move's source deletions
    /// and two-way actions that go from the destination to the source.
    pub to: ferry_side,
    /// RENAME: the old path on side `to`, which becomes `path`; NULL for other kinds.
    /// Borrowed like `path`.
    pub from: *const c_char,
    /// The source side of the path (`exists` is false when the source does not have it).
    pub source: ferry_stamp,
    /// The destination side of the path.
    pub destination: ferry_stamp,
    /// A two-way CONFLICT: which conflict; `FERRY_CONFLICT_KIND_NONE` otherwise.
    pub conflict: ferry_conflict_kind,
    /// A two-way CONFLICT: what the run will do about it; `FERRY_RESOLUTION_NONE` otherwise.
    pub resolution: ferry_resolution,
    /// The side `resolution` names (the winner, or the version that keeps the name);
    /// `FERRY_SIDE_NONE` for SKIP, PROMPT and NONE.
    pub resolution_side: ferry_side,
}

/// Counts and bytes of a plan, or of what a run did.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ferry_summary {
    /// Folders to create.
    pub new_dirs: u64,
    /// Files and links new on the destination.
    pub new_files: u64,
    /// Files and links to replace.
    pub modified_files: u64,
    /// Entries whose metadata only are updated.
    pub metadata_updates: u64,
    /// Destination entries to delete.
    pub deletions: u64,
    /// Source entries to delete (move).
    pub source_deletions: u64,
    /// Conflicts left alone.
    pub conflicts: u64,
    /// Bytes to copy.
    pub bytes_to_copy: u64,
    /// Bytes of destination files to delete.
    pub bytes_to_delete: u64,
    /// Entries to rename (two-way).
    pub renames: u64,
    /// Paths only the state database learns or forgets (two-way).
    pub records: u64,
}

impl From<Summary> for ferry_summary {
    fn from(s: Summary) -> ferry_summary {
        ferry_summary {
            new_dirs: s.new_dirs,
            new_files: s.new_files,
            modified_files: s.modified_files,
            metadata_updates: s.metadata_updates,
            deletions: s.deletions,
            source_deletions: s.source_deletions,
            conflicts: s.conflicts,
            bytes_to_copy: s.bytes_to_copy,
            bytes_to_delete: s.bytes_to_delete,
            renames: s.renames,
            records: s.records,
        }
    }
}

/// The preview of a run: what it would do, folder by folder. Made by `ferry_engine_plan`,
/// released by `ferry_plan_free`.
pub struct ferry_plan {
    plan: Plan,
    /// Per action in plan order, the strings it lends and where it is.
    actions: Vec<Lent>,
    folders: Vec<CString>,
}

/// The C strings of one action, and its place in the plan.
struct Lent {
    path: CString,
    from: Option<CString>,
    folder: usize,
    at: usize,
}

/// A C string of `bytes`, any NUL bytes left out.
pub(crate) fn c_string(bytes: &[u8]) -> CString {
    CString::new(
        bytes
            .iter()
            .copied()
            .filter(|b| *b != 0)
            .collect::<Vec<u8>>(),
    )
    .expect("NUL bytes were removed")
}

impl ferry_plan {
    fn new(plan: Plan) -> ferry_plan {
        let folders = plan
            .folders
            .iter()
            .map(|f| c_string(f.folder.as_bytes()))
            .collect();
        let actions = plan
            .folders
            .iter()
            .enumerate()
            .flat_map(|(folder, f)| {
                f.actions.iter().enumerate().map(move |(at, a)| Lent {
                    path: c_string(a.path.as_bytes()),
                    from: a.from.as_ref().map(|p| c_string(p.as_bytes())),
                    folder,
                    at,
                })
            })
            .collect();
        ferry_plan {
            plan,
            actions,
            folders,
        }
    }
}

/// Plans `profile` now (scans both sides of each folder pair, changes nothing) into `*out`.
///
/// Errors: an invalid profile, a filter that does not compile, or an unavailable folder
/// whose policy is "abort" (`FERRY_RESULT_UNAVAILABLE`).
#[no_mangle]
pub extern "C" fn ferry_engine_plan(
    engine: *const ferry_engine,
    profile: *const ferry_profile,
    out: *mut *mut ferry_plan,
) -> ferry_result {
    boundary(|| {
        let engine = deref(engine, "engine")?;
        let profile = deref(profile, "profile")?;
        let out = out_ptr(out, "out")?;
        let plan = engine.engine.plan(&profile.profile)?;
        write_out(out, Box::into_raw(Box::new(ferry_plan::new(plan))));
        Ok(())
    })
}

/// Plans `profile` as a run with `opts` would (NULL: the defaults), into `*out`. Of the
/// options, only `resync` changes a plan: a two-way plan then ignores the state database and
/// is a first run's (a union). Errors: those of `ferry_engine_plan`.
#[no_mangle]
pub extern "C" fn ferry_engine_plan_with(
    engine: *const ferry_engine,
    profile: *const ferry_profile,
    opts: *const ferry_run_options,
    out: *mut *mut ferry_plan,
) -> ferry_result {
    boundary(|| {
        let engine = deref(engine, "engine")?;
        let profile = deref(profile, "profile")?;
        let out = out_ptr(out, "out")?;
        let mut run_opts = ferry_core::RunOptions::default();
        run_opts.resync = options(opts)?.resync;
        let plan = engine.engine.plan_with(&profile.profile, &run_opts)?;
        write_out(out, Box::into_raw(Box::new(ferry_plan::new(plan))));
        Ok(())
    })
}

/// The plan as pretty JSON into `*out`; release it with `ferry_string_free`.
#[no_mangle]
pub extern "C" fn ferry_plan_to_json(
    plan: *const ferry_plan,
    out: *mut *mut c_char,
) -> ferry_result {
    boundary(|| {
        let plan = deref(plan, "plan")?;
        let out = out_ptr(out, "out")?;
        write_out(out, owned_string(plan.plan.to_json()));
        Ok(())
    })
}

/// How many actions the plan has over all folders; 0 for NULL.
#[no_mangle]
pub extern "C" fn ferry_plan_action_count(plan: *const ferry_plan) -> usize {
    boundary_value(0, || deref(plan, "plan").map_or(0, |p| p.actions.len()))
}

/// The action at `index` (0 ≤ index < `ferry_plan_action_count`) into `*out`.
/// `FERRY_RESULT_INDEX_OUT_OF_RANGE` past the end.
#[no_mangle]
pub extern "C" fn ferry_plan_action_get(
    plan: *const ferry_plan,
    index: usize,
    out: *mut ferry_action_info,
) -> ferry_result {
    boundary(|| {
        let plan = deref(plan, "plan")?;
        let out = out_ptr(out, "out")?;
        let lent = plan.actions.get(index).ok_or_else(|| {
            Failure::new(
                ferry_result::IndexOutOfRange,
                format!(
                    "action {index} of a plan with {} actions",
                    plan.actions.len()
                ),
            )
        })?;
        let action = &plan.plan.folders[lent.folder].actions[lent.at];
        let (resolution, resolution_side) = resolution(action.resolution);
        write_out(
            out,
            ferry_action_info {
                kind: match action.kind {
                    ActionKind::CreateDir => ferry_action_kind::CreateDir,
                    ActionKind::Copy => ferry_action_kind::Copy,
                    ActionKind::UpdateMeta => ferry_action_kind::UpdateMeta,
                    ActionKind::Delete => ferry_action_kind::Delete,
                    ActionKind::DeleteSource => ferry_action_kind::DeleteSource,
                    ActionKind::Conflict => ferry_action_kind::Conflict,
                    ActionKind::Rename => ferry_action_kind::Rename,
                    ActionKind::Record => ferry_action_kind::Record,
                },
                group: match action.group() {
                    Group::New => ferry_action_group::New,
                    Group::Modified => ferry_action_group::Modified,
                    Group::Deleted => ferry_action_group::Deleted,
                    Group::Conflict => ferry_action_group::Conflict,
                    Group::Renamed => ferry_action_group::Renamed,
                    Group::Recorded => ferry_action_group::Recorded,
                },
                entry: action.entry.into(),
                size: action.size,
                path: lent.path.as_ptr(),
                folder: plan.folders[lent.folder].as_ptr(),
                to: action.to.into(),
                from: lent.from.as_ref().map_or(std::ptr::null(), |f| f.as_ptr()),
                source: action.source.into(),
                destination: action.destination.into(),
                conflict: match action.reason {
                    Reason::Conflict(kind) => kind.into(),
                    _ => ferry_conflict_kind::None,
                },
                resolution,
                resolution_side,
            },
        );
        Ok(())
    })
}

/// The totals of the plan over all folders into `*out`.
#[no_mangle]
pub extern "C" fn ferry_plan_summary(
    plan: *const ferry_plan,
    out: *mut ferry_summary,
) -> ferry_result {
    boundary(|| {
        let plan = deref(plan, "plan")?;
        let out = out_ptr(out, "out")?;
        write_out(out, plan.plan.summary().into());
        Ok(())
    })
}

/// Releases a plan (and the paths it lent). NULL is a no-op.
#[no_mangle]
pub extern "C" fn ferry_plan_free(plan: *mut ferry_plan) {
    boundary_value((), || {
        if !plan.is_null() {
            // SAFETY: a handle from `ferry_engine_plan`, released once.
            drop(unsafe { Box::from_raw(plan) });
        }
    })
}
