//! Building, editing and comparing real trees for the tests.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ferrysync::{Engine, Folder, Operation, Profile, Report, RunOptions};

/// What a tree holds, for comparisons: per relative path, the kind, contents, mtime and mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Dir {
        mode: u32,
    },
    File {
        data: Vec<u8>,
        mtime_ns: i64,
        mode: u32,
    },
    Link {
        target: PathBuf,
    },
}

pub type Snapshot = BTreeMap<Vec<u8>, Node>;

/// Every entry below `root` except `skip` subtrees (relative, `/`-separated).
pub fn snapshot_without(root: &Path, skip: &[&str]) -> Snapshot {
    let mut out = Snapshot::new();
    walk(root, root, skip, &mut out);
    out
}

pub fn snapshot(root: &Path) -> Snapshot {
    snapshot_without(root, &[".ferrysync"])
}

fn walk(root: &Path, dir: &Path, skip: &[&str], out: &mut Snapshot) {
    for item in fs::read_dir(dir).unwrap() {
        let item = item.unwrap();
        let path = item.path();
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .as_os_str()
            .as_bytes()
            .to_vec();
        if skip.iter().any(|s| rel.starts_with(s.as_bytes())) {
            continue;
        }
        let md = fs::symlink_metadata(&path).unwrap();
        let node = if md.file_type().is_symlink() {
            Node::Link {
                target: fs::read_link(&path).unwrap(),
            }
        } else if md.is_dir() {
            walk(root, &path, skip, out);
            Node::Dir {
                mode: md.mode() & 0o7777,
            }
        } else {
            Node::File {
                data: fs::read(&path).unwrap(),
                mtime_ns: md.mtime() * 1_000_000_000 + md.mtime_nsec(),
                mode: md.mode() & 0o7777,
            }
        };
        out.insert(rel, node);
    }
}

/// Writes `files` (path → contents) under `root`, creating folders.
pub fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, data) in files {
        let p = root.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, data).unwrap();
    }
}

/// Sets a file's or folder's mtime to `secs` since the epoch.
pub fn set_mtime(path: &Path, secs: i64) {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs as u64);
    // A folder opens for reading only; its owner may still set its times.
    fs::File::options()
        .write(!path.is_dir())
        .read(path.is_dir())
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

pub fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// A one-folder profile from `src` to `dst`.
pub fn profile(op: Operation, src: &Path, dst: &Path) -> Profile {
    Profile::new("test", op).with_folder(Folder::new(
        "main",
        src.to_str().unwrap(),
        dst.to_str().unwrap(),
    ))
}

pub fn run(p: &Profile) -> Report {
    let report = Engine::new().run(p, &RunOptions::default()).expect("run");
    assert!(report.errors.is_empty(), "errors: {:#?}", report.errors);
    report
}

/// Source and destination folders inside one temporary directory.
pub struct Pair {
    pub dir: tempfile::TempDir,
}

impl Pair {
    pub fn new() -> Pair {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("src")).unwrap();
        Pair { dir }
    }
    pub fn src(&self) -> PathBuf {
        self.dir.path().join("src")
    }
    pub fn dst(&self) -> PathBuf {
        self.dir.path().join("dst")
    }
}
