//! `ferry copy|mirror|move SRC DST` and `ferry sync PATH1 PATH2`: a profile built in memory
//! from flags.

use clap::{Args, ValueEnum};
use ferrysync::{
    ByteSize, CompareMode, CompareOptions, ConflictLoser, ConflictPolicy, DeleteLimit,
    DeletionMode, Error, ErrorKind, Folder, IfUnavailable, MtimeRule, Operation, Profile, Result,
    StateDb, SymlinkMode,
};

use crate::run::{self, Settings};
use crate::RunFlags;

/// The arguments of a one-off one-way run.
#[derive(Debug, Clone, Args)]
pub struct OneOff {
    /// Source folder
    src: String,
    /// Destination folder
    dst: String,
    #[command(flatten)]
    options: Options,
}

/// The flags every one-off run takes: how to run, copy, filter and compare.
#[derive(Debug, Clone, Args)]
pub struct Options {
    #[command(flatten)]
    run: RunFlags,

    /// Worker threads (default: picked by the engine)
    #[arg(long, value_name = "N", help_heading = "Copying")]
    threads: Option<usize>,
    /// Re-read each copy and compare its checksum with the source's
    #[arg(long, help_heading = "Copying")]
    verify: bool,
    /// Write files in place instead of to a temporary name renamed into place
    #[arg(long, help_heading = "Copying")]
    copy_directly: bool,
    /// Symbolic links in the source
    #[arg(long, value_enum, value_name = "MODE", help_heading = "Copying")]
    symlinks: Option<Symlinks>,
    /// Where files the run deletes go
    #[arg(long, value_enum, value_name = "WHERE", help_heading = "Copying")]
    delete_to: Option<DeleteTo>,
    /// Keep this many earlier versions of each replaced file
    #[arg(long, value_name = "N", help_heading = "Copying")]
    keep_versions: Option<u32>,
    /// Stop before changing anything when the run would delete more than N entries or N% of
    /// a side (default 50%)
    #[arg(long, value_name = "N|N%", value_parser = parse_limit, help_heading = "Copying")]
    max_delete: Option<DeleteLimit>,

    /// Only files matching GLOB (repeatable)
    #[arg(long, value_name = "GLOB", help_heading = "Filters")]
    include: Vec<String>,
    /// Leave out files matching GLOB (repeatable)
    #[arg(long, value_name = "GLOB", help_heading = "Filters")]
    exclude: Vec<String>,
    /// Leave out folders matching GLOB, with everything below them (repeatable)
    #[arg(long, value_name = "GLOB", help_heading = "Filters")]
    exclude_dir: Vec<String>,
    /// Leave out paths (relative, `/`-separated) matching RE (repeatable)
    #[arg(long, value_name = "RE", help_heading = "Filters")]
    ignore_regex: Vec<String>,
    /// Leave out hidden files and folders
    #[arg(long, help_heading = "Filters")]
    exclude_hidden: bool,
    /// Only files larger than SIZE ("10 MB", "512 KiB", or bytes)
    #[arg(long, value_name = "SIZE", value_parser = parse_size, help_heading = "Filters")]
    larger_than: Option<ByteSize>,
    /// Only files smaller than SIZE
    #[arg(long, value_name = "SIZE", value_parser = parse_size, help_heading = "Filters")]
    smaller_than: Option<ByteSize>,
    /// Masks match case-sensitively
    #[arg(long, help_heading = "Filters")]
    case_sensitive: bool,
    /// Copy empty folders, and folders whose files are all filtered out (the default)
    #[arg(long, overrides_with = "no_empty_dirs", help_heading = "Filters")]
    empty_dirs: bool,
    /// Leave out empty folders, and folders whose files are all filtered out
    #[arg(long, overrides_with = "empty_dirs", help_heading = "Filters")]
    no_empty_dirs: bool,

    /// When two files differ (repeatable; any criterion that finds a difference copies).
    /// Default: mtime-differs and size
    #[arg(long, value_enum, value_name = "RULE", help_heading = "Comparison")]
    compare: Vec<Compare>,
    /// Modification times closer than N milliseconds are equal (default 2000)
    #[arg(long, value_name = "N", help_heading = "Comparison")]
    tolerance_ms: Option<u64>,
}

