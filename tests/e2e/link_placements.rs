//! Links in the destination (issue 10, items 3, 4 and 4b at the planning level): the symlink
//! mode says what to do with the *source's* links; a destination link is never followed, so
//! nothing is written, renamed or deleted through it, and a folder outside the roots stays as
//! it was whatever the operation and the mode.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use ferrysync::transport::EntryKind;
use ferrysync::{
    Action, ActionKind, DeletionMode, Engine, FolderPlan, Operation, Profile, Reason, RelPath,
    Report, RunOptions, SymlinkMode,
};

use crate::tree::{self, snapshot, Pair, Snapshot};

const MODES: [SymlinkMode; 3] = [SymlinkMode::Skip, SymlinkMode::Copy, SymlinkMode::Follow];

/// A pair and a folder `v` beside it (outside both roots) holding `in.txt` and `f.txt`.
struct Scene {
    pair: Pair,
    before: Snapshot,
}

impl Scene {
    fn new(src: &[(&str, &str)], dst: &[(&str, &str)]) -> Scene {
        let pair = Pair::new();
        tree::write(&pair.src(), src);
        fs::create_dir_all(pair.dst()).unwrap();
        tree::write(&pair.dst(), dst);
        let v = pair.dir.path().join("v");
        tree::write(&v, &[("in.txt", "OLD\n"), ("f.txt", "OLD\n"), ("p", "P\n")]);
        let before = snapshot(&v);
        Scene { pair, before }
    }
    fn src(&self) -> PathBuf {
        self.pair.src()
    }
    fn dst(&self) -> PathBuf {
        self.pair.dst()
    }
    fn outside(&self) -> PathBuf {
        self.pair.dir.path().join("v")
    }
    /// Plants a link at `at` (below the destination) to `target`.
    fn link(&self, at: &str, target: &str) {
        let full = self.dst().join(at);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        symlink(target, full).unwrap();
    }
    fn profile(&self, op: Operation, mode: SymlinkMode) -> Profile {
        let mut prof = tree::profile(op, &self.src(), &self.dst());
        prof.copy.symlinks = mode;
        prof.guards.max_delete = None;
        prof
    }
    fn assert_outside_unchanged(&self, why: &str) {
        assert_eq!(snapshot(&self.outside()), self.before, "{why}: v/ changed");
    }
}

fn plan(prof: &Profile) -> FolderPlan {
    let mut plan = Engine::new().plan(prof).expect("plan");
    plan.folders.remove(0)
}

/// The actions at `path`, as (kind, entry kind, reason).
fn at(fp: &FolderPlan, path: &str) -> Vec<(ActionKind, EntryKind, Reason)> {
    fp.actions
        .iter()
        .filter(|a| a.path.to_string() == path)
        .map(|a| (a.kind, a.entry, a.reason))
        .collect()
}

fn shown(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .map(|a| format!("{} {} {}", a.kind.name(), a.entry.name(), a.path))
        .collect()
}

fn run(prof: &Profile) -> Report {
    let mut opts = RunOptions::default();
    opts.force = true;
    let report = Engine::new().run(prof, &opts).expect("run");
    assert!(report.errors.is_empty(), "errors: {:#?}", report.errors);
    report
}

