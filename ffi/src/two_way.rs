//! Two-way synchronization in C: sides, stamps, conflict kinds, resolutions and conflict
//! policies, shared by plans (`ferry_action_info`) and conflict prompts
//! (`ferry_conflict_info`), and the state database's clear and reset.

use std::ffi::c_char;

use ferry_core::{ConflictKind, ConflictPolicy, Error, ErrorKind, Resolution, Side, Stamp};

use crate::plan::ferry_engine;
use crate::profile::ferry_profile;
use crate::result::{
    arg_str, boundary, boundary_value, deref, ferry_result, out_ptr, write_out, Failure,
};

/// Which side of a folder pair.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ferry_side {
    /// No side (an action that is not a conflict has no `resolution_side`).
    None = 0,
    /// The folder pair's source (left, "path 1").
    Source = 1,
    /// The folder pair's destination (right, "path 2").
    Destination = 2,
}

impl From<Side> for ferry_side {
    fn from(s: Side) -> ferry_side {
        match s {
            Side::Source => ferry_side::Source,
            Side::Destination => ferry_side::Destination,
        }
    }
}

/// Size and modification time of one side of an action or conflict.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ferry_stamp {
    /// Whether this side has the path; `size` and `mtime_ns` are 0 when it does not.
    pub exists: bool,
    /// Size in bytes.
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch (UTC).
    pub mtime_ns: i64,
}

impl From<Option<Stamp>> for ferry_stamp {
    fn from(s: Option<Stamp>) -> ferry_stamp {
        s.map_or_else(ferry_stamp::default, |s| ferry_stamp {
            exists: true,
            size: s.size,
            mtime_ns: s.mtime_ns,
        })
    }
}

/// What kind of two-way conflict.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ferry_conflict_kind {
    /// Not a two-way conflict.
    None = 0,
    /// Changed on both sides since the last sync; the contents now differ.
    BothChanged = 1,
    /// Created on both sides (or present on both at a first run) with different contents.
    BothCreated = 2,
    /// Deleted on one side and changed on the other.
    ChangedDeleted = 3,
    /// Both sides changed and at least one changed kind (file, folder, link).
    KindChanged = 4,
}

impl From<ConflictKind> for ferry_conflict_kind {
    fn from(k: ConflictKind) -> ferry_conflict_kind {
        match k {
            ConflictKind::BothChanged => ferry_conflict_kind::BothChanged,
            ConflictKind::BothCreated => ferry_conflict_kind::BothCreated,
            ConflictKind::ChangedDeleted => ferry_conflict_kind::ChangedDeleted,
            ConflictKind::KindChanged => ferry_conflict_kind::KindChanged,
        }
    }
}

/// What a two-way run does about a conflict (`ferry_action_info.resolution`; the side it
/// concerns is `resolution_side`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ferry_resolution {
    /// Not a two-way conflict.
    None = 0,
    /// Keep both: the version on `resolution_side` (the newer) keeps the name, the other is
    /// renamed with the profile's conflict name, and both end up on both sides.
    KeepBoth = 1,
    /// The version on `resolution_side` wins and replaces the other, which goes to its side's
    /// versions folder.
    Wins = 2,
    /// Both sides are left as they are; the run reports the conflict.
    Skip = 3,
    /// The run asks (a `FERRY_EVENT_KIND_CONFLICT_PROMPT` event).
    Prompt = 4,
}

/// A resolution and the side it names.
pub(crate) fn resolution(r: Option<Resolution>) -> (ferry_resolution, ferry_side) {
    match r {
        None => (ferry_resolution::None, ferry_side::None),
        Some(Resolution::KeepBoth(side)) => (ferry_resolution::KeepBoth, side.into()),
        Some(Resolution::Wins(side)) => (ferry_resolution::Wins, side.into()),
        Some(Resolution::Skip) => (ferry_resolution::Skip, ferry_side::None),
        Some(Resolution::Prompt) => (ferry_resolution::Prompt, ferry_side::None),
    }
}

/// How a two-way conflict is resolved: the values of the profile's `sync.conflict` and the
/// answers to a conflict prompt (`ferry_run_answer_conflict`). Functions taking a policy take
/// it as `uint32_t`, so that a value unknown to this version is an error, not undefined
/// behaviour.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ferry_conflict_policy {
    /// Ask (profile option only; not an answer).
    Prompt = 1,
    /// The version modified later wins.
    Newer = 2,
    /// The version modified earlier wins.
    Older = 3,
    /// The larger file wins.
    Larger = 4,
    /// The smaller file wins.
    Smaller = 5,
    /// The source's version wins.
    Source = 6,
    /// The destination's version wins.
    Destination = 7,
    /// Keep both: the newer keeps the name, the older is renamed; the default.
    KeepBoth = 8,
    /// Leave both sides as they are and report the conflict.
    Skip = 9,
}

impl ferry_conflict_policy {
    const ALL: [ferry_conflict_policy; 9] = [
        ferry_conflict_policy::Prompt,
        ferry_conflict_policy::Newer,
        ferry_conflict_policy::Older,
        ferry_conflict_policy::Larger,
        ferry_conflict_policy::Smaller,
        ferry_conflict_policy::Source,
        ferry_conflict_policy::Destination,
        ferry_conflict_policy::KeepBoth,
        ferry_conflict_policy::Skip,
    ];

