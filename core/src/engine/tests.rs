//! The engine's own tests, over trees in memory: every operation through the replicas and
//! the executor, plainly and through the fault decorator (which has no local files, as a
//! remote backend has none), and every executor phase against every kind of fault
//! ([`faults`]). Planning and applying take the sides' transports as given, below the
//! engine's construction of local ones.

mod faults;

use std::sync::Arc;

use super::*;
use crate::transport::{Faulty, LocalTransport, MemoryTransport, Prefixed, Tree};

/// A second of file time, in nanoseconds.
const S: i64 = 1_000_000_000;

/// A folder pair in memory, for a profile of one folder (`main`) and operation `op`.
struct Pair {
    /// The trees of the source and the destination.
    mem: [MemoryTransport; 2],
    /// The same trees behind fault decorators (no faults until a test injects them).
    faulty: [Arc<Faulty<MemoryTransport>>; 2],
    /// Whether the engine gets the decorated sides.
    through_faults: bool,
    profile: Profile,
    /// Holds the two-way state database.
    _state: tempfile::TempDir,
}

/// The source and the destination, as indexes of [`Pair`]'s sides.
const SRC: usize = 0;
const DST: usize = 1;

impl Pair {
    /// The trees `src` and `dst` (in [`Tree`]'s notation), as `op` runs them; links are
    /// copied as links.
    fn new(op: Operation, src: &str, dst: &str) -> Pair {
        let state = tempfile::tempdir().unwrap();
        let mut profile = Profile::new("memory", op).with_folder(Folder::new(
            "main",
            "memory://src",
            "memory://dst",
        ));
        profile.copy.symlinks = SymlinkMode::Copy;
        profile.copy.retries = 2;
        profile.copy.retry_delay_ms = 1;
        profile.sync.state = Some(state.path().join("state.sqlite").display().to_string());
        let mem = [
            Tree::new(src).in_memory("src"),
            Tree::new(dst).in_memory("dst"),
        ];
        let faulty = [
            Arc::new(Faulty::new(mem[SRC].clone())),
            Arc::new(Faulty::new(mem[DST].clone())),
        ];
        Pair {
            mem,
            faulty,
            through_faults: false,
            profile,
            _state: state,
        }
    }

    /// The same pair, run through the fault decorators.
    fn through_faults(mut self, yes: bool) -> Pair {
        self.through_faults = yes;
        self
    }

    fn side(&self, i: usize) -> Arc<dyn Transport> {
        if self.through_faults {
            self.faulty[i].clone()
        } else {
            Arc::new(self.mem[i].clone())
        }
    }

    /// What side `i` holds, ferrysync's own folder left out.
    fn tree(&self, i: usize) -> Tree {
        Tree::of(&self.mem[i]).unwrap().without(STATE_FOLDER)
    }

    fn plan(&self) -> FolderPlan {
        let stamp = snapshot::name(chrono::Local::now());
        let folder = &self.profile.folders[0];
        let opts = RunOptions::default();
        let sides = [self.side(SRC), self.side(DST)];
        let engine = Engine::new();
        let planned = engine.plan_sides(&self.profile, folder, &opts, now_ns(), &stamp, sides);
        planned.unwrap()
    }

    /// Applies `fp` as [`Engine::execute`] does after its guards.
    fn apply(&self, fp: &FolderPlan) -> Result<Report> {
        let mut report = Report::new(&self.profile.name, false);
        let pair = match self.profile.operation {
            Operation::Synchronize => {
                Some(two_way::LockedPair::lock(fp, &self.profile.folders[0])?)
            }
            _ => None,
        };
        let opts = RunOptions::default();
        // As the engine's factory gives them for a run: tried again as the profile says.
        let run = |role, side| request(&self.profile, role, Some(&opts.control)).decorate(side);
        let sides = [
            run(Role::Source, self.side(SRC)),
            run(Role::Destination, self.side(DST)),
        ];
        apply_folder(
            &Engine::new(),
            &self.profile,
            fp,
            &opts,
            4,
            pair,
            sides,
            &mut report,
        )?;
        Ok(report)
    }

