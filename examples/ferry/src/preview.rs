//! The preview of a plan and the text of a report, as people read them.

use std::fmt::Write;

use anstyle::{AnsiColor, Effects, Style};
use ferrysync::transport::EntryKind;
use ferrysync::{
    Action, ActionKind, ConflictKind, ConflictOutcome, Difference, FolderPlan, Group, Operation,
    Plan, Problem, Reason, Report, Resolution, RunStatus, Side, Summary,
};
use indicatif::HumanBytes;

use crate::escape::escape;
use crate::prompt::{newer_side, stamp_text};

const BLUE: Style = AnsiColor::Blue.on_default();
const GREEN: Style = AnsiColor::Green.on_default();
const STRUCK: Style = Style::new().effects(Effects::STRIKETHROUGH);
const RED: Style = AnsiColor::Red.on_default();
const YELLOW: Style = AnsiColor::Yellow.on_default();

/// The groups of the preview, in order: title and ANSI style.
const GROUPS: [(Group, &str, Style); 4] = [
    (Group::New, "New", BLUE),
    (Group::Modified, "Modified", GREEN),
    (Group::Deleted, "Deleted", STRUCK),
    (Group::Conflict, "Conflicts", RED),
];

/// The preview: per folder, the actions grouped as [`Action::group`] groups them (two-way
/// folders: by direction, see [`two_way_folder`]), each with its path, size and reason; then
/// the totals. "Nothing to do." when the plan is empty.
pub fn plan(plan: &Plan, color: bool) -> String {
    let mut out = String::new();
    let two_way = plan.operation == Operation::Synchronize;
    if plan.disabled {
        let _ = writeln!(
            out,
            "Profile {:?} is disabled: it does not run unless forced (--force).",
            plan.profile
        );
    }
    for folder in &plan.folders {
        let arrow = if two_way { "<->" } else { "->" };
        let _ = writeln!(
            out,
            "[{}] {} {arrow} {}",
            escape(&folder.folder),
            escape(&folder.source.describe()),
            escape(&folder.destination.describe())
        );
        if let Some(why) = &folder.skipped {
            let _ = writeln!(out, "  skipped: {}", escape(why));
        }
        for w in &folder.warnings {
            let _ = writeln!(out, "  warning: {}", escape(w));
        }
        let width = folder
            .actions
            .iter()
            .map(|a| path(a).chars().count())
            .max()
            .unwrap_or(0)
            .min(60);
        if two_way {
            two_way_folder(&mut out, folder, width, color);
            continue;
        }
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
                    let _ = writeln!(out, "    {style}{line}{style:#}");
                } else {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
    }
    let summary = plan.summary();
    if summary.is_empty() {
        out.push_str("Nothing to do.\n");
    } else if two_way {
        let actions: Vec<&Action> = plan.actions().collect();
        let _ = writeln!(out, "Summary: {}", two_way_totals(&actions));
    } else {
        let _ = writeln!(out, "Summary: {}", totals(&summary));
    }
    out
}

