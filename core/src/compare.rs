//! When two files differ: the [`Comparator`] built from [`CompareOptions`].
//!
//! A file is copied when any enabled criterion says it differs. [`Comparator::by_metadata`]
//! decides from listings alone (kind, mode, size, modification time, permissions,
//! attributes) and answers [`Verdict::NeedsContent`] when only reading the files can tell;
//! [`Comparator::by_content`] then compares hashes or bytes.

mod hash;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::path::RelPath;
use crate::transport::{Capabilities, Transport};
use crate::vocab::{Entry, EntryKind};

/// How modification times are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MtimeRule {
    /// Ignore modification times.
    Off,
    /// Copy when the source is later than the destination.
    Later,
    /// Copy when the times differ either way.
    #[default]
    Differs,
}

/// Which files are considered at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CompareMode {
    /// Copy new files and files the criteria find different.
    #[default]
    Changed,
    /// Copy new files only; never touch existing ones.
    NewOnly,
    /// Copy every file, different or not.
    Always,
}

/// The comparison rules of a profile. A file is copied when any enabled criterion says it
/// differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
pub struct CompareOptions {
    /// Which files are considered.
    pub mode: CompareMode,
    /// Modification time rule.
    pub mtime: MtimeRule,
    /// Times closer than this many milliseconds are equal (2000 survives FAT).
    pub mtime_tolerance_ms: u64,
    /// Whole-hour offsets to ignore (DST, time zones): with `[1]`, a difference of exactly one
    /// hour (within the tolerance), either way, is no difference. Each must be non-zero and
    /// within -24..=24; the sign does not matter.
    pub ignore_hour_shifts: Vec<i32>,
    /// Compare sizes.
    pub size: bool,
    /// Compare permission bits.
    pub permissions: bool,
    /// Compare attributes: read-only-ness (hidden-ness is in the name, equal by construction).
    pub attributes: bool,
    /// Compare MD5 hashes of contents.
    pub md5: bool,
    /// Compare BLAKE3 hashes of contents.
    pub blake3: bool,
    /// Compare contents byte for byte (this makes `md5` and `blake3` redundant: equal bytes
    /// have equal hashes, so only the bytes are read).
    pub content: bool,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            mode: CompareMode::Changed,
            mtime: MtimeRule::Differs,
            mtime_tolerance_ms: 2000,
            ignore_hour_shifts: Vec::new(),
            size: true,
            permissions: false,
            attributes: false,
            md5: false,
            blake3: false,
            content: false,
        }
    }
}

/// Why two files are considered different.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Difference {
    /// The source is later.
    SourceNewer,
    /// The destination is later (mtime rule "differs").
    DestinationNewer,
    /// Sizes differ.
    Size,
    /// Permission bits differ.
    Permissions,
    /// Attributes differ.
    Attributes,
    /// MD5 hashes differ.
    Md5,
    /// BLAKE3 hashes differ.
    Blake3,
    /// Contents differ byte for byte.
    Content,
    /// One is a file, the other a folder or link.
    Kind,
    /// The profile copies every file.
    Always,
}

/// What comparing metadata alone says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Equal by every enabled criterion.
    Same,
    /// Different, for this reason.
    Differs(Difference),
    /// Metadata are equal but a content criterion is enabled: read the files.
    NeedsContent,
}

/// Compiled comparison rules: immutable, `Send + Sync`, shared by every worker.
#[derive(Debug, Clone)]
pub struct Comparator {
    opts: CompareOptions,
    /// `mtime_tolerance_ms`, in nanoseconds.
    tolerance_ns: i128,
    /// `ignore_hour_shifts`, as positive nanoseconds, sorted and deduplicated.
    shifts_ns: Vec<i128>,
    /// The sides store times coarser than a nanosecond: times this close are equal.
    resolution_ns: i128,
    /// The side written can set modification times: its times say something about the
    /// copies it holds.
    times_kept: bool,
}

/// One metadata criterion: the difference it finds, if any.
type Check = fn(&Comparator, &Entry, &Entry) -> Option<Difference>;

const NS_PER_MS: i128 = 1_000_000;
const NS_PER_HOUR: i128 = 3_600 * 1_000_000_000;

impl Comparator {
    /// Compiles `opts`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for an hour shift that is zero or outside -24..=24.
    pub fn new(opts: &CompareOptions) -> Result<Comparator> {
        let mut shifts_ns = Vec::with_capacity(opts.ignore_hour_shifts.len());
        for &h in &opts.ignore_hour_shifts {
            if h == 0 || !(-24..=24).contains(&h) {
                return Err(Error::invalid(format!(
                    "ignore-hour-shifts: {h} is not a non-zero number of hours within -24..=24"
                )));
            }
            shifts_ns.push(i128::from(h.unsigned_abs()) * NS_PER_HOUR);
        }
        shifts_ns.sort_unstable();
        shifts_ns.dedup();
        Ok(Comparator {
            opts: opts.clone(),
            tolerance_ns: i128::from(opts.mtime_tolerance_ms) * NS_PER_MS,
            shifts_ns,
            resolution_ns: 1,
            times_kept: true,
        })
    }

