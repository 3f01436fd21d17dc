//! Asking before deletions (`copy.confirm-deletes`).

use std::io::{BufRead, IsTerminal, Write};

use ferrysync::{ActionKind, FolderPlan, Prompt};
use indicatif::{HumanBytes, ProgressBar};

/// Asks on the terminal (y/N); answers yes with `--yes`, and no when stdin is not a terminal.
pub struct TerminalPrompt {
    /// `--yes`.
    pub yes: bool,
    /// The progress bar to hide while asking.
    pub bar: Option<ProgressBar>,
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
            plan.folder,
            HumanBytes(plan.summary.bytes_to_delete),
            plan.destination
        );
        if !std::io::stdin().is_terminal() {
            eprintln!("ferry: {question} no: stdin is not a terminal (use --yes)");
            return false;
        }
        let ask = || {
            eprint!("{question} [y/N] ");
            let _ = std::io::stderr().flush();
            let mut answer = String::new();
            if std::io::stdin().lock().read_line(&mut answer).is_err() {
                return false;
            }
            matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
        };
        match &self.bar {
            Some(bar) => bar.suspend(ask),
            None => ask(),
        }
    }
}
