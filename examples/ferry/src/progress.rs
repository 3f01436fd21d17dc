//! Progress of a run: an indicatif bar on a terminal, plain lines on stderr otherwise.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferrysync::{Event, EventSink, Progress};
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};

/// The shortest time between two plain progress lines.
const PLAIN_INTERVAL: Duration = Duration::from_secs(1);

/// Shows the progress of one run.
pub struct ProgressView {
    bar: Option<ProgressBar>,
}

impl ProgressView {
    /// A bar when stderr is a terminal, plain lines otherwise.
    pub fn new() -> ProgressView {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            let style = ProgressStyle::with_template(
                "{prefix:.bold} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec}\n{msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        ProgressView { bar }
    }

    /// The bar, to suspend it while asking a question.
    pub fn bar(&self) -> Option<ProgressBar> {
        self.bar.clone()
    }

    /// The event sink that feeds this view.
    pub fn sink(&self) -> EventSink {
        let bar = self.bar.clone();
        let last: Mutex<Option<Instant>> = Mutex::new(None);
        Arc::new(move |event: &Event| match (event, &bar) {
            (Event::FolderStarted { folder }, Some(bar)) => {
                bar.set_prefix(folder.clone());
                bar.set_length(0);
                bar.set_position(0);
            }
            (Event::FolderStarted { folder }, None) => eprintln!("ferry: [{folder}] started"),
            (Event::Progress(p), Some(bar)) => {
                bar.set_length(p.bytes_total);
                bar.set_position(p.bytes_done);
                bar.set_message(format!(
                    "{}/{} items  {}",
                    p.items_done,
                    p.items_total,
                    p.current.as_deref().unwrap_or("")
                ));
            }
            (Event::Progress(p), None) => {
                let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
                if !matches!(*last, Some(t) if t.elapsed() < PLAIN_INTERVAL) {
                    *last = Some(Instant::now());
                    eprintln!("ferry: {}", plain_line(p));
                }
            }
            _ => {}
        })
    }

    /// Clears the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn plain_line(p: &Progress) -> String {
    let mut line = format!(
        "{}/{} items, {}/{}",
        p.items_done,
        p.items_total,
        HumanBytes(p.bytes_done),
        HumanBytes(p.bytes_total)
    );
    if let Some(current) = &p.current {
        line.push_str(", ");
        line.push_str(current);
    }
    line
}
