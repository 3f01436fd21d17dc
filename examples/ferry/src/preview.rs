//! The preview of a plan and the text of a report, as people read them.

use std::fmt::Write;

use ferrysync::transport::EntryKind;
use ferrysync::{
    Action, ConflictKind, Difference, Group, Plan, Reason, Report, Resolution, RunStatus, Summary,
};
use indicatif::HumanBytes;

const RESET: &str = "\x1b[0m";

/// The groups of the preview, in order: title and ANSI style.
const GROUPS: [(Group, &str, &str); 4] = [
    (Group::New, "New", "\x1b[34m"),
    (Group::Modified, "Modified", "\x1b[32m"),
    (Group::Deleted, "Deleted", "\x1b[9m"),
    (Group::Conflict, "Conflicts", "\x1b[31m"),
];

/// The preview: per folder, the actions grouped as [`Action::group`] groups them, each with
/// its path, size and reason; then the totals. "Nothing to do." when the plan is empty.
pub fn plan(plan: &Plan, color: bool) -> String {
    let mut out = String::new();
    for folder in &plan.folders {
        let _ = writeln!(
            out,
            "[{}] {} -> {}",
            folder.folder, folder.source, folder.destination
        );
        if let Some(why) = &folder.skipped {
            let _ = writeln!(out, "  skipped: {why}");
        }
        for w in &folder.warnings {
            let _ = writeln!(out, "  warning: {w}");
        }
        let width = folder
            .actions
            .iter()
            .map(|a| path(a).chars().count())
            .max()
            .unwrap_or(0)
            .min(60);
        for (group, title, style) in GROUPS {
            let actions: Vec<&Action> = folder
                .actions
                .iter()
                .filter(|a| a.group() == group)
                .collect();
            if actions.is_empty() {
                continue;
            }
            let _ = writeln!(out, "  {title} ({})", actions.len());
            for a in actions {
                let line = format!("{:<width$}  {:>10}  {}", path(a), size(a), reason(a));
                if color {
                    let _ = writeln!(out, "    {style}{line}{RESET}");
                } else {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
    }
    let summary = plan.summary();
    if summary.is_empty() {
        out.push_str("Nothing to do.\n");
    } else {
        let _ = writeln!(out, "Summary: {}", totals(&summary));
    }
    out
}

fn path(a: &Action) -> String {
    let mut p = a.path.display().into_owned();
    if a.entry == EntryKind::Dir {
        p.push('/');
    }
    p
}

fn size(a: &Action) -> String {
    match a.entry {
        EntryKind::Dir => String::new(),
        _ => HumanBytes(a.size).to_string(),
    }
}

fn reason(a: &Action) -> String {
    match a.reason {
        Reason::New => "new".into(),
        Reason::Changed(d) => format!("changed: {}", difference(d)),
        Reason::Unmatched => "not in the source".into(),
        Reason::Replaced => "replaced by another kind of entry".into(),
        Reason::Metadata => "times or permissions differ".into(),
        Reason::Moved => "moved: deleted from the source".into(),
        Reason::KindDiffers => "a folder on one side, not on the other".into(),
        Reason::Deleted => format!("deleted on the {}", a.to.other().name()),
        Reason::Restored => format!(
            "deleted on the {}, changed on the {}: restored",
            a.to.name(),
            a.to.other().name()
        ),
        Reason::Renamed => match &a.from {
            Some(from) => format!("renamed from {}", from.display()),
            None => "renamed".into(),
        },
        Reason::Identical => "equal on both sides".into(),
        Reason::Forgotten => "gone from both sides".into(),
        Reason::Conflict(k) => conflict(k, a.resolution),
    }
}

fn conflict(k: ConflictKind, r: Option<Resolution>) -> String {
    let what = match k {
        ConflictKind::BothChanged => "changed on both sides",
        ConflictKind::BothCreated => "created on both sides",
        ConflictKind::ChangedDeleted => "changed on one side, deleted on the other",
        ConflictKind::KindChanged => "changed kind",
    };
    let how = match r {
        Some(Resolution::KeepBoth(newer)) => format!("keep both ({} is newer)", newer.name()),
        Some(Resolution::Wins(side)) => format!("{} wins", side.name()),
        Some(Resolution::Skip) => "left alone".into(),
        Some(Resolution::Prompt) => "ask".into(),
        None => "left alone".into(),
    };
    format!("{what}: {how}")
}

fn difference(d: Difference) -> &'static str {
    match d {
        Difference::SourceNewer => "source is newer",
        Difference::DestinationNewer => "destination is newer",
        Difference::Size => "sizes differ",
        Difference::Permissions => "permissions differ",
        Difference::Attributes => "attributes differ",
        Difference::Md5 => "MD5 checksums differ",
        Difference::Blake3 => "checksums differ",
        Difference::Content => "contents differ",
        Difference::Kind => "kinds differ",
        Difference::Always => "copy always",
    }
}

/// The non-zero counts of a summary, then the bytes.
pub fn totals(s: &Summary) -> String {
    let counts = [
        (s.new_dirs, "new folder", "new folders"),
        (s.new_files, "new file", "new files"),
        (s.modified_files, "modified file", "modified files"),
        (s.metadata_updates, "metadata update", "metadata updates"),
        (s.deletions, "deletion", "deletions"),
        (s.source_deletions, "source deletion", "source deletions"),
        (s.conflicts, "conflict", "conflicts"),
    ];
    let mut parts: Vec<String> = counts
        .iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, one, many)| format!("{n} {}", if *n == 1 { one } else { many }))
        .collect();
    if parts.is_empty() {
        parts.push("nothing".into());
    }
    format!(
        "{}; {} to copy, {} to delete",
        parts.join(", "),
        HumanBytes(s.bytes_to_copy),
        HumanBytes(s.bytes_to_delete)
    )
}