fn is_link(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

fn is_real_dir(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok_and(|m| m.is_dir())
}

fn is_real_file(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok_and(|m| m.is_file())
}

/// Item 3: the destination's `dir` is a link where the source has a folder. The plan replaces
/// the link (never its target) by a folder; the run converges.
fn link_where_the_source_has_a_folder(op: Operation, mode: SymlinkMode, dir: &str, target: &str) {
    let inner = format!("{dir}/in.txt");
    let s = Scene::new(&[(&inner, "in\n")], &[]);
    s.link(dir, target);
    let prof = s.profile(op, mode);
    let why = format!("{op:?} {mode:?} {dir}");
    let fp = plan(&prof);
    assert_eq!(
        at(&fp, dir)[..2],
        [
            (ActionKind::Delete, EntryKind::Symlink, Reason::Replaced),
            (ActionKind::CreateDir, EntryKind::Dir, Reason::Replaced)
        ],
        "{why}: {:?}",
        shown(&fp.actions)
    );
    run(&prof);
    s.assert_outside_unchanged(&why);
    assert!(is_real_dir(&s.dst().join(dir)), "{why}: not a folder");
    assert_eq!(
        fs::read_to_string(s.dst().join(&inner)).unwrap(),
        "in\n",
        "{why}"
    );
    let again = plan(&prof);
    assert!(
        again.actions.is_empty(),
        "{why}: {:?}",
        shown(&again.actions)
    );
}

#[test]
fn item3_a_destination_link_where_the_source_has_a_folder_is_replaced_by_the_folder() {
    for op in [Operation::Mirror, Operation::Copy, Operation::Move] {
        for mode in MODES {
            link_where_the_source_has_a_folder(op, mode, "dir", "../v");
        }
    }
}

#[test]
fn item3_a_destination_link_two_folders_down_is_replaced_as_well() {
    for mode in MODES {
        link_where_the_source_has_a_folder(Operation::Mirror, mode, "a/b/dir", "../../../v");
    }
}

#[test]
fn item3_a_dangling_destination_link_where_the_source_has_a_folder_is_replaced() {
    for mode in MODES {
        link_where_the_source_has_a_folder(Operation::Mirror, mode, "dir", "../nowhere");
    }
}

/// Deleted files kept as versions, or moved to the trash: a link holds nothing to keep, and
/// what it points to is never moved.
#[test]
fn item3_a_replaced_or_unmatched_link_goes_whatever_the_deletion_mode() {
    for deleted in [DeletionMode::Versions, DeletionMode::Erase] {
        for mode in [SymlinkMode::Skip, SymlinkMode::Copy] {
            let why = format!("{deleted:?} {mode:?}");
            let s = Scene::new(&[("dir/in.txt", "in\n"), ("f.txt", "new\n")], &[]);
            s.link("dir", "../v");
            s.link("f.txt", "../v/f.txt");
            s.link("gone", "../v/p");
            let mut prof = s.profile(Operation::Mirror, mode);
            prof.versions.keep = 3;
            prof.versions.deleted_files = deleted;
            run(&prof);
            s.assert_outside_unchanged(&why);
            assert!(is_real_dir(&s.dst().join("dir")), "{why}");
            assert!(is_real_file(&s.dst().join("f.txt")), "{why}");
            assert_eq!(is_link(&s.dst().join("gone")), mode == SymlinkMode::Skip);
            assert!(plan(&prof).actions.is_empty(), "{why}");
        }
    }
}

/// The filters judge a link as a file: one they leave out still stands where the source has a
/// folder, and must be replaced all the same.
#[test]
fn item3_a_destination_link_the_filters_leave_out_is_replaced_as_well() {
    for mode in MODES {
        let why = format!("{mode:?}");
        let s = Scene::new(&[("dir/new.txt", "in\n")], &[]);
        s.link("dir", "../v");
        let mut prof = s.profile(Operation::Mirror, mode);
        prof.filters.include_files = vec!["*.txt".into()];
        let fp = plan(&prof);
        assert_eq!(
            at(&fp, "dir")[0],
            (ActionKind::Delete, EntryKind::Symlink, Reason::Replaced),
            "{why}: {:?}",
            shown(&fp.actions)
        );
        run(&prof);
        s.assert_outside_unchanged(&why);
        assert!(is_real_dir(&s.dst().join("dir")), "{why}");
        assert!(plan(&prof).actions.is_empty(), "{why}");
    }
}

#[test]
fn item3_a_destination_link_to_an_outside_file_is_replaced_by_the_source_file() {
    for op in [Operation::Mirror, Operation::Copy] {
        for mode in MODES {
            let why = format!("{op:?} {mode:?}");
            let s = Scene::new(&[("f.txt", "new\n")], &[]);
            s.link("f.txt", "../v/f.txt");
            let prof = s.profile(op, mode);
            let fp = plan(&prof);
            assert_eq!(
                at(&fp, "f.txt"),
                [
                    (ActionKind::Delete, EntryKind::Symlink, Reason::Replaced),
                    (ActionKind::Copy, EntryKind::File, Reason::Replaced)
                ],
                "{why}"
            );
            run(&prof);
            s.assert_outside_unchanged(&why);
            assert!(is_real_file(&s.dst().join("f.txt")), "{why}");
            assert_eq!(fs::read_to_string(s.dst().join("f.txt")).unwrap(), "new\n");
            assert!(plan(&prof).actions.is_empty(), "{why}");
        }
    }
}

/// Item 4: a destination link the source has nothing for. With `skip` it is left alone and
/// not counted (like an excluded file); with `copy` and `follow` a mirror deletes the link
/// itself, never what it points to.
#[test]
fn item4_a_destination_link_the_source_lacks_is_excluded_or_deleted_as_a_link() {
    for target in ["../v", "../v/p", "../nowhere"] {
        for mode in MODES {
            let why = format!("{mode:?} -> {target}");
            let files = [("k1", "1\n"), ("k2", "2\n"), ("k3", "3\n")];
            let s = Scene::new(&files, &files);
            s.link("gone", target);
            let prof = s.profile(Operation::Mirror, mode);
            let fp = plan(&prof);
            if mode == SymlinkMode::Skip {
                assert!(fp.actions.is_empty(), "{why}: {:?}", shown(&fp.actions));
                assert_eq!(fp.destination_entries, 3, "{why}: the link is not counted");
            } else {
                assert_eq!(
                    shown(&fp.actions),
                    ["delete symlink gone"],
                    "{why}: only the link goes"
                );
                assert_eq!(at(&fp, "gone")[0].2, Reason::Unmatched);
            }
            run(&prof);
            s.assert_outside_unchanged(&why);
            assert_eq!(is_link(&s.dst().join("gone")), mode == SymlinkMode::Skip);
            assert!(plan(&prof).actions.is_empty(), "{why}");
            // A copy never deletes: the link stays in every mode.
            let s = Scene::new(&files, &files);
            s.link("gone", target);
            let prof = s.profile(Operation::Copy, mode);
            assert!(plan(&prof).actions.is_empty(), "{why}");
            run(&prof);
            assert!(is_link(&s.dst().join("gone")), "{why}");
            s.assert_outside_unchanged(&why);
        }
    }
}

#[test]
fn item4_a_link_deeper_in_the_destination_is_never_deleted_through() {
    for mode in MODES {
        let why = format!("{mode:?}");
        let s = Scene::new(&[("a/keep.txt", "k")], &[("a/keep.txt", "k")]);
        s.link("a/b/gone", "../../../v");
        let prof = s.profile(Operation::Mirror, mode);
        run(&prof);
        s.assert_outside_unchanged(&why);
        assert_eq!(
            is_link(&s.dst().join("a/b/gone")),
            mode == SymlinkMode::Skip
        );
        assert_eq!(fs::read_to_string(s.dst().join("a/keep.txt")).unwrap(), "k");
    }
}

/// The earlier backups of a versioned backup are a destination too: a link inside one is
/// never followed (with `follow`, the file it leads to made the backup look done).
#[test]
fn versioned_backup_never_follows_a_link_inside_an_earlier_snapshot() {
    for mode in MODES {
        let why = format!("{mode:?}");
        let s = Scene::new(&[("keep.txt", "k")], &[]);
        fs::remove_dir(s.dst()).unwrap();
        let prof = s.profile(Operation::VersionedBackup, mode);
        run(&prof);
        let snapshots: Vec<PathBuf> = fs::read_dir(s.dst())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(snapshots.len(), 1, "{why}");
        symlink(s.outside(), snapshots[0].join("dir")).unwrap();
        // The source's new file equals the outside one, time included.
        fs::create_dir(s.src().join("dir")).unwrap();
        fs::copy(s.outside().join("in.txt"), s.src().join("dir/in.txt")).unwrap();
        let mtime = fs::metadata(s.outside().join("in.txt"))
            .unwrap()
            .modified()
            .unwrap();
        fs::File::options()
            .write(true)
            .open(s.src().join("dir/in.txt"))
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let fp = plan(&prof);
        assert!(
            fp.actions
                .iter()
                .any(|a| a.kind == ActionKind::Copy && a.path.to_string() == "dir/in.txt"),
            "{why}: {:?}",
            shown(&fp.actions)
        );
        run(&prof);
        s.assert_outside_unchanged(&why);
        let newest = fs::read_dir(s.dst())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p != &snapshots[0])
            .collect::<Vec<_>>();
        assert_eq!(newest.len(), 1, "{why}: {newest:?}");
        assert!(is_real_dir(&newest[0].join("dir")), "{why}");
        assert_eq!(
            fs::read_to_string(newest[0].join("dir/in.txt")).unwrap(),
            "OLD\n"
        );
        assert!(
            is_link(&snapshots[0].join("dir")),
            "{why}: the old backup is kept"
        );
        assert!(plan(&prof).actions.is_empty(), "{why}");
    }
}

