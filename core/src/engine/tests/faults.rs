//! Every executor phase against every kind of fault, in memory.
//!
//! A phase is a folder pair whose plan exercises one part of the executor (two-way renames
//! and conflicts, replaced entries, folders, files written and read, deletions, folder
//! metadata, versions, snapshot folders, a move's source deletions, two-way copies into the
//! source), and the calls that part makes. Each kind of fault is injected into those calls
//! of one side after planning, and the run must keep three promises:
//!
//! 1. a fault that struck is absorbed (the run still did everything: the next plan is
//!    empty) or reported as an error of its kind, naming the path it struck;
//! 2. nothing that was there is lost: every file's contents before the run (of either side)
//!    are somewhere after it (in place, copied, in the versions folder, in a conflict copy),
//!    except what the plan deletes for good;
//! 3. once the fault is gone, the next run completes and the one after has nothing to do.

use std::collections::BTreeSet;
use std::time::Duration;

use super::*;
use crate::transport::{Call, Fault};
use crate::vocab::Side;

/// The kinds of fault every phase meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The nth call hit fails (a refusal: not worth trying again).
    FailNth,
    /// Transfers end early without an error, after 2 bytes.
    ShortRead,
    /// The disk fills up after 2 bytes (calls without data fail at once).
    DiskFull,
    /// Every call hit has its connection reset (worth trying again, and tried).
    Reset,
    /// The nth call hit is slow.
    Slow,
}

const KINDS: [Kind; 5] = [
    Kind::FailNth,
    Kind::ShortRead,
    Kind::DiskFull,
    Kind::Reset,
    Kind::Slow,
];

impl Kind {
    /// The fault hitting `calls` on paths containing `key` (for renames, either name).
    fn fault(self, calls: &[Call], key: &'static str, nth: u64) -> Fault {
        let f = Fault::on_any(calls).matching(move |p| p.display().contains(key));
        match self {
            Kind::FailNth => f.nth(nth).fail(ErrorKind::PermissionDenied),
            Kind::ShortRead => f.short_read(2),
            Kind::DiskFull => f.disk_full().after_bytes(2),
            Kind::Reset => f.reset(),
            Kind::Slow => f.nth(nth).delay(Duration::from_millis(20)),
        }
    }

    /// The kinds of error a run may report for this fault.
    fn reported_as(self) -> &'static [ErrorKind] {
        match self {
            Kind::FailNth => &[ErrorKind::PermissionDenied],
            // A copy that came out short, or a check that read a short file.
            Kind::ShortRead => &[ErrorKind::Io, ErrorKind::Corrupt],
            Kind::DiskFull => &[ErrorKind::NoSpace],
            Kind::Reset => &[ErrorKind::Network],
            Kind::Slow => &[],
        }
    }
}

/// A folder pair whose plan exercises one part of the executor.
struct Phase {
    name: &'static str,
    op: Operation,
    src: &'static str,
    dst: &'static str,
    /// Changes made before the plan (two-way: after a first run synchronized the pair).
    edit: fn(&Pair),
    /// The side whose calls fail, the calls, and what their paths contain.
    side: usize,
    calls: &'static [Call],
    key: &'static str,
    /// What the path an error names contains.
    names: &'static str,
    /// Which call a one-time fault hits.
    nth: u64,
    /// Changes to the profile (it keeps every version and puts deleted files there).
    profile: fn(&mut Profile),
}

fn nothing(_: &Pair) {}

fn keep(_: &mut Profile) {}

fn build(t: &MemoryTransport, spec: &str) {
    Tree::new(spec).build_in(t).unwrap();
}

fn p(s: &str) -> RelPath {
    RelPath::new(s).unwrap()
}