    /// Plans and applies; the run must go without a problem.
    fn run(&self) -> Report {
        let fp = self.plan();
        let report = self.apply(&fp).unwrap();
        assert!(report.errors.is_empty(), "{:#?}", report.errors);
        assert!(report.warnings.is_empty(), "{:#?}", report.warnings);
        // Bytes are what was written (a link copies none, a conflict copy some).
        let counts = |s: &Summary| Summary {
            bytes_to_copy: 0,
            ..*s
        };
        assert_eq!(counts(&report.done), counts(&fp.summary), "done as planned");
        report
    }

    /// The next plan has nothing to do.
    fn assert_converged(&self) {
        let fp = self.plan();
        assert!(fp.summary.is_empty(), "{:#?}", fp.actions);
    }

    /// The snapshot folders of a versioned backup's destination, oldest first, as views.
    fn snapshots(&self) -> Vec<Tree> {
        let dst: Arc<dyn Transport> = Arc::new(self.mem[DST].clone());
        let set = SnapshotSet::new(dst.clone());
        let names = set.snapshots().unwrap();
        let held = names.iter().map(|name| {
            let view = Prefixed::new(dst.clone(), name.clone());
            Tree::of(&view).unwrap()
        });
        held.collect()
    }
}

use snapshot::SnapshotSet;

const SOURCE: &str = "
    docs/a.txt = a
    docs/b.txt = b @1500000000
    docs/deep/c.txt = c
    empty/
    link -> docs/a.txt
";

/// Every operation, plainly and through the fault decorator without faults.
fn both_ways(test: impl Fn(bool)) {
    for through_faults in [false, true] {
        test(through_faults);
    }
}

#[test]
fn a_mirror_makes_the_destination_equal_to_the_source() {
    both_ways(|faulty| {
        let p = Pair::new(
            Operation::Mirror,
            SOURCE,
            "
            docs/a.txt = old a
            docs/b.txt = b @1500000000
            docs/deep = a file where the source has a folder
            gone/x = x
            stale.txt = s
            link = a file where the source has a link
            ",
        )
        .through_faults(faulty);
        let report = p.run();
        // New: docs/deep/c.txt; changed: docs/a.txt, and the link where a file was.
        assert_eq!(
            (report.done.new_files, report.done.modified_files),
            (1, 2),
            "{report:#?}"
        );
        assert_eq!(p.tree(DST), p.tree(SRC));
        assert_eq!(p.tree(SRC), Tree::new(SOURCE), "the source is left alone");
        p.assert_converged();
    });
}

#[test]
fn a_copy_keeps_what_only_the_destination_has() {
    both_ways(|faulty| {
        let p = Pair::new(Operation::Copy, SOURCE, "docs/a.txt = old a\nextra/x = x")
            .through_faults(faulty);
        p.run();
        let mut expected = Tree::new(SOURCE).to_string();
        expected.push_str("extra/x = x\n");
        assert_eq!(p.tree(DST), Tree::new(&expected));
        p.assert_converged();
    });
}

#[test]
fn a_move_empties_the_source_into_the_destination() {
    both_ways(|faulty| {
        let moved = "docs/a.txt = a\ndocs/deep/c.txt = c @1500000000\ntop = t";
        let p = Pair::new(Operation::Move, moved, "docs/a.txt = a").through_faults(faulty);
        let report = p.run();
        assert_eq!(report.done.source_deletions, 5, "{report:#?}");
        assert_eq!(p.tree(DST), Tree::new(moved));
        assert_eq!(p.tree(SRC), Tree::default());
        p.assert_converged();
    });
}

