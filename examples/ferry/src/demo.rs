//! `ferry demo [DIR]`: a sample tree, mirrored, then shown to be in sync.

use std::fs;
use std::path::{Path, PathBuf};

use ferrysync::{Engine, Error, Folder, Operation, Profile, Result};

use crate::escape::escape;
use crate::run::{self, Settings};
use crate::say;
use crate::{colors, preview};

/// Makes the sample under `dir` (a new temporary folder when `None`), mirrors
/// `dir/source` to `dir/destination`, and shows that a second plan is empty.
///
/// # Errors
/// Failures making the sample, and what [`run::run`] rejects.
pub fn run(dir: Option<PathBuf>) -> Result<u8> {
    let dir = match dir {
        Some(dir) => dir,
        None => fresh_temp_dir()?,
    };
    let source = dir.join("source");
    let destination = dir.join("destination");
    if source.exists() {
        say!(
            "Using the sample already in {}",
            escape(&dir.display().to_string())
        );
    } else {
        make_sample(&source, &destination)?;
        say!(
            "Made a sample tree in {}",
            escape(&dir.display().to_string())
        );
    }

    let profile = Profile::new("demo", Operation::Mirror).with_folder(Folder::new(
        "sample",
        source.display().to_string(),
        destination.display().to_string(),
    ));
    say!("\nThe plan (what `ferry mirror source destination` will do):\n");
    let plan = Engine::new().plan(&profile)?;
    crate::write_stdout(&preview::plan(&plan, colors()));

    say!("\nRunning it:\n");
    let code = run::run(&profile, &Settings::default())?;
    if code != 0 {
        return Ok(code);
    }

    say!("\nPlanning again:\n");
    let again = Engine::new().plan(&profile)?;
    crate::write_stdout(&preview::plan(&again, colors()));
    say!(
        "\nTry `ferry mirror {} {} --dry-run` after changing a file.",
        escape(&source.display().to_string()),
        escape(&destination.display().to_string())
    );
    Ok(0)
}

fn fresh_temp_dir() -> Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("ferry-demo-{}-{nanos:08x}", std::process::id()));
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    Ok(dir)
}

/// About fifty files in a few folders, and a destination that already has one stale file
/// (to be deleted) and one outdated file (to be replaced).
fn make_sample(source: &Path, destination: &Path) -> Result<()> {
    let mut files: Vec<(String, String)> = Vec::new();
    for i in 1..=10 {
        files.push((
            format!("docs/report-{i:02}.txt"),
            format!(
                "Quarterly report {i}\n{}",
                "All systems nominal.\n".repeat(i * 20)
            ),
        ));
    }
    for year in [2023, 2024] {
        for i in 1..=8 {
            files.push((
                format!("photos/{year}/img-{i:03}.jpg"),
                format!("not really a JPEG {year} {i}\n").repeat(200 + i * 50),
            ));
        }
    }
    for i in 1..=6 {
        files.push((
            format!("music/track-{i:02}.ogg"),
            format!("not really audio {i}\n").repeat(500),
        ));
    }
    for name in [
        "main", "engine", "plan", "scan", "filter", "compare", "report", "store",
    ] {
        files.push((
            format!("code/src/{name}.rs"),
            format!("//! The {name} module.\n\npub fn {name}() {{}}\n"),
        ));
    }
    files.push(("code/README.md".into(), "# A sample project\n".into()));
    files.push((
        "code/Cargo.toml".into(),
        "[package]\nname = \"sample\"\n".into(),
    ));
    for i in 1..=5 {
        files.push((
            format!("notes/note-{i}.md"),
            format!("# Note {i}\n\nRemember.\n"),
        ));
    }
    files.push(("todo.txt".into(), "- try ferry\n".into()));

    for (path, contents) in &files {
        write(&source.join(path), contents)?;
    }
    write(
        &destination.join("docs/report-01.txt"),
        "An outdated report\n",
    )?;
    write(
        &destination.join("stale.txt"),
        "Only in the destination: a mirror deletes it\n",
    )
}

fn write(path: &Path, contents: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    fs::write(path, contents).map_err(|e| Error::io(path, e))
}