/// The report of a run: how it ended, what was done, then skipped folders, warnings, errors.
pub fn report(r: &Report) -> String {
    let mut out = String::new();
    let how = match r.status {
        RunStatus::Ok => "Done".to_string(),
        RunStatus::Errors => format!("Finished with {} failed", r.failed),
        RunStatus::Cancelled => "Cancelled".to_string(),
    };
    let _ = writeln!(
        out,
        "{how} in {:.2} s: {}; {} written.",
        r.duration.as_secs_f64(),
        done(&r.done),
        HumanBytes(r.bytes_written)
    );
    for (title, problems) in [
        ("Skipped folders", &r.skipped_folders),
        ("Warnings", &r.warnings),
        ("Errors", &r.errors),
    ] {
        if problems.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{title} ({}):", problems.len());
        for p in problems {
            let _ = writeln!(out, "  {p}");
        }
    }
    out
}

fn done(s: &Summary) -> String {
    let counts = [
        (s.new_dirs, "folder created", "folders created"),
        (s.new_files, "file copied", "files copied"),
        (s.modified_files, "file replaced", "files replaced"),
        (s.metadata_updates, "entry updated", "entries updated"),
        (s.deletions, "entry deleted", "entries deleted"),
        (
            s.source_deletions,
            "source file deleted",
            "source files deleted",
        ),
        (s.conflicts, "conflict left alone", "conflicts left alone"),
    ];
    let parts: Vec<String> = counts
        .iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, one, many)| format!("{n} {}", if *n == 1 { one } else { many }))
        .collect();
    if parts.is_empty() {
        "nothing changed".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrysync::{ActionKind, FolderPlan, Operation, RelPath};

    fn action(kind: ActionKind, path: &str, reason: Reason) -> Action {
        Action {
            kind,
            path: RelPath::new(path).unwrap(),
            entry: EntryKind::File,
            reason,
            size: 2048,
            source: None,
            destination: None,
            to: ferrysync::Side::Destination,
            from: None,
            resolution: None,
        }
    }

    fn sample() -> Plan {
        let actions = vec![
            action(ActionKind::Copy, "a.txt", Reason::New),
            action(ActionKind::Copy, "b.txt", Reason::Changed(Difference::Size)),
            action(ActionKind::Delete, "c.txt", Reason::Unmatched),
            action(ActionKind::Conflict, "d", Reason::KindDiffers),
        ];
        Plan {
            profile: "p".into(),
            operation: Operation::Mirror,
            folders: vec![FolderPlan::new("main", "/s".into(), "/d".into(), actions)],
        }
    }

    #[test]
    fn the_preview_groups_actions_in_order() {
        let text = plan(&sample(), false);
        let new = text.find("New (1)").unwrap();
        let modified = text.find("Modified (1)").unwrap();
        let deleted = text.find("Deleted (1)").unwrap();
        let conflicts = text.find("Conflicts (1)").unwrap();
        assert!(
            new < modified && modified < deleted && deleted < conflicts,
            "{text}"
        );
        assert!(text.contains("changed: sizes differ"));
        assert!(text.contains("2.00 KiB"));
        assert!(!text.contains('\x1b'));
        assert!(text.contains("Summary: 1 new file, 1 modified file, 1 deletion, 1 conflict"));
    }

    #[test]
    fn deletions_are_struck_through_in_color() {
        let text = plan(&sample(), true);
        let line = text.lines().find(|l| l.contains("c.txt")).unwrap();
        assert!(
            line.contains("\x1b[9m") && line.ends_with(RESET),
            "{line:?}"
        );
        let line = text.lines().find(|l| l.contains("a.txt")).unwrap();
        assert!(line.contains("\x1b[34m"));
    }

    #[test]
    fn an_empty_plan_has_nothing_to_do() {
        let mut p = sample();
        p.folders[0] = FolderPlan::new("main", "/s".into(), "/d".into(), Vec::new());
        assert!(plan(&p, false).ends_with("Nothing to do.\n"));
    }
}