const PHASES: &[Phase] = &[
    Phase {
        name: "two-way renames",
        op: Operation::Synchronize,
        src: "ren/old.txt = renamed on one side",
        dst: "ren/old.txt = renamed on one side",
        edit: |pair| {
            pair.mem[SRC]
                .rename(&p("ren/old.txt"), &p("ren/new.txt"))
                .unwrap()
        },
        side: DST,
        calls: &[Call::Rename],
        key: "ren/",
        names: "ren/",
        nth: 1,
        profile: keep,
    },
    Phase {
        name: "two-way conflicts kept both ways",
        op: Operation::Synchronize,
        src: "cf/c.txt = base",
        dst: "cf/c.txt = base",
        edit: |pair| {
            build(&pair.mem[SRC], "cf/c.txt = from the source @1700000000");
            build(
                &pair.mem[DST],
                "cf/c.txt = from the destination @1700000100",
            );
        },
        side: SRC,
        calls: &[Call::RenameNoReplace, Call::Write],
        key: "cf/",
        names: "cf/",
        nth: 1,
        profile: keep,
    },
    Phase {
        name: "two-way conflict losers to versions",
        op: Operation::Synchronize,
        src: "cf/c.txt = base",
        dst: "cf/c.txt = base",
        edit: |pair| {
            build(&pair.mem[SRC], "cf/c.txt = from the source @1700000000");
            build(
                &pair.mem[DST],
                "cf/c.txt = from the destination @1700000100",
            );
        },
        side: SRC,
        calls: &[Call::RenameNoReplace, Call::CreateDir, Call::Write],
        key: "cf/",
        names: "cf/",
        nth: 1,
        profile: |p| p.sync.conflict = crate::profile::ConflictPolicy::Newer,
    },
    Phase {
        name: "replaced entries",
        op: Operation::Mirror,
        src: "swap/a/x = a folder where a file was\nswap/b = a file where a folder was",
        dst: "swap/a = a file\nswap/b/y = in a folder",
        edit: nothing,
        side: DST,
        calls: &[Call::RemoveFile, Call::RemoveDir, Call::RenameNoReplace],
        key: "swap/",
        names: "swap/",
        nth: 1,
        profile: keep,
    },
    Phase {
        name: "folders",
        op: Operation::Mirror,
        src: "newdir/m/f = in new folders",
        dst: "",
        edit: nothing,
        side: DST,
        calls: &[Call::CreateDir],
        key: "newdir",
        names: "newdir",
        nth: 2,
        profile: keep,
    },
    Phase {
        name: "files written",
        op: Operation::Mirror,
        src: "files/a = new a\nfiles/b = changed b @1700000000",
        dst: "files/b = old b",
        edit: nothing,
        side: DST,
        calls: &[Call::Write],
        key: "files/",
        names: "files/",
        nth: 2,
        profile: keep,
    },
    Phase {
        name: "files read",
        op: Operation::Mirror,
        src: "files/a = new a\nfiles/b = changed b @1700000000",
        dst: "files/b = old b",
        edit: nothing,
        side: SRC,
        calls: &[Call::Open],
        key: "files/",
        names: "files/",
        nth: 1,
        profile: keep,
    },
    Phase {
        name: "deletions",
        op: Operation::Mirror,
        src: "kept = k",
        dst: "kept = k\ngone/e1 = e1\ngone/e2 = e2\ngone/deeper/e3 = e3",
        edit: nothing,
        side: DST,
        calls: &[Call::RemoveFile, Call::RemoveDir],
        key: "gone",
        names: "gone",
        nth: 2,
        profile: |p| p.versions.deleted_files = DeletionMode::Erase,
    },
    Phase {
        name: "folder metadata",
        op: Operation::Mirror,
        src: "meta/deeper/f = f",
        dst: "meta/deeper/f = f",
        edit: |pair| {
            for dir in ["meta", "meta/deeper"] {
                let meta = Meta {
                    mtime_ns: 1_300_000_000 * S,
                    ..Meta::default()
                };
                pair.mem[SRC].set_meta(&p(dir), &meta).unwrap();
            }
        },
        side: DST,
        calls: &[Call::SetMeta],
        key: "meta",
        names: "meta",
        nth: 1,
        profile: keep,
    },
    Phase {
        name: "versions",
        op: Operation::Mirror,
        src: "vers/f = new v @1700000000\nkept = k",
        dst: "vers/f = old v\nkept = k\nvers/gone = deleted into versions",
        edit: nothing,
        side: DST,
        calls: &[Call::RenameNoReplace, Call::CreateDir, Call::Write],
        key: STATE_FOLDER,
        names: "vers/",
        nth: 1,
        profile: keep,
    },
    Phase {
        name: "snapshot folders",
        op: Operation::VersionedBackup,
        src: "snap/f = in a snapshot",
        dst: "",
        edit: nothing,
        side: DST,
        calls: &[Call::CreateDir, Call::RenameNoReplace],
        key: "",
        names: "memory:dst/20",
        nth: 1,
        profile: keep,
    },
    Phase {
        name: "files written into a snapshot",
        op: Operation::VersionedBackup,
        src: "files/a = new a\nfiles/b = new b",
        dst: "",
        edit: nothing,
        side: DST,
        calls: &[Call::Write],
        key: "files/",
        names: "files/",
        nth: 2,
        profile: keep,
    },
    Phase {
        name: "a move's source deletions",
        op: Operation::Move,
        src: "mv/f = moved\nmv/g = moved too",
        dst: "",
        edit: nothing,
        side: SRC,
        calls: &[Call::RemoveFile, Call::RemoveDir, Call::Open],
        key: "mv",
        names: "mv",
        nth: 2,
        profile: keep,
    },
    Phase {
        name: "two-way copies into the source",
        op: Operation::Synchronize,
        src: "tw/a = a",
        dst: "tw/a = a",
        edit: |pair| {
            build(&pair.mem[DST], "tw/new = from the destination");
            build(&pair.mem[DST], "tw/a = a, changed @1700000000");
        },
        side: SRC,
        calls: &[Call::Write],
        key: "tw/",
        names: "tw/",
        nth: 1,
        profile: keep,
    },
];