/// The groups of a two-way folder: what goes each way, what is deleted and renamed on each
/// side, and the conflicts with both sides' size and time; paths the state only records are
/// counted, not listed.
fn two_way_folder(out: &mut String, folder: &FolderPlan, width: usize, color: bool) {
    if folder.two_way.as_ref().is_some_and(|c| c.first_run) {
        let _ = writeln!(
            out,
            "  first run: a union of both sides; nothing is deleted"
        );
    }
    let line = |out: &mut String, style: Style, text: String| {
        if color {
            let _ = writeln!(out, "    {style}{text}{style:#}");
        } else {
            let _ = writeln!(out, "    {text}");
        }
    };
    let of = |pick: &dyn Fn(&Action) -> bool| -> Vec<&Action> {
        folder.actions.iter().filter(|a| pick(a)).collect()
    };
    let transfers = |a: &Action, side: Side| {
        a.to == side
            && matches!(
                a.kind,
                ActionKind::Copy | ActionKind::CreateDir | ActionKind::UpdateMeta
            )
    };
    let directions = [
        ("\u{2192} source to destination", Side::Destination),
        ("\u{2190} destination to source", Side::Source),
    ];
    for (title, side) in directions {
        let actions = of(&|a| transfers(a, side));
        if actions.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  {title} ({})", actions.len());
        for a in actions {
            let style = if a.group() == Group::New { BLUE } else { GREEN };
            let text = format!("{:<width$}  {:>10}  {}", path(a), size(a), reason(a));
            line(out, style, text);
        }
    }
    for side in [Side::Destination, Side::Source] {
        let actions = of(&|a| a.kind == ActionKind::Delete && a.to == side);
        if actions.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  Deleted on the {} ({})", side.name(), actions.len());
        for a in actions {
            let text = format!("{:<width$}  {:>10}  {}", path(a), size(a), reason(a));
            line(out, STRUCK, text);
        }
    }
    for side in [Side::Destination, Side::Source] {
        let actions = of(&|a| a.kind == ActionKind::Rename && a.to == side);
        if actions.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  Renamed on the {} ({})", side.name(), actions.len());
        for a in actions {
            let from = a
                .from
                .as_ref()
                .map_or_else(String::new, |f| escape(&f.display()).into_owned());
            line(out, YELLOW, format!("{from} -> {}", path(a)));
        }
    }
    let conflicts = of(&|a| a.kind == ActionKind::Conflict);
    if !conflicts.is_empty() {
        let _ = writeln!(out, "  Conflicts ({})", conflicts.len());
        for a in conflicts {
            line(out, RED, format!("{}  {}", path(a), reason(a)));
            let newer = newer_side(a.source, a.destination);
            for (side, stamp) in [(Side::Source, a.source), (Side::Destination, a.destination)] {
                let mark = if newer == Some(side) { "  (newer)" } else { "" };
                let _ = writeln!(
                    out,
                    "        {:<12} {}{mark}",
                    side.name(),
                    stamp_text(stamp)
                );
            }
        }
    }
    let recorded = of(&|a| a.kind == ActionKind::Record).len();
    if recorded > 0 {
        let _ = writeln!(
            out,
            "  Recorded ({recorded}): equal on both sides or gone from both; only the state changes"
        );
    }
}

/// The totals of two-way actions: each direction's entries and bytes, deletions and renames
/// per side, conflicts and recorded paths.
pub fn two_way_totals(actions: &[&Action]) -> String {
    let mut parts = Vec::new();
    for (arrow, side) in [("\u{2192}", Side::Destination), ("\u{2190}", Side::Source)] {
        let (n, bytes) = actions
            .iter()
            .filter(|a| a.to == side && matches!(a.kind, ActionKind::Copy | ActionKind::CreateDir))
            .fold((0u64, 0u64), |(n, b), a| {
                let copied = if a.kind == ActionKind::Copy {
                    a.size
                } else {
                    0
                };
                (n + 1, b + copied)
            });
        if n > 0 {
            parts.push(format!("{arrow} {n} ({})", HumanBytes(bytes)));
        }
    }
    let count = |pick: &dyn Fn(&Action) -> bool| actions.iter().filter(|a| pick(a)).count();
    for side in [Side::Destination, Side::Source] {
        let n = count(&|a| a.kind == ActionKind::Delete && a.to == side);
        if n > 0 {
            parts.push(format!("{n} deleted on the {}", side.name()));
        }
    }
    let updates = count(&|a| a.kind == ActionKind::UpdateMeta);
    let renames = count(&|a| a.kind == ActionKind::Rename);
    let conflicts = count(&|a| a.kind == ActionKind::Conflict);
    let records = count(&|a| a.kind == ActionKind::Record);
    for (n, one, many) in [
        (updates, "metadata update", "metadata updates"),
        (renames, "rename", "renames"),
        (conflicts, "conflict", "conflicts"),
        (records, "recorded", "recorded"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {}", if n == 1 { one } else { many }));
        }
    }
    if parts.is_empty() {
        "nothing".into()
    } else {
        parts.join(", ")
    }
}

/// The action's path as the preview shows it: escaped, a folder with a trailing `/`.
fn path(a: &Action) -> String {
    let mut p = escape(&a.path.display()).into_owned();
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
            Some(from) => format!("renamed from {}", escape(&from.display())),
            None => "renamed".into(),
        },
        Reason::Identical => "equal on both sides".into(),
        Reason::Forgotten => "gone from both sides".into(),
        Reason::Emptied => "left empty by this run".into(),
        Reason::Conflict(k) => conflict(k, a.resolution),
    }
}

