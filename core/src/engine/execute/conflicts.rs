//! Two-way steps: what the state learns of each completed action, renames, and conflicts
//! resolved as the profile (or the run's prompt) says, the loser always kept.

use super::files::version_not_kept;
use super::Folder;
use crate::engine::report::ConflictOutcome;
use crate::engine::two_way::base_hash;
use crate::error::{Error, ErrorKind, Result};
use crate::path::RelPath;
use crate::plan::{Action, ActionKind, ConflictKind, Reason, Resolution};
use crate::profile::{ConflictLoser, ConflictPolicy, SymlinkMode};
use crate::state::{BaseEntry, BaseWriter};
use crate::versions::Versions;
use crate::vocab::{EntryKind, Side};

impl Folder<'_> {
    /// Tells the state what a completed action left on both sides.
    pub(super) fn record(&self, state: &BaseWriter, a: &Action) -> Result<()> {
        match (a.kind, a.reason) {
            // A folder left empty is forgotten once it is gone from both sides.
            (ActionKind::Delete, Reason::Emptied)
                if self.side(a.to.other()).stat(&a.path)?.is_some() =>
            {
                Ok(())
            }
            (ActionKind::Delete, _) | (ActionKind::Record, Reason::Forgotten) => {
                state.forget(&a.path)
            }
            (ActionKind::Rename, _) => {
                if let Some(from) = &a.from {
                    state.forget(from)?;
                }
                self.record_path(state, &a.path)
            }
            (ActionKind::Conflict, _) => Ok(()),
            (ActionKind::Record, _) => self.record_as_planned(state, a),
            _ => self.record_path(state, &a.path),
        }
    }

    /// Records what a record action found equal, unless either side changed since the scan:
    /// the next run sees that change.
    fn record_as_planned(&self, state: &BaseWriter, a: &Action) -> Result<()> {
        let follow = self.profile.copy.symlinks == SymlinkMode::Follow;
        if a.entry != EntryKind::Dir {
            for (side, planned) in [(Side::Source, a.source), (Side::Destination, a.destination)] {
                let t = self.side(side);
                // As the scan listed it.
                let now = if follow {
                    t.stat_follow(&a.path)?
                } else {
                    t.stat(&a.path)?
                };
                let same = match (planned, &now) {
                    (Some(p), Some(n)) => (p.size, p.mtime_ns) == (n.size, n.mtime_ns),
                    (None, _) => true,
                    (Some(_), None) => false,
                };
                if !same {
                    return Ok(());
                }
            }
        }
        self.record_path(state, &a.path)
    }

    /// Records `path` when both sides now hold equal entries there (with its content hash
    /// when the profile compares contents).
    fn record_path(&self, state: &BaseWriter, path: &RelPath) -> Result<()> {
        let src = self.side(Side::Source).stat(path)?;
        let dst = self.side(Side::Destination).stat(path)?;
        if let (Some(s), Some(d)) = (src, dst) {
            if s.kind == d.kind && (s.kind == EntryKind::Dir || s.size == d.size) {
                let hash = base_hash(self.profile, self.side(Side::Source), &s);
                return state.put(BaseEntry::from_entries(&s, &d, hash));
            }
        }
        Ok(())
    }

    /// Renames `a.from` to `a.path` on side `a.to`, as the other side did.
    pub(super) fn rename(&self, a: &Action) -> Result<u64> {
        let from = a
            .from
            .as_ref()
            .ok_or_else(|| Error::invalid("a rename without its old path"))?;
        let side = self.side(a.to);
        if side.stat(&a.path)?.is_some() && !same_when_folded(from, &a.path) {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                "cannot rename: the new name is taken since the scan",
            )
            .with_path(self.local(a.to, &a.path)));
        }
        self.with_parent(a.to, &a.path, || side.rename(from, &a.path))?;
        Ok(0)
    }

    /// Carries out a two-way conflict's resolution; a prompt asks the run's [`Prompt`](crate::Prompt).
    pub(super) fn resolve(&self, a: &Action, resolution: Resolution) {
        let resolution = match resolution {
            Resolution::Prompt => {
                let policy = self
                    .opts
                    .prompt
                    .as_ref()
                    .and_then(|p| p.resolve_conflict(&self.plan.folder, a))
                    .unwrap_or(ConflictPolicy::KeepBoth);
                match Resolution::for_policy(policy, a.source, a.destination) {
                    Resolution::Prompt => Resolution::KeepBoth(newer_side(a)),
                    r => r,
                }
            }
            r => r,
        };
        let mut renamed = None;
        let resolved = match resolution {
            Resolution::Skip | Resolution::Prompt => {
                self.warn(
                    self.shown(a.to, &a.path),
                    ErrorKind::AlreadyExists,
                    "conflict left alone: both sides changed".into(),
                );
                self.lock().done.conflicts += 1;
                true
            }
            Resolution::Wins(winner) => self.step(a, || {
                let (bytes, copy) = self.loser_kept(a, winner)?;
                renamed = copy;
                Ok(bytes)
            }),
            Resolution::KeepBoth(newer) => self.step(a, || {
                let (bytes, copy) = self.keep_both(a, newer)?;
                renamed = Some(copy);
                Ok(bytes)
            }),
        };
        let kind = match a.reason {
            Reason::Conflict(kind) => kind,
            _ => ConflictKind::BothChanged,
        };
        self.lock().conflicts.push(ConflictOutcome {
            folder: self.plan.folder.clone(),
            path: a.path.clone(),
            kind,
            source: a.source,
            destination: a.destination,
            resolution: if resolution == Resolution::Prompt {
                Resolution::Skip
            } else {
                resolution
            },
            conflict_copy: renamed,
            resolved,
        });
    }

    /// The winner's version replaces the loser's, which the profile's `conflict-loser` keeps:
    /// in its side's versions folder, or renamed beside the winner on both sides (then its
    /// name is returned).
    fn loser_kept(&self, a: &Action, winner: Side) -> Result<(u64, Option<RelPath>)> {
        let loser = winner.other();
        if self.profile.sync.conflict_loser == ConflictLoser::Rename {
            if let Some(old) = self.side(loser).stat(&a.path)? {
                if old.kind != EntryKind::Dir {
                    let (bytes, copy) = self.keep_both(a, winner)?;
                    return Ok((bytes, Some(copy)));
                }
            }
        }
        self.loser_goes(a, winner).map(|bytes| (bytes, None))
    }

    /// The winner's version replaces the loser's, which goes to its side's versions folder
    /// (also when the winner deleted the path).
    fn loser_goes(&self, a: &Action, winner: Side) -> Result<u64> {
        let loser = winner.other();
        let versions = self.conflict_versions(loser)?;
        if let Some(old) = self.side(loser).stat(&a.path)? {
            if old.kind == EntryKind::Dir {
                return Err(Error::invalid("a folder cannot lose a conflict")
                    .with_path(self.local(loser, &a.path)));
            }
            versions
                .preserve(&a.path, self.now_ns)
                .map_err(|e| version_not_kept(e, self.local(loser, &a.path)))?;
        }
        let bytes = match self.side(winner).stat(&a.path)? {
            Some(w) if w.kind == EntryKind::Dir => {
                self.side(loser).create_dir_all(&a.path)?;
                0
            }
            Some(w) => self.copy(&Action {
                kind: ActionKind::Copy,
                to: loser,
                entry: w.kind,
                source: None,
                destination: None,
                ..a.clone()
            })?,
            None => 0,
        };
        if let Some(state) = self.state {
            if self.side(winner).stat(&a.path)?.is_some() {
                self.record_path(state, &a.path)?;
            } else {
                state.forget(&a.path)?;
            }
        }
        Ok(bytes)
    }

    /// Keeps both versions: the older (or the non-folder, or the loser of a policy) is renamed
    /// with the conflict name on its side and copied to the other; the version on side
    /// `newer` keeps the name on both sides.
    fn keep_both(&self, a: &Action, newer: Side) -> Result<(u64, RelPath)> {
        let older = newer.other();
        let Some(old) = self.side(older).stat(&a.path)? else {
            // Nothing to keep on that side (deleted meanwhile): the newer simply wins.
            return self.loser_goes(a, newer).map(|b| (b, a.path.clone()));
        };
        let renamed = self.rename_to_conflict_name(older, &a.path)?;
        let copy_to = |to: Side, path: &RelPath, kind: EntryKind| {
            self.copy(&Action {
                kind: ActionKind::Copy,
                path: path.clone(),
                to,
                entry: kind,
                source: None,
                destination: None,
                reason: Reason::New,
                from: None,
                resolution: None,
                size: 0,
            })
        };
        let mut bytes = copy_to(newer, &renamed, old.kind)?;
        let kept = self.side(newer).stat(&a.path)?;
        match &kept {
            Some(n) if n.kind == EntryKind::Dir => self.side(older).create_dir_all(&a.path)?,
            Some(n) => bytes += copy_to(older, &a.path, n.kind)?,
            None => {}
        }
        if let Some(state) = self.state {
            self.record_path(state, &renamed)?;
            match kept {
                Some(_) => self.record_path(state, &a.path)?,
                // A deletion won: the name is gone from both sides.
                None => state.forget(&a.path)?,
            }
        }
        Ok((bytes, renamed))
    }

    /// The versions folder conflict losers go to on `side`: the profile's, keeping every
    /// version when the profile keeps none (a loser is never destroyed).
    fn conflict_versions(&self, side: Side) -> Result<Versions> {
        if let Some(v) = &self.versions[side as usize] {
            if self.profile.versions.enabled() {
                return Ok(v.clone());
            }
        }
        let mut opts = self.profile.versions.clone();
        opts.keep = u32::MAX;
        Versions::new(self.sides[side as usize].clone(), &opts)
    }

    /// A free name for the older version of a conflict, from the profile's template.
    /// Renames the older version of a conflict on `side` to a free name from the profile's
    /// template, never replacing anything (a name taken meanwhile, by anyone, is passed
    /// over): `NAME`, then `NAME 2`, `NAME 3`, … with the number before the extension when
    /// the template ends with `{ext}`. A name the other side holds is passed over too.
    fn rename_to_conflict_name(&self, side: Side, path: &RelPath) -> Result<RelPath> {
        let name = String::from_utf8_lossy(path.file_name()).into_owned();
        let (stem, ext) = match name.rfind('.') {
            Some(i) if i > 0 => (&name[..i], &name[i..]),
            _ => (name.as_str(), ""),
        };
        let now = chrono::Local::now();
        let template = &self.profile.sync.conflict_name;
        // The number goes before the extension where the template ends with it.
        let (template, tail) = match template.strip_suffix("{ext}") {
            Some(head) => (head, ext),
            None => (template.as_str(), ""),
        };
        let base = template
            .replace("{stem}", stem)
            .replace("{ext}", ext)
            .replace("{name}", &name)
            .replace("{date}", &now.format("%Y-%m-%d").to_string())
            .replace("{time}", &now.format("%H%M%S").to_string())
            .replace("{host}", &host_name());
        for n in 1..1000 {
            let candidate = if n == 1 {
                format!("{base}{tail}")
            } else {
                format!("{base} {n}{tail}")
            };
            let rel = match path.parent() {
                Some(p) if !p.is_root() => RelPath::new(format!("{}/{candidate}", p.display()))?,
                _ => RelPath::new(&candidate)?,
            };
            if self.side(side.other()).stat(&rel)?.is_some() {
                continue;
            }
            match self.side(side).rename_no_replace(path, &rel) {
                Ok(()) => return Ok(rel),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        Err(
            Error::new(ErrorKind::AlreadyExists, "no free conflict name")
                .with_path(self.local(side, path)),
        )
    }
}

/// Whether two paths differ only by letter case (a case-only rename).
fn same_when_folded(a: &RelPath, b: &RelPath) -> bool {
    String::from_utf8_lossy(a.as_bytes()).to_lowercase()
        == String::from_utf8_lossy(b.as_bytes()).to_lowercase()
}

/// This machine's name, for conflict copies (`uname`'s node name, as `hostname` prints it).
fn host_name() -> String {
    let uname = rustix::system::uname();
    let name = String::from_utf8_lossy(uname.nodename().to_bytes());
    match name.trim() {
        "" => "localhost".into(),
        name => name.into(),
    }
}

/// The side whose version of a conflict is newer (the source on a tie).
fn newer_side(a: &Action) -> Side {
    match Resolution::for_policy(ConflictPolicy::Newer, a.source, a.destination) {
        Resolution::Wins(side) => side,
        _ => Side::Source,
    }
}

#[cfg(test)]
mod tests {
    /// Issue 11, item 9: the name conflict copies carry is the machine's, as `uname -n`
    /// prints it (read through rustix, not from /proc).
    #[test]
    fn the_host_name_is_the_machines() {
        let out = std::process::Command::new("uname")
            .arg("-n")
            .output()
            .unwrap();
        assert_eq!(
            super::host_name(),
            String::from_utf8_lossy(&out.stdout).trim()
        );
    }
}
