//! Property test: random trees and random edits, mirror, then the trees are equal and the
//! versions folder holds every replaced file.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use proptest::prelude::*;

use ferrysync::{Operation, RelPath, Versions};

use crate::tree::{self, snapshot, Node, Pair};

/// A tree as file path → contents (folders implied).
fn arb_tree() -> impl Strategy<Value = BTreeMap<String, Vec<u8>>> {
    let name = prop::sample::select(vec!["a", "b", "c", "Doc", "x.txt", "y.bin", "é.md"]);
    let path = prop::collection::vec(name, 1..4).prop_map(|parts| parts.join("/"));
    prop::collection::btree_map(path, prop::collection::vec(any::<u8>(), 0..64), 0..24)
}

#[derive(Debug, Clone)]
enum Edit {
    Write(usize, Vec<u8>),
    Delete(usize),
    Touch(usize),
}

fn arb_edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), prop::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(i, d)| Edit::Write(i, d)),
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Touch),
    ];
    prop::collection::vec(edit, 0..12)
}

/// Writes the tree, skipping paths that collide with an existing file or folder.
fn materialize(root: &Path, files: &BTreeMap<String, Vec<u8>>) {
    for (path, data) in files {
        let p = root.join(path);
        if fs::create_dir_all(p.parent().unwrap()).is_ok() && !p.is_dir() {
            fs::write(&p, data).unwrap();
        }
    }
}

fn files_under(root: &Path) -> Vec<std::path::PathBuf> {
    snapshot(root)
        .into_iter()
        .filter(|(_, n)| matches!(n, Node::File { .. }))
        .map(|(p, _)| root.join(String::from_utf8(p).unwrap()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn mirror_converges_and_keeps_every_replaced_version(files in arb_tree(), edits in arb_edits()) {
        let p = Pair::new();
        materialize(&p.src(), &files);
        let mut prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
        prof.guards.max_delete = None;
        prof.versions.keep = 100;
        prof.versions.deleted_files = ferrysync::DeletionMode::Versions;
        prof.filters.include_empty_folders = true;
        tree::run(&prof);
        prop_assert_eq!(snapshot(&p.src()), snapshot(&p.dst()));

        // Edit the source; remember what the destination held for every path that changes.
        let before = snapshot(&p.dst());
        let targets = files_under(&p.src());
        let mut t = 2_000_000_000i64;
        for edit in &edits {
            if targets.is_empty() { break; }
            match edit {
                Edit::Write(i, d) => { let f = &targets[i % targets.len()]; if f.exists() { fs::write(f, d).unwrap(); tree::set_mtime(f, t); } }
                Edit::Delete(i) => { let _ = fs::remove_file(&targets[i % targets.len()]); }
                Edit::Touch(i) => { let f = &targets[i % targets.len()]; if f.exists() { tree::set_mtime(f, t); } }
            }
            t += 10;
        }
        tree::run(&prof);
        let after = snapshot(&p.dst());
        prop_assert_eq!(snapshot(&p.src()), after.clone());

        // Every destination file that was replaced or deleted is in the versions folder.
        let dst: std::sync::Arc<dyn ferrysync::transport::Transport> = std::sync::Arc::new(ferrysync::transport::LocalTransport::new(p.dst()));
        let versions = Versions::new(dst, &prof.versions).unwrap();
        for (path, old) in &before {
            let Node::File { data, .. } = old else { continue };
            if after.get(path) == Some(old) { continue; }
            let rel = RelPath::new(path).unwrap();
            let kept = versions.list(&rel).unwrap();
            prop_assert!(!kept.is_empty(), "no version of {}", rel);
            let stored = fs::read(p.dst().join(".ferrysync/versions").join(kept[0].location.as_os_str())).unwrap();
            prop_assert_eq!(&stored, data, "version of {} holds other contents", rel);
        }
    }
}
