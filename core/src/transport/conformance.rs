//! The contract every [`Transport`] keeps, as checks that any backend's tests run.
//!
//! One suite for every backend — local folders, the in-memory tree, and the SFTP, FTP,
//! WebDAV and object-store backends to come — so that they all mean the same thing by a
//! put, a get, a listing, a removal, a rename and a time. Where the [`Transport`] docs and a
//! backend disagree, these checks say what the contract is.
//!
//! Each check gets a fresh transport whose root is an empty folder or not there yet (the
//! check creates it), a transport that does not follow links for reading (as the engine
//! makes for a destination). Checks read [`Transport::capabilities`] and expect only what
//! the backend claims: no link checks where links are not supported, times rounded to the
//! backend's resolution, no permission bits where there are none.
//!
//! ```no_run
//! # // Needs the `test-support` feature.
//! use ferrysync::transport::{conformance, LocalTransport};
//!
//! let dir = std::env::temp_dir().join("my-backend-conformance");
//! conformance::run(|check| Box::new(LocalTransport::new(dir.join(check))));
//! ```

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{is_temp_name, Entry, EntryKind, Meta, Source, Transport, WriteMode, TEMP_PREFIX};
use crate::error::{Error, ErrorKind};
use crate::path::RelPath;

/// One check of the contract: a name that says what it holds, and the check itself, which
/// panics on the first violation.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// What the check holds, in snake case (also the name of its unit test).
    pub name: &'static str,
    /// Runs the check on a fresh transport.
    pub run: fn(&dyn Transport),
}

/// Calls `$m! { $($args)* [check, ...] }` with every check's name: one list for [`CHECKS`]
/// and for the unit tests that run each check against each backend.
macro_rules! for_each_check {
    ($m:ident $(, $arg:tt)*) => {
        $m! { $($arg,)* [
            the_root_is_a_folder_that_starts_empty,
            a_written_file_reads_back_with_its_size_time_and_mode,
            a_write_replaces_the_whole_file,
            a_write_into_a_missing_folder_is_not_found_and_reads_nothing,
            a_write_below_a_file_or_onto_a_folder_fails,
            a_failed_atomic_write_leaves_the_target_as_it_was,
            a_file_source_that_changed_while_copied_is_busy,
            a_file_source_is_copied_from_its_start,
            metadata_is_applied_to_files_and_folders,
            folders_are_created_once_and_never_over_something_else,
            a_listing_gives_the_full_paths_of_the_direct_children,
            removals_take_files_and_empty_folders_only,
            a_rename_moves_entries_and_replaces_files,
            a_rename_that_must_not_replace_never_does,
            links_are_stored_as_written,
            links_are_never_followed_to_write,
            reads_follow_links_only_within_the_tree_and_only_when_asked,
            missing_entries_are_none_or_not_found,
            the_root_has_no_name_to_act_on,
            names_are_kept_as_bytes,
            large_files_stream_in_pieces,
            many_threads_write_at_once,
        ] }
    };
}

macro_rules! check_list {
    ([$($check:ident),* $(,)?]) => {
        /// Every check, in the order [`run`] runs them.
        pub const CHECKS: &[Check] = &[$(Check { name: stringify!($check), run: $check }),*];
    };
}
for_each_check!(check_list);

/// Runs every check, each on the transport `fresh` gives for its name (a new, empty root
/// each time); panics naming every check that failed, after running them all.
///
/// # Panics
/// When a check fails.
pub fn run(mut fresh: impl FnMut(&str) -> Box<dyn Transport>) {
    let mut failed = Vec::new();
    for check in CHECKS {
        let t = fresh(check.name);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (check.run)(&*t)));
        if outcome.is_err() {
            failed.push(check.name);
        }
    }
    assert!(failed.is_empty(), "transport checks failed: {failed:?}");
}

// ---- what the checks share

/// A time with nanoseconds, to see how a backend rounds it.
const T1: i64 = 1_600_000_000_123_456_789;
const T2: i64 = 1_500_000_000_987_654_321;

fn p(s: &str) -> RelPath {
    RelPath::new(s).expect("a valid path")
}

fn meta(mtime_ns: i64, mode: Option<u32>) -> Meta {
    Meta {
        mtime_ns,
        mode,
        owner: None,
    }
}

/// Starts a check: the root made, empty.
fn begin(t: &dyn Transport) {
    t.create_dir_all(&RelPath::root())
        .unwrap_or_else(|e| panic!("{}: cannot make the root: {e}", t.describe()));
}

fn put(t: &dyn Transport, path: &str, data: &[u8]) {
    put_with(t, path, data, WriteMode::Atomic);
}

fn put_with(t: &dyn Transport, path: &str, data: &[u8], mode: WriteMode) {
    let mut input = data;
    let n = t
        .write(&p(path), Source::Stream(&mut input), &meta(T1, None), mode)
        .unwrap_or_else(|e| panic!("writing {path}: {e}"));
    assert_eq!(n, data.len() as u64, "bytes written to {path}");
}

fn dir(t: &dyn Transport, path: &str) {
    t.create_dir(&p(path))
        .unwrap_or_else(|e| panic!("creating {path}: {e}"));
}

