//! Property test of safety rules 7-8 (issue 10's acceptance): whatever the trees, the links
//! planted in destinations and in either side of a pair (to folders and files outside the
//! roots, loops, dangling), the operation and the symlink mode, a tree outside the roots is
//! never changed — also when links are swapped in while a run goes on.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use proptest::prelude::*;

use ferrysync::transport::{LocalTransport, Transport};
use ferrysync::{
    DeletionMode, Engine, Folder, Operation, Profile, RestoreOptions, RunOptions, SymlinkMode,
    Versions,
};

use crate::tree::{self, snapshot_without, Snapshot};

/// Names the trees are made of: the outside tree uses them too, so a write through a link
/// would land on (or beside) an outside file of the same name.
const NAMES: [&str; 6] = ["a", "b", "doc", "x.txt", "y.bin", "in.txt"];

fn arb_files() -> impl Strategy<Value = BTreeMap<String, Vec<u8>>> {
    let path = prop::collection::vec(prop::sample::select(NAMES.to_vec()), 1..4)
        .prop_map(|parts| parts.join("/"));
    prop::collection::btree_map(path, prop::collection::vec(any::<u8>(), 0..32), 0..14)
}

/// Where a planted link points.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// A folder outside both roots.
    OutsideFolder,
    /// A file outside both roots.
    OutsideFile,
    /// The link's own parent folder (a loop).
    Loop,
    /// The root of the tree it is planted in.
    OwnRoot,
    /// Nothing.
    Dangling,
}

#[derive(Debug, Clone)]
struct Plant {
    /// Which side: 0 the source, 1 the destination.
    side: u8,
    /// Path components of the link.
    path: Vec<&'static str>,
    target: Target,
}

fn arb_plants() -> impl Strategy<Value = Vec<Plant>> {
    let target = prop_oneof![
        3 => Just(Target::OutsideFolder),
        2 => Just(Target::OutsideFile),
        1 => Just(Target::Loop),
        1 => Just(Target::OwnRoot),
        1 => Just(Target::Dangling),
    ];
    let plant = (
        0u8..3,
        prop::collection::vec(prop::sample::select(NAMES.to_vec()), 1..3),
        target,
    )
        .prop_map(|(side, path, target)| Plant {
            // Two in three in the destination.
            side: side.min(1),
            path,
            target,
        });
    prop::collection::vec(plant, 1..5)
}

fn arb_operation() -> impl Strategy<Value = Operation> {
    prop::sample::select(vec![
        Operation::Copy,
        Operation::Mirror,
        Operation::Move,
        Operation::VersionedBackup,
        Operation::Synchronize,
    ])
}

fn arb_mode() -> impl Strategy<Value = SymlinkMode> {
    prop::sample::select(vec![
        SymlinkMode::Skip,
        SymlinkMode::Copy,
        SymlinkMode::Follow,
    ])
}

/// A scene: `src`, `dst`, an outside tree `out` (what every link may point into), and a
/// restore target `into`, side by side in one temporary folder.
struct Scene {
    dir: tempfile::TempDir,
}

