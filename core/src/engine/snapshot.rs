//! The folders of a versioned backup: one per run, named after the time it was planned.
//!
//! A snapshot folder is named `YYYY-MM-DD HHMMSS.mmm` in local time (to the millisecond), or
//! `YYYY-MM-DD HHMMSS.mmm #N` for the N-th made in the same millisecond; earlier releases
//! named them `YYYY-MM-DD HHMMSS`, and those are still read. Names sort by time, and a
//! folder is always made new: an existing one is never reused (the next name is taken).

use std::ffi::OsStr;

use chrono::{DateTime, Local, NaiveDateTime};

use crate::error::{Error, ErrorKind, Result};
use crate::path::RelPath;
use crate::transport::{LocalTransport, Transport};

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
/// (made if missing), beneath its root without following links, and returns a transport
/// rooted at it; when `planned` exists, the next free name of the same millisecond
/// (`… #2`, `… #3`, …). Never returns a folder that existed.
///
/// # Errors
/// Failures creating the folder or the destination, a link on the way.
pub(super) fn create(base: &LocalTransport, planned: &OsStr) -> Result<LocalTransport> {
    base.create_dir_all(&RelPath::root())?;
    let planned = planned.to_string_lossy();
    let (stamp, first) = match planned.split_once(" #") {
        Some((stamp, n)) => (stamp, n.parse().unwrap_or(2)),
        None => (&*planned, 1),
    };
    for seq in first..=MAX_SAME_MS {
        let rel = match seq {
            1 => RelPath::new(stamp)?,
            n => RelPath::new(format!("{stamp} #{n}"))?,
        };
        match base.create_new_dir(&rel) {
            Ok(()) => return base.subtree(&rel),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(Error::new(
        ErrorKind::AlreadyExists,
        "too many snapshot folders made in the same millisecond",
    )
    .with_path(base.root().join(&*planned)))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_folder_is_made_new_under_the_next_free_name() {
        let dir = tempfile::tempdir().unwrap();
        let base = LocalTransport::new(dir.path().join("dest"));
        let planned = OsStr::new("2026-11-22 153012.123");
        let first = create(&base, planned).unwrap();
        assert_eq!(first.root(), dir.path().join("dest/2026-11-22 153012.123"));
        std::fs::write(first.root().join("kept.txt"), "x").unwrap();
        let second = create(&base, planned).unwrap();
        assert_eq!(
            second.root(),
            dir.path().join("dest/2026-11-22 153012.123 #2")
        );
        let third = create(&base, planned).unwrap();
        assert_eq!(
            third.root(),
            dir.path().join("dest/2026-11-22 153012.123 #3")
        );
        assert!(first.root().join("kept.txt").is_file());
        assert_eq!(std::fs::read_dir(second.root()).unwrap().count(), 0);
        // A file in the way counts as taken too, and so does a link (never followed).
        std::fs::write(dir.path().join("dest/2026-11-22 153012.124"), "").unwrap();
        let planned = OsStr::new("2026-11-22 153012.124");
        assert_eq!(
            create(&base, planned).unwrap().root(),
            dir.path().join("dest/2026-11-22 153012.124 #2")
        );
        let outside = dir.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, dir.path().join("dest/2026-11-22 153012.125"))
            .unwrap();
        let planned = OsStr::new("2026-11-22 153012.125");
        let made = create(&base, planned).unwrap();
        assert_eq!(
            made.root(),
            dir.path().join("dest/2026-11-22 153012.125 #2")
        );
        made.write(
            &RelPath::new("f").unwrap(),
            crate::transport::Source::Stream(&mut &b"x"[..]),
            &crate::transport::Meta::default(),
            crate::transport::WriteMode::Atomic,
        )
        .unwrap();
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    }
}