    /// These rules as two sides can keep them, `destination` being the side copies are
    /// written to (for a two-way pair, where both are, what both sides can do):
    ///
    /// - where the destination cannot set modification times
    ///   ([`Capabilities::set_mtime`] off), a copy there has the time of the write, so times
    ///   are not compared at all: files are compared by size, and by contents where the
    ///   rules compare contents (a two-way pair has its state database besides). Files
    ///   changed without changing size are then found only by content rules;
    /// - times stored coarsely ([`Capabilities::mtime_resolution_ns`], either side) are
    ///   equal when they differ by less than the coarser resolution, even with a smaller
    ///   tolerance: a file copied to a two-second file system is not copied again.
    pub fn with_capabilities(
        mut self,
        source: &Capabilities,
        destination: &Capabilities,
    ) -> Comparator {
        let coarsest = source
            .mtime_resolution_ns
            .max(destination.mtime_resolution_ns)
            .max(1);
        self.resolution_ns = i128::from(coarsest);
        self.times_kept = destination.set_mtime;
        self
    }

    /// Whether the two times of one entry are equal as these rules and the sides keep
    /// times: within the tolerance and the resolution, or by an ignored hour shift.
    fn same_time(&self, a_ns: i64, b_ns: i64) -> bool {
        let delta = (i128::from(a_ns) - i128::from(b_ns)).abs();
        delta <= self.tolerance_ns || delta < self.resolution_ns || self.is_hour_shift(a_ns, b_ns)
    }

    /// Whether a folder's time differs from its copy's (and the copy's could be set to it):
    /// folders are never copied, only their times set, so no tolerance applies beyond the
    /// sides' resolution.
    pub(crate) fn folder_times_differ(&self, src: &Entry, dst: &Entry) -> bool {
        let delta = (i128::from(src.mtime_ns) - i128::from(dst.mtime_ns)).abs();
        self.times_kept && delta >= self.resolution_ns
    }

    /// The options compiled.
    pub fn options(&self) -> &CompareOptions {
        &self.opts
    }

    /// Whether a content criterion (`md5`, `blake3` or `content`) is enabled.
    pub fn reads_content(&self) -> bool {
        self.opts.md5 || self.opts.blake3 || self.opts.content
    }

    /// Compares two entries of the same path by metadata only (pure, no I/O).
    ///
    /// Checks run in this order and the first that differs is the reason: kind, mode
    /// (`new-only` answers [`Verdict::Same`], `always` [`Difference::Always`]), size,
    /// modification time, permissions, attributes. Folders compare only permissions and
    /// attributes, and `always` does not apply to them; links compare size (the target's
    /// length) and modification time, never contents; special files (sockets, FIFOs,
    /// devices) are never copied and always the same. Files equal by metadata give
    /// [`Verdict::NeedsContent`] when a content criterion is enabled.
    pub fn by_metadata(&self, src: &Entry, dst: &Entry) -> Verdict {
        if src.kind != dst.kind {
            return Verdict::Differs(Difference::Kind);
        }
        let kind = src.kind;
        match (self.opts.mode, kind) {
            (_, EntryKind::Special) | (CompareMode::NewOnly, _) => return Verdict::Same,
            (CompareMode::Always, EntryKind::File | EntryKind::Symlink) => {
                return Verdict::Differs(Difference::Always)
            }
            _ => {}
        }
        let checks: &[Check] = match kind {
            EntryKind::File => &[
                Comparator::size,
                Comparator::mtime,
                Comparator::permissions,
                Comparator::attributes,
            ],
            EntryKind::Symlink => &[Comparator::size, Comparator::mtime],
            EntryKind::Dir => &[Comparator::permissions, Comparator::attributes],
            EntryKind::Special => &[],
        };
        if let Some(diff) = checks.iter().find_map(|check| check(self, src, dst)) {
            return Verdict::Differs(diff);
        }
        if kind == EntryKind::File && self.reads_content() {
            Verdict::NeedsContent
        } else {
            Verdict::Same
        }
    }

    fn size(&self, src: &Entry, dst: &Entry) -> Option<Difference> {
        (self.opts.size && src.size != dst.size).then_some(Difference::Size)
    }

    /// Whether two modification times differ by one of the ignored whole-hour shifts (within
    /// the tolerance): a daylight-saving or time-zone change, not an edit.
    pub(crate) fn is_hour_shift(&self, a_ns: i64, b_ns: i64) -> bool {
        let delta = i128::from(a_ns) - i128::from(b_ns);
        self.shifts_ns
            .iter()
            .any(|&shift| (delta.abs() - shift).abs() <= self.tolerance_ns)
    }