impl Scene {
    fn new() -> Scene {
        let dir = tempfile::tempdir().unwrap();
        for d in ["src", "dst", "into"] {
            fs::create_dir(dir.path().join(d)).unwrap();
        }
        let out = dir.path().join("out");
        let mut files = vec![("file.txt".to_string(), "OUTSIDE FILE".to_string())];
        for a in NAMES {
            files.push((format!("folder/{a}"), format!("outside {a}")));
            files.push((format!("folder/doc/{a}"), format!("outside doc/{a}")));
        }
        for (p, data) in &files {
            let full = out.join(p);
            if fs::create_dir_all(full.parent().unwrap()).is_ok() && !full.is_dir() {
                fs::write(full, data).unwrap();
            }
        }
        Scene { dir }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn outside(&self) -> Snapshot {
        snapshot_without(&self.path("out"), &[])
    }

    /// Plants `p` where nothing is in the way (a file or folder of the tree stays as it is).
    fn plant(&self, p: &Plant, root: &Path) {
        let link = p.path.iter().fold(root.to_path_buf(), |acc, c| acc.join(c));
        let parent = link.parent().unwrap();
        if fs::create_dir_all(parent).is_err() || fs::symlink_metadata(&link).is_ok() {
            return;
        }
        let target = match p.target {
            Target::OutsideFolder => self.path("out/folder"),
            Target::OutsideFile => self.path("out/file.txt"),
            Target::Loop => PathBuf::from("."),
            Target::OwnRoot => root.to_path_buf(),
            Target::Dangling => self.path("out/nothing-here"),
        };
        let _ = symlink(target, &link);
    }
}

/// Writes `files` under `root`, skipping paths that collide with what is there.
fn materialize(root: &Path, files: &BTreeMap<String, Vec<u8>>) {
    for (path, data) in files {
        let p = root.join(path);
        if fs::create_dir_all(p.parent().unwrap()).is_ok() && fs::symlink_metadata(&p).is_err() {
            let _ = fs::write(&p, data);
        }
    }
}

fn profile(scene: &Scene, op: Operation, mode: SymlinkMode, versions: bool) -> Profile {
    let mut p = Profile::new("outside", op).with_folder(Folder::new(
        "main",
        scene.path("src").to_str().unwrap(),
        scene.path("dst").to_str().unwrap(),
    ));
    p.copy.symlinks = if op == Operation::Synchronize && mode == SymlinkMode::Follow {
        // Following links is refused for two-way pairs (not supported).
        SymlinkMode::Copy
    } else {
        mode
    };
    p.guards.max_delete = None;
    p.filters.include_empty_folders = true;
    if versions || op == Operation::VersionedBackup {
        p.versions.keep = 10;
        p.versions.deleted_files = DeletionMode::Versions;
    }
    if op == Operation::Synchronize {
        p.sync.state = Some(scene.path("state.db").display().to_string());
    }
    p
}

/// Runs `p` twice, forced; errors and guards are allowed, changes outside are not.
fn run_twice(p: &Profile) {
    let mut opts = RunOptions::default();
    opts.force = true;
    for _ in 0..2 {
        let _ = Engine::new().run(p, &opts);
    }
}

/// Restores the destination's versions as of now into `into`, which holds planted links.
fn restore_into(scene: &Scene, p: &Profile) {
    let dst: Arc<dyn Transport> = Arc::new(LocalTransport::new(scene.path("dst")));
    if let Ok(versions) = Versions::new(dst.clone(), &p.versions) {
        let into = LocalTransport::new(scene.path("into"));
        // Overwrite: the planted links make the target non-empty, and the restore must still
        // never write through them.
        let opts = RestoreOptions::overwriting(true);
        let _ = versions.restore_tree_as_of(i64::MAX / 2, &*dst, &into, &opts);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn nothing_outside_the_roots_ever_changes(
        src in arb_files(),
        dst in arb_files(),
        plants in arb_plants(),
        op in arb_operation(),
        mode in arb_mode(),
        versions in any::<bool>(),
    ) {
        let scene = Scene::new();
        materialize(&scene.path("src"), &src);
        materialize(&scene.path("dst"), &dst);
        for plant in &plants {
            let root = if plant.side == 0 { "src" } else { "dst" };
            scene.plant(plant, &scene.path(root));
            // The restore target gets the destination's links too.
            if plant.side == 1 {
                scene.plant(plant, &scene.path("into"));
            }
        }
        let before = scene.outside();
        let p = profile(&scene, op, mode, versions);
        run_twice(&p);
        restore_into(&scene, &p);
        prop_assert_eq!(scene.outside(), before, "{:?} {:?} {:?}", op, mode, plants);
    }
}

/// Links swapped in while a run goes on: a thread keeps replacing destination folders with
/// links to an outside folder (and back) while mirror, copy, move, versioned backup and
/// two-way runs write, rename and delete in them. The outside folder never changes.
#[test]
fn links_swapped_in_during_a_run_never_redirect_a_write() {
    for op in [
        Operation::Mirror,
        Operation::Copy,
        Operation::Move,
        Operation::VersionedBackup,
        Operation::Synchronize,
    ] {
        let scene = Scene::new();
        let files: Vec<(String, String)> = (0..600)
            .map(|i| {
                (
                    format!("d{}/{}", i % 6, NAMES[i % NAMES.len()]),
                    format!("v{i}"),
                )
            })
            .chain((0..600).map(|i| (format!("d{}/f{i}.txt", i % 6), format!("data {i}"))))
            .collect();
        let pairs: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        tree::write(&scene.path("src"), &pairs);
        // Half the files are already there (to be replaced or deleted), with other contents.
        let stale: Vec<(String, String)> = files
            .iter()
            .step_by(2)
            .map(|(p, _)| (p.clone(), "stale".to_string()))
            .chain((0..200).map(|i| (format!("d{}/old{i}", i % 6), "old".to_string())))
            .collect();
        let stale: Vec<(&str, &str)> = stale
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        tree::write(&scene.path("dst"), &stale);
        let mut p = profile(&scene, op, SymlinkMode::Skip, true);
        p.copy.threads = 4;
        let before = scene.outside();

        let stop = Arc::new(AtomicBool::new(false));
        let swapper = {
            let stop = stop.clone();
            let (dst, out) = (scene.path("dst"), scene.path("out/folder"));
            let side = scene.path("src");
            std::thread::spawn(move || {
                let mut i = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    // Alternate sides for two-way runs; every folder in turn.
                    let root = if i % 3 == 2 { &side } else { &dst };
                    let d = root.join(format!("d{}", i % 6));
                    let aside = root.join(format!(".aside{}", i % 6));
                    if fs::rename(&d, &aside).is_ok() {
                        let _ = symlink(&out, &d);
                        std::thread::yield_now();
                        let _ = fs::remove_file(&d);
                        let _ = fs::rename(&aside, &d);
                    }
                    i += 1;
                }
            })
        };
        let mut opts = RunOptions::default();
        opts.force = true;
        for _ in 0..3 {
            let _ = Engine::new().run(&p, &opts);
        }
        stop.store(true, Ordering::Relaxed);
        swapper.join().unwrap();
        assert_eq!(scene.outside(), before, "{op:?} wrote outside the roots");
    }
}
