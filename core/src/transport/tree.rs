//! Trees described in a few lines of text: built in any transport, read back from one, and
//! compared, for tests.

use std::collections::BTreeMap;
use std::fmt;

use super::{EntryKind, MemoryTransport, Meta, Source, Transport, WriteMode};
use crate::error::Result;
use crate::path::RelPath;

/// A small tree of folders, files (contents and modification time) and links, written as
/// text, one entry a line:
///
/// ```text
/// docs/                     a folder
/// docs/a.txt = hello        a file and its contents (to the end of the line)
/// docs/b.txt = hi @1700000000   ... modified at that second (else Tree::MTIME_S)
/// docs/c.txt =              an empty file
/// latest -> docs/a.txt      a symbolic link
/// ```
///
/// Folders on the way are implied; blank lines and lines starting with `#` are skipped.
/// [`Tree::build_in`] makes it in a transport, [`Tree::of`] reads what a transport holds,
/// and two trees compare (and print, in the same form) entry by entry: kinds, contents,
/// link targets and file times. Folder times, permissions and owners are left out.
///
/// ```
/// use ferrysync::transport::{Transport, Tree};
///
/// let src = Tree::new("
///     docs/a.txt = hello
///     docs/old.txt = old @1500000000
///     link -> docs/a.txt
/// ");
/// let t = src.in_memory("src");
/// assert_eq!(Tree::of(&t)?, src);
/// # Ok::<(), ferrysync::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Tree {
    entries: BTreeMap<RelPath, Node>,
}

/// One entry of a [`Tree`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Dir,
    /// Contents and modification time (`None`: left out of comparisons).
    File(Vec<u8>, Option<i64>),
    Link(Vec<u8>),
}

const S: i64 = 1_000_000_000;

impl Tree {
    /// The modification time of files whose line gives none, in seconds since the epoch.
    pub const MTIME_S: i64 = 1_600_000_000;

    /// The tree `spec` describes (see [`Tree`]).
    ///
    /// # Panics
    /// On a line that is not an entry, naming it: a tree is written by a test.
    pub fn new(spec: &str) -> Tree {
        let mut tree = Tree::default();
        for line in spec.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let path = |s: &str| {
                RelPath::new(s.trim())
                    .ok()
                    .filter(|p| !p.is_root())
                    .unwrap_or_else(|| panic!("Tree: bad path in {line:?}"))
            };
            // Whichever comes first: contents may hold " -> ", targets " = ".
            let file = line
                .match_indices(" =")
                .find(|&(i, _)| matches!(line.as_bytes().get(i + 2), None | Some(b' ')))
                .map(|(i, _)| i);
            let link = line.find(" -> ");
            let (at, node) = if let Some(i) = link.filter(|&l| file.is_none_or(|f| l < f)) {
                let target = line[i + 4..].trim();
                (path(&line[..i]), Node::Link(target.as_bytes().to_vec()))
            } else if let Some(i) = file {
                let rest = &line[i + 2..];
                let (data, mtime) = split_time(rest.strip_prefix(' ').unwrap_or(rest));
                (
                    path(&line[..i]),
                    Node::File(data.as_bytes().to_vec(), Some(mtime)),
                )
            } else if let Some(p) = line.strip_suffix('/') {
                (path(p), Node::Dir)
            } else {
                panic!("Tree: {line:?} is no entry (`dir/`, `file = contents`, `link -> target`)");
            };
            tree.insert(at, node);
        }
        tree
    }

    /// What `t` holds, below its root (ferrysync's temporaries included; links not followed).
    ///
    /// # Errors
    /// Any failure listing or reading the tree.
    pub fn of(t: &dyn Transport) -> Result<Tree> {
        let mut tree = Tree::default();
        let mut folders = vec![RelPath::root()];
        while let Some(dir) = folders.pop() {
            for e in t.read_dir(&dir)? {
                let node = match e.kind {
                    EntryKind::Dir => {
                        folders.push(e.path.clone());
                        Node::Dir
                    }
                    EntryKind::File => Node::File(t.read_to_vec(&e.path)?, Some(e.mtime_ns)),
                    EntryKind::Symlink => Node::Link(t.read_link(&e.path)?),
                    EntryKind::Special => continue,
                };
                tree.entries.insert(e.path, node);
            }
        }
        Ok(tree)
    }

    /// Makes this tree in `t` (whose root need not exist yet), beside what is there: folders,
    /// files with their times, links.
    ///
    /// # Errors
    /// Any failure of `t`, naming the path.
    pub fn build_in(&self, t: &dyn Transport) -> Result<()> {
        t.create_dir_all(&RelPath::root())?;
        for (path, node) in &self.entries {
            match node {
                Node::Dir => t.create_dir(path)?,
                Node::File(data, mtime) => {
                    let meta = Meta {
                        mtime_ns: mtime.unwrap_or(Tree::MTIME_S * S),
                        ..Meta::default()
                    };
                    let mut input = data.as_slice();
                    t.write(path, Source::Stream(&mut input), &meta, WriteMode::Atomic)?;
                }
                Node::Link(target) => t.symlink(path, target)?,
            }
        }
        Ok(())
    }

    /// This tree in a new [`MemoryTransport`] called `name`.
    ///
    /// # Panics
    /// Never for a tree made by [`Tree::new`] (a memory tree takes any).
    pub fn in_memory(&self, name: &str) -> MemoryTransport {
        let t = MemoryTransport::new(name);
        self.build_in(&t)
            .unwrap_or_else(|e| panic!("building a tree in memory: {e}"));
        t
    }

    /// This tree without file times, to compare only contents (with a backend that cannot
    /// set times).
    pub fn without_mtimes(mut self) -> Tree {
        for node in self.entries.values_mut() {
            if let Node::File(_, mtime) = node {
                *mtime = None;
            }
        }
        self
    }

    /// This tree without `path` and everything below it (a versions folder, say).
    ///
    /// # Panics
    /// When `path` is not a valid relative path.
    pub fn without(mut self, path: &str) -> Tree {
        let gone = RelPath::new(path).unwrap_or_else(|e| panic!("Tree::without: {e}"));
        self.entries.retain(|p, _| !p.starts_with(&gone));
        self
    }

    /// Adds `node` at `at`, and the folders on the way.
    fn insert(&mut self, at: RelPath, node: Node) {
        let mut up = at.parent();
        while let Some(dir) = up.filter(|d| !d.is_root()) {
            up = dir.parent();
            self.entries.entry(dir).or_insert(Node::Dir);
        }
        self.entries.insert(at, node);
    }
}

