//! Questions a run asks on the terminal: before deletions (`copy.confirm-deletes`) and, for
//! two-way conflicts whose policy is "prompt", which version wins.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Mutex;

use ferrysync::{Action, ActionKind, ConflictPolicy, FolderPlan, Prompt, Side, Stamp};
use indicatif::{HumanBytes, ProgressBar};

use crate::escape::escape;
use crate::{preview, time};

/// Asks on the terminal. Deletions: y/N, yes with `--yes`, no when stdin is not a terminal.
/// Conflicts: one of the policies, keep both when stdin is not a terminal.
pub struct TerminalPrompt {
    /// `--yes`.
    yes: bool,
    /// The progress bar to hide while asking.
    bar: Option<ProgressBar>,
    /// The answer given "for every remaining conflict", once given.
    for_all: Mutex<Option<ConflictPolicy>>,
}

impl TerminalPrompt {
    /// A prompt that answers deletions with yes when `yes`, hiding `bar` while it asks.
    pub fn new(yes: bool, bar: Option<ProgressBar>) -> TerminalPrompt {
        TerminalPrompt {
            yes,
            bar,
            for_all: Mutex::new(None),
        }
    }

    /// Runs `ask` with the progress bar hidden.
    fn suspended<T>(&self, ask: impl FnOnce() -> T) -> T {
        match &self.bar {
            Some(bar) => bar.suspend(ask),
            None => ask(),
        }
    }
}

impl Prompt for TerminalPrompt {
    fn confirm_deletes(&self, plan: &FolderPlan) -> bool {
        if self.yes {
            return true;
        }
        let deletes = plan
            .actions
            .iter()
            .filter(|a| a.kind == ActionKind::Delete)
            .count();
        let question = format!(
            "[{}] delete {deletes} entries ({}) from {} that the source does not have?",
            escape(&plan.folder),
            HumanBytes(plan.summary.bytes_to_delete),
            escape(&plan.destination.describe())
        );
        if !std::io::stdin().is_terminal() {
            eprintln!("ferry: {question} no: stdin is not a terminal (use --yes)");
            return false;
        }
        self.suspended(|| {
            eprint!("{question} [y/N] ");
            let _ = std::io::stderr().flush();
            let mut answer = String::new();
            if std::io::stdin().lock().read_line(&mut answer).is_err() {
                return false;
            }
            matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
        })
    }

    fn resolve_conflict(&self, folder: &str, action: &Action) -> Option<ConflictPolicy> {
        let mut for_all = self.for_all.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(policy) = *for_all {
            return Some(policy);
        }
        if !std::io::stdin().is_terminal() {
            eprintln!(
                "ferry: [{}] conflict at {}: keeping both versions: stdin is not a terminal",
                escape(folder),
                escape(&action.path.display())
            );
            return Some(ConflictPolicy::KeepBoth);
        }
        let question = conflict_question(folder, action);
        let answer = self.suspended(|| {
            let stdin = std::io::stdin();
            ask_policy(&question, &mut stdin.lock(), &mut std::io::stderr())
        });
        if answer.for_all {
            *for_all = Some(answer.policy);
        }
        Some(answer.policy)
    }
}

/// The answers to a conflict question: a key, the policy, and what it does.
const CHOICES: [(char, ConflictPolicy, &str); 8] = [
    ('b', ConflictPolicy::KeepBoth, "keep both"),
    ('n', ConflictPolicy::Newer, "newer wins"),
    ('o', ConflictPolicy::Older, "older wins"),
    ('l', ConflictPolicy::Larger, "larger wins"),
    ('m', ConflictPolicy::Smaller, "smaller wins"),
    ('s', ConflictPolicy::Source, "source wins"),
    ('d', ConflictPolicy::Destination, "destination wins"),
    ('k', ConflictPolicy::Skip, "skip: leave both"),
];

/// An answer to a conflict question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Answer {
    policy: ConflictPolicy,
    /// Also for every remaining conflict of the run.
    for_all: bool,
}

/// Reads an answer: a key of [`CHOICES`] (upper case: for every remaining conflict), a
/// policy name (`newer`, `keep-both`, ...; `newer!`: for every remaining conflict), or
/// nothing (keep both).
fn parse_answer(text: &str) -> Option<Answer> {
    let text = text.trim();
    if text.is_empty() {
        return Some(Answer {
            policy: ConflictPolicy::KeepBoth,
            for_all: false,
        });
    }
    let mut chars = text.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        let key = c.to_ascii_lowercase();
        return CHOICES
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, policy, _)| Answer {
                policy: *policy,
                for_all: c.is_ascii_uppercase(),
            });
    }
    let (name, for_all) = match text.strip_suffix('!') {
        Some(name) => (name.trim(), true),
        None => (text, false),
    };
    match name.to_ascii_lowercase().parse() {
        Ok(ConflictPolicy::Prompt) | Err(_) => None,
        Ok(policy) => Some(Answer { policy, for_all }),
    }
}

/// Asks `question` until an answer parses; the end of the input keeps both.
fn ask_policy(question: &str, input: &mut dyn BufRead, out: &mut dyn Write) -> Answer {
    let keys: Vec<String> = CHOICES
        .iter()
        .map(|(k, _, what)| format!("[{k}] {what}"))
        .collect();
    let _ = write!(out, "{question}");
    loop {
        let _ = write!(
            out,
            "  {}\n  (a capital letter answers every remaining conflict) [b]: ",
            keys.join("  ")
        );
        let _ = out.flush();
        let mut line = String::new();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => {
                let _ = writeln!(out);
                return Answer {
                    policy: ConflictPolicy::KeepBoth,
                    for_all: false,
                };
            }
            Ok(_) => {}
        }
        match parse_answer(&line) {
            Some(answer) => return answer,
            None => {
                let _ = writeln!(out, "  {:?} is not one of the answers.", line.trim());
            }
        }
    }
}

