//! A folder of a transport as a transport of its own.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use super::{Capabilities, Entry, LocalTransport, Meta, Source, Transport, WriteMode};
use crate::error::Result;
use crate::path::RelPath;

/// The folder `prefix` of another transport, seen as a tree of its own: every call goes to
/// the transport it wraps with `prefix/` before its path, and listings come back relative
/// to the folder. For replicas that keep trees inside a destination (the snapshot folders of
/// a versioned backup) on any backend.
///
/// What the wrapped transport promises holds here too: nothing is written through a link,
/// below the folder or on the way to it (a link swapped in at `prefix` makes calls fail,
/// never lets them leave). Links are resolved as the wrapped transport resolves them, within
/// its root: a link inside the folder that leads elsewhere in the wrapped tree is followed
/// where the wrapped transport would follow it. Errors name the wrapped transport's paths.
/// It has no [`LocalTransport`] of its own ([`Transport::as_local`] is `None`); local paths
/// and local files are the wrapped transport's.
#[derive(Debug, Clone)]
pub(crate) struct Prefixed {
    inner: Arc<dyn Transport>,
    prefix: RelPath,
}

impl Prefixed {
    /// The folder `prefix` of `inner` (which need not exist yet).
    pub(crate) fn new(inner: Arc<dyn Transport>, prefix: RelPath) -> Prefixed {
        Prefixed { inner, prefix }
    }

    /// `path` in the wrapped transport.
    fn outer(&self, path: &RelPath) -> RelPath {
        self.prefix.concat(path)
    }

    /// An entry of the wrapped transport as this view lists it.
    fn inward(&self, mut e: Entry) -> Entry {
        if let Some(path) = e.path.strip_prefix(&self.prefix) {
            e.path = path;
        }
        e
    }
}