/// Contents and time of a file line's right-hand side: a trailing ` @SECONDS` (or
/// `@SECONDS.NANOS`) is the time.
fn split_time(rest: &str) -> (&str, i64) {
    let parsed = rest.rsplit_once('@').and_then(|(data, time)| {
        let data = data.strip_suffix(' ').or(data.is_empty().then_some(data))?;
        let (secs, nanos) = time.split_once('.').unwrap_or((time, "0"));
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(secs) || !all_digits(nanos) || nanos.len() > 9 {
            return None;
        }
        let nanos: i64 = format!("{nanos:0<9}").parse().ok()?;
        Some((data, secs.parse::<i64>().ok()? * S + nanos))
    });
    parsed.unwrap_or((rest, Tree::MTIME_S * S))
}

impl fmt::Display for Tree {
    /// The tree in the form [`Tree::new`] reads, one entry a line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (path, node) in &self.entries {
            match node {
                Node::Dir => writeln!(f, "{path}/")?,
                Node::Link(target) => writeln!(f, "{path} -> {}", String::from_utf8_lossy(target))?,
                Node::File(data, mtime) => {
                    write!(f, "{path} = {}", String::from_utf8_lossy(data))?;
                    match mtime {
                        Some(t) if *t == Tree::MTIME_S * S => {}
                        Some(t) if t.rem_euclid(S) == 0 => write!(f, " @{}", t.div_euclid(S))?,
                        Some(t) => write!(f, " @{}.{:09}", t.div_euclid(S), t.rem_euclid(S))?,
                        None => {}
                    }
                    writeln!(f)?;
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Tree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tree {{\n{self}}}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::LocalTransport;

    const SPEC: &str = "
        # a comment
        docs/a.txt = hello, world
        docs/b.txt = with a time @1700000000
        docs/c.txt = with nanoseconds @1700000000.000000123
        docs/empty =
        docs/at = a@b has an @ but no time
        docs/arrow = a -> b is no link
        odd -> a = b
        empty/
        deep/er/still/
        link -> docs/a.txt
    ";

    #[test]
    fn a_tree_reads_as_written_and_prints_as_it_reads() {
        let tree = Tree::new(SPEC);
        let printed = tree.to_string();
        assert_eq!(
            printed,
            "deep/\ndeep/er/\ndeep/er/still/\ndocs/\n\
             docs/a.txt = hello, world\n\
             docs/arrow = a -> b is no link\n\
             docs/at = a@b has an @ but no time\n\
             docs/b.txt = with a time @1700000000\n\
             docs/c.txt = with nanoseconds @1700000000.000000123\n\
             docs/empty = \nempty/\nlink -> docs/a.txt\nodd -> a = b\n"
        );
        assert_eq!(Tree::new(&printed), tree);
    }

    #[test]
    fn a_tree_built_in_a_transport_reads_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let tree = Tree::new(SPEC);
        let local = LocalTransport::new(dir.path().join("new root"));
        tree.build_in(&local).unwrap();
        assert_eq!(Tree::of(&local).unwrap(), tree);
        assert_eq!(Tree::of(&tree.in_memory("m")).unwrap(), tree);
        assert_eq!(
            std::fs::read(dir.path().join("new root/docs/a.txt")).unwrap(),
            b"hello, world"
        );
    }

    #[test]
    fn trees_differ_by_contents_kinds_links_and_times_unless_told_otherwise() {
        let base = Tree::new("a = x\nd/\nl -> a");
        for other in [
            "a = y\nd/\nl -> a",
            "a = x @1\nd/\nl -> a",
            "a/\nd/\nl -> a",
            "a = x\nd = \nl -> a",
            "a = x\nd/\nl -> d",
            "a = x\nd/\nl -> a\nd/more = 1",
        ] {
            assert_ne!(Tree::new(other), base, "{other}");
        }
        let later = Tree::new("a = x @1\nd/\nl -> a\nv/old = 1");
        assert_eq!(later.without("v").without_mtimes(), base.without_mtimes());
    }

    #[test]
    #[should_panic(expected = "is no entry")]
    fn a_line_that_is_no_entry_is_refused() {
        Tree::new("just words");
    }
}