/// The conflict as the question shows it: the path, what happened, and both sides' size and
/// modification time (UTC), the newer marked.
fn conflict_question(folder: &str, a: &Action) -> String {
    let what = match a.reason {
        ferrysync::Reason::Conflict(k) => preview::conflict_kind(k),
        _ => "both sides changed",
    };
    let newer = newer_side(a.source, a.destination);
    let mut text = format!(
        "[{}] conflict at {}: {what}\n",
        escape(folder),
        escape(&a.path.display())
    );
    for (side, stamp) in [(Side::Source, a.source), (Side::Destination, a.destination)] {
        text.push_str(&format!(
            "  {:<12} {}{}\n",
            side.name(),
            stamp_text(stamp),
            if newer == Some(side) { "  (newer)" } else { "" }
        ));
    }
    text
}

/// Size and time of one side, or that the side does not have it.
pub fn stamp_text(stamp: Option<Stamp>) -> String {
    match stamp {
        Some(s) => format!(
            "{:>10}  {} UTC",
            HumanBytes(s.size).to_string(),
            time::format_ns(s.mtime_ns)
        ),
        None => format!("{:>10}  deleted", "-"),
    }
}

/// The side modified later, when both have the path and their times differ.
pub fn newer_side(source: Option<Stamp>, destination: Option<Stamp>) -> Option<Side> {
    match (source, destination) {
        (Some(s), Some(d)) if s.mtime_ns > d.mtime_ns => Some(Side::Source),
        (Some(s), Some(d)) if d.mtime_ns > s.mtime_ns => Some(Side::Destination),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrysync::transport::EntryKind;
    use ferrysync::{ConflictKind, Reason, RelPath, Resolution};

    macro_rules! answers {
        ($($name:ident: $text:expr => $expected:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(parse_answer($text), $expected, "{:?}", $text);
            }
        )*};
    }

    fn once(policy: ConflictPolicy) -> Option<Answer> {
        Some(Answer {
            policy,
            for_all: false,
        })
    }

    fn all(policy: ConflictPolicy) -> Option<Answer> {
        Some(Answer {
            policy,
            for_all: true,
        })
    }

    answers! {
        nothing_keeps_both: "\n" => once(ConflictPolicy::KeepBoth);
        a_key: "n\n" => once(ConflictPolicy::Newer);
        a_capital_key_answers_all: "D" => all(ConflictPolicy::Destination);
        skip_has_its_key: "k" => once(ConflictPolicy::Skip);
        smaller_has_its_key: "m" => once(ConflictPolicy::Smaller);
        a_policy_name: " keep-both " => once(ConflictPolicy::KeepBoth);
        a_policy_name_in_capitals: "Source" => once(ConflictPolicy::Source);
        a_name_with_a_bang_answers_all: "older!" => all(ConflictPolicy::Older);
        prompt_is_no_answer: "prompt" => None;
        an_unknown_key: "x" => None;
        an_unknown_word: "whatever" => None;
    }

    fn conflict() -> Action {
        Action {
            kind: ActionKind::Conflict,
            path: RelPath::new("docs/f.txt").unwrap(),
            entry: EntryKind::File,
            reason: Reason::Conflict(ConflictKind::BothChanged),
            size: 2048,
            source: Some(Stamp {
                size: 2048,
                mtime_ns: 1_700_000_000_000_000_000,
            }),
            destination: Some(Stamp {
                size: 10,
                mtime_ns: 1_700_000_100_000_000_000,
            }),
            to: Side::Destination,
            from: None,
            resolution: Some(Resolution::Prompt),
        }
    }

    #[test]
    fn the_question_shows_both_sides() {
        let q = conflict_question("main", &conflict());
        assert!(
            q.starts_with("[main] conflict at docs/f.txt: changed on both sides\n"),
            "{q}"
        );
        let source = q.lines().find(|l| l.contains("source")).unwrap();
        assert!(
            source.contains("2.00 KiB") && source.contains("2023-11-14 22:13:20 UTC"),
            "{source}"
        );
        assert!(!source.contains("newer"), "{source}");
        let destination = q.lines().find(|l| l.contains("destination")).unwrap();
        assert!(
            destination.contains("10 B") && destination.ends_with("(newer)"),
            "{destination}"
        );
    }

    #[test]
    fn asking_repeats_until_an_answer_parses() {
        let mut input = std::io::Cursor::new(b"what\nl\n".to_vec());
        let mut out = Vec::new();
        let answer = ask_policy("Q?\n", &mut input, &mut out);
        assert_eq!(Some(answer), once(ConflictPolicy::Larger));
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("Q?\n"), "{text}");
        assert!(
            text.contains("\"what\" is not one of the answers"),
            "{text}"
        );
        assert_eq!(text.matches("[b] keep both").count(), 2, "{text}");
    }

    #[test]
    fn the_end_of_the_input_keeps_both() {
        let mut input = std::io::Cursor::new(Vec::new());
        let answer = ask_policy("Q?\n", &mut input, &mut Vec::new());
        assert_eq!(Some(answer), once(ConflictPolicy::KeepBoth));
    }
}