#[test]
fn a_versioned_backup_adds_a_snapshot_of_what_changed() {
    both_ways(|faulty| {
        let p = Pair::new(Operation::VersionedBackup, SOURCE, "").through_faults(faulty);
        let first = p.plan();
        assert!(
            first.destination.to_string().starts_with("memory://dst/"),
            "{}",
            first.destination
        );
        p.apply(&first).unwrap();
        assert_eq!(p.snapshots(), [Tree::new(SOURCE)]);
        p.assert_converged();
        // Changed, added, deleted: the next snapshot holds what is new or changed.
        Tree::new("docs/a.txt = a, changed @1700000000\nnew.txt = n")
            .build_in(&p.mem[SRC])
            .unwrap();
        p.mem[SRC]
            .remove_file(&RelPath::new("docs/b.txt").unwrap())
            .unwrap();
        p.run();
        assert_eq!(
            p.snapshots(),
            [
                Tree::new(SOURCE),
                Tree::new("docs/a.txt = a, changed @1700000000\nnew.txt = n")
            ]
        );
        p.assert_converged();
    });
}

#[test]
fn a_versioned_backup_with_nothing_new_makes_no_snapshot() {
    let p = Pair::new(Operation::VersionedBackup, SOURCE, "").through_faults(true);
    p.run();
    let before = Tree::of(&p.mem[DST]).unwrap();
    let fp = p.plan();
    assert!(fp.actions.is_empty());
    p.apply(&fp).unwrap();
    assert_eq!(Tree::of(&p.mem[DST]).unwrap(), before);
}

#[test]
fn a_two_way_run_brings_changes_from_either_side_to_the_other() {
    both_ways(|faulty| {
        let p = Pair::new(
            Operation::Synchronize,
            "shared.txt = same\nfrom-src/a = a",
            "shared.txt = same\nfrom-dst/b = b",
        )
        .through_faults(faulty);
        // A first run is a union.
        p.run();
        assert_eq!(p.tree(SRC), p.tree(DST));
        p.assert_converged();
        // Edits on both sides: a change, a deletion, a rename, new files.
        Tree::new("from-src/a = a, changed @1700000000\nsrc-new = sn")
            .build_in(&p.mem[SRC])
            .unwrap();
        p.mem[DST]
            .remove_file(&RelPath::new("shared.txt").unwrap())
            .unwrap();
        p.mem[DST]
            .rename(
                &RelPath::new("from-dst/b").unwrap(),
                &RelPath::new("from-dst/renamed").unwrap(),
            )
            .unwrap();
        Tree::new("dst-new = dn").build_in(&p.mem[DST]).unwrap();
        let report = p.run();
        assert_eq!(report.done.renames, 1, "{report:#?}");
        let expected = Tree::new(
            "
            from-src/a = a, changed @1700000000
            from-dst/renamed = b
            src-new = sn
            dst-new = dn
            ",
        );
        assert_eq!(p.tree(SRC), expected);
        assert_eq!(p.tree(DST), expected);
        p.assert_converged();
    });
}

#[test]
fn a_two_way_conflict_keeps_both_versions() {
    both_ways(|faulty| {
        let p = Pair::new(Operation::Synchronize, "c.txt = base", "c.txt = base")
            .through_faults(faulty);
        p.run();
        Tree::new("c.txt = from the source @1700000000")
            .build_in(&p.mem[SRC])
            .unwrap();
        Tree::new("c.txt = from the destination @1700000100")
            .build_in(&p.mem[DST])
            .unwrap();
        let report = p.run();
        assert_eq!(report.conflicts.len(), 1, "{report:#?}");
        let copy = report.conflicts[0].conflict_copy.clone().expect("a copy");
        assert_eq!(p.tree(SRC), p.tree(DST));
        assert_eq!(
            p.mem[SRC].read_to_vec(&copy).unwrap(),
            b"from the source",
            "the older version is kept under the conflict name"
        );
        assert_eq!(
            p.mem[SRC]
                .read_to_vec(&RelPath::new("c.txt").unwrap())
                .unwrap(),
            b"from the destination"
        );
        p.assert_converged();
    });
}

