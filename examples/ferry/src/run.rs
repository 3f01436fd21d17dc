//! Previewing and running a profile: the part every command shares.

use std::sync::Arc;

use ferrysync::{ConflictPolicy, Engine, Error, Operation, Profile, Result, RunOptions};

use crate::progress::ProgressView;
use crate::prompt::TerminalPrompt;
use crate::say;
use crate::{cancel, colors, preview};

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Preview and check the guards only.
    pub dry_run: bool,
    /// Go ahead although a guard objects.
    pub force: bool,
    /// Print JSON (the report; for a dry run, the plan).
    pub json: bool,
    /// Answer yes to "delete unmatched files?".
    pub yes: bool,
    /// Only these folder pairs.
    pub folders: Vec<String>,
    /// Two-way: forget the state first.
    pub resync: bool,
}

/// `ferry plan`: prints the preview (or the plan as JSON) and returns the exit code.
///
/// # Errors
/// What [`Engine::plan_with`] rejects.
pub fn plan(profile: &Profile, folders: &[String], json: bool) -> Result<u8> {
    let mut opts = RunOptions::default();
    opts.folders = folders.to_vec();
    let plan = Engine::new().plan_with(profile, &opts)?;
    if json {
        say!("{}", plan.to_json());
    } else {
        crate::write_stdout(&preview::plan(&plan, colors()));
    }
    Ok(0)
}

/// Plans and runs `profile`, showing progress and printing the report; returns the exit code.
/// A dry run prints the preview instead, after checking the guards.
///
/// # Errors
/// What [`Engine::plan_with`] and [`Engine::execute`] reject: a bad profile, a disabled one
/// (unless forced), an unavailable folder whose policy is "abort", a guard.
pub fn run(profile: &Profile, settings: &Settings) -> Result<u8> {
    let two_way = profile.operation == Operation::Synchronize;
    if settings.resync && !two_way {
        return Err(Error::invalid(format!(
            "--resync: profile {:?} is not a two-way profile (operation {:?})",
            profile.name,
            profile.operation.name()
        )));
    }
    if !profile.enabled && !settings.force {
        // The engine refuses it too; refusing before the scan spares the work and the preview.
        return Err(Error::invalid(format!(
            "profile {:?} is disabled; nothing was run (--force runs it anyway)",
            profile.name
        )));
    }
    let engine = Engine::new();
    let control = cancel::control();
    let mut opts = RunOptions::default();
    opts.dry_run = settings.dry_run;
    opts.force = settings.force;
    opts.folders = settings.folders.clone();
    opts.control = control.clone();
    opts.resync = settings.resync;
    let plan = engine.plan_with(profile, &opts)?;
    if control.is_cancelled() {
        return Ok(crate::exit::CANCELLED);
    }
    if settings.dry_run {
        if settings.json {
            say!("{}", plan.to_json());
        } else {
            crate::write_stdout(&preview::plan(&plan, colors()));
        }
        // A dry run checks the guards too, so a script sees the exit code a run would give.
        let report = engine.execute(profile, &plan, &opts)?;
        return Ok(crate::exit::of_run(report.status));
    }

    let view = ProgressView::new();
    opts.events = Some(view.sink());
    if profile.copy.confirm_deletes || asks_conflicts(profile) {
        opts.prompt = Some(Arc::new(TerminalPrompt::new(settings.yes, view.bar())));
    }
    let report = engine.execute(profile, &plan, &opts);
    view.finish();
    let report = report?;
    if settings.json {
        let text = serde_json::to_string_pretty(&report).expect("a report always serializes");
        say!("{text}");
    } else if plan.is_empty()
        && report.errors.is_empty()
        && report.warnings.is_empty()
        && report.skipped_folders.is_empty()
    {
        say!("Nothing to do.");
    } else {
        crate::write_stdout(&preview::report(&report, two_way));
    }
    Ok(crate::exit::of_run(report.status))
}

/// Whether a two-way profile resolves some conflicts by asking.
fn asks_conflicts(profile: &Profile) -> bool {
    let sync = &profile.sync;
    profile.operation == Operation::Synchronize
        && (sync.conflict == ConflictPolicy::Prompt
            || sync.first_run == Some(ConflictPolicy::Prompt)
            || sync
                .conflict_rules
                .iter()
                .any(|r| r.policy == ConflictPolicy::Prompt))
}