/// The arguments of `ferry sync PATH1 PATH2`.
#[derive(Debug, Clone, Args)]
pub struct SyncArgs {
    /// One folder (the pair's source side)
    path1: String,
    /// The other folder (the pair's destination side)
    path2: String,
    #[command(flatten)]
    options: Options,
    /// How conflicts (both sides changed) are resolved: keep-both, newer, older, larger,
    /// smaller, source, destination, skip, or prompt (ask on the terminal)
    #[arg(long, value_name = "POLICY", value_parser = parse_policy, default_value = "keep-both",
          help_heading = "Two-way")]
    conflict: ConflictPolicy,
    /// The state database (default: $XDG_DATA_HOME/ferrysync/sync-HASH.sqlite, HASH made from both paths)
    #[arg(long, value_name = "FILE", help_heading = "Two-way")]
    state: Option<String>,
    /// Forget the state first: the run is a union of both sides that deletes nothing
    #[arg(long, help_heading = "Two-way")]
    resync: bool,
    /// How files that differ at a first run (or --resync) are resolved (default: --conflict)
    #[arg(long, value_name = "POLICY", value_parser = parse_policy, help_heading = "Two-way")]
    resync_mode: Option<ConflictPolicy>,
    /// Where the loser of a conflict the policy resolves goes: "versions" (its side's
    /// versions folder) or "rename" (renamed beside the winner with the conflict name, on
    /// both sides)
    #[arg(long, value_name = "WHERE", value_parser = parse_loser, default_value = "versions",
          help_heading = "Two-way")]
    conflict_loser: ConflictLoser,
    /// Remove the folders the run leaves empty (it deleted or moved away everything in them),
    /// on both sides
    #[arg(long, help_heading = "Two-way")]
    remove_empty_dirs: bool,
    /// Do not detect renames and moves (apply them as delete + copy)
    #[arg(long, help_heading = "Two-way")]
    no_renames: bool,
}

fn parse_loser(text: &str) -> std::result::Result<ConflictLoser, String> {
    text.parse()
}

fn parse_policy(text: &str) -> std::result::Result<ConflictPolicy, String> {
    text.parse()
}

impl SyncArgs {
    /// The two-way profile these arguments describe. The default state file is named after
    /// both paths, so every one-off pair has its own.
    ///
    /// # Errors
    /// No per-user data directory for the default state file.
    pub fn profile(&self) -> Result<Profile> {
        let mut p = self
            .options
            .profile(Operation::Synchronize, &self.path1, &self.path2);
        p.sync.conflict = self.conflict;
        p.sync.first_run = self.resync_mode;
        p.sync.detect_renames = !self.no_renames;
        p.sync.conflict_loser = self.conflict_loser;
        p.sync.remove_empty_dirs = self.remove_empty_dirs;
        p.sync.state = match &self.state {
            Some(s) => Some(s.clone()),
            None => {
                let abs = |s: &str| {
                    std::path::absolute(s)
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|_| s.to_string())
                };
                let key = format!("{}\0{}", abs(&self.path1), abs(&self.path2));
                let name = format!("sync-{}", &blake3::hash(key.as_bytes()).to_hex()[..16]);
                Some(StateDb::default_path(&name)?.display().to_string())
            }
        };
        Ok(p)
    }
}