impl Transport for Prefixed {
    fn describe(&self) -> String {
        self.prefix
            .to_path(std::path::Path::new(&self.inner.describe()))
            .display()
            .to_string()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn stat(&self, path: &RelPath) -> Result<Option<Entry>> {
        Ok(self.inner.stat(&self.outer(path))?.map(|e| self.inward(e)))
    }

    fn stat_follow(&self, path: &RelPath) -> Result<Option<Entry>> {
        Ok(self
            .inner
            .stat_follow(&self.outer(path))?
            .map(|e| self.inward(e)))
    }

    fn read_dir(&self, dir: &RelPath) -> Result<Vec<Entry>> {
        let entries = self.inner.read_dir(&self.outer(dir))?;
        Ok(entries.into_iter().map(|e| self.inward(e)).collect())
    }

    fn open(&self, path: &RelPath) -> Result<Box<dyn Read + Send>> {
        self.inner.open(&self.outer(path))
    }

    fn write(
        &self,
        path: &RelPath,
        source: Source<'_>,
        meta: &Meta,
        mode: WriteMode,
    ) -> Result<u64> {
        self.inner.write(&self.outer(path), source, meta, mode)
    }

    fn create_dir(&self, path: &RelPath) -> Result<()> {
        if path.is_root() {
            // The root is made when missing, and so are the folders on the way to it.
            return self.inner.create_dir_all(&self.prefix);
        }
        self.inner.create_dir(&self.outer(path))
    }

    fn set_meta(&self, path: &RelPath, meta: &Meta) -> Result<()> {
        self.inner.set_meta(&self.outer(path), meta)
    }

    fn remove_file(&self, path: &RelPath) -> Result<()> {
        self.inner.remove_file(&self.outer(path))
    }

    fn remove_dir(&self, path: &RelPath) -> Result<()> {
        self.inner.remove_dir(&self.outer(path))
    }

    fn rename(&self, from: &RelPath, to: &RelPath) -> Result<()> {
        self.inner.rename(&self.outer(from), &self.outer(to))
    }

    fn rename_no_replace(&self, from: &RelPath, to: &RelPath) -> Result<()> {
        self.inner
            .rename_no_replace(&self.outer(from), &self.outer(to))
    }

    fn read_link(&self, path: &RelPath) -> Result<Vec<u8>> {
        self.inner.read_link(&self.outer(path))
    }

    fn symlink(&self, path: &RelPath, target: &[u8]) -> Result<()> {
        self.inner.symlink(&self.outer(path), target)
    }

    fn local_path(&self, path: &RelPath) -> Option<PathBuf> {
        self.inner.local_path(&self.outer(path))
    }

    fn open_local(&self, path: &RelPath) -> Result<Option<std::fs::File>> {
        self.inner.open_local(&self.outer(path))
    }

    fn as_local(&self) -> Option<&LocalTransport> {
        None
    }

    fn create_dir_all(&self, path: &RelPath) -> Result<()> {
        self.inner.create_dir_all(&self.outer(path))
    }

    fn read_to_vec(&self, path: &RelPath) -> Result<Vec<u8>> {
        self.inner.read_to_vec(&self.outer(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{LocalTransport, MemoryTransport, Tree};

    fn p(s: &str) -> RelPath {
        RelPath::new(s).unwrap()
    }

    #[test]
    fn a_view_lists_reads_and_writes_its_folder_only() {
        let whole = MemoryTransport::new("m");
        Tree::new("keep = outside\nsnap/a/x = inside")
            .build_in(&whole)
            .unwrap();
        let view = Prefixed::new(Arc::new(whole.clone()), p("snap"));
        assert_eq!(view.describe(), "memory:m/snap");
        assert_eq!(Tree::of(&view).unwrap(), Tree::new("a/x = inside"));
        assert_eq!(view.stat(&p("a/x")).unwrap().unwrap().path, p("a/x"));
        Tree::new("b/y = new").build_in(&view).unwrap();
        view.rename_no_replace(&p("b/y"), &p("a/y")).unwrap();
        assert_eq!(
            Tree::of(&whole).unwrap(),
            Tree::new("keep = outside\nsnap/a/x = inside\nsnap/a/y = new\nsnap/b/")
        );
        let e = view.read_to_vec(&p("gone")).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::NotFound);
    }

    /// The contract of every transport, checked for views of a memory tree and of a local
    /// folder: all of it but where a link leading out of the view may be read through
    /// (within the wrapped tree, as documented).
    #[test]
    fn a_view_keeps_the_transport_contract() {
        let dir = tempfile::tempdir().unwrap();
        let fresh: [&dyn Fn(&str) -> Prefixed; 2] = [
            &|name| Prefixed::new(Arc::new(MemoryTransport::new(name)), p("in/a/view")),
            &|name| {
                let whole = LocalTransport::new(dir.path().join(name));
                Prefixed::new(Arc::new(whole), p("view"))
            },
        ];
        let mut failed = Vec::new();
        for (backend, fresh) in ["memory", "local"].into_iter().zip(fresh) {
            for check in crate::transport::conformance::CHECKS {
                if check.name == "reads_follow_links_only_within_the_tree_and_only_when_asked" {
                    continue;
                }
                let t = fresh(check.name);
                let run = std::panic::AssertUnwindSafe(|| (check.run)(&t));
                if std::panic::catch_unwind(run).is_err() {
                    failed.push(format!("{backend}: {}", check.name));
                }
            }
        }
        assert!(failed.is_empty(), "{failed:?}");
    }

    #[test]
    fn a_view_makes_its_folder_when_its_root_is_made() {
        let whole = MemoryTransport::new("m");
        let view = Prefixed::new(Arc::new(whole.clone()), p("x/y"));
        assert!(view.stat(&RelPath::root()).unwrap().is_none());
        view.create_dir(&RelPath::root()).unwrap();
        assert_eq!(Tree::of(&whole).unwrap(), Tree::new("x/y/"));
    }
}