/// Two-way: both sides are written, so a link on either side where the other side has an
/// entry is a difference the planner sees, never a folder written through.
#[test]
fn item3_a_sync_never_writes_through_a_link_on_either_side() {
    for mode in [SymlinkMode::Skip, SymlinkMode::Copy] {
        for linked_side in ["dst", "src"] {
            let why = format!("{mode:?} link in {linked_side}");
            let s = Scene::new(&[], &[]);
            let (with_folder, with_link) = if linked_side == "dst" {
                (s.src(), s.dst())
            } else {
                (s.dst(), s.src())
            };
            tree::write(&with_folder, &[("dir/new.txt", "in\n")]);
            symlink("../v", with_link.join("dir")).unwrap();
            let mut prof = s.profile(Operation::Synchronize, mode);
            prof.sync.state = Some(s.pair.dir.path().join("state.sqlite").display().to_string());
            let fp = plan(&prof);
            assert!(
                at(&fp, "dir").iter().all(|a| a.0 != ActionKind::CreateDir),
                "{why}: the link is seen: {:?}",
                shown(&fp.actions)
            );
            run(&prof);
            s.assert_outside_unchanged(&why);
            run(&prof);
            s.assert_outside_unchanged(&why);
            assert_eq!(
                fs::read_to_string(with_folder.join("dir/new.txt")).unwrap(),
                "in\n",
                "{why}"
            );
        }
    }
}