/// Where there are no local files, trash is a refusal that names what and where, and
/// nothing is deleted.
#[test]
fn trash_on_a_side_without_local_files_is_not_supported_and_deletes_nothing() {
    let p = Pair::new(Operation::Mirror, "a = a", "a = a\nextra = x").through_faults(true);
    let mut p = p;
    p.profile.versions.deleted_files = DeletionMode::Trash;
    let fp = p.plan();
    let report = p.apply(&fp).unwrap();
    assert_eq!(report.errors.len(), 1, "{report:#?}");
    let e = &report.errors[0];
    assert_eq!(e.kind, ErrorKind::NotSupported.name());
    assert_eq!(e.path.as_deref(), Some("memory:dst/extra"));
    assert!(e.message.contains("trash"), "{}", e.message);
    assert_eq!(p.tree(DST), Tree::new("a = a\nextra = x"));
}

/// The destination's time of a folder metadata update, in a tree without local files.
#[test]
fn folder_times_reach_a_destination_without_local_files() {
    let p = Pair::new(Operation::Mirror, "d/f = f", "d/f = f").through_faults(true);
    let d = RelPath::new("d").unwrap();
    let meta = Meta {
        mtime_ns: 1_300_000_000 * S,
        ..Meta::default()
    };
    p.mem[SRC].set_meta(&d, &meta).unwrap();
    let report = p.run();
    assert_eq!(report.done.metadata_updates, 1);
    assert_eq!(
        p.mem[DST].stat(&d).unwrap().unwrap().mtime_ns,
        meta.mtime_ns
    );
    p.assert_converged();
}

use crate::transport::{Call, Fault, Meta};

/// A transfer from the source that ends early (broken off) never replaces the destination's
/// file, also when no versions are kept: the copy fails naming the source, the old file
/// stays, and the next run copies it.
#[test]
fn a_transfer_that_ends_early_never_replaces_a_file() {
    let p = Pair::new(
        Operation::Mirror,
        "f = the new contents @1700000000",
        "f = old",
    )
    .through_faults(true);
    let fp = p.plan();
    p.faulty[SRC].inject(Fault::on(Call::Open).short_read(3));
    let report = p.apply(&fp).unwrap();
    assert_eq!(report.errors.len(), 1, "{report:#?}");
    assert_eq!(report.errors[0].path.as_deref(), Some("memory:src/f"));
    assert!(
        report.errors[0].message.contains("ended early"),
        "{}",
        report.errors[0].message
    );
    assert_eq!(p.tree(DST), Tree::new("f = old"));
    p.faulty[SRC].clear();
    p.run();
    assert_eq!(p.tree(DST), p.tree(SRC));
    p.assert_converged();
}

/// A version kept outside the destination is copied there; a copy that ends early keeps
/// nothing torn and leaves the file in place, so its old contents are never lost.
#[test]
fn a_version_copied_out_of_the_destination_is_whole_or_not_kept() {
    let versions = tempfile::tempdir().unwrap();
    let mut p = Pair::new(
        Operation::Mirror,
        "f = new contents @1700000000",
        "f = old contents",
    )
    .through_faults(true);
    p.profile.versions.keep = 5;
    p.profile.versions.folder = Some(versions.path().display().to_string());
    let fp = p.plan();
    p.faulty[DST].inject(Fault::on(Call::Open).short_read(4));
    let report = p.apply(&fp).unwrap();
    assert_eq!(report.errors.len(), 1, "{report:#?}");
    assert_eq!(report.errors[0].path.as_deref(), Some("memory:dst/f"));
    assert_eq!(p.tree(DST), Tree::new("f = old contents"));
    let kept = LocalTransport::new(versions.path());
    assert_eq!(
        Tree::of(&kept).unwrap(),
        Tree::default(),
        "nothing torn kept"
    );
    p.faulty[DST].clear();
    p.run();
    assert_eq!(p.tree(DST), p.tree(SRC));
    let kept = Tree::of(&kept).unwrap().to_string();
    assert!(kept.contains("= old contents"), "{kept}");
}