    pub(crate) fn core(self) -> ConflictPolicy {
        match self {
            ferry_conflict_policy::Prompt => ConflictPolicy::Prompt,
            ferry_conflict_policy::Newer => ConflictPolicy::Newer,
            ferry_conflict_policy::Older => ConflictPolicy::Older,
            ferry_conflict_policy::Larger => ConflictPolicy::Larger,
            ferry_conflict_policy::Smaller => ConflictPolicy::Smaller,
            ferry_conflict_policy::Source => ConflictPolicy::Source,
            ferry_conflict_policy::Destination => ConflictPolicy::Destination,
            ferry_conflict_policy::KeepBoth => ConflictPolicy::KeepBoth,
            ferry_conflict_policy::Skip => ConflictPolicy::Skip,
        }
    }

    pub(crate) fn from_u32(value: u32) -> Option<ferry_conflict_policy> {
        ferry_conflict_policy::ALL
            .into_iter()
            .find(|p| *p as u32 == value)
    }

    /// The policy a prompt may be answered with: any but PROMPT.
    pub(crate) fn answer(value: u32) -> Result<ConflictPolicy, Failure> {
        match ferry_conflict_policy::from_u32(value) {
            Some(ferry_conflict_policy::Prompt) => Err(invalid(
                "FERRY_CONFLICT_POLICY_PROMPT cannot answer a conflict prompt".to_string(),
            )),
            Some(p) => Ok(p.core()),
            None => Err(invalid(format!("{value} is not a ferry_conflict_policy"))),
        }
    }
}

/// An invalid-input failure, named like the library's own (`invalid-input: ...`).
fn invalid(message: String) -> Failure {
    Error::new(ErrorKind::InvalidInput, message).into()
}

/// The name of a conflict policy as the profile format writes it (`"keep-both"`, `"newer"`,
/// ...): a static string, never freed. NULL for a value that is not a policy.
#[no_mangle]
pub extern "C" fn ferry_conflict_policy_name(policy: u32) -> *const c_char {
    boundary_value(
        std::ptr::null(),
        || match ferry_conflict_policy::from_u32(policy).map(ferry_conflict_policy::core) {
            Some(p) => static_name(p),
            None => std::ptr::null(),
        },
    )
}

/// NUL-terminated names of the policies, for `ferry_conflict_policy_name`.
fn static_name(p: ConflictPolicy) -> *const c_char {
    let name: &'static [u8] = match p {
        ConflictPolicy::Prompt => b"prompt\0",
        ConflictPolicy::Newer => b"newer\0",
        ConflictPolicy::Older => b"older\0",
        ConflictPolicy::Larger => b"larger\0",
        ConflictPolicy::Smaller => b"smaller\0",
        ConflictPolicy::Source => b"source\0",
        ConflictPolicy::Destination => b"destination\0",
        ConflictPolicy::KeepBoth => b"keep-both\0",
        ConflictPolicy::Skip => b"skip\0",
    };
    debug_assert_eq!(&name[..name.len() - 1], p.name().as_bytes());
    name.as_ptr().cast()
}

/// The policy named `name` (`"keep-both"`, `"newer"`, ...) into `*out`.
/// `FERRY_RESULT_INVALID_INPUT` for another name (the last error lists the names).
#[no_mangle]
pub extern "C" fn ferry_conflict_policy_from_name(
    name: *const c_char,
    out: *mut ferry_conflict_policy,
) -> ferry_result {
    boundary(|| {
        let name = arg_str(name, "name")?;
        let out = out_ptr(out, "out")?;
        let policy: ConflictPolicy = name.parse().map_err(invalid)?;
        let found = ferry_conflict_policy::ALL
            .into_iter()
            .find(|p| p.core() == policy)
            .ok_or_else(|| Failure::new(ferry_result::Unknown, "a policy without a C value"))?;
        write_out(out, found);
        Ok(())
    })
}

/// Forgets the two-way state of every folder pair of `profile` ("clear"): the next run is a
/// first run, a union that deletes nothing. Nothing to forget is not an error.
///
/// Errors: `FERRY_RESULT_INVALID_INPUT` for a profile whose operation is not "synchronize",
/// `FERRY_RESULT_BUSY` while a run synchronizes one of its pairs, or the state database's
/// own failure.
#[no_mangle]
pub extern "C" fn ferry_engine_clear_state(
    engine: *const ferry_engine,
    profile: *const ferry_profile,
) -> ferry_result {
    boundary(|| {
        let engine = deref(engine, "engine")?;
        let profile = deref(profile, "profile")?;
        engine.engine.clear_state(&profile.profile)?;
        Ok(())
    })
}

/// Records both sides of every folder pair of `profile` as they are now as in sync
/// ("reset"): paths equal on both sides form the new state, paths that differ are left out
/// (the next run sees them as created on both sides). The number of entries recorded goes to
/// `*out_recorded`.
///
/// Errors: those of `ferry_engine_clear_state` and `ferry_engine_plan`.
#[no_mangle]
pub extern "C" fn ferry_engine_reset_state(
    engine: *const ferry_engine,
    profile: *const ferry_profile,
    out_recorded: *mut u64,
) -> ferry_result {
    boundary(|| {
        let engine = deref(engine, "engine")?;
        let profile = deref(profile, "profile")?;
        let out = out_ptr(out_recorded, "out_recorded")?;
        let recorded = engine.engine.reset_state(&profile.profile)?;
        write_out(out, recorded);
        Ok(())
    })
}
