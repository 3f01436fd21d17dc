//! The snapshot set of a versioned backup: one folder per run, named after the time it was
//! planned, each holding what was new or changed since the earlier ones.
//!
//! A snapshot folder is named `YYYY-MM-DD HHMMSS.mmm` in local time (to the millisecond), or
//! `YYYY-MM-DD HHMMSS.mmm #N` for the N-th made in the same millisecond; earlier releases
//! named them `YYYY-MM-DD HHMMSS`, and those are still read. Names sort by time, and a
//! folder is always made new: an existing one is never reused (the next name is taken).
//!
//! As a [`Replica`], the set lists itself as the latest version of every file across its
//! snapshot folders, and applies a plan by making a new snapshot folder and writing the
//! plan's copies into it with a [`TreeReplica`]: on any transport, through a view of the
//! destination rooted at the new folder ([`Prefixed`]).

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Local, NaiveDateTime};

use super::replica::{ApplyContext, Replica, TreeReplica};
use super::report::Report;
use crate::error::{Error, ErrorKind, Result};
use crate::filter::Filter;
use crate::location::Location;
use crate::path::RelPath;
use crate::plan::FolderPlan;
use crate::scan::{scan, Listing, ScanOptions};
use crate::transport::{temp_sibling, EntryKind, Prefixed, Transport};

/// `YYYY-MM-DD HHMMSS`, the names of earlier releases.
const SECONDS: &str = "%Y-%m-%d %H%M%S";
/// `YYYY-MM-DD HHMMSS.mmm`.
const MILLISECONDS: &str = "%Y-%m-%d %H%M%S%.3f";

/// How many snapshot folders may be made in the same millisecond.
const MAX_SAME_MS: u32 = 10_000;

/// The name of the snapshot folder of a run planned at `now`.
pub(super) fn name(now: DateTime<Local>) -> String {
    now.format(MILLISECONDS).to_string()
}

/// The time and place among those of the same millisecond that a snapshot folder's name
/// says; `None` for a name that is not a snapshot's. Orders snapshots from oldest to newest.
pub(super) fn parse(name: &[u8]) -> Option<(NaiveDateTime, u32)> {
    let name = std::str::from_utf8(name).ok()?;
    let (stamp, seq) = match name.split_once(" #") {
        Some((stamp, n)) if !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit()) => {
            (stamp, n.parse::<u32>().ok().filter(|&n| n >= 2)?)
        }
        Some(_) => return None,
        None => (name, 1),
    };
    let format = match stamp.len() {
        17 if seq == 1 => SECONDS,
        21 => MILLISECONDS,
        _ => return None,
    };
    let time = NaiveDateTime::parse_from_str(stamp, format).ok()?;
    // Only names written exactly this way (no stray spaces, signs or missing zeros).
    (time.format(format).to_string() == stamp).then_some((time, seq))
}

