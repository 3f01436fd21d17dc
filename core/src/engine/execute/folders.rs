//! Folder times and permissions, set last and deepest first, once nothing inside a folder
//! changes any more: the folders a run touched get the other side's, and the plan's folder
//! metadata updates complete here.

use std::collections::BTreeMap;

use super::Folder;
use crate::error::{Error, ErrorKind, Result};
use crate::path::RelPath;
use crate::plan::{Action, ActionKind};
use crate::vocab::{Entry, EntryKind, Meta, Side};

impl Folder<'_> {
    /// Gives every folder the run touched the times and permissions of the other side's
    /// folder, deepest first, and carries out the plan's folder metadata updates: each of
    /// those completes (or fails) here, once, as every action does.
    pub(super) fn restore_folder_metadata(&self) {
        // Each folder, with the update the plan asks for it, if any (else it was touched:
        // made, written into, emptied).
        let mut dirs: BTreeMap<(RelPath, Side), Option<&Action>> = BTreeMap::new();
        for a in &self.plan.actions {
            match a.kind {
                ActionKind::UpdateMeta if a.entry == EntryKind::Dir => {
                    dirs.insert((a.path.clone(), a.to), Some(a));
                }
                ActionKind::CreateDir if self.folder_metadata => {
                    dirs.entry((a.path.clone(), a.to)).or_default();
                }
                ActionKind::CreateDir
                | ActionKind::Copy
                | ActionKind::UpdateMeta
                | ActionKind::Delete
                | ActionKind::Rename => {}
                _ => continue,
            }
            if let Some(parent) = a.path.parent().filter(|_| self.folder_metadata) {
                dirs.entry((parent, a.to)).or_default();
            }
        }
        // One-way: the destination root takes the source root's times and permissions.
        if self.folder_metadata && !self.writes_source {
            dirs.entry((RelPath::root(), Side::Destination))
                .or_default();
        }
        // A failed run makes no folder more permissive: a folder in or below which something
        // failed takes the source's mode only when it grants nothing the folder lacks (the
        // source's would leave a read-only folder the run could not write into writable).
        let failed_at: Vec<(Side, RelPath)> = self
            .lock()
            .failed_at
            .iter()
            .map(|(side, path, _)| (*side, path.clone()))
            .collect();
        for ((dir, to), planned) in dirs.iter().rev() {
            let needed = self.folder_metadata_needed(dir, *to, *planned, &failed_at);
            let set = |meta: Option<Meta>| match meta {
                Some(meta) => self.side(*to).set_meta(dir, &meta),
                None => Ok(()),
            };
            match planned {
                Some(a) => match needed.and_then(set) {
                    Ok(()) => self.done(a, 0),
                    Err(e) => self.failed(a, &e),
                },
                // A folder only touched: gone or unreadable, it is left alone; a failure
                // to set what it needs is a warning.
                None => {
                    if let Err(e) = needed.map(set).unwrap_or(Ok(())) {
                        self.warn(
                            e.path().map(|p| p.display().to_string()),
                            e.kind(),
                            format!("folder times not set: {}", e.message()),
                        );
                    }
                }
            }
        }
    }

    /// What the folder `dir` on side `to` needs to get the times and permissions of the
    /// other side's folder; `None` when it has them. For an update the plan asks for
    /// (`planned`) whose other folder is gone since (a move removed the source folder it
    /// emptied), the time the plan saw.
    ///
    /// # Errors
    /// Either folder missing (or no folder), failures looking at them.
    fn folder_metadata_needed(
        &self,
        dir: &RelPath,
        to: Side,
        planned: Option<&Action>,
        failed_at: &[(Side, RelPath)],
    ) -> Result<Option<Meta>> {
        let folder_on = |side: Side, found: Option<Entry>| {
            found.filter(|e| e.kind == EntryKind::Dir).ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("no folder here on the {} any more", side.name()),
                )
                .with_path(self.local(side, dir))
            })
        };
        let now = folder_on(to, self.side(to).stat(dir)?)?;
        let seen = planned.and_then(|a| match to {
            Side::Source => a.destination,
            Side::Destination => a.source,
        });
        let mut meta = match (self.side(to.other()).stat_follow(dir)?, seen) {
            (None, Some(seen)) => Meta {
                mtime_ns: seen.mtime_ns,
                ..Meta::default()
            },
            (found, _) => self.meta_of(&folder_on(to.other(), found)?),
        };
        let loosens = meta.mode.is_some_and(|m| m & !now.mode != 0);
        if loosens
            && failed_at
                .iter()
                .any(|(side, path)| *side == to && path.starts_with(dir))
        {
            meta.mode = None;
        }
        let same_mode = meta.mode.is_none_or(|m| m == now.mode);
        Ok((now.mtime_ns != meta.mtime_ns || !same_mode).then_some(meta))
    }
}