/// Runs `ferry sync`.
///
/// # Errors
/// As [`run::run`].
pub fn run_sync(args: &SyncArgs) -> Result<u8> {
    let settings = Settings {
        resync: args.resync,
        ..args.options.settings()
    };
    let profile = args.profile()?;
    require_source(&profile)?;
    run::run(&profile, &settings)
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Symlinks {
    /// Leave links out
    Skip,
    /// Copy a link as a link
    Copy,
    /// Copy what a link points to
    Follow,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DeleteTo {
    /// Remove for good
    Erase,
    /// Move to the desktop trash
    Trash,
    /// Keep in the versions folder (needs --keep-versions)
    Versions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Compare {
    /// The source's modification time is later
    MtimeLater,
    /// The modification times differ either way
    MtimeDiffers,
    /// The sizes differ
    Size,
    /// The BLAKE3 checksums differ
    Checksum,
    /// The MD5 checksums differ
    Md5,
    /// The contents differ byte for byte
    Content,
    /// Copy new files only; never replace existing ones
    NewOnly,
    /// Copy every file, different or not
    Always,
}

/// `SIZE` through the library's own parser: the text as a JSON string (`"10 MB"`), or, when
/// it is a plain number, as a JSON number of bytes.
fn parse_size(text: &str) -> std::result::Result<ByteSize, String> {
    let as_string = serde_json::Value::String(text.to_string());
    serde_json::from_value(as_string).or_else(|e| {
        let number: serde_json::Value =
            serde_json::from_str(text.trim()).map_err(|_| e.to_string())?;
        serde_json::from_value(number).map_err(|e| e.to_string())
    })
}

fn parse_limit(text: &str) -> std::result::Result<DeleteLimit, String> {
    text.parse()
}

impl OneOff {
    /// The profile these arguments describe.
    pub fn profile(&self, operation: Operation) -> Profile {
        self.options.profile(operation, &self.src, &self.dst)
    }
}

impl Options {
    /// How to run.
    fn settings(&self) -> Settings {
        Settings {
            dry_run: self.run.dry_run,
            force: self.run.force,
            json: self.run.json,
            ..Settings::default()
        }
    }

    /// A one-folder profile from `src` to `dst` with these options. The folders were named
    /// just now: one that turns out unavailable aborts the run instead of being skipped.
    fn profile(&self, operation: Operation, src: &str, dst: &str) -> Profile {
        let mut folder = Folder::new("main", src, dst);
        folder.if_unavailable = IfUnavailable::Abort;
        let mut p = Profile::new("one-off", operation).with_folder(folder);
        if let Some(n) = self.threads {
            p.copy.threads = n;
        }
        p.copy.verify = self.verify;
        p.copy.copy_directly = self.copy_directly;
        if let Some(mode) = self.symlinks {
            p.copy.symlinks = match mode {
                Symlinks::Skip => SymlinkMode::Skip,
                Symlinks::Copy => SymlinkMode::Copy,
                Symlinks::Follow => SymlinkMode::Follow,
            };
        }
        if let Some(to) = self.delete_to {
            p.versions.deleted_files = match to {
                DeleteTo::Erase => DeletionMode::Erase,
                DeleteTo::Trash => DeletionMode::Trash,
                DeleteTo::Versions => DeletionMode::Versions,
            };
        }
        if let Some(keep) = self.keep_versions {
            p.versions.keep = keep;
        }
        if let Some(limit) = self.max_delete {
            p.guards.max_delete = Some(limit);
        }

        let f = &mut p.filters;
        f.include_files = self.include.clone();
        f.exclude_files = self.exclude.clone();
        f.exclude_folders = self.exclude_dir.clone();
        f.ignore_regex = self.ignore_regex.clone();
        f.exclude_hidden = self.exclude_hidden;
        f.larger_than = self.larger_than;
        f.smaller_than = self.smaller_than;
        f.case_sensitive = self.case_sensitive;
        if self.empty_dirs || self.no_empty_dirs {
            f.include_empty_folders = self.empty_dirs;
        }

        p.comparison = comparison(&self.compare, self.tolerance_ms);
        p
    }
}

/// Maps `--compare` rules onto [`CompareOptions`]: naming any criterion replaces the default
/// criteria (modification time and size); `new-only` and `always` only change the mode.
fn comparison(rules: &[Compare], tolerance_ms: Option<u64>) -> CompareOptions {
    let mut c = CompareOptions::default();
    let criteria = rules
        .iter()
        .any(|r| !matches!(r, Compare::NewOnly | Compare::Always));
    if criteria {
        c.mtime = MtimeRule::Off;
        c.size = false;
    }
    for rule in rules {
        match rule {
            Compare::MtimeLater => c.mtime = MtimeRule::Later,
            Compare::MtimeDiffers => c.mtime = MtimeRule::Differs,
            Compare::Size => c.size = true,
            Compare::Checksum => c.blake3 = true,
            Compare::Md5 => c.md5 = true,
            Compare::Content => c.content = true,
            Compare::NewOnly => c.mode = CompareMode::NewOnly,
            Compare::Always => c.mode = CompareMode::Always,
        }
    }
    if let Some(ms) = tolerance_ms {
        c.mtime_tolerance_ms = ms;
    }
    c
}

/// Runs the one-off profile.
///
/// # Errors
/// As [`run::run`].
pub fn run(operation: Operation, args: &OneOff) -> Result<u8> {
    let profile = args.profile(operation);
    require_source(&profile)?;
    run::run(&profile, &args.options.settings())
}

/// A source named on the command line must be a folder: a missing one (a typo, an unmounted
/// drive) or a file is bad input, never a run that "succeeds" having done nothing. The
/// destination may be missing; the run makes it.
///
/// # Errors
/// [`ErrorKind::NotFound`] for a missing source, [`ErrorKind::InvalidInput`] for one that is
/// not a folder or cannot be read (both exit 2).
fn require_source(profile: &Profile) -> Result<()> {
    for folder in &profile.folders {
        let src = folder.resolved_source()?;
        match std::fs::metadata(&src) {
            Ok(md) if md.is_dir() => {}
            Ok(_) => return Err(Error::invalid("the source is not a folder").with_path(&src)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(
                    Error::new(ErrorKind::NotFound, "the source folder does not exist")
                        .with_path(&src),
                )
            }
            Err(e) => {
                return Err(
                    Error::invalid(format!("the source cannot be read: {e}")).with_path(&src)
                )
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naming_a_criterion_replaces_the_defaults() {
        let c = comparison(&[Compare::Checksum], None);
        assert_eq!(c.mtime, MtimeRule::Off);
        assert!(!c.size && c.blake3);
        assert_eq!(c.mode, CompareMode::Changed);
    }

    #[test]
    fn modes_keep_the_default_criteria() {
        let c = comparison(&[Compare::NewOnly], Some(0));
        assert_eq!(c.mode, CompareMode::NewOnly);
        assert_eq!(c.mtime, MtimeRule::Differs);
        assert!(c.size);
        assert_eq!(c.mtime_tolerance_ms, 0);
    }

    #[test]
    fn sizes_go_through_the_library() {
        assert_eq!(parse_size("1024"), Ok(ByteSize(1024)));
        assert!(parse_size("lots").is_err());
    }

    #[test]
    fn delete_limits_take_counts_and_percentages() {
        assert_eq!(parse_limit("3"), Ok(DeleteLimit::Count(3)));
        assert_eq!(parse_limit("10%"), Ok(DeleteLimit::Percent(10)));
        assert!(parse_limit("101%").is_err());
    }
}