/// Item 4b: a link to a sibling folder is not a loop; both names are listed, and nothing of
/// the real folder's copy is deleted.
#[test]
fn item4b_a_link_to_a_sibling_folder_is_listed_under_both_names() {
    let s = Scene::new(&[("same/a.txt", "a\n")], &[("same/b.txt", "b\n")]);
    symlink("same", s.src().join("lnk")).unwrap();
    let prof = s.profile(Operation::Mirror, SymlinkMode::Follow);
    let fp = plan(&prof);
    assert!(fp.warnings.is_empty(), "{:?}", fp.warnings);
    assert!(
        at(&fp, "same").iter().all(|a| a.0 != ActionKind::Delete),
        "{:?}",
        shown(&fp.actions)
    );
    let report = run(&prof);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    for name in ["same", "lnk"] {
        assert!(is_real_dir(&s.dst().join(name)), "{name}");
        assert_eq!(
            fs::read_to_string(s.dst().join(name).join("a.txt")).unwrap(),
            "a\n"
        );
    }
    assert!(
        !s.dst().join("same/b.txt").exists(),
        "a mirror removes what the source lacks"
    );
    assert!(plan(&prof).actions.is_empty());
    s.assert_outside_unchanged("4b");
}

/// Item 4b: a real loop (a link to a folder above it) is reported and skipped, and its copy in
/// the destination is kept: a folder the scan did not list is never a reason to delete.
#[test]
fn item4b_a_real_loop_is_reported_and_its_copy_is_kept() {
    let s = Scene::new(
        &[("a/f.txt", "f\n")],
        &[
            ("a/f.txt", "f\n"),
            ("a/up/keep.txt", "keep\n"),
            ("gone.txt", "g"),
        ],
    );
    symlink("..", s.src().join("a/up")).unwrap();
    let prof = s.profile(Operation::Mirror, SymlinkMode::Follow);
    let fp = plan(&prof);
    assert!(
        fp.warnings
            .iter()
            .any(|w| w.contains("a/up") && w.contains("loop")),
        "{:?}",
        fp.warnings
    );
    assert!(
        fp.actions
            .iter()
            .all(|a| !a.path.starts_with(&RelPath::new("a/up").unwrap())),
        "{:?}",
        shown(&fp.actions)
    );
    run(&prof);
    assert_eq!(
        fs::read_to_string(s.dst().join("a/up/keep.txt")).unwrap(),
        "keep\n"
    );
    assert!(!s.dst().join("gone.txt").exists());
    s.assert_outside_unchanged("loop");
}

