//! Issue 11, items 1 and 2: folders are locations (paths or URLs whose secrets never show),
//! the engine gets every tree from one transport factory that a program can replace through
//! its builder, and what a backend can do (its capabilities) reaches the comparison and the
//! writes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ferrysync::transport::{
    Call, Capabilities, Fault, Faulty, LocalTransports, MemoryTransport, Role, Transport,
    TransportFactory, TransportRequest, Tree,
};
use ferrysync::{
    CompareOptions, Engine, ErrorKind, Folder, Location, Operation, Profile, Result, RunOptions,
    Scheme,
};

/// A factory of trees in memory: every location is the tree named by its text, made empty
/// on first use unless a test put one there first.
#[derive(Debug, Clone, Default)]
struct Trees(Arc<Mutex<BTreeMap<String, Arc<dyn Transport>>>>);

impl Trees {
    /// Puts `tree` at `name` (a location's text).
    fn put(&self, name: &str, tree: impl Transport + 'static) {
        self.0.lock().unwrap().insert(name.into(), Arc::new(tree));
    }

    fn get(&self, name: &str) -> Arc<dyn Transport> {
        self.0.lock().unwrap()[name].clone()
    }

    fn engine(&self) -> Engine {
        Engine::builder().transports(self.clone()).build()
    }
}

impl TransportFactory for Trees {
    fn backend(&self, at: &Location, _: &TransportRequest) -> Result<Arc<dyn Transport>> {
        let mut trees = self.0.lock().unwrap();
        let name = at.describe();
        let tree = trees
            .entry(name.clone())
            .or_insert_with(|| Arc::new(MemoryTransport::new(&name)));
        Ok(tree.clone())
    }
}

/// Paths that exist nowhere on disk: every tree is in memory.
const SRC: &str = "/ferrysync-in-memory/src";
const DST: &str = "/ferrysync-in-memory/dst";

fn mirror() -> Profile {
    Profile::new("p", Operation::Mirror).with_folder(Folder::new("f", SRC, DST))
}

fn caps(change: impl FnOnce(&mut Capabilities)) -> Capabilities {
    let mut caps = MemoryTransport::new("caps").capabilities();
    change(&mut caps);
    caps
}

fn run(engine: &Engine, profile: &Profile) -> ferrysync::Report {
    let report = engine.run(profile, &RunOptions::default()).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    report
}

fn planned(engine: &Engine, profile: &Profile) -> Vec<String> {
    let plan = engine.plan(profile).unwrap();
    plan.folders[0]
        .actions
        .iter()
        .map(|a| format!("{} {}", a.kind.name(), a.path))
        .collect()
}

/// The acceptance test of item 2: a program replaces the factory through the engine's
/// builder and a mirror runs end to end over it, touching no disk.
#[test]
fn a_mirror_runs_end_to_end_over_a_factory_set_through_the_builder() {
    let trees = Trees::default();
    let src = Tree::new(
        "
        docs/a.txt = hello
        docs/deep/b.txt = bye @1500000000
        empty/
        top.txt =
        ",
    );
    trees.put(SRC, src.in_memory("src"));
    trees.put(
        DST,
        Tree::new("stale.txt = old\ndocs/a.txt = old").in_memory("dst"),
    );
    let engine = trees.engine();
    let report = run(&engine, &mirror());
    assert_eq!(report.done.new_files + report.done.modified_files, 3);
    assert_eq!(Tree::of(&*trees.get(DST)).unwrap(), src);
    assert_eq!(planned(&engine, &mirror()), Vec::<String>::new());
    assert!(!std::path::Path::new("/ferrysync-in-memory").exists());
}

