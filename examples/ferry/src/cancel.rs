//! Ctrl-C: the first cancels the run at the next item, the second quits at once.

use std::sync::OnceLock;

use ferrysync::RunControl;

/// The process's run control, cancelled by SIGINT. The handler is installed on first use;
/// a second SIGINT exits with 130 right away.
pub fn control() -> RunControl {
    static CONTROL: OnceLock<RunControl> = OnceLock::new();
    CONTROL
        .get_or_init(|| {
            let control = RunControl::new();
            let handled = control.clone();
            let installed = ctrlc::set_handler(move || {
                if handled.is_cancelled() {
                    std::process::exit(crate::exit::CANCELLED.into());
                }
                eprintln!("ferry: cancelling at the next item (Ctrl-C again to quit now)");
                handled.cancel();
            });
            if let Err(e) = installed {
                eprintln!("ferry: warning: Ctrl-C will not stop the run cleanly: {e}");
            }
            control
        })
        .clone()
}