    fn mtime(&self, src: &Entry, dst: &Entry) -> Option<Difference> {
        if self.opts.mtime == MtimeRule::Off || !self.times_kept {
            return None;
        }
        let delta = i128::from(src.mtime_ns) - i128::from(dst.mtime_ns);
        if self.same_time(src.mtime_ns, dst.mtime_ns) {
            return None;
        }
        match self.opts.mtime {
            _ if delta > 0 => Some(Difference::SourceNewer),
            MtimeRule::Differs => Some(Difference::DestinationNewer),
            MtimeRule::Later | MtimeRule::Off => None,
        }
    }

    fn permissions(&self, src: &Entry, dst: &Entry) -> Option<Difference> {
        let known = src.mode != 0 && dst.mode != 0;
        let differ = src.mode & 0o7777 != dst.mode & 0o7777;
        (self.opts.permissions && known && differ).then_some(Difference::Permissions)
    }

    fn attributes(&self, src: &Entry, dst: &Entry) -> Option<Difference> {
        // Read-only-ness lives in the mode: a side without modes cannot store it.
        let known = src.mode != 0 && dst.mode != 0;
        let differ = src.is_read_only() != dst.is_read_only();
        (self.opts.attributes && known && differ).then_some(Difference::Attributes)
    }

    /// Compares the contents of the file `path` on both sides (after
    /// [`Verdict::NeedsContent`]); answers [`Verdict::Same`] when no content criterion is
    /// enabled.
    ///
    /// With `content`, the bytes are compared (files of different sizes differ without being
    /// read) and the reason is [`Difference::Content`]; otherwise the enabled hashes are
    /// computed in one pass per file and the reason is [`Difference::Md5`], then
    /// [`Difference::Blake3`]. Current sizes are taken from the transports, following links
    /// as [`Transport::open`] does.
    ///
    /// # Errors
    /// Stat and read failures on either side, naming the file;
    /// [`ErrorKind::NotFound`] when it vanished.
    pub fn by_content(
        &self,
        src: &dyn Transport,
        dst: &dyn Transport,
        path: &RelPath,
    ) -> Result<Verdict> {
        if !self.reads_content() {
            return Ok(Verdict::Same);
        }
        let (src_size, dst_size) = (current_size(src, path)?, current_size(dst, path)?);
        if self.opts.content {
            let same = hash::same_bytes(src, dst, path, src_size, dst_size)?;
            return Ok(verdict(same, Difference::Content));
        }
        let first = match self.opts.md5 {
            true => Difference::Md5,
            false => Difference::Blake3,
        };
        if src_size != dst_size {
            // Different lengths, different contents: no hash needs computing to know.
            return Ok(Verdict::Differs(first));
        }
        let want = hash::Want {
            md5: self.opts.md5,
            blake3: self.opts.blake3,
        };
        let a = hash::digests(src, path, Some(src_size), want)?;
        let b = hash::digests(dst, path, Some(dst_size), want)?;
        Ok(if a.md5 != b.md5 {
            Verdict::Differs(Difference::Md5)
        } else {
            verdict(a.blake3 == b.blake3, Difference::Blake3)
        })
    }
}

fn verdict(same: bool, reason: Difference) -> Verdict {
    match same {
        true => Verdict::Same,
        false => Verdict::Differs(reason),
    }
}

/// The size of `path` now, following links.
fn current_size(transport: &dyn Transport, path: &RelPath) -> Result<u64> {
    match transport.stat_follow(path)? {
        Some(entry) => Ok(entry.size),
        None => Err(Error::new(
            ErrorKind::NotFound,
            "vanished before its contents could be compared",
        )
        .with_path(hash::name(transport, path))),
    }
}