/// A source link the run leaves out is excluded, like an excluded file: with `skip` (and a
/// link whose target is gone, with `follow`) a mirror neither replaces nor deletes what the
/// destination holds at its path.
#[test]
fn a_source_link_left_out_keeps_the_destinations_entry_at_its_path() {
    for (mode, target) in [
        (SymlinkMode::Skip, "elsewhere"),
        (SymlinkMode::Follow, "gone"),
    ] {
        let s = Scene::new(
            &[("keep.txt", "k"), ("elsewhere/e.txt", "e")],
            &[
                ("docs/a.txt", "mine"),
                ("docs/sub/b.txt", "mine too"),
                ("note", "n"),
            ],
        );
        symlink(target, s.src().join("docs")).unwrap();
        symlink(target, s.src().join("note")).unwrap();
        let prof = s.profile(Operation::Mirror, mode);
        let fp = plan(&prof);
        for path in ["docs", "docs/a.txt", "docs/sub", "docs/sub/b.txt", "note"] {
            assert!(
                at(&fp, path).is_empty(),
                "{mode:?} {path}: {:?}",
                shown(&fp.actions)
            );
        }
        run(&prof);
        for path in ["docs/a.txt", "docs/sub/b.txt", "note"] {
            assert!(is_real_file(&s.dst().join(path)), "{mode:?}: {path} kept");
        }
        s.assert_outside_unchanged("left-out source link");
    }
}

/// A move with `--symlinks follow` copies what a source link leads to, and deletes the
/// source's own files, but never deletes through the link: its target lies outside the
/// source (a file or a folder there stays, and the plan says why).
#[test]
fn a_move_that_follows_links_never_deletes_through_them() {
    let s = Scene::new(&[("own.txt", "mine"), ("sub/own2.txt", "mine too")], &[]);
    symlink(s.outside(), s.src().join("shared")).unwrap();
    symlink(s.outside().join("f.txt"), s.src().join("file-link")).unwrap();
    let prof = s.profile(Operation::Move, SymlinkMode::Follow);
    let fp = plan(&prof);
    for path in ["shared/in.txt", "shared/p", "file-link", "shared"] {
        assert!(
            !at(&fp, path)
                .iter()
                .any(|(k, _, _)| *k == ActionKind::DeleteSource),
            "{path}: {:?}",
            shown(&fp.actions)
        );
    }
    assert!(
        fp.warnings
            .iter()
            .any(|w| w.contains("never deletes through links")),
        "{:?}",
        fp.warnings
    );
    run(&prof);
    assert_eq!(
        fs::read_to_string(s.dst().join("shared/in.txt")).unwrap(),
        "OLD\n"
    );
    assert_eq!(
        fs::read_to_string(s.dst().join("file-link")).unwrap(),
        "OLD\n"
    );
    assert!(!s.src().join("own.txt").exists() && !s.src().join("sub/own2.txt").exists());
    assert!(is_link(&s.src().join("shared")) && is_link(&s.src().join("file-link")));
    s.assert_outside_unchanged("move through links");
}
