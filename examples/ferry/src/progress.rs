//! Progress of a run: an indicatif bar on a terminal, plain lines on stderr otherwise.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferrysync::{Event, EventSink, Progress};
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};

use crate::escape::escape;

/// The shortest time between two plain progress lines.
const PLAIN_INTERVAL: Duration = Duration::from_secs(1);

/// Shows the progress of one run.
pub struct ProgressView {
    bar: Option<ProgressBar>,
    /// Without a bar: the plain lines printed and held back.
    plain: Arc<Mutex<Plain>>,
}

/// Plain progress lines: at most one a [`PLAIN_INTERVAL`]; the line held back is printed when
/// the folder ends (the next folder starts, or the run ends), so the last line a folder leaves
/// is its final count, not a stale one.
#[derive(Default)]
struct Plain {
    printed: Option<Instant>,
    held: Option<String>,
}

impl Plain {
    fn progress(&mut self, line: String) {
        if matches!(self.printed, Some(t) if t.elapsed() < PLAIN_INTERVAL) {
            self.held = Some(line);
        } else {
            self.printed = Some(Instant::now());
            self.held = None;
            eprintln!("ferry: {line}");
        }
    }

    /// Prints the line held back, if any.
    fn flush(&mut self) {
        if let Some(line) = self.held.take() {
            self.printed = Some(Instant::now());
            eprintln!("ferry: {line}");
        }
    }
}

fn lock(plain: &Mutex<Plain>) -> std::sync::MutexGuard<'_, Plain> {
    plain.lock().unwrap_or_else(|e| e.into_inner())
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
        ProgressView {
            bar,
            plain: Arc::default(),
        }
    }

    /// The bar, to suspend it while asking a question.
    pub fn bar(&self) -> Option<ProgressBar> {
        self.bar.clone()
    }

    /// The event sink that feeds this view.
    pub fn sink(&self) -> EventSink {
        let bar = self.bar.clone();
        let plain = self.plain.clone();
        Arc::new(move |event: &Event| match (event, &bar) {
            (Event::FolderStarted { folder }, Some(bar)) => {
                bar.set_prefix(escape(folder).into_owned());
                bar.set_length(0);
                bar.set_position(0);
            }
            (Event::FolderStarted { folder }, None) => {
                let mut plain = lock(&plain);
                plain.flush();
                eprintln!("ferry: [{}] started", escape(folder));
            }
            (Event::Progress(p), Some(bar)) => {
                bar.set_length(p.bytes_total);
                bar.set_position(p.bytes_done);
                bar.set_message(format!(
                    "{}/{} items  {}",
                    p.items_done,
                    p.items_total,
                    escape(p.current.as_deref().unwrap_or(""))
                ));
            }
            (Event::Progress(p), None) => lock(&plain).progress(plain_line(p)),
            _ => {}
        })
    }

    /// Clears the bar, or prints the plain line held back.
    pub fn finish(&self) {
        match &self.bar {
            Some(bar) => bar.finish_and_clear(),
            None => lock(&self.plain).flush(),
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
        line.push_str(&escape(current));
    }
    line
}