/// Every file below the root of `t` (ferrysync's own folder included), with its contents.
fn files(t: &dyn Transport) -> Vec<(RelPath, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dirs = vec![RelPath::root()];
    while let Some(dir) = dirs.pop() {
        for e in t.read_dir(&dir).unwrap() {
            match e.kind {
                EntryKind::Dir => dirs.push(e.path),
                EntryKind::File => out.push((e.path.clone(), t.read_to_vec(&e.path).unwrap())),
                _ => {}
            }
        }
    }
    out
}

/// The contents of every file of both sides.
fn contents(pair: &Pair) -> BTreeSet<Vec<u8>> {
    pair.mem
        .iter()
        .flat_map(|t| files(t))
        .map(|(_, data)| data)
        .collect()
}

/// Runs `phase` against fault `kind`; the promises it broke.
fn check(phase: &Phase, kind: Kind) -> Vec<String> {
    let mut broken = Vec::new();
    let mut pair = Pair::new(phase.op, phase.src, phase.dst).through_faults(true);
    pair.profile.versions.keep = 100;
    pair.profile.versions.deleted_files = DeletionMode::Versions;
    (phase.profile)(&mut pair.profile);
    if phase.op == Operation::Synchronize {
        pair.run();
    }
    (phase.edit)(&pair);
    let fp = pair.plan();
    let before = contents(&pair);
    // What the plan deletes for good.
    let erased: BTreeSet<Vec<u8>> = match pair.profile.versions.deleted_files {
        DeletionMode::Erase => fp
            .actions
            .iter()
            .filter(|a| a.kind == ActionKind::Delete && a.entry == EntryKind::File)
            .filter_map(|a| pair.mem[a.to as usize].read_to_vec(&a.path).ok())
            .collect(),
        _ => BTreeSet::new(),
    };
    let faulty = &pair.faulty[phase.side];
    faulty.inject(kind.fault(phase.calls, phase.key, phase.nth));
    let outcome = pair.apply(&fp);
    let fired = faulty.fired();
    faulty.clear();

    // 1. Absorbed, or reported naming the path.
    let errors: Vec<(Option<String>, &'static str, String)> = match &outcome {
        Ok(report) => report
            .errors
            .iter()
            .map(|e| (e.path.clone(), e.kind, e.message.clone()))
            .collect(),
        Err(e) => vec![(
            e.path().map(|p| p.display().to_string()),
            e.kind().name(),
            e.message().to_owned(),
        )],
    };
    let side = ["memory:src", "memory:dst"][phase.side];
    let named = errors.iter().any(|(path, k, _)| {
        path.as_deref()
            .is_some_and(|p| p.starts_with(side) && p.contains(phase.names))
            && kind.reported_as().iter().any(|r| r.name() == *k)
    });
    if fired == 0 && !matches!(kind, Kind::ShortRead) {
        broken.push("the fault never struck".into());
    }
    if errors.is_empty() {
        let next = pair.plan();
        if !next.summary.is_empty() {
            broken.push(format!(
                "no error, but the run did not do everything: {:?}",
                next.actions
            ));
        }
    } else if kind.reported_as().is_empty() || fired == 0 {
        broken.push(format!("errors without a fault that fails: {errors:?}"));
    } else if !named {
        broken.push(format!(
            "no {:?} error naming a path of {side} with {:?}: {errors:?}",
            kind.reported_as(),
            phase.names
        ));
    }

    // 2. Nothing lost.
    let after = contents(&pair);
    for lost in before.difference(&after).filter(|c| !erased.contains(*c)) {
        broken.push(format!("lost: {:?}", String::from_utf8_lossy(lost)));
    }

    // 3. The next run completes, and converges.
    let fp = pair.plan();
    match pair.apply(&fp) {
        Ok(report) if report.errors.is_empty() => {}
        Ok(report) => broken.push(format!("the re-run failed: {:?}", report.errors)),
        Err(e) => broken.push(format!("the re-run failed: {e}")),
    }
    let next = pair.plan();
    if !next.summary.is_empty() {
        broken.push(format!("no convergence: {:?}", next.actions));
    }
    match phase.op {
        Operation::Mirror | Operation::Synchronize if pair.tree(SRC) != pair.tree(DST) => {
            broken.push(format!(
                "the sides differ:\n{}---\n{}",
                pair.tree(SRC),
                pair.tree(DST)
            ));
        }
        Operation::Move if pair.tree(SRC) != Tree::default() => {
            broken.push(format!("the source is not empty:\n{}", pair.tree(SRC)));
        }
        _ => {}
    }
    broken
}