fn read(t: &dyn Transport, path: &str) -> Vec<u8> {
    t.read_to_vec(&p(path))
        .unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn stat(t: &dyn Transport, path: &str) -> Option<Entry> {
    t.stat(&p(path))
        .unwrap_or_else(|e| panic!("stat {path}: {e}"))
}

fn kind(t: &dyn Transport, path: &str) -> Option<EntryKind> {
    stat(t, path).map(|e| e.kind)
}

/// The names in `dir`, sorted.
fn names(t: &dyn Transport, dir: &str) -> Vec<String> {
    let mut out: Vec<String> = t
        .read_dir(&p(dir))
        .unwrap_or_else(|e| panic!("listing {dir:?}: {e}"))
        .into_iter()
        .map(|e| String::from_utf8_lossy(e.path.file_name()).into_owned())
        .collect();
    out.sort();
    out
}

/// The time a backend stores for `ns`, when it stores the time it is given.
fn stored(t: &dyn Transport, ns: i64) -> Option<i64> {
    let caps = t.capabilities();
    let step = i64::try_from(caps.mtime_resolution_ns.max(1)).unwrap_or(i64::MAX);
    caps.set_mtime.then(|| ns.div_euclid(step) * step)
}

/// Asserts that `result` failed with `kind`, naming a path that ends with `named`.
#[track_caller]
fn fails_with<T: std::fmt::Debug>(
    result: crate::Result<T>,
    kind: ErrorKind,
    named: &str,
    what: &str,
) -> Error {
    let e = result.expect_err(what);
    assert_eq!(e.kind(), kind, "{what}: {e}");
    names_path(&e, named, what);
    e
}

/// Asserts that `e` names a path ending with `named`.
#[track_caller]
fn names_path(e: &Error, named: &str, what: &str) {
    let path = e.path().unwrap_or_else(|| panic!("{what}: no path in {e}"));
    assert!(
        path.ends_with(Path::new(named)),
        "{what}: {e} should name {named}"
    );
}

/// Asserts that `e` is the error for a link where a folder is needed, naming the link.
#[track_caller]
fn is_link_error(e: &Error, link: &str, what: &str) {
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{what}: {e}");
    assert!(e.message().contains("symbolic link"), "{what}: {e}");
    names_path(e, link, what);
}

/// A reader that gives `ok` bytes and then fails.
struct Breaking {
    data: Vec<u8>,
    at: usize,
}

impl Read for Breaking {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.data.len() {
            return Err(io::Error::other("the source broke off"));
        }
        let n = buf.len().min(self.data.len() - self.at).min(7);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A reader that gives `data` a few bytes at a time.
struct Trickle<'a> {
    data: &'a [u8],
    piece: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.piece).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// A local file for [`Source::File`], removed when dropped.
struct Scratch {
    path: std::path::PathBuf,
    file: std::fs::File,
}

impl Scratch {
    fn new(data: &[u8]) -> Scratch {
        static N: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "ferrysync-conformance-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        let mut file = std::fs::File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .expect("a scratch file");
        file.write_all(data).expect("scratch contents");
        Scratch { path, file }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

// ---- the checks

/// The root is a folder, empty at first, and `stat`, `stat_follow` and `read_dir` agree.
pub fn the_root_is_a_folder_that_starts_empty(t: &dyn Transport) {
    begin(t);
    assert!(!t.describe().is_empty());
    let root = RelPath::root();
    for e in [t.stat(&root).unwrap(), t.stat_follow(&root).unwrap()] {
        let e = e.expect("the root is there");
        assert_eq!((e.kind, e.path.is_root()), (EntryKind::Dir, true));
    }
    assert_eq!(t.read_dir(&root).unwrap(), []);
    // Making it again is no error.
    t.create_dir(&root).unwrap();
    t.create_dir_all(&root).unwrap();
}

/// A file written (atomically or directly) reads back whole, and is listed with its size,
/// the time it was given (rounded to the backend's resolution) and its permission bits.
pub fn a_written_file_reads_back_with_its_size_time_and_mode(t: &dyn Transport) {
    begin(t);
    let caps = t.capabilities();
    for (name, mode) in [("atomic", WriteMode::Atomic), ("direct", WriteMode::Direct)] {
        let path = p(name);
        let mut input: &[u8] = b"hello, world";
        let n = t
            .write(
                &path,
                Source::Stream(&mut input),
                &meta(T1, Some(0o640)),
                mode,
            )
            .unwrap();
        assert_eq!(n, 12, "{name}");
        assert_eq!(read(t, name), b"hello, world", "{name}");
        let mut again = String::new();
        t.open(&path).unwrap().read_to_string(&mut again).unwrap();
        assert_eq!(again, "hello, world", "{name}");
        let e = stat(t, name).unwrap();
        assert_eq!(
            (e.path, e.kind, e.size),
            (path.clone(), EntryKind::File, 12)
        );
        if let Some(time) = stored(t, T1) {
            assert_eq!(
                e.mtime_ns, time,
                "{name}: the time given, at the backend's resolution"
            );
        }
        if caps.permissions {
            assert_eq!(e.mode, 0o640, "{name}");
        } else {
            assert_eq!(e.mode, 0, "{name}: no permission bits where there are none");
        }
        // An id, when there is one, is the entry's for as long as it is there.
        assert_eq!(stat(t, name).unwrap().file_id, e.file_id, "{name}");
    }
    let (a, d) = (stat(t, "atomic").unwrap(), stat(t, "direct").unwrap());
    assert!(
        a.file_id == 0 || a.file_id != d.file_id,
        "two files, two ids"
    );
    // A file written with no permission bits of its own gets the backend's default.
    put(t, "plain", b"");
    let e = stat(t, "plain").unwrap();
    assert_eq!(e.size, 0);
    assert_eq!(e.mode != 0, caps.permissions);
    assert_eq!(
        names(t, ""),
        ["atomic", "direct", "plain"],
        "no temporaries left"
    );
}

/// Writing over a file replaces all of it, whichever way it is written: nothing of a longer
/// old file is left behind, and an atomic write leaves no temporary.
pub fn a_write_replaces_the_whole_file(t: &dyn Transport) {
    begin(t);
    for mode in [WriteMode::Atomic, WriteMode::Direct] {
        put(t, "f", b"a long first version");
        put_with(t, "f", b"short", mode);
        assert_eq!(read(t, "f"), b"short", "{mode:?}");
        assert_eq!(stat(t, "f").unwrap().size, 5, "{mode:?}");
        put_with(t, "f", b"", mode);
        assert_eq!(read(t, "f"), b"", "{mode:?}");
    }
    if t.capabilities().permissions {
        // A read-only file is replaced all the same.
        let mut input: &[u8] = b"locked";
        t.write(
            &p("ro"),
            Source::Stream(&mut input),
            &meta(T1, Some(0o444)),
            WriteMode::Atomic,
        )
        .unwrap();
        for mode in [WriteMode::Atomic, WriteMode::Direct] {
            put_with(t, "ro", b"replaced", mode);
            assert_eq!(read(t, "ro"), b"replaced", "{mode:?}");
        }
    }
    let listed = names(t, "");
    assert!(
        !listed.iter().any(|n| is_temp_name(n.as_bytes())),
        "{listed:?}"
    );
}

/// Safety net of every copy: the folder must exist, and when it does not, the write fails
/// with [`ErrorKind::NotFound`] naming the file *before reading anything* from its source,
/// so the caller can make the folder and write again from the same source.
pub fn a_write_into_a_missing_folder_is_not_found_and_reads_nothing(t: &dyn Transport) {
    begin(t);
    for mode in [WriteMode::Atomic, WriteMode::Direct] {
        let mut input: &[u8] = b"contents";
        let target = p("new/deeper/f");
        let result = t.write(&target, Source::Stream(&mut input), &meta(T1, None), mode);
        fails_with(
            result,
            ErrorKind::NotFound,
            "new/deeper/f",
            "into a missing folder",
        );
        assert_eq!(input, b"contents", "{mode:?}: nothing read from the source");
        t.create_dir_all(&p("new/deeper")).unwrap();
        let n = t
            .write(&target, Source::Stream(&mut input), &meta(T1, None), mode)
            .unwrap();
        assert_eq!((n, read(t, "new/deeper/f")), (8, b"contents".to_vec()));
        t.remove_file(&target).unwrap();
        t.remove_dir(&p("new/deeper")).unwrap();
        t.remove_dir(&p("new")).unwrap();
    }
}

/// A file is not a folder to write into, and a folder is never replaced by a write.
pub fn a_write_below_a_file_or_onto_a_folder_fails(t: &dyn Transport) {
    begin(t);
    put(t, "f", b"a file");
    dir(t, "d");
    put(t, "d/inside", b"kept");
    for mode in [WriteMode::Atomic, WriteMode::Direct] {
        let mut input: &[u8] = b"x";
        let below = t.write(&p("f/x"), Source::Stream(&mut input), &meta(T1, None), mode);
        below.expect_err("a file is no folder");
        let mut input: &[u8] = b"x";
        let onto = t.write(&p("d"), Source::Stream(&mut input), &meta(T1, None), mode);
        let e = onto.expect_err("a folder is not replaced by a file");
        assert_ne!(e.kind(), ErrorKind::NotFound, "{e}");
    }
    assert_eq!(read(t, "f"), b"a file");
    assert_eq!(read(t, "d/inside"), b"kept");
    assert_eq!(names(t, ""), ["d", "f"], "no temporaries left");
}

/// An atomic write whose source breaks off changes nothing: the old file stays, whole,
/// and no temporary is left.
pub fn a_failed_atomic_write_leaves_the_target_as_it_was(t: &dyn Transport) {
    begin(t);
    put(t, "f", b"the old contents");
    let mut input = Breaking {
        data: b"the new contents, never complete".to_vec(),
        at: 0,
    };
    let result = t.write(
        &p("f"),
        Source::Stream(&mut input),
        &meta(T2, None),
        WriteMode::Atomic,
    );
    let e = result.expect_err("the source broke off");
    names_path(&e, "f", "a broken source");
    assert_eq!(read(t, "f"), b"the old contents");
    if let Some(time) = stored(t, T1) {
        assert_eq!(stat(t, "f").unwrap().mtime_ns, time);
    }
    // A new file that could not be completed is not there at all.
    let mut input = Breaking {
        data: b"partial".to_vec(),
        at: 0,
    };
    let result = t.write(
        &p("g"),
        Source::Stream(&mut input),
        &meta(T2, None),
        WriteMode::Atomic,
    );
    result.expect_err("the source broke off");
    assert_eq!(names(t, ""), ["f"], "no torn file, no temporary");
}

/// A [`Source::File`] is copied as its caller saw it (size and time) and checked again;
/// when it changed meanwhile, the write fails with [`ErrorKind::Busy`] naming the target,
/// and an atomic write leaves the target as it was.
pub fn a_file_source_that_changed_while_copied_is_busy(t: &dyn Transport) {
    begin(t);
    let scratch = Scratch::new(b"0123456789");
    let Source::File { size, mtime_ns, .. } = Source::of_file(&scratch.file).unwrap() else {
        unreachable!("of_file gives a file");
    };
    put(t, "f", b"kept");
    for (what, size, mtime_ns) in [
        ("grew since its caller looked", size - 1, mtime_ns),
        (
            "was touched since its caller looked",
            size,
            mtime_ns + 1_000_000_000,
        ),
        ("shrank since its caller looked", size + 5, mtime_ns),
    ] {
        for target in ["f", "new"] {
            let source = Source::File {
                file: &scratch.file,
                size,
                mtime_ns,
            };
            let result = t.write(&p(target), source, &meta(T2, None), WriteMode::Atomic);
            fails_with(result, ErrorKind::Busy, target, what);
        }
        assert_eq!(read(t, "f"), b"kept", "{what}");
        assert_eq!(names(t, ""), ["f"], "{what}: nothing new, no temporary");
    }
}

/// A [`Source::File`] is copied from its start, wherever the file's position is, so a
/// retried write copies all of it again.
pub fn a_file_source_is_copied_from_its_start(t: &dyn Transport) {
    begin(t);
    let mut scratch = Scratch::new(b"from the very start");
    for mode in [WriteMode::Atomic, WriteMode::Direct] {
        // The position is at the end after writing; read a bit to move it elsewhere too.
        let source = Source::of_file(&scratch.file).unwrap();
        let n = t.write(&p("f"), source, &meta(T1, None), mode).unwrap();
        assert_eq!((n, read(t, "f")), (19, b"from the very start".to_vec()));
        use std::io::Seek;
        scratch.file.seek(io::SeekFrom::Start(5)).unwrap();
    }
}

/// [`Transport::set_meta`] gives files and folders their time (rounded to the backend's
/// resolution) and permission bits, as far as the backend stores them.
pub fn metadata_is_applied_to_files_and_folders(t: &dyn Transport) {
    begin(t);
    let caps = t.capabilities();
    put(t, "f", b"x");
    dir(t, "d");
    for name in ["f", "d"] {
        t.set_meta(&p(name), &meta(T2, Some(0o751))).unwrap();
        let e = stat(t, name).unwrap();
        if let Some(time) = stored(t, T2) {
            assert_eq!(e.mtime_ns, time, "{name}");
        }
        assert_eq!(e.mode, if caps.permissions { 0o751 } else { 0 }, "{name}");
        // Without permission bits to set, only the time changes.
        t.set_meta(&p(name), &meta(T1, None)).unwrap();
        let e = stat(t, name).unwrap();
        if let Some(time) = stored(t, T1) {
            assert_eq!(e.mtime_ns, time, "{name}");
        }
        assert_eq!(e.mode, if caps.permissions { 0o751 } else { 0 }, "{name}");
    }
    // The root is an entry like any other.
    t.set_meta(&RelPath::root(), &meta(T2, None)).unwrap();
    if let Some(time) = stored(t, T2) {
        assert_eq!(t.stat(&RelPath::root()).unwrap().unwrap().mtime_ns, time);
    }
    let result = t.set_meta(&p("missing"), &meta(T1, None));
    fails_with(
        result,
        ErrorKind::NotFound,
        "missing",
        "set_meta of nothing",
    );
    assert_eq!(kind(t, "missing"), None, "set_meta creates nothing");
}

/// [`Transport::create_dir`] makes a folder in an existing one, succeeds where the folder
/// already is, and fails — changing nothing — where something else has the name.
pub fn folders_are_created_once_and_never_over_something_else(t: &dyn Transport) {
    begin(t);
    dir(t, "d");
    put(t, "d/kept", b"kept");
    dir(t, "d");
    assert_eq!(
        names(t, "d"),
        ["kept"],
        "making it again leaves it as it is"
    );
    assert_eq!(kind(t, "d"), Some(EntryKind::Dir));
    let result = t.create_dir(&p("a/b"));
    fails_with(
        result,
        ErrorKind::NotFound,
        "a/b",
        "a folder in a missing one",
    );
    put(t, "f", b"a file");
    t.create_dir(&p("f")).expect_err("a file in the way");
    t.create_dir_all(&p("f")).expect_err("a file in the way");
    t.create_dir_all(&p("f/below"))
        .expect_err("a file on the way");
    t.create_dir(&p("f/below")).expect_err("a file on the way");
    assert_eq!(read(t, "f"), b"a file");
    t.create_dir_all(&p("x/y/z")).unwrap();
    t.create_dir_all(&p("x/y/z")).unwrap();
    t.create_dir_all(&p("x/y")).unwrap();
    assert_eq!(kind(t, "x/y/z"), Some(EntryKind::Dir));
    assert_eq!(names(t, ""), ["d", "f", "x"]);
}

/// [`Transport::read_dir`] lists the direct children of a folder, each with its full
/// relative path, ferrysync's temporaries included; a missing folder is
/// [`ErrorKind::NotFound`], a file is not a folder to list.
pub fn a_listing_gives_the_full_paths_of_the_direct_children(t: &dyn Transport) {
    begin(t);
    t.create_dir_all(&p("a/b/c")).unwrap();
    put(t, "a/f", b"four");
    put(t, "a/b/g", b"deeper");
    let temp = format!("a/{TEMP_PREFIX}leftover");
    put_with(t, &temp, b"left by a crash", WriteMode::Direct);
    let mut listed = t.read_dir(&p("a")).unwrap();
    listed.sort_by(|x, y| x.path.cmp(&y.path));
    let seen: Vec<_> = listed
        .iter()
        .map(|e| (e.path.clone(), e.kind, e.size))
        .collect();
    assert_eq!(
        seen,
        [
            (p(&temp), EntryKind::File, 15),
            (p("a/b"), EntryKind::Dir, 0),
            (p("a/f"), EntryKind::File, 4),
        ]
    );
    for e in &listed {
        assert_eq!(
            Some(e.clone()),
            stat(t, &e.path.display()),
            "listed as stat'ed"
        );
    }
    assert_eq!(names(t, "a/b"), ["c", "g"]);
    assert_eq!(names(t, "a/b/c"), Vec::<String>::new());
    fails_with(
        t.read_dir(&p("a/missing")),
        ErrorKind::NotFound,
        "a/missing",
        "listing a missing folder",
    );
    t.read_dir(&p("a/f")).expect_err("a file is not a folder");
}

/// [`Transport::remove_file`] takes files (and links), never folders;
/// [`Transport::remove_dir`] takes empty folders only. What is not there is
/// [`ErrorKind::NotFound`].
pub fn removals_take_files_and_empty_folders_only(t: &dyn Transport) {
    begin(t);
    put(t, "f", b"x");
    dir(t, "d");
    put(t, "d/inside", b"kept");
    dir(t, "empty");
    t.remove_file(&p("d")).expect_err("a folder is not a file");
    t.remove_file(&p("empty"))
        .expect_err("a folder is not a file");
    t.remove_dir(&p("d")).expect_err("a folder with contents");
    t.remove_dir(&p("f")).expect_err("a file is not a folder");
    assert_eq!(names(t, ""), ["d", "empty", "f"]);
    assert_eq!(read(t, "d/inside"), b"kept");
    t.remove_file(&p("f")).unwrap();
    t.remove_dir(&p("empty")).unwrap();
    t.remove_file(&p("d/inside")).unwrap();
    t.remove_dir(&p("d")).unwrap();
    assert_eq!(names(t, ""), Vec::<String>::new());
    fails_with(t.remove_file(&p("f")), ErrorKind::NotFound, "f", "gone");
    fails_with(t.remove_dir(&p("d")), ErrorKind::NotFound, "d", "gone");
    fails_with(
        t.remove_file(&p("no/f")),
        ErrorKind::NotFound,
        "no/f",
        "never there",
    );
}

/// [`Transport::rename`] moves a file or a whole folder within the tree and replaces a
/// file at the new name; the moved entry keeps its contents, time and id. A file never
/// replaces a folder, and a folder never moves into itself.
pub fn a_rename_moves_entries_and_replaces_files(t: &dyn Transport) {
    begin(t);
    put(t, "f", b"moving");
    let before = stat(t, "f").unwrap();
    t.rename(&p("f"), &p("g")).unwrap();
    assert_eq!(names(t, ""), ["g"]);
    let after = stat(t, "g").unwrap();
    assert_eq!(
        (after.size, after.mtime_ns, after.file_id),
        (before.size, before.mtime_ns, before.file_id),
        "the same file under a new name"
    );
    // Into another folder, replacing a file there.
    t.create_dir_all(&p("d/e")).unwrap();
    put(t, "d/e/h", b"replaced");
    t.rename(&p("g"), &p("d/e/h")).unwrap();
    assert_eq!(read(t, "d/e/h"), b"moving");
    assert_eq!(names(t, ""), ["d"]);
    // A folder moves with everything below it.
    t.rename(&p("d"), &p("moved")).unwrap();
    assert_eq!(read(t, "moved/e/h"), b"moving");
    assert_eq!(kind(t, "d"), None);
    // What cannot be.
    put(t, "file", b"file");
    t.rename(&p("file"), &p("moved"))
        .expect_err("a file never replaces a folder");
    t.rename(&p("moved"), &p("moved/e/inside"))
        .expect_err("a folder never moves into itself");
    let result = t.rename(&p("nothing"), &p("x"));
    fails_with(
        result,
        ErrorKind::NotFound,
        "nothing",
        "renaming what is not there",
    );
    let result = t.rename(&p("file"), &p("no/x"));
    assert_eq!(
        result.expect_err("into a missing folder").kind(),
        ErrorKind::NotFound
    );
    assert_eq!(read(t, "file"), b"file");
    assert_eq!(read(t, "moved/e/h"), b"moving");
    assert_eq!(names(t, ""), ["file", "moved"]);
    // Onto itself: nothing changes.
    t.rename(&p("file"), &p("file")).unwrap();
    assert_eq!(read(t, "file"), b"file");
}

/// [`Transport::rename_no_replace`] never replaces anything (a file, a folder, a link):
/// [`ErrorKind::AlreadyExists`] naming the taken name, both entries as they were. Stored
/// versions depend on it (safety rule 9).
pub fn a_rename_that_must_not_replace_never_does(t: &dyn Transport) {
    begin(t);
    put(t, "a", b"a");
    put(t, "b", b"b");
    dir(t, "d");
    let mut taken = vec!["b", "d"];
    if t.capabilities().symlinks {
        t.symlink(&p("l"), b"nowhere").unwrap();
        taken.push("l");
    }
    for to in taken {
        let result = t.rename_no_replace(&p("a"), &p(to));
        fails_with(result, ErrorKind::AlreadyExists, to, "a taken name");
    }
    let result = t.rename_no_replace(&p("a"), &p("a"));
    fails_with(result, ErrorKind::AlreadyExists, "a", "its own name");
    assert_eq!((read(t, "a"), read(t, "b")), (b"a".to_vec(), b"b".to_vec()));
    assert_eq!(kind(t, "d"), Some(EntryKind::Dir));
    t.rename_no_replace(&p("a"), &p("d/c")).unwrap();
    assert_eq!(read(t, "d/c"), b"a");
    assert_eq!(kind(t, "a"), None);
    t.rename_no_replace(&p("d"), &p("e")).unwrap();
    assert_eq!(read(t, "e/c"), b"a");
}

/// Links are created and read back as stored (relative, absolute or leading nowhere), are
/// listed as links, and are removed, renamed and given times as themselves; what they point
/// to is never touched. A backend without links says so: [`ErrorKind::NotSupported`].
pub fn links_are_stored_as_written(t: &dyn Transport) {
    begin(t);
    put(t, "f", b"target");
    if !t.capabilities().symlinks {
        let result = t.symlink(&p("l"), b"f");
        fails_with(result, ErrorKind::NotSupported, "l", "a link without links");
        assert_eq!(names(t, ""), ["f"]);
        return;
    }
    let targets: [(&str, &[u8]); 4] = [
        ("rel", b"f"),
        ("abs", b"/etc/passwd"),
        ("up", b"../outside/x"),
        ("dangling", b"nothing/here"),
    ];
    for (name, target) in targets {
        t.symlink(&p(name), target).unwrap();
        assert_eq!(t.read_link(&p(name)).unwrap(), target, "{name}");
        assert_eq!(kind(t, name), Some(EntryKind::Symlink), "{name}");
    }
    let listed = t.read_dir(&RelPath::root()).unwrap();
    assert!(listed
        .iter()
        .all(|e| (e.kind == EntryKind::Symlink) == (e.path != p("f"))));
    let result = t.symlink(&p("rel"), b"elsewhere");
    fails_with(
        result,
        ErrorKind::AlreadyExists,
        "rel",
        "a link over a link",
    );
    t.symlink(&p("f"), b"x").expect_err("a link over a file");
    let result = t.read_link(&p("f"));
    fails_with(result, ErrorKind::InvalidInput, "f", "read_link of a file");
    let result = t.read_link(&p("missing"));
    fails_with(
        result,
        ErrorKind::NotFound,
        "missing",
        "read_link of nothing",
    );
    // Times of the link itself; the file it points to keeps its own.
    let file_time = stat(t, "f").unwrap().mtime_ns;
    t.set_meta(&p("rel"), &meta(T2, Some(0o600))).unwrap();
    assert_eq!(stat(t, "f").unwrap().mtime_ns, file_time);
    assert_eq!(read(t, "f"), b"target");
    // Renamed and removed as links.
    t.rename(&p("rel"), &p("renamed")).unwrap();
    assert_eq!(t.read_link(&p("renamed")).unwrap(), b"f");
    t.remove_file(&p("renamed")).unwrap();
    t.remove_file(&p("dangling")).unwrap();
    assert_eq!(read(t, "f"), b"target");
    assert_eq!(names(t, ""), ["abs", "f", "up"]);
}

/// Safety rule 8: a link where a folder is needed fails every change, naming the link,
/// and nothing it points to changes; a link as the final name is itself replaced, removed
/// or renamed.
pub fn links_are_never_followed_to_write(t: &dyn Transport) {
    if !t.capabilities().symlinks {
        return;
    }
    begin(t);
    dir(t, "real");
    put(t, "real/g", b"behind the link");
    dir(t, "real/d");
    put(t, "f", b"a file behind a link");
    t.symlink(&p("l"), b"real").unwrap();
    t.symlink(&p("lf"), b"f").unwrap();
    let m = meta(T2, Some(0o600));
    let stream = |data: &'static [u8]| data;
    let attempts: Vec<(&str, crate::Result<()>)> = vec![
        ("write atomic", {
            let mut input = stream(b"x");
            t.write(&p("l/x"), Source::Stream(&mut input), &m, WriteMode::Atomic)
                .map(drop)
        }),
        ("write direct over a file", {
            let mut input = stream(b"x");
            t.write(&p("l/g"), Source::Stream(&mut input), &m, WriteMode::Direct)
                .map(drop)
        }),
        ("create_dir", t.create_dir(&p("l/x"))),
        ("create_dir_all", t.create_dir_all(&p("l/x/y"))),
        ("remove_file", t.remove_file(&p("l/g"))),
        ("remove_dir", t.remove_dir(&p("l/d"))),
        ("rename out", t.rename(&p("l/g"), &p("out"))),
        (
            "rename_no_replace out",
            t.rename_no_replace(&p("l/g"), &p("out")),
        ),
        ("set_meta", t.set_meta(&p("l/g"), &m)),
        ("symlink", t.symlink(&p("l/y"), b"f")),
        ("create_dir over the link", t.create_dir(&p("l"))),
    ];
    for (what, result) in attempts {
        let e = result.expect_err(what);
        is_link_error(&e, "l", what);
    }
    put(t, "in", b"in");
    let e = t.rename(&p("in"), &p("l/in")).expect_err("rename in");
    is_link_error(&e, "l", "rename in");
    assert_eq!(names(t, "real"), ["d", "g"]);
    assert_eq!(read(t, "real/g"), b"behind the link");
    // The link itself is what a final name means.
    t.remove_dir(&p("l"))
        .expect_err("a link is no folder to remove");
    assert_eq!(kind(t, "l"), Some(EntryKind::Symlink));
    for mode in [WriteMode::Atomic, WriteMode::Direct] {
        t.remove_file(&p("lf")).ok();
        t.symlink(&p("lf"), b"f").unwrap();
        put_with(t, "lf", b"replaces the link", mode);
        assert_eq!(kind(t, "lf"), Some(EntryKind::File), "{mode:?}");
        assert_eq!(read(t, "f"), b"a file behind a link", "{mode:?}");
    }
    t.remove_file(&p("l")).unwrap();
    assert_eq!(kind(t, "real"), Some(EntryKind::Dir));
    assert_eq!(read(t, "real/g"), b"behind the link");
}

/// A transport that does not follow links for reading (a destination's) reads no path
/// through a link: such reads fail naming the link. [`Transport::stat_follow`] follows
/// links while they stay inside the tree: a link leading out of it is an error, one leading
/// nowhere is `None`.
pub fn reads_follow_links_only_within_the_tree_and_only_when_asked(t: &dyn Transport) {
    if !t.capabilities().symlinks {
        return;
    }
    begin(t);
    t.create_dir_all(&p("real/deep")).unwrap();
    put(t, "real/deep/x", b"xyz");
    t.symlink(&p("l"), b"real").unwrap();
    t.symlink(&p("chain"), b"l/deep/../deep").unwrap();
    t.symlink(&p("real/up"), b"../real/deep/x").unwrap();
    t.symlink(&p("out"), b"../outside").unwrap();
    t.symlink(&p("abs"), b"/etc").unwrap();
    t.symlink(&p("dangling"), b"real/nothing").unwrap();
    t.symlink(&p("loop1"), b"loop2").unwrap();
    t.symlink(&p("loop2"), b"loop1").unwrap();
    let e = t.stat(&p("l/deep")).expect_err("stat through a link");
    is_link_error(&e, "l", "stat through a link");
    let e = t.read_dir(&p("l")).expect_err("listing a link");
    is_link_error(&e, "l", "listing a link");
    let e = t
        .open(&p("l/deep/x"))
        .map(drop)
        .expect_err("open through a link");
    is_link_error(&e, "l", "open through a link");
    let e = t.open(&p("real/up")).map(drop).expect_err("open a link");
    is_link_error(&e, "real/up", "open a link");
    // stat sees the link; stat_follow what it leads to, under the name asked for.
    assert_eq!(kind(t, "l"), Some(EntryKind::Symlink));
    let follow = |s: &str| {
        t.stat_follow(&p(s))
            .map(|e| e.map(|e| (e.path, e.kind, e.size)))
    };
    assert_eq!(follow("l").unwrap(), Some((p("l"), EntryKind::Dir, 0)));
    assert_eq!(
        follow("chain").unwrap(),
        Some((p("chain"), EntryKind::Dir, 0))
    );
    assert_eq!(
        follow("chain/x").unwrap(),
        Some((p("chain/x"), EntryKind::File, 3))
    );
    assert_eq!(
        follow("real/up").unwrap(),
        Some((p("real/up"), EntryKind::File, 3))
    );
    assert_eq!(follow("dangling").unwrap(), None);
    assert_eq!(follow("l/nothing").unwrap(), None);
    for name in ["out", "abs", "out/x"] {
        let e = follow(name).expect_err(name);
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{name}: {e}");
    }
    follow("loop1").expect_err("a loop");
}

/// What is not there: `stat` and `stat_follow` say `None` (also below a missing folder);
/// the calls that act on an entry fail with [`ErrorKind::NotFound`] naming it.
pub fn missing_entries_are_none_or_not_found(t: &dyn Transport) {
    begin(t);
    for path in ["missing", "missing/below"] {
        assert_eq!(t.stat(&p(path)).unwrap(), None, "{path}");
        assert_eq!(t.stat_follow(&p(path)).unwrap(), None, "{path}");
        let result = t.open(&p(path)).map(drop);
        fails_with(result, ErrorKind::NotFound, path, "open");
        fails_with(t.read_to_vec(&p(path)), ErrorKind::NotFound, path, "read");
    }
    put(t, "f", b"x");
    dir(t, "d");
    assert!(
        !matches!(t.stat(&p("f/below")), Ok(Some(_))),
        "nothing is below a file"
    );
    t.read_to_vec(&p("d"))
        .expect_err("a folder is not read as a file");
}

/// The root is the tree itself: it has no name to remove, rename or write.
pub fn the_root_has_no_name_to_act_on(t: &dyn Transport) {
    begin(t);
    put(t, "f", b"x");
    let root = RelPath::root();
    t.remove_file(&root).expect_err("remove_file of the root");
    t.remove_dir(&root).expect_err("remove_dir of the root");
    t.rename(&root, &p("x")).expect_err("rename of the root");
    t.rename(&p("f"), &root).expect_err("rename onto the root");
    let mut input: &[u8] = b"x";
    t.write(
        &root,
        Source::Stream(&mut input),
        &meta(T1, None),
        WriteMode::Atomic,
    )
    .expect_err("write of the root");
    assert_eq!(names(t, ""), ["f"]);
}

/// Names are bytes: non-UTF-8 names, spaces and both Unicode forms of "é" are kept and
/// listed exactly as written.
pub fn names_are_kept_as_bytes(t: &dyn Transport) {
    begin(t);
    let raw: [&[u8]; 4] = [
        b"caf\xe9",
        b"with space",
        "\u{e9}".as_bytes(),
        "e\u{301}".as_bytes(),
    ];
    for name in raw {
        let path = RelPath::root().join(name).unwrap();
        let mut input: &[u8] = name;
        t.write(
            &path,
            Source::Stream(&mut input),
            &meta(T1, None),
            WriteMode::Atomic,
        )
        .unwrap();
    }
    let mut listed: Vec<Vec<u8>> = t
        .read_dir(&RelPath::root())
        .unwrap()
        .into_iter()
        .map(|e| e.path.as_bytes().to_vec())
        .collect();
    listed.sort();
    let mut want: Vec<Vec<u8>> = raw.iter().map(|n| n.to_vec()).collect();
    want.sort();
    assert_eq!(listed, want);
    for name in raw {
        let path = RelPath::root().join(name).unwrap();
        assert_eq!(t.read_to_vec(&path).unwrap(), name);
    }
}

/// A file larger than any buffer, written from a source that gives a little at a time,
/// reads back byte for byte.
pub fn large_files_stream_in_pieces(t: &dyn Transport) {
    begin(t);
    let data: Vec<u8> = (0..3 * 1024 * 1024 + 7)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for mode in [WriteMode::Atomic, WriteMode::Direct] {
        let mut input = Trickle {
            data: &data,
            piece: 4093,
        };
        let n = t
            .write(&p("big"), Source::Stream(&mut input), &meta(T1, None), mode)
            .unwrap();
        assert_eq!(n, data.len() as u64);
        let mut back = Vec::new();
        let mut reader = t.open(&p("big")).unwrap();
        let mut buf = [0u8; 1000];
        loop {
            let got = reader.read(&mut buf).unwrap();
            if got == 0 {
                break;
            }
            back.extend_from_slice(&buf[..got]);
        }
        assert!(back == data, "{mode:?}: the same bytes");
        assert_eq!(stat(t, "big").unwrap().size, data.len() as u64);
    }
}

/// Every call may come from any thread: writes, folders and renames from many at once
/// all land.
pub fn many_threads_write_at_once(t: &dyn Transport) {
    begin(t);
    dir(t, "shared");
    std::thread::scope(|s| {
        for thread in 0..8 {
            s.spawn(move || {
                for i in 0..20 {
                    let deep = format!("t{thread}/a/b");
                    t.create_dir_all(&p(&deep)).unwrap();
                    let body = format!("{thread}-{i}");
                    put(t, &format!("shared/{thread}-{i}"), body.as_bytes());
                    put(t, &format!("{deep}/{i}"), body.as_bytes());
                    t.rename(&p(&format!("{deep}/{i}")), &p(&format!("{deep}/r{i}")))
                        .unwrap();
                }
            });
        }
    });
    assert_eq!(names(t, "shared").len(), 160);
    for thread in 0..8 {
        for i in 0..20 {
            let body = format!("{thread}-{i}");
            assert_eq!(read(t, &format!("shared/{body}")), body.as_bytes());
            assert_eq!(read(t, &format!("t{thread}/a/b/r{i}")), body.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{Capabilities, LocalTransport, MemoryTransport};

    /// A fresh transport and what keeps its storage alive.
    type Fresh = (Box<dyn std::any::Any>, Box<dyn Transport>);

    /// One unit test per check for the backend `$backend` made by `$fresh`.
    macro_rules! backend {
        ($backend:ident, $fresh:ident, [$($check:ident),* $(,)?]) => {
            mod $backend {
                $(
                    #[test]
                    fn $check() {
                        let (_keep, t) = super::$fresh();
                        super::super::$check(&*t);
                    }
                )*
            }
        };
    }

    fn local() -> Fresh {
        let dir = tempfile::tempdir().unwrap();
        // The root is not there yet: the checks make it.
        let t = LocalTransport::new(dir.path().join("root"));
        (Box::new(dir), Box::new(t))
    }

    fn memory(edit: impl FnOnce(&mut Capabilities)) -> Fresh {
        let t = MemoryTransport::new("conformance");
        let mut caps = t.capabilities();
        edit(&mut caps);
        (Box::new(()), Box::new(t.with_capabilities(caps)))
    }

    /// A backend like FTP: whole seconds, no times set, no links, no permission bits,
    /// renames in two steps.
    fn like_ftp() -> Fresh {
        memory(|c| {
            c.set_mtime = false;
            c.mtime_resolution_ns = 1_000_000_000;
            c.symlinks = false;
            c.permissions = false;
            c.atomic_rename = false;
        })
    }

    /// A backend like a FAT drive: times kept to two seconds.
    fn like_fat() -> Fresh {
        memory(|c| c.mtime_resolution_ns = 2_000_000_000)
    }

    fn full_memory() -> Fresh {
        memory(|_| {})
    }

    /// The fault decorator without faults is the transport it wraps.
    fn faulty_without_faults() -> Fresh {
        let t = crate::transport::Faulty::new(MemoryTransport::new("faulty"));
        (Box::new(()), Box::new(t))
    }

    for_each_check!(backend, local, local);
    for_each_check!(backend, faulty_memory, faulty_without_faults);
    for_each_check!(backend, memory, full_memory);
    for_each_check!(backend, memory_like_ftp, like_ftp);
    for_each_check!(backend, memory_like_fat, like_fat);

    #[test]
    fn a_backend_built_on_the_trait_defaults_keeps_the_contract() {
        // Only the required calls of a local folder, over a root that is not there yet: the
        // default create_dir_all makes it, the default rename_no_replace names the taken
        // path.
        let dir = tempfile::tempdir().unwrap();
        run(|name| {
            Box::new(Required {
                inner: LocalTransport::new(dir.path().join(name)),
                forget_times: false,
            })
        });
    }

    #[test]
    fn a_run_names_every_check_that_failed() {
        // A backend that drops the times it is given fails the checks of times, by name.
        let e = std::panic::catch_unwind(|| {
            run(|name| {
                Box::new(Required {
                    inner: MemoryTransport::new(name),
                    forget_times: true,
                })
            })
        })
        .expect_err("a backend that drops times fails");
        let message = e.downcast_ref::<String>().cloned().unwrap_or_default();
        for failed in [
            "a_written_file_reads_back_with_its_size_time_and_mode",
            "a_failed_atomic_write_leaves_the_target_as_it_was",
        ] {
            assert!(message.contains(failed), "{message}");
        }
        assert!(
            !message.contains("the_root_is_a_folder_that_starts_empty"),
            "{message}"
        );
    }

    /// Only the calls a backend must implement, forwarded; the rest are the trait's
    /// defaults. `forget_times`: written files get time 0, whatever they were given.
    #[derive(Debug)]
    struct Required<T> {
        inner: T,
        forget_times: bool,
    }

    impl<T: Transport> Transport for Required<T> {
        fn describe(&self) -> String {
            self.inner.describe()
        }
        fn capabilities(&self) -> Capabilities {
            self.inner.capabilities()
        }
        fn stat(&self, path: &RelPath) -> crate::Result<Option<Entry>> {
            self.inner.stat(path)
        }
        fn stat_follow(&self, path: &RelPath) -> crate::Result<Option<Entry>> {
            self.inner.stat_follow(path)
        }
        fn read_dir(&self, dir: &RelPath) -> crate::Result<Vec<Entry>> {
            self.inner.read_dir(dir)
        }
        fn open(&self, path: &RelPath) -> crate::Result<Box<dyn Read + Send>> {
            self.inner.open(path)
        }
        fn write(
            &self,
            path: &RelPath,
            s: Source<'_>,
            m: &Meta,
            w: WriteMode,
        ) -> crate::Result<u64> {
            let m = Meta {
                mtime_ns: if self.forget_times { 0 } else { m.mtime_ns },
                ..*m
            };
            self.inner.write(path, s, &m, w)
        }
        fn create_dir(&self, path: &RelPath) -> crate::Result<()> {
            self.inner.create_dir(path)
        }
        fn set_meta(&self, path: &RelPath, meta: &Meta) -> crate::Result<()> {
            self.inner.set_meta(path, meta)
        }
        fn remove_file(&self, path: &RelPath) -> crate::Result<()> {
            self.inner.remove_file(path)
        }
        fn remove_dir(&self, path: &RelPath) -> crate::Result<()> {
            self.inner.remove_dir(path)
        }
        fn rename(&self, from: &RelPath, to: &RelPath) -> crate::Result<()> {
            self.inner.rename(from, to)
        }
        fn read_link(&self, path: &RelPath) -> crate::Result<Vec<u8>> {
            self.inner.read_link(path)
        }
        fn symlink(&self, path: &RelPath, target: &[u8]) -> crate::Result<()> {
            self.inner.symlink(path, target)
        }
    }
}