/// The engine's own calls (plan and run, versions outside the destination) all go to the
/// factory, with what each tree is for.
#[test]
fn the_engine_asks_its_factory_for_every_tree_with_its_role() {
    #[derive(Debug, Clone, Default)]
    struct Recording(Arc<Mutex<Vec<(Role, bool, bool)>>>);
    impl TransportFactory for Recording {
        fn backend(&self, at: &Location, req: &TransportRequest) -> Result<Arc<dyn Transport>> {
            let seen = (req.role, req.follow_links, req.retry.is_some());
            self.0.lock().unwrap().push(seen);
            LocalTransports.backend(at, req)
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (src, dst, kept) = (
        dir.path().join("src"),
        dir.path().join("dst"),
        dir.path().join("kept"),
    );
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("a.txt"), "new").unwrap();
    std::fs::create_dir(&dst).unwrap();
    std::fs::write(dst.join("a.txt"), "old!").unwrap();
    let mut profile = Profile::new("p", Operation::Mirror).with_folder(Folder::new(
        "f",
        src.to_str().unwrap(),
        dst.to_str().unwrap(),
    ));
    profile.copy.symlinks = ferrysync::SymlinkMode::Follow;
    profile.versions.keep = 3;
    profile.versions.folder = Some(kept.to_str().unwrap().into());
    let recording = Recording::default();
    let engine = Engine::builder().transports(recording.clone()).build();
    run(&engine, &profile);
    let seen = recording.0.lock().unwrap().clone();
    // Reads of the source follow links as the profile says, the destination's never; a
    // run's trees are tried again, a plan's are not.
    for expected in [
        (Role::Source, true, false),
        (Role::Destination, false, false),
        (Role::Source, true, true),
        (Role::Destination, false, true),
        (Role::Versions, false, true),
    ] {
        assert!(seen.contains(&expected), "{expected:?} not in {seen:?}");
    }
    assert_eq!(std::fs::read(dst.join("a.txt")).unwrap(), b"new");
    assert_eq!(std::fs::read_dir(&kept).unwrap().count(), 1);
}

/// Item 1: a remote scheme is accepted by the parser and refused by the engine, as not
/// supported yet, naming the location without its password.
#[test]
fn a_remote_folder_is_refused_by_the_default_engine_as_not_supported_yet() {
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().to_str().unwrap();
    for (source, destination, what) in [
        (
            local,
            "sftp://me:hunter2@backup.example:2222/srv/docs",
            "sftp:// destinations",
        ),
        ("s3://bucket/docs?secret=hunter2", local, "s3:// sources"),
        (local, "webdavs://dav.example/d", "webdavs:// destinations"),
        (local, "memory://tree", "memory:// destinations"),
    ] {
        let profile =
            Profile::new("p", Operation::Mirror).with_folder(Folder::new("f", source, destination));
        profile.validate().unwrap();
        for err in [
            Engine::new().plan(&profile).unwrap_err(),
            Engine::new()
                .run(&profile, &RunOptions::default())
                .unwrap_err(),
        ] {
            assert_eq!(err.kind(), ErrorKind::NotSupported, "{err}");
            let shown = err.to_string();
            assert!(
                shown.contains(&format!("{what} are not supported yet")),
                "{shown}"
            );
            assert!(!shown.contains("hunter2"), "{shown}");
        }
    }
}

/// Item 1: a plan carries its folders' locations; its JSON and its debug text show them
/// without their secrets.
#[test]
fn a_plan_carries_locations_and_shows_them_without_secrets() {
    let trees = Trees::default();
    let remote = "sftp://me:hunter2@backup.example/srv/docs?token=t0ken&port-knock=7";
    let shown = "sftp://me:***@backup.example/srv/docs?token=***&port-knock=7";
    trees.put(shown, Tree::new("a.txt = x").in_memory("remote"));
    let profile = Profile::new("p", Operation::Mirror).with_folder(Folder::new("f", remote, DST));
    let plan = trees.engine().plan(&profile).unwrap();
    let folder = &plan.folders[0];
    assert_eq!(folder.source.scheme(), Scheme::Sftp);
    assert_eq!(folder.source.password(), Some("hunter2"));
    assert_eq!(
        folder.destination.local_path(),
        Some(std::path::Path::new(DST))
    );
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["folders"][0]["source"], shown);
    assert_eq!(json["folders"][0]["destination"], DST);
    for text in [json.to_string(), format!("{plan:?}")] {
        assert!(
            !text.contains("hunter2") && !text.contains("t0ken"),
            "{text}"
        );
    }
}

/// Item 2: a side that cannot set modification times holds copies with the time they were
/// written; comparing by size (and contents where the profile says) copies nothing again.
#[test]
fn a_destination_that_cannot_set_times_is_not_copied_to_again() {
    for content in [false, true] {
        let trees = Trees::default();
        let src = Tree::new("a.txt = hello\nsub/b.txt = bye @1500000000\nsub/deeper/");
        trees.put(SRC, src.in_memory("src"));
        let dst = MemoryTransport::new("dst").with_capabilities(caps(|c| c.set_mtime = false));
        trees.put(DST, dst);
        let mut profile = mirror();
        profile.comparison = CompareOptions::default();
        profile.comparison.blake3 = content;
        let engine = trees.engine();
        run(&engine, &profile);
        let held = Tree::of(&*trees.get(DST)).unwrap();
        assert_eq!(held.without_mtimes(), src.clone().without_mtimes());
        assert_eq!(
            planned(&engine, &profile),
            Vec::<String>::new(),
            "blake3: {content}"
        );
        // A change of size is still a change.
        Tree::new("a.txt = hello, world")
            .build_in(&*trees.get(SRC))
            .unwrap();
        assert_eq!(
            planned(&engine, &profile),
            ["copy a.txt"],
            "blake3: {content}"
        );
    }
}