/// Makes the snapshot folder `planned` (a name from [`name`]) in the destination `base`
/// (made if missing), beneath its root without following links, and returns a view of the
/// destination rooted at it; when `planned` exists, the next free name of the same
/// millisecond (`… #2`, `… #3`, …). Never returns a folder that existed.
///
/// # Errors
/// Failures creating the folder or the destination, a link on the way.
pub(super) fn create(base: &Arc<dyn Transport>, planned: &str) -> Result<Prefixed> {
    base.create_dir_all(&RelPath::root())?;
    let (stamp, first) = match planned.split_once(" #") {
        Some((stamp, n)) => (stamp, n.parse().unwrap_or(2)),
        None => (planned, 1),
    };
    for seq in first..=MAX_SAME_MS {
        let rel = match seq {
            1 => RelPath::new(stamp)?,
            n => RelPath::new(format!("{stamp} #{n}"))?,
        };
        match create_new_dir(&**base, &rel) {
            Ok(()) => return Ok(Prefixed::new(Arc::clone(base), rel)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(Error::new(
        ErrorKind::AlreadyExists,
        "too many snapshot folders made in the same millisecond",
    )
    .with_path(Path::new(&base.describe()).join(planned)))
}

/// Makes the folder `rel` (its parent exists), never one that exists: the error is then
/// [`ErrorKind::AlreadyExists`], also for a link or a file at `rel`. A local folder makes it
/// in one call; elsewhere a new folder is made under a temporary name and renamed to `rel`
/// unless something is there.
fn create_new_dir(t: &dyn Transport, rel: &RelPath) -> Result<()> {
    if let Some(local) = t.as_local() {
        return local.create_new_dir(rel);
    }
    // Errors name the folder being made, not its temporary name.
    let shown = || rel.to_path(Path::new(&t.describe()));
    let temp = temp_sibling(rel);
    t.create_dir(&temp).map_err(|e| e.with_path(shown()))?;
    t.rename_no_replace(&temp, rel).map_err(|e| {
        let _ = t.remove_dir(&temp);
        e.with_path(shown())
    })
}

/// The snapshot folders of a versioned backup's destination: the earlier ones are read, a
/// new one is made for each run that has something to store.
#[derive(Debug)]
pub(crate) struct SnapshotSet {
    /// The destination holding the snapshot folders.
    dst: Arc<dyn Transport>,
}

impl SnapshotSet {
    /// The snapshot set in the destination `dst`.
    pub(crate) fn new(dst: Arc<dyn Transport>) -> SnapshotSet {
        SnapshotSet { dst }
    }

    /// The snapshot folders, oldest first (folders only: a link named like one is passed
    /// over, never followed).
    pub(super) fn snapshots(&self) -> Result<Vec<RelPath>> {
        let mut found: Vec<_> = self
            .dst
            .read_dir(&RelPath::root())?
            .into_iter()
            .filter(|e| e.kind == EntryKind::Dir)
            .filter_map(|e| Some((parse(e.path.file_name())?, e.path)))
            .collect();
        found.sort();
        Ok(found.into_iter().map(|(_, path)| path).collect())
    }
}

impl Replica for SnapshotSet {
    /// The new snapshot folder, named after the run's stamp.
    fn target(&self, at: &Location, stamp: &str) -> Location {
        at.child(stamp)
    }

    /// The latest version of every file across the snapshot folders. `opts` should list
    /// links as links: the earlier snapshots are a destination too.
    fn list(&self, filter: &Filter, opts: &ScanOptions) -> Result<Listing> {
        if self.dst.stat_follow(&RelPath::root())?.is_none() {
            return Ok(Listing::default());
        }
        let mut listings = Vec::new();
        for snapshot in self.snapshots()? {
            let view = Prefixed::new(Arc::clone(&self.dst), snapshot);
            listings.push(scan(&view, filter, opts)?);
        }
        Ok(Listing::latest_of(listings))
    }

    /// Makes the snapshot folder the plan names (its destination's last name; the next
    /// free one when that exists) and writes the plan's copies into it. With nothing to
    /// store it makes none.
    fn apply(&self, plan: &FolderPlan, ctx: &ApplyContext<'_>, report: &mut Report) -> Result<()> {
        if plan.actions.is_empty() {
            return Ok(());
        }
        let planned = plan
            .destination
            .parent_and_name()
            .map(|(_, name)| name)
            .filter(|n| parse(n.as_bytes()).is_some())
            .ok_or_else(|| {
                Error::invalid("the plan of a versioned backup names no snapshot folder")
                    .with_path(plan.destination.describe())
            })?;
        let snapshot = create(&self.dst, &planned)?;
        TreeReplica::inside_snapshot(Arc::new(snapshot)).apply(plan, ctx, report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{
        Faulty, LocalTransport, MemoryTransport, Meta, Source, Tree, WriteMode,
    };

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    }

    #[test]
    fn names_are_local_time_to_the_millisecond() {
        let t = at("2026-11-22 15:30:12.123456")
            .and_local_timezone(Local)
            .unwrap();
        assert_eq!(name(t), "2026-11-22 153012.123");
    }

    #[test]
    fn names_of_this_and_earlier_releases_parse_and_sort_by_time() {
        let mut names = [
            "2026-11-22 153012.123 #10",
            "2026-11-22 153012.123 #2",
            "2026-11-22 153013",
            "2026-11-22 153012.123",
            "2026-11-22 153012",
            "2026-11-22 153012.999",
            "2026-11-22 153012.000",
        ];
        names.sort_by_key(|n| (parse(n.as_bytes()).unwrap(), n.len()));
        assert_eq!(
            names,
            [
                "2026-11-22 153012",
                "2026-11-22 153012.000",
                "2026-11-22 153012.123",
                "2026-11-22 153012.123 #2",
                "2026-11-22 153012.123 #10",
                "2026-11-22 153012.999",
                "2026-11-22 153013",
            ]
        );
        assert_eq!(
            parse(b"2026-11-22 153012.123 #2"),
            Some((at("2026-11-22 15:30:12.123"), 2))
        );
    }

    #[test]
    fn other_names_are_not_snapshots() {
        for name in [
            "",
            ".ferrysync",
            "2026-11-22",
            "2026-11-22 15301",
            "2026-11-22 153012.12",
            "2026-11-22 153012.1234",
            "2026-11-22 153012.123 #1",
            "2026-11-22 153012.123 #02",
            "2026-11-22 153012.123 #",
            "2026-11-22 153012.123 #x",
            "2026-11-22 153012 #2",
            "2026-13-22 153012.123",
            "2026-11-22 153012.123 ",
            " 2026-11-22 153012",
            "2026-11-22T153012.123",
        ] {
            assert_eq!(parse(name.as_bytes()), None, "{name:?}");
        }
    }

    /// Where a view made by [`create`] over a local destination is.
    fn made_at(t: &Prefixed) -> std::path::PathBuf {
        t.local_path(&RelPath::root()).unwrap()
    }

    #[test]
    fn a_folder_is_made_new_under_the_next_free_name() {
        let dir = tempfile::tempdir().unwrap();
        let base: Arc<dyn Transport> = Arc::new(LocalTransport::new(dir.path().join("dest")));
        let planned = "2026-11-22 153012.123";
        let first = create(&base, planned).unwrap();
        assert_eq!(
            made_at(&first),
            dir.path().join("dest/2026-11-22 153012.123")
        );
        std::fs::write(made_at(&first).join("kept.txt"), "x").unwrap();
        let second = create(&base, planned).unwrap();
        assert_eq!(
            made_at(&second),
            dir.path().join("dest/2026-11-22 153012.123 #2")
        );
        let third = create(&base, planned).unwrap();
        assert_eq!(
            made_at(&third),
            dir.path().join("dest/2026-11-22 153012.123 #3")
        );
        assert!(made_at(&first).join("kept.txt").is_file());
        assert_eq!(std::fs::read_dir(made_at(&second)).unwrap().count(), 0);
        // A file in the way counts as taken too, and so does a link (never followed).
        std::fs::write(dir.path().join("dest/2026-11-22 153012.124"), "").unwrap();
        assert_eq!(
            made_at(&create(&base, "2026-11-22 153012.124").unwrap()),
            dir.path().join("dest/2026-11-22 153012.124 #2")
        );
        let outside = dir.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, dir.path().join("dest/2026-11-22 153012.125"))
            .unwrap();
        let made = create(&base, "2026-11-22 153012.125").unwrap();
        assert_eq!(
            made_at(&made),
            dir.path().join("dest/2026-11-22 153012.125 #2")
        );
        made.write(
            &RelPath::new("f").unwrap(),
            Source::Stream(&mut &b"x"[..]),
            &Meta::default(),
            WriteMode::Atomic,
        )
        .unwrap();
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    }

    /// Issue 11, item 5: a snapshot set on a destination without local folders makes its
    /// folders the same way, through the transport's own calls.
    #[test]
    fn a_folder_is_made_new_on_any_transport() {
        let whole = MemoryTransport::new("dest");
        Tree::new(
            "
            2026-11-22 153012.123/kept = x
            2026-11-22 153012.124 = a file
            2026-11-22 153012.125 -> 2026-11-22 153012.123
            ",
        )
        .build_in(&whole)
        .unwrap();
        let base: Arc<dyn Transport> = Arc::new(Faulty::new(whole.clone()));
        for (planned, made) in [
            ("2026-11-22 153012.123", "2026-11-22 153012.123 #2"),
            ("2026-11-22 153012.123", "2026-11-22 153012.123 #3"),
            ("2026-11-22 153012.124", "2026-11-22 153012.124 #2"),
            ("2026-11-22 153012.125", "2026-11-22 153012.125 #2"),
            ("2026-11-22 153012.126", "2026-11-22 153012.126"),
        ] {
            let view = create(&base, planned).unwrap();
            assert_eq!(view.describe(), format!("memory:dest/{made}"));
            Tree::new(&format!("new = {made}")).build_in(&view).unwrap();
        }
        let held = Tree::of(&whole).unwrap();
        assert_eq!(
            held,
            Tree::new(
                "
                2026-11-22 153012.123/kept = x
                2026-11-22 153012.123 #2/new = 2026-11-22 153012.123 #2
                2026-11-22 153012.123 #3/new = 2026-11-22 153012.123 #3
                2026-11-22 153012.124 = a file
                2026-11-22 153012.124 #2/new = 2026-11-22 153012.124 #2
                2026-11-22 153012.125 -> 2026-11-22 153012.123
                2026-11-22 153012.125 #2/new = 2026-11-22 153012.125 #2
                2026-11-22 153012.126/new = 2026-11-22 153012.126
                "
            ),
            "no temporary folder is left, nothing that was there is touched"
        );
    }
}
