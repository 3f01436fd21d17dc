//! Benchmarks of ferrysync: criterion benches in `benches/`, peer comparisons in `peers/`.
//!
//! This library holds what the benches share: synthetic listings and generated trees of one
//! realistic shape (two levels of folders, 50 files in each leaf folder, relative paths of
//! about 28 bytes such as `d0003/d0061/file-0003071.dat`).
//!
//! - `cargo bench -p ferrysync-benches` runs the criterion benches (scan, plan, no-change run).
//! - `cargo run --release -p ferrysync-benches --bin listing_memory` measures a listing's
//!   memory per entry.
//! - `python3 benches/peers/run.py` times the `ferry` CLI against rsync and rclone.
#![deny(missing_docs)]

use std::fs;
use std::io;
use std::path::Path;

use ferrysync::transport::{Entry, EntryKind};
use ferrysync::RelPath;

/// Files in each leaf folder.
const FILES_PER_DIR: usize = 50;
/// Leaf folders in each top-level folder.
const DIRS_PER_TOP: usize = 20;
/// A fixed modification time (2023-11-14), so listings are reproducible.
const MTIME_BASE_NS: i64 = 1_700_000_000 * 1_000_000_000;

/// The entries of a synthetic tree in listing order (each folder directly followed by its
/// subtree), as relative path and kind. Paths are made one at a time, so walking a shape of a
/// million entries holds no more than one path.
#[derive(Debug, Clone)]
pub struct TreeShape {
    files: usize,
    next_file: usize,
    /// The folder of the last entry yielded: (top, leaf), leaf `None` right after a top.
    at: Option<(usize, Option<usize>)>,
}

impl TreeShape {
    /// The shape of a tree of `files` files (and the folders holding them).
    pub fn new(files: usize) -> TreeShape {
        TreeShape {
            files,
            next_file: 0,
            at: None,
        }
    }
}

impl Iterator for TreeShape {
    type Item = (String, EntryKind);

    fn next(&mut self) -> Option<(String, EntryKind)> {
        let i = self.next_file;
        if i >= self.files {
            return None;
        }
        let leaf = i / FILES_PER_DIR;
        let top = leaf / DIRS_PER_TOP;
        let (top_now, leaf_now) = self.at.unzip();
        if top_now != Some(top) {
            self.at = Some((top, None));
            Some((format!("d{top:04}"), EntryKind::Dir))
        } else if leaf_now.flatten() != Some(leaf) {
            self.at = Some((top, Some(leaf)));
            Some((format!("d{top:04}/d{leaf:04}"), EntryKind::Dir))
        } else {
            self.next_file += 1;
            let path = format!("d{top:04}/d{leaf:04}/file-{i:07}.dat");
            Some((path, EntryKind::File))
        }
    }
}

/// The size of synthetic file number `i`: 512 B to 4 KiB, spread deterministically.
pub fn file_size(i: usize) -> u64 {
    512 + (i as u64).wrapping_mul(2_654_435_761) % 3_585
}

/// Exactly `n` listing entries of a synthetic tree, in listing order: every file comes after
/// its folders.
pub fn synthetic_entries(n: usize) -> Vec<Entry> {
    let mut out = Vec::with_capacity(n);
    let mut files = 0;
    for (index, (path, kind)) in TreeShape::new(n).take(n).enumerate() {
        let size = match kind {
            EntryKind::File => {
                files += 1;
                file_size(files - 1)
            }
            _ => 0,
        };
        out.push(Entry {
            path: RelPath::new(&path).expect("synthetic paths are valid"),
            kind,
            size,
            mtime_ns: MTIME_BASE_NS + index as i64 * 1_000_000_007,
            mode: if kind == EntryKind::Dir { 0o755 } else { 0o644 },
            owner: Some((1000, 1000)),
            file_id: index as u64 + 1,
        });
    }
    out
}

/// Writes a synthetic tree of `files` files (512 B to 4 KiB each) under `root`, which must
/// exist.
///
/// # Errors
/// Any failure creating a folder or writing a file.
pub fn write_tree(root: &Path, files: usize) -> io::Result<()> {
    let block: Vec<u8> = (0..4096u32)
        .map(|b| (b.wrapping_mul(31) >> 3) as u8)
        .collect();
    let mut i = 0;
    for (path, kind) in TreeShape::new(files) {
        if kind == EntryKind::Dir {
            fs::create_dir(root.join(path))?;
            continue;
        }
        let mut bytes = block[i % 97..].to_vec();
        bytes.resize(file_size(i) as usize, b'\n');
        fs::write(root.join(path), bytes)?;
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrysync::Listing;

    #[test]
    fn synthetic_entries_are_exactly_n_sorted_with_their_folders() {
        for n in [0, 1, 2, 3, 51, 1000, 12_345, 100_000] {
            let entries = synthetic_entries(n);
            assert_eq!(entries.len(), n);
            let listing = Listing::from_entries(entries.clone());
            assert_eq!(listing.entries(), &entries[..], "already sorted and unique");
            for e in listing.entries() {
                if let Some(parent) = e.path.parent().filter(|p| !p.is_root()) {
                    assert!(listing.get(&parent).is_some(), "{}", e.path.display());
                }
            }
        }
        let entries = synthetic_entries(100_000);
        let dirs = entries.iter().filter(|e| e.kind == EntryKind::Dir).count();
        assert!((1_900..2_200).contains(&dirs), "{dirs} folders");
    }

    #[test]
    fn write_tree_writes_every_file() {
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), 1_234).unwrap();
        let mut files = 0;
        for (path, kind) in TreeShape::new(1_234) {
            let meta = fs::metadata(dir.path().join(&path)).unwrap();
            if kind == EntryKind::File {
                assert_eq!(meta.len(), file_size(files), "{path}");
                files += 1;
            }
        }
        assert_eq!(files, 1_234);
    }
}