/// The BLAKE3 hash of a file's contents: memory-mapped and hashed on all cores for local
/// files of 16 MiB or more, streamed through a large buffer otherwise.
///
/// # Errors
/// Open and read failures, naming the file.
pub fn blake3_file(transport: &dyn Transport, path: &RelPath) -> Result<[u8; 32]> {
    hash::blake3(transport, path, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 11, item 2: what the sides can keep reaches the comparison.
    #[test]
    fn capabilities_narrow_what_times_say() {
        let entry = |size: u64, mtime_ns: i64| Entry {
            path: RelPath::new("f").unwrap(),
            kind: EntryKind::File,
            size,
            mtime_ns,
            mode: 0,
            owner: None,
            file_id: 0,
        };
        let exact = CompareOptions {
            mtime_tolerance_ms: 0,
            ..CompareOptions::default()
        };
        let full = crate::transport::MemoryTransport::new("c").capabilities();
        let cmp = |caps: Capabilities| {
            Comparator::new(&exact)
                .unwrap()
                .with_capabilities(&full, &caps)
        };
        let s = 1_000_000_000;
        // A destination without times: times say nothing, sizes do.
        let untimed = cmp(Capabilities {
            set_mtime: false,
            ..full
        });
        assert_eq!(
            untimed.by_metadata(&entry(5, 0), &entry(5, 999 * s)),
            Verdict::Same
        );
        assert_eq!(
            untimed.by_metadata(&entry(5, 0), &entry(6, 0)),
            Verdict::Differs(Difference::Size)
        );
        // Two-second times: closer than two seconds is the same time.
        let fat = cmp(Capabilities {
            mtime_resolution_ns: 2 * s as u64,
            ..full
        });
        assert_eq!(
            fat.by_metadata(&entry(5, 3 * s), &entry(5, 2 * s)),
            Verdict::Same
        );
        assert_eq!(
            fat.by_metadata(&entry(5, 4 * s), &entry(5, 2 * s)),
            Verdict::Differs(Difference::SourceNewer)
        );
        assert_eq!(
            cmp(full).by_metadata(&entry(5, 3 * s), &entry(5, 2 * s)),
            Verdict::Differs(Difference::SourceNewer)
        );
    }

    /// A fixed instant, in milliseconds since the epoch.
    const T0: i64 = 1_700_000_000_000;
    const HOUR_MS: i64 = 3_600_000;

    fn entry(kind: EntryKind, size: u64, mtime_ms: i64, mode: u32) -> Entry {
        Entry {
            path: RelPath::new("a/f").unwrap(),
            kind,
            size,
            mtime_ns: mtime_ms * 1_000_000,
            mode,
            owner: None,
            file_id: 0,
        }
    }

    fn file(size: u64, mtime_ms: i64) -> Entry {
        entry(EntryKind::File, size, mtime_ms, 0o644)
    }

    fn dir(mtime_ms: i64) -> Entry {
        entry(EntryKind::Dir, 0, mtime_ms, 0o755)
    }

    fn link(target_len: u64, mtime_ms: i64) -> Entry {
        entry(EntryKind::Symlink, target_len, mtime_ms, 0o777)
    }

    fn special() -> Entry {
        entry(EntryKind::Special, 0, T0, 0o644)
    }

    fn with_mode(mut e: Entry, mode: u32) -> Entry {
        e.mode = mode;
        e
    }

    fn with_size(mut e: Entry, size: u64) -> Entry {
        e.size = size;
        e
    }

    fn with_ns(mut e: Entry, delta_ns: i64) -> Entry {
        e.mtime_ns += delta_ns;
        e
    }

    /// The default options, changed by `f`.
    fn opts(f: impl FnOnce(&mut CompareOptions)) -> CompareOptions {
        let mut o = CompareOptions::default();
        f(&mut o);
        o
    }

    fn def() -> CompareOptions {
        CompareOptions::default()
    }

    mod metadata {
        use super::*;

        macro_rules! cases {
            ($($name:ident: $opts:expr, $src:expr, $dst:expr => $want:expr;)*) => {$(
                #[test]
                fn $name() {
                    let cmp = Comparator::new(&$opts).unwrap();
                    assert_eq!(cmp.by_metadata(&$src, &$dst), $want);
                }
            )*};
        }

        use Difference::*;
        use Verdict::{Differs, NeedsContent, Same};

        cases! {
            equal_files_are_same: def(), file(10, T0), file(10, T0) => Same;

            // Kind comes first, in every mode.
            file_vs_dir_is_kind: def(), file(0, T0), dir(T0) => Differs(Kind);
            file_vs_link_is_kind: def(), file(5, T0), link(5, T0) => Differs(Kind);
            dir_vs_link_is_kind: def(), dir(T0), link(5, T0) => Differs(Kind);
            kind_wins_over_new_only: opts(|o| o.mode = CompareMode::NewOnly),
                file(0, T0), dir(T0) => Differs(Kind);
            kind_wins_over_always: opts(|o| o.mode = CompareMode::Always),
                link(3, T0), file(3, T0) => Differs(Kind);
            kind_wins_over_size: def(), file(1, T0), with_size(link(2, T0), 2) => Differs(Kind);

            // Modes.
            new_only_keeps_different_files: opts(|o| o.mode = CompareMode::NewOnly),
                file(1, T0 + 60_000), file(2, T0) => Same;
            new_only_never_reads_content: opts(|o| { o.mode = CompareMode::NewOnly; o.content = true }),
                file(1, T0), file(1, T0) => Same;
            new_only_keeps_folders: opts(|o| { o.mode = CompareMode::NewOnly; o.permissions = true }),
                with_mode(dir(T0), 0o700), dir(T0) => Same;
            always_copies_equal_files: opts(|o| o.mode = CompareMode::Always),
                file(1, T0), file(1, T0) => Differs(Always);
            always_wins_over_size: opts(|o| o.mode = CompareMode::Always),
                file(1, T0), file(2, T0) => Differs(Always);
            always_copies_links: opts(|o| o.mode = CompareMode::Always),
                link(1, T0), link(1, T0) => Differs(Always);
            always_leaves_equal_folders_alone: opts(|o| o.mode = CompareMode::Always),
                dir(T0), dir(T0) => Same;
            always_still_compares_folder_permissions:
                opts(|o| { o.mode = CompareMode::Always; o.permissions = true }),
                with_mode(dir(T0), 0o700), dir(T0) => Differs(Permissions);
            special_files_are_never_copied: opts(|o| o.mode = CompareMode::Always),
                special(), with_size(special(), 9) => Same;

            // Size.
            size_differs: def(), file(1, T0), file(2, T0) => Differs(Size);
            size_off_ignores_sizes: opts(|o| o.size = false), file(1, T0), file(2, T0) => Same;
            size_before_mtime: def(), file(1, T0 + 60_000), file(2, T0) => Differs(Size);

            // Modification time and its tolerance (inclusive).
            mtime_within_tolerance: def(), file(1, T0 + 1_999), file(1, T0) => Same;
            mtime_at_tolerance: def(), file(1, T0 + 2_000), file(1, T0) => Same;
            mtime_beyond_tolerance: def(), file(1, T0 + 2_001), file(1, T0) => Differs(SourceNewer);
            mtime_one_ns_beyond_tolerance: def(),
                with_ns(file(1, T0 + 2_000), 1), file(1, T0) => Differs(SourceNewer);
            mtime_destination_at_tolerance: def(), file(1, T0), file(1, T0 + 2_000) => Same;
            mtime_destination_newer: def(), file(1, T0), file(1, T0 + 2_001) => Differs(DestinationNewer);
            mtime_zero_tolerance: opts(|o| o.mtime_tolerance_ms = 0),
                with_ns(file(1, T0), 1), file(1, T0) => Differs(SourceNewer);
            mtime_zero_tolerance_equal: opts(|o| o.mtime_tolerance_ms = 0),
                file(1, T0), file(1, T0) => Same;
            mtime_later_source_newer: opts(|o| o.mtime = MtimeRule::Later),
                file(1, T0 + 10_000), file(1, T0) => Differs(SourceNewer);
            mtime_later_ignores_destination_newer: opts(|o| o.mtime = MtimeRule::Later),
                file(1, T0), file(1, T0 + 10_000) => Same;
            mtime_later_at_tolerance: opts(|o| o.mtime = MtimeRule::Later),
                file(1, T0 + 2_000), file(1, T0) => Same;
            mtime_off_ignores_times: opts(|o| o.mtime = MtimeRule::Off),
                file(1, T0 + 10 * HOUR_MS), file(1, T0) => Same;
            mtime_extreme_times_do_not_overflow: def(),
                with_ns(file(1, 0), i64::MAX), with_ns(file(1, 0), i64::MIN) => Differs(SourceNewer);

            // Hour shifts.
            hour_shift_needs_the_option: def(), file(1, T0 + HOUR_MS), file(1, T0) => Differs(SourceNewer);
            hour_shift_exact: opts(|o| o.ignore_hour_shifts = vec![1]),
                file(1, T0 + HOUR_MS), file(1, T0) => Same;
            hour_shift_minus_tolerance: opts(|o| o.ignore_hour_shifts = vec![1]),
                file(1, T0 + HOUR_MS - 2_000), file(1, T0) => Same;
            hour_shift_plus_tolerance: opts(|o| o.ignore_hour_shifts = vec![1]),
                file(1, T0 + HOUR_MS + 2_000), file(1, T0) => Same;
            hour_shift_beyond_tolerance: opts(|o| o.ignore_hour_shifts = vec![1]),
                file(1, T0 + HOUR_MS + 2_001), file(1, T0) => Differs(SourceNewer);
            hour_shift_short_of_tolerance: opts(|o| o.ignore_hour_shifts = vec![1]),
                file(1, T0 + HOUR_MS - 2_001), file(1, T0) => Differs(SourceNewer);
            hour_shift_either_way: opts(|o| o.ignore_hour_shifts = vec![1]),
                file(1, T0), file(1, T0 + HOUR_MS) => Same;
            hour_shift_negative_means_the_same: opts(|o| o.ignore_hour_shifts = vec![-1]),
                file(1, T0 + HOUR_MS), file(1, T0) => Same;
            hour_shift_two_hours_with_one: opts(|o| o.ignore_hour_shifts = vec![1]),
                file(1, T0 + 2 * HOUR_MS), file(1, T0) => Differs(SourceNewer);
            hour_shift_two_hours_with_two: opts(|o| o.ignore_hour_shifts = vec![1, 2]),
                file(1, T0 + 2 * HOUR_MS), file(1, T0) => Same;
            hour_shift_half_hour: opts(|o| o.ignore_hour_shifts = vec![1]),
                file(1, T0 + HOUR_MS / 2), file(1, T0) => Differs(SourceNewer);
            hour_shift_with_later_rule: opts(|o| { o.mtime = MtimeRule::Later; o.ignore_hour_shifts = vec![1] }),
                file(1, T0 + HOUR_MS), file(1, T0) => Same;

            // Permissions.
            permissions_off_by_default: def(), with_mode(file(1, T0), 0o600), file(1, T0) => Same;
            permissions_differ: opts(|o| o.permissions = true),
                with_mode(file(1, T0), 0o600), file(1, T0) => Differs(Permissions);
            permissions_setuid_differs: opts(|o| o.permissions = true),
                with_mode(file(1, T0), 0o4644), file(1, T0) => Differs(Permissions);
            permissions_equal: opts(|o| o.permissions = true), file(1, T0), file(1, T0) => Same;
            permissions_ignore_type_bits: opts(|o| o.permissions = true),
                with_mode(file(1, T0), 0o100_644), file(1, T0) => Same;
            permissions_unknown_source: opts(|o| o.permissions = true),
                with_mode(file(1, T0), 0), file(1, T0) => Same;
            permissions_unknown_destination: opts(|o| o.permissions = true),
                file(1, T0), with_mode(file(1, T0), 0) => Same;
            permissions_after_mtime: opts(|o| o.permissions = true),
                with_mode(file(1, T0 + 10_000), 0o600), file(1, T0) => Differs(SourceNewer);

            // Attributes.
            attributes_off_by_default: def(), with_mode(file(1, T0), 0o444), file(1, T0) => Same;
            attributes_read_only_differs: opts(|o| o.attributes = true),
                with_mode(file(1, T0), 0o444), file(1, T0) => Differs(Attributes);
            attributes_ignore_other_bits: opts(|o| o.attributes = true),
                with_mode(file(1, T0), 0o600), file(1, T0) => Same;
            attributes_unknown_side: opts(|o| o.attributes = true),
                with_mode(file(1, T0), 0o444), with_mode(file(1, T0), 0) => Same;
            permissions_before_attributes: opts(|o| { o.permissions = true; o.attributes = true }),
                with_mode(file(1, T0), 0o444), file(1, T0) => Differs(Permissions);

            // Folders: only permissions and attributes.
            folders_ignore_size_and_mtime: def(),
                with_size(dir(T0 + 10 * HOUR_MS), 4096), dir(T0) => Same;
            folders_compare_permissions: opts(|o| o.permissions = true),
                with_mode(dir(T0), 0o700), dir(T0) => Differs(Permissions);
            folders_compare_attributes: opts(|o| o.attributes = true),
                with_mode(dir(T0), 0o555), dir(T0) => Differs(Attributes);
            folders_never_need_content: opts(|o| { o.content = true; o.md5 = true; o.blake3 = true }),
                dir(T0), dir(T0) => Same;

            // Links: target length and mtime, never contents or permissions.
            link_target_length: def(), link(5, T0), link(6, T0) => Differs(Size);
            link_mtime: def(), link(5, T0 + 10_000), link(5, T0) => Differs(SourceNewer);
            link_equal: def(), link(5, T0), link(5, T0) => Same;
            link_never_needs_content: opts(|o| { o.content = true; o.blake3 = true }),
                link(5, T0), link(5, T0) => Same;
            link_ignores_permissions: opts(|o| { o.permissions = true; o.attributes = true }),
                with_mode(link(5, T0), 0o555), link(5, T0) => Same;

            // Content criteria defer to by_content once metadata agree.
            md5_needs_content: opts(|o| o.md5 = true), file(1, T0), file(1, T0) => NeedsContent;
            blake3_needs_content: opts(|o| o.blake3 = true), file(1, T0), file(1, T0) => NeedsContent;
            content_needs_content: opts(|o| o.content = true), file(1, T0), file(1, T0) => NeedsContent;
            content_after_size: opts(|o| o.content = true), file(1, T0), file(2, T0) => Differs(Size);
            content_after_mtime: opts(|o| o.blake3 = true),
                file(1, T0), file(1, T0 + 10_000) => Differs(DestinationNewer);
            content_only: opts(|o| { o.content = true; o.size = false; o.mtime = MtimeRule::Off }),
                file(1, T0), file(2, T0 + 10_000) => NeedsContent;
        }
    }

    mod options {
        use super::*;

        macro_rules! shifts {
            ($($name:ident: $shifts:expr => $ok:expr;)*) => {$(
                #[test]
                fn $name() {
                    let result = Comparator::new(&opts(|o| o.ignore_hour_shifts = $shifts.to_vec()));
                    match result {
                        Ok(_) => assert!($ok, "accepted"),
                        Err(e) => {
                            assert!(!$ok, "rejected: {e}");
                            assert_eq!(e.kind(), ErrorKind::InvalidInput);
                        }
                    }
                }
            )*};
        }

        shifts! {
            shifts_none: [] => true;
            shifts_one_either_way: [1, -1] => true;
            shifts_whole_day: [24, -24] => true;
            shifts_zero: [0] => false;
            shifts_beyond_a_day: [25] => false;
            shifts_beyond_a_day_back: [1, -25] => false;
            shifts_extreme: [i32::MIN] => false;
        }

        #[test]
        fn comparators_are_shared_across_threads() {
            fn shared<T: Send + Sync>() {}
            shared::<Comparator>();
        }

        #[test]
        fn options_are_kebab_case_json() {
            let json = r#"{"mode":"new-only","mtime":"later","mtime-tolerance-ms":0,
                "ignore-hour-shifts":[1,-1],"size":false,"md5":true}"#;
            let o: CompareOptions = serde_json::from_str(json).unwrap();
            assert_eq!(o.mode, CompareMode::NewOnly);
            assert_eq!(o.mtime, MtimeRule::Later);
            assert_eq!(o.mtime_tolerance_ms, 0);
            assert_eq!(o.ignore_hour_shifts, [1, -1]);
            assert!(!o.size && o.md5 && !o.blake3);
            let back: CompareOptions =
                serde_json::from_str(&serde_json::to_string(&o).unwrap()).unwrap();
            assert_eq!(back, o);
            assert!(serde_json::from_str::<CompareOptions>(r#"{"mtime-tolerance":1}"#).is_err());
        }

        #[test]
        fn defaults_compare_size_and_mtime_within_two_seconds() {
            let o: CompareOptions = serde_json::from_str("{}").unwrap();
            assert_eq!(o, CompareOptions::default());
            assert_eq!(
                (o.mode, o.mtime, o.mtime_tolerance_ms),
                (CompareMode::Changed, MtimeRule::Differs, 2000)
            );
            assert!(o.size && !o.permissions && !o.attributes && !o.md5 && !o.blake3 && !o.content);
        }
    }

    mod content {
        use super::*;
        use crate::transport::LocalTransport;

        /// More than [`hash::MMAP_THRESHOLD`], and not a whole number of chunks.
        const LARGE: usize = 20 * (1 << 20) + 12_345;

        /// Deterministic bytes that are not one repeated pattern.
        fn pattern(len: usize) -> Vec<u8> {
            let mut x: u32 = 0x9e37_79b9;
            (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect()
        }

        fn flip(mut bytes: Vec<u8>, at: usize) -> Vec<u8> {
            bytes[at] ^= 0x01;
            bytes
        }

        /// A temporary source and destination, each holding `f` with the given contents.
        struct Pair {
            _dir: tempfile::TempDir,
            src: LocalTransport,
            dst: LocalTransport,
        }

        fn pair(src: &[u8], dst: &[u8]) -> Pair {
            let dir = tempfile::tempdir().unwrap();
            for (side, bytes) in [("src", src), ("dst", dst)] {
                std::fs::create_dir(dir.path().join(side)).unwrap();
                std::fs::write(dir.path().join(side).join("f"), bytes).unwrap();
            }
            Pair {
                src: LocalTransport::new(dir.path().join("src")),
                dst: LocalTransport::new(dir.path().join("dst")),
                _dir: dir,
            }
        }

        fn f() -> RelPath {
            RelPath::new("f").unwrap()
        }

        fn hex(bytes: &[u8]) -> String {
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        }

        fn content() -> CompareOptions {
            opts(|o| o.content = true)
        }

        fn md5() -> CompareOptions {
            opts(|o| o.md5 = true)
        }

        fn blake3() -> CompareOptions {
            opts(|o| o.blake3 = true)
        }

        macro_rules! cases {
            ($($name:ident: $opts:expr, $src:expr, $dst:expr => $want:expr;)*) => {$(
                #[test]
                fn $name() {
                    let (src, dst): (Vec<u8>, Vec<u8>) = ($src.into(), $dst.into());
                    let p = pair(&src, &dst);
                    let cmp = Comparator::new(&$opts).unwrap();
                    assert_eq!(cmp.by_content(&p.src, &p.dst, &f()).unwrap(), $want);
                }
            )*};
        }

        use Difference::*;
        use Verdict::{Differs, Same};

        cases! {
            bytes_equal: content(), b"hello", b"hello" => Same;
            bytes_differ_at_start: content(), b"xello", b"hello" => Differs(Content);
            bytes_differ_in_middle: content(), b"hexlo", b"hello" => Differs(Content);
            bytes_differ_at_end: content(), b"hellx", b"hello" => Differs(Content);
            bytes_differ_in_size: content(), b"hello!", b"hello" => Differs(Content);
            bytes_prefix_is_not_equal: content(), b"", b"hello" => Differs(Content);
            bytes_empty_files: content(), b"", b"" => Same;
            bytes_multi_chunk_equal: content(), pattern(3 * hash::CHUNK + 7), pattern(3 * hash::CHUNK + 7) => Same;
            bytes_multi_chunk_last_byte: content(),
                flip(pattern(3 * hash::CHUNK + 7), 3 * hash::CHUNK + 6), pattern(3 * hash::CHUNK + 7) => Differs(Content);
            bytes_chunk_boundary: content(),
                flip(pattern(2 * hash::CHUNK), hash::CHUNK), pattern(2 * hash::CHUNK) => Differs(Content);
            bytes_large_equal: content(), pattern(LARGE), pattern(LARGE) => Same;
            bytes_large_one_byte: content(), flip(pattern(LARGE), LARGE / 2), pattern(LARGE) => Differs(Content);
            bytes_win_over_hashes: opts(|o| { o.content = true; o.md5 = true; o.blake3 = true }),
                b"abc", b"abd" => Differs(Content);

            md5_equal: md5(), b"abc", b"abc" => Same;
            md5_differ: md5(), b"abc", b"abd" => Differs(Md5);
            md5_differ_in_size: md5(), b"abc", b"abcd" => Differs(Md5);
            md5_empty_files: md5(), b"", b"" => Same;
            md5_large_one_byte: md5(), flip(pattern(LARGE), 0), pattern(LARGE) => Differs(Md5);

            blake3_equal: blake3(), b"abc", b"abc" => Same;
            blake3_differ: blake3(), b"abc", b"abd" => Differs(Blake3);
            blake3_differ_in_size: blake3(), b"abcd", b"abc" => Differs(Blake3);
            blake3_empty_files: blake3(), b"", b"" => Same;
            blake3_large_equal: blake3(), pattern(LARGE), pattern(LARGE) => Same;
            blake3_large_one_byte: blake3(), flip(pattern(LARGE), LARGE - 1), pattern(LARGE) => Differs(Blake3);
            md5_before_blake3: opts(|o| { o.md5 = true; o.blake3 = true }), b"abc", b"abd" => Differs(Md5);
            both_hashes_equal: opts(|o| { o.md5 = true; o.blake3 = true }), b"abc", b"abc" => Same;

            no_content_criterion_reads_nothing: def(), b"abc", b"xyz!" => Same;
        }

        macro_rules! digests {
            ($($name:ident: $bytes:expr => $md5:expr, $blake3:expr;)*) => {$(
                #[test]
                fn $name() {
                    let p = pair($bytes, b"");
                    let want = hash::Want { md5: true, blake3: true };
                    let d = hash::digests(&p.src, &f(), None, want).unwrap();
                    assert_eq!(hex(&d.md5.unwrap()), $md5);
                    assert_eq!(hex(&d.blake3.unwrap()), $blake3);
                    assert_eq!(hex(&blake3_file(&p.src, &f()).unwrap()), $blake3);
                    let only = hash::Want { md5: false, blake3: true };
                    assert_eq!(hash::digests(&p.src, &f(), Some($bytes.len() as u64), only).unwrap().md5, None);
                }
            )*};
        }

        digests! {
            digests_of_abc: b"abc" =>
                "900150983cd24fb0d6963f7d28e17f72",
                "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85";
            digests_of_nothing: b"" =>
                "d41d8cd98f00b204e9800998ecf8427e",
                "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262";
        }

        macro_rules! blake3_files {
            ($($name:ident: $bytes:expr;)*) => {$(
                #[test]
                fn $name() {
                    let bytes: Vec<u8> = $bytes;
                    let p = pair(&bytes, b"");
                    let want = *::blake3::hash(&bytes).as_bytes();
                    assert_eq!(blake3_file(&p.src, &f()).unwrap(), want);
                    // The streamed path (taken with MD5) agrees with the memory-mapped one.
                    let both = hash::Want { md5: true, blake3: true };
                    let streamed = hash::digests(&p.src, &f(), None, both).unwrap();
                    assert_eq!(streamed.blake3, Some(want));
                }
            )*};
        }

        blake3_files! {
            blake3_file_small: pattern(1000);
            blake3_file_one_chunk: pattern(hash::CHUNK);
            blake3_file_large: pattern(LARGE);
        }

        #[test]
        fn vanished_files_are_not_found() {
            let p = pair(b"abc", b"abc");
            let gone = RelPath::new("gone").unwrap();
            let err = blake3_file(&p.src, &gone).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotFound);
            std::fs::remove_file(p.dst.root().join("f")).unwrap();
            for o in [content(), md5(), blake3()] {
                let cmp = Comparator::new(&o).unwrap();
                let err = cmp.by_content(&p.src, &p.dst, &f()).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::NotFound, "{o:?}");
                assert_eq!(err.path(), Some(p.dst.root().join("f").as_path()));
            }
        }
    }
}