/// What kind of conflict, in words.
pub fn conflict_kind(k: ConflictKind) -> &'static str {
    match k {
        ConflictKind::BothChanged => "changed on both sides",
        ConflictKind::BothCreated => "created on both sides",
        ConflictKind::ChangedDeleted => "changed on one side, deleted on the other",
        ConflictKind::KindChanged => "changed kind",
    }
}

fn conflict(k: ConflictKind, r: Option<Resolution>) -> String {
    let what = conflict_kind(k);
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
        (s.renames, "rename", "renames"),
        (s.records, "recorded", "recorded"),
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
/// Conflicts of a two-way run (`two_way`) are resolved by policy; the warnings name those
/// left alone.
pub fn report(r: &Report, two_way: bool) -> String {
    let mut out = String::new();
    let how = match r.status {
        RunStatus::Ok => "Done".to_string(),
        RunStatus::Errors => format!("Finished with {} failed", r.failed),
        RunStatus::Incomplete => "Incomplete (folders skipped)".to_string(),
        RunStatus::Cancelled => "Cancelled".to_string(),
    };
    let _ = writeln!(
        out,
        "{how} in {:.2} s: {}; {} written.",
        r.duration.as_secs_f64(),
        done(&r.done, two_way),
        HumanBytes(r.bytes_written)
    );
    if !r.conflicts.is_empty() {
        let _ = writeln!(out, "Conflicts ({}):", r.conflicts.len());
        for c in &r.conflicts {
            let _ = writeln!(out, "  {}", conflict_outcome(c));
            let newer = newer_side(c.source, c.destination);
            for (side, stamp) in [(Side::Source, c.source), (Side::Destination, c.destination)] {
                let mark = if newer == Some(side) { "  (newer)" } else { "" };
                let _ = writeln!(out, "      {:<12} {}{mark}", side.name(), stamp_text(stamp));
            }
        }
    }
    // A folder skipped with a warning is listed once, among the skipped folders.
    if !r.skipped_folders.is_empty() {
        let _ = writeln!(out, "Skipped folders ({}):", r.skipped_folders.len());
        for p in &r.skipped_folders {
            let mark = if r.warnings.contains(p) {
                " (warning)"
            } else {
                ""
            };
            let _ = writeln!(out, "  {p}{mark}");
        }
    }
    let warnings: Vec<&Problem> = r
        .warnings
        .iter()
        .filter(|w| !r.skipped_folders.contains(w))
        .collect();
    for (title, problems) in [
        ("Warnings", warnings),
        ("Errors", r.errors.iter().collect()),
    ] {
        if problems.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{title} ({}):", problems.len());
        for p in problems {
            let _ = writeln!(out, "  {}", escape(&p.to_string()));
        }
    }
    out
}

/// One conflict of a report: where, what happened, and what the run did about it.
fn conflict_outcome(c: &ConflictOutcome) -> String {
    let what = conflict_kind(c.kind);
    let how = match c.resolution {
        Resolution::KeepBoth(newer) => match &c.conflict_copy {
            Some(copy) => format!(
                "kept both: the {}'s version keeps the name, the older is {}",
                newer.name(),
                escape(&copy.display())
            ),
            None => format!("kept both ({} is newer)", newer.name()),
        },
        Resolution::Wins(side) => match &c.conflict_copy {
            Some(copy) => format!(
                "the {} won; the {}'s version is kept as {copy}",
                side.name(),
                side.other().name()
            ),
            None => format!(
                "the {} won; the {}'s version is in its versions folder",
                side.name(),
                side.other().name()
            ),
        },
        Resolution::Skip | Resolution::Prompt => "left alone".into(),
    };
    let failed = if c.resolved {
        ""
    } else {
        " (failed, see the errors)"
    };
    format!(
        "[{}] {}: {what}: {how}{failed}",
        escape(&c.folder),
        escape(&c.path.display())
    )
}

fn done(s: &Summary, two_way: bool) -> String {
    let conflicts = if two_way {
        ("conflict", "conflicts")
    } else {
        ("conflict left alone", "conflicts left alone")
    };
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
        (s.conflicts, conflicts.0, conflicts.1),
        (s.renames, "entry renamed", "entries renamed"),
        (s.records, "path recorded", "paths recorded"),
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
    use ferrysync::{Location, RelPath, Stamp};

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
            disabled: false,
            folders: vec![FolderPlan::new(
                "main",
                Location::local("/s"),
                Location::local("/d"),
                actions,
            )],
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
            line.contains("\x1b[9m") && line.ends_with("\x1b[0m"),
            "{line:?}"
        );
        let line = text.lines().find(|l| l.contains("a.txt")).unwrap();
        assert!(line.contains("\x1b[34m"));
    }

    /// Issue 11, item 9: the styles (anstyle's now) are the ANSI codes the hand-written
    /// constants were, around the same lines, and nothing else changes.
    #[test]
    fn each_group_has_its_ansi_colour_and_nothing_else_changes() {
        let check = |p: &Plan, styled: &[(&str, &str)]| {
            let (colored, plain) = (plan(p, true), plan(p, false));
            for (needle, code) in styled {
                let line = colored.lines().find(|l| l.contains(needle)).unwrap();
                let bare = plain.lines().find(|l| l.contains(needle)).unwrap();
                let text = bare.strip_prefix("    ").unwrap();
                assert_eq!(line, format!("    {code}{text}\x1b[0m"), "{needle}");
            }
            let mut stripped = colored.clone();
            for code in [
                "\x1b[0m", "\x1b[9m", "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[34m",
            ] {
                stripped = stripped.replace(code, "");
            }
            assert_eq!(stripped, plain);
        };
        check(
            &sample(),
            &[
                ("a.txt", "\x1b[34m"),
                ("b.txt", "\x1b[32m"),
                ("c.txt", "\x1b[9m"),
                ("a folder on one side", "\x1b[31m"),
            ],
        );
        check(
            &two_way_sample(),
            &[
                ("a.txt", "\x1b[34m"),
                ("gone-left.txt", "\x1b[9m"),
                ("old.txt -> new.txt", "\x1b[33m"),
                ("both.txt", "\x1b[31m"),
            ],
        );
    }

    #[test]
    fn an_empty_plan_has_nothing_to_do() {
        let mut p = sample();
        p.folders[0] = FolderPlan::new(
            "main",
            Location::local("/s"),
            Location::local("/d"),
            Vec::new(),
        );
        assert!(plan(&p, false).ends_with("Nothing to do.\n"));
    }

    fn two_way(kind: ActionKind, path: &str, reason: Reason, to: Side) -> Action {
        Action {
            to,
            ..action(kind, path, reason)
        }
    }

    fn two_way_sample() -> Plan {
        let mut conflict = two_way(
            ActionKind::Conflict,
            "both.txt",
            Reason::Conflict(ConflictKind::BothChanged),
            Side::Destination,
        );
        conflict.resolution = Some(Resolution::KeepBoth(Side::Source));
        conflict.source = Some(Stamp {
            size: 3000,
            mtime_ns: 1_700_000_100_000_000_000,
        });
        conflict.destination = Some(Stamp {
            size: 10,
            mtime_ns: 1_700_000_000_000_000_000,
        });
        let mut renamed = two_way(ActionKind::Rename, "new.txt", Reason::Renamed, Side::Source);
        renamed.from = Some(RelPath::new("old.txt").unwrap());
        let actions = vec![
            two_way(ActionKind::Copy, "a.txt", Reason::New, Side::Destination),
            two_way(ActionKind::Copy, "b.txt", Reason::New, Side::Source),
            conflict,
            two_way(
                ActionKind::Delete,
                "gone-left.txt",
                Reason::Deleted,
                Side::Source,
            ),
            two_way(
                ActionKind::Delete,
                "gone-right.txt",
                Reason::Deleted,
                Side::Destination,
            ),
            renamed,
            two_way(
                ActionKind::Record,
                "same.txt",
                Reason::Identical,
                Side::Destination,
            ),
        ];
        Plan {
            profile: "p".into(),
            operation: Operation::Synchronize,
            disabled: false,
            folders: vec![FolderPlan::new(
                "main",
                Location::local("/l"),
                Location::local("/r"),
                actions,
            )],
        }
    }

    #[test]
    fn a_two_way_preview_groups_by_direction_and_side() {
        let text = plan(&two_way_sample(), false);
        assert!(text.starts_with("[main] /l <-> /r\n"), "{text}");
        let order = [
            "\u{2192} source to destination (1)",
            "\u{2190} destination to source (1)",
            "Deleted on the destination (1)",
            "Deleted on the source (1)",
            "Renamed on the source (1)",
            "Conflicts (1)",
            "Recorded (1)",
        ];
        let at: Vec<usize> = order
            .iter()
            .map(|t| text.find(t).unwrap_or_else(|| panic!("no {t:?} in {text}")))
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        let right = text.find("a.txt").unwrap();
        let left = text.find("b.txt").unwrap();
        assert!(at[0] < right && right < at[1] && at[1] < left, "{text}");
        assert!(text.contains("old.txt -> new.txt"), "{text}");
        assert!(
            !text.contains("same.txt"),
            "records are counted only: {text}"
        );
        assert!(
            text.contains(
                "Summary: \u{2192} 1 (2.00 KiB), \u{2190} 1 (2.00 KiB), 1 deleted on the destination, \
                 1 deleted on the source, 1 rename, 1 conflict, 1 recorded"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_two_way_conflict_shows_both_sides() {
        let text = plan(&two_way_sample(), false);
        assert!(
            text.contains("both.txt  changed on both sides: keep both (source is newer)"),
            "{text}"
        );
        let source = text
            .lines()
            .find(|l| l.trim_start().starts_with("source "))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(
            source.contains("2.93 KiB")
                && source.contains("2023-11-14 22:15:00 UTC")
                && source.ends_with("(newer)"),
            "{source}"
        );
        let destination = text
            .lines()
            .find(|l| l.trim_start().starts_with("destination "))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(
            destination.contains("10 B") && destination.contains("2023-11-14 22:13:20 UTC"),
            "{destination}"
        );
    }

    #[test]
    fn a_two_way_report_counts_conflicts_renames_and_records() {
        let r = Report {
            profile: "p".into(),
            status: RunStatus::Ok,
            dry_run: false,
            done: Summary {
                conflicts: 2,
                renames: 1,
                records: 3,
                ..Summary::default()
            },
            bytes_written: 0,
            failed: 0,
            skipped_folders: Vec::new(),
            warnings: Vec::new(),
            errors: Vec::new(),
            conflicts: vec![
                ConflictOutcome {
                    folder: "main".into(),
                    path: RelPath::new("f.txt").unwrap(),
                    kind: ConflictKind::BothChanged,
                    source: Some(Stamp {
                        size: 10,
                        mtime_ns: 1_700_000_000_000_000_000,
                    }),
                    destination: None,
                    resolution: Resolution::KeepBoth(Side::Source),
                    conflict_copy: Some(RelPath::new("f (conflict).txt").unwrap()),
                    resolved: true,
                },
                ConflictOutcome {
                    folder: "main".into(),
                    path: RelPath::new("g.txt").unwrap(),
                    kind: ConflictKind::ChangedDeleted,
                    source: None,
                    destination: None,
                    resolution: Resolution::Wins(Side::Destination),
                    conflict_copy: None,
                    resolved: false,
                },
            ],
            duration: std::time::Duration::ZERO,
        };
        let text = report(&r, true);
        assert!(
            text.contains("2 conflicts, 1 entry renamed, 3 paths recorded"),
            "{text}"
        );
        assert!(report(&r, false).contains("2 conflicts left alone"));
        assert!(
            text.contains(
                "Conflicts (2):\n  [main] f.txt: changed on both sides: kept both: the source's \
                 version keeps the name, the older is f (conflict).txt\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("[main] g.txt: changed on one side, deleted on the other: the destination won; the source's version is in its versions folder (failed, see the errors)"),
            "{text}"
        );
        let source = text
            .lines()
            .find(|l| l.trim_start().starts_with("source "))
            .unwrap();
        assert!(
            source.contains("10 B") && source.contains("2023-11-14 22:13:20 UTC"),
            "{source}"
        );
    }
}