/// Item 2: the same over a two-way pair whose destination cannot set times: its state
/// database remembers what each side held, so the second run finds nothing to do.
#[test]
fn a_two_way_side_that_cannot_set_times_settles_after_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let trees = Trees::default();
    trees.put(
        SRC,
        Tree::new("a.txt = left\nsub/b.txt = b").in_memory("src"),
    );
    let right = Tree::new("c.txt = right").in_memory("dst");
    trees.put(DST, right.with_capabilities(caps(|c| c.set_mtime = false)));
    let mut profile =
        Profile::new("p", Operation::Synchronize).with_folder(Folder::new("f", SRC, DST));
    profile.sync.state = Some(dir.path().join("state.db").to_str().unwrap().into());
    let engine = trees.engine();
    run(&engine, &profile);
    let want = Tree::new("a.txt = left\nsub/b.txt = b\nc.txt = right").without_mtimes();
    assert_eq!(Tree::of(&*trees.get(SRC)).unwrap().without_mtimes(), want);
    assert_eq!(Tree::of(&*trees.get(DST)).unwrap().without_mtimes(), want);
    let again = engine.plan(&profile).unwrap();
    let busy: Vec<_> = again.folders[0]
        .actions
        .iter()
        .filter(|a| a.kind != ferrysync::ActionKind::Record)
        .map(|a| format!("{} {}", a.kind.name(), a.path))
        .collect();
    assert_eq!(busy, Vec::<String>::new());
}

/// Item 2: a side that stores times to two seconds (FAT) does not get files copied again
/// whose times differ from the source's by less, even with a smaller tolerance; a file two
/// seconds or more apart is copied.
#[test]
fn a_two_second_destination_does_not_copy_again_what_differs_by_less() {
    let trees = Trees::default();
    let src = Tree::new(
        "
        odd.txt = odd second @1600000001
        even.txt = even second @1600000002
        sub/c.txt = c @1600000003
        ",
    );
    trees.put(SRC, src.in_memory("src"));
    let two_seconds = caps(|c| c.mtime_resolution_ns = 2_000_000_000);
    trees.put(
        DST,
        MemoryTransport::new("dst").with_capabilities(two_seconds),
    );
    let mut profile = mirror();
    profile.comparison.mtime_tolerance_ms = 0;
    let engine = trees.engine();
    run(&engine, &profile);
    let held = Tree::of(&*trees.get(DST)).unwrap();
    assert_eq!(held.without_mtimes(), src.without_mtimes());
    assert_eq!(planned(&engine, &profile), Vec::<String>::new());
    // A source edit two seconds later is a change.
    Tree::new("odd.txt = odd second @1600000003")
        .build_in(&*trees.get(SRC))
        .unwrap();
    assert_eq!(planned(&engine, &profile), ["copy odd.txt"]);
}

/// Item 2: a side without atomic renames still gets every file whole: a copy that breaks
/// off leaves the old file (never a torn one), and the next run converges.
#[test]
fn a_destination_without_atomic_renames_gets_every_file_whole() {
    let trees = Trees::default();
    let src = Tree::new(
        "
        a.txt = the new contents of a
        b.txt = the new contents of b
        sub/c.txt = the new contents of c
        ",
    );
    trees.put(SRC, src.in_memory("src"));
    let old = Tree::new("a.txt = old a\nb.txt = old b\nsub/c.txt = old c");
    let dst = old
        .in_memory("dst")
        .with_capabilities(caps(|c| c.atomic_rename = false));
    // The copy of b.txt breaks off half-way, once.
    let faulty = Faulty::new(dst.clone()).with(
        Fault::on(Call::Write)
            .under("b.txt")
            .nth(1)
            .after_bytes(5)
            .fail(ErrorKind::Io),
    );
    trees.put(DST, faulty);
    let engine = trees.engine();
    let mut profile = mirror();
    profile.copy.retries = 0;
    let report = engine.run(&profile, &RunOptions::default()).unwrap();
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    let held = Tree::of(&dst).unwrap().without_mtimes();
    let want = Tree::new(
        "
        a.txt = the new contents of a
        b.txt = old b
        sub/c.txt = the new contents of c
        ",
    );
    assert_eq!(held, want.without_mtimes());
    run(&engine, &profile);
    assert_eq!(Tree::of(&dst).unwrap(), src);
}