/// Runs one phase against every kind of fault; panics naming every broken promise.
fn phase(name: &str) {
    let phase = PHASES.iter().find(|p| p.name == name).expect("a phase");
    let mut failed = Vec::new();
    for kind in KINDS {
        for broken in check(phase, kind) {
            failed.push(format!("{name}, {kind:?}: {broken}"));
        }
    }
    assert!(failed.is_empty(), "\n{}", failed.join("\n"));
}

/// One test per phase.
macro_rules! phases {
    ($($test:ident: $name:expr,)*) => {
        $(
            #[test]
            fn $test() {
                phase($name);
            }
        )*

        #[test]
        fn every_phase_has_its_test() {
            let tested = [$($name),*];
            for p in PHASES {
                assert!(tested.contains(&p.name), "{} has no test", p.name);
            }
        }
    };
}

phases! {
    two_way_renames_meet_every_fault: "two-way renames",
    two_way_conflicts_meet_every_fault: "two-way conflicts kept both ways",
    two_way_conflict_losers_meet_every_fault: "two-way conflict losers to versions",
    replaced_entries_meet_every_fault: "replaced entries",
    folders_meet_every_fault: "folders",
    files_written_meet_every_fault: "files written",
    files_read_meet_every_fault: "files read",
    deletions_meet_every_fault: "deletions",
    folder_metadata_meets_every_fault: "folder metadata",
    versions_meet_every_fault: "versions",
    snapshot_folders_meet_every_fault: "snapshot folders",
    files_written_into_a_snapshot_meet_every_fault: "files written into a snapshot",
    a_moves_source_deletions_meet_every_fault: "a move's source deletions",
    two_way_copies_into_the_source_meet_every_fault: "two-way copies into the source",
}

#[test]
fn the_sides_are_indexed_as_the_plan_names_them() {
    assert_eq!(
        (Side::Source as usize, Side::Destination as usize),
        (SRC, DST)
    );
}
