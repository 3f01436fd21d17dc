//! Crash safety of two-way sync: `ferry sync` killed with SIGKILL at random points while both
//! sides have changes. Every path is edited on one side only (its owner), so there is never
//! a real conflict. After each kill no file is torn and no owner's edit is lost or undone;
//! the re-runs converge to equal sides with every latest version, and no conflict copy or
//! conflict loser ever appears (a half-written state must not make conflicts out of files a
//! killed run already propagated).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// Paths that exist at the start; `EXTRA` more are created by the rounds.
const FILES: usize = 1200;
const EXTRA: usize = 120;
const ROUNDS: u32 = 8;

fn contents(i: usize, tag: u32) -> Vec<u8> {
    let size = 512 + (i * 7919 + tag as usize * 1237) % (16 * 1024);
    let unit = format!("file {i} tag {tag} ").into_bytes();
    let mut data = unit.repeat(size / unit.len() + 1);
    data.truncate(size);
    data
}

fn rel(i: usize) -> PathBuf {
    PathBuf::from(format!("d{:02}/e{}/f{i:05}.bin", i % 23, i % 5))
}

/// The side that edits path `i`: even paths the left (source), odd the right.
fn owner(i: usize, left: &Path, right: &Path) -> PathBuf {
    if i.is_multiple_of(2) { left } else { right }.to_path_buf()
}

/// What was written to each path: every tag, and the latest (`None`: deleted).
struct History {
    tags: Vec<Vec<u32>>,
    latest: Vec<Option<u32>>,
}

impl History {
    fn write(&mut self, root: &Path, i: usize, tag: u32) {
        let p = root.join(rel(i));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, contents(i, tag)).unwrap();
        self.tags[i].push(tag);
        self.latest[i] = Some(tag);
    }

    fn delete(&mut self, root: &Path, i: usize) {
        if self.latest[i].take().is_some() {
            fs::remove_file(root.join(rel(i))).unwrap();
        }
    }
}

/// Every file below `root` outside `.ferrysync`, relative.
fn files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            if e.file_name() == ".ferrysync" {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path().strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Files kept in a side's versions folder (conflict losers, replaced files).
fn versions(root: &Path) -> usize {
    let dir = root.join(".ferrysync/versions");
    if dir.exists() {
        files(&dir).len()
    } else {
        0
    }
}

/// The path index of a file name `f00042.bin`.
fn index(path: &Path) -> Option<usize> {
    let name = path.file_name()?.to_str()?;
    name.strip_prefix('f')?.strip_suffix(".bin")?.parse().ok()
}

/// Checks both sides against the history: owners hold exactly their latest edit, the other
/// side a version that was written (never a torn or unknown file), no conflict copies.
/// `settled`: the run finished, so the other side must match too and nothing temporary is
/// left.
fn check(left: &Path, right: &Path, h: &History, when: &str, settled: bool) {
    for (root, name) in [(left, "left"), (right, "right")] {
        for path in files(root) {
            let shown = path.display();
            let file = path.file_name().unwrap().to_string_lossy();
            if file.starts_with(".ferry-tmp.") && !settled {
                continue;
            }
            assert!(
                !file.contains(" (conflict "),
                "{when}: a spurious conflict copy on the {name}: {shown}"
            );
            let i = index(&path)
                .filter(|&i| rel(i) == path)
                .unwrap_or_else(|| panic!("{when}: an unknown file on the {name}: {shown}"));
            let data = fs::read(root.join(&path)).unwrap();
            let known = h.tags[i].iter().any(|&t| data == contents(i, t));
            assert!(
                known,
                "{when}: {shown} on the {name} is torn or unknown ({} bytes)",
                data.len()
            );
        }
        assert_eq!(versions(root), 0, "{when}: conflict losers on the {name}");
    }
    for i in 0..FILES + EXTRA {
        let (own, other) = if i % 2 == 0 {
            (left, right)
        } else {
            (right, left)
        };
        let expect = h.latest[i].map(|t| contents(i, t));
        let read = |root: &Path| fs::read(root.join(rel(i))).ok();
        let tag_of = |data: Option<Vec<u8>>| {
            data.map(|d| h.tags[i].iter().find(|&&t| d == contents(i, t)).copied())
        };
        assert!(
            read(own) == expect,
            "{when}: the owner's edit of {} is lost or undone: expected tag {:?}, the owner \
             has {:?}, the other side {:?} (tags written: {:?})",
            rel(i).display(),
            h.latest[i],
            tag_of(read(own)),
            tag_of(read(other)),
            h.tags[i]
        );
        if settled {
            assert!(
                read(other) == expect,
                "{when}: {} did not converge (expected tag {:?})",
                rel(i).display(),
                h.latest[i]
            );
        }
    }
}

fn ferry(left: &Path, right: &Path, state: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ferry"));
    c.arg("sync")
        .args([left, right])
        .arg("--state")
        .arg(state)
        .arg("--force")
        .env("NO_COLOR", "1");
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

#[test]
fn sigkill_during_two_way_sync_loses_nothing_and_makes_no_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let (left, right) = (dir.path().join("left"), dir.path().join("right"));
    let state = dir.path().join("state.sqlite");
    fs::create_dir_all(&right).unwrap();
    let mut h = History {
        tags: vec![Vec::new(); FILES + EXTRA],
        latest: vec![None; FILES + EXTRA],
    };
    for i in 0..FILES {
        h.write(&owner(i, &left, &right), i, 0);
    }
    let started = Instant::now();
    assert!(ferry(&left, &right, &state).status().unwrap().success());
    let full_run = started.elapsed();
    check(&left, &right, &h, "after the first run", true);

    let mut seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("seed {seed}; a first run takes {full_run:?}");
    let mut kills = 0;
    for round in 1..=ROUNDS {
        // Each owner edits a quarter of its paths, deletes a few, and creates new ones.
        for i in 0..FILES + EXTRA {
            let root = owner(i, &left, &right);
            if (i * 7 + round as usize * 3).is_multiple_of(31) {
                h.delete(&root, i);
            } else if (i + round as usize).is_multiple_of(4) {
                h.write(&root, i, round);
            }
        }
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        // Anywhere in a round's run: rounds copy about a quarter of what the first run did,
        // so a third of its time covers them from the scan to the last state batch.
        let span = (full_run.as_millis() as u64 / 3).max(20);
        let delay = Duration::from_millis(5 + (seed >> 33) % span);
        let mut child = ferry(&left, &right, &state).spawn().unwrap();
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
        check(
            &left,
            &right,
            &h,
            &format!("round {round}, killed after {delay:?}"),
            false,
        );
    }
    assert!(
        kills >= 2,
        "only {kills} runs were killed before they finished: the test proved little"
    );

    let out = ferry(&left, &right, &state)
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success(), "the re-run after the kills failed");
    check(&left, &right, &h, "after the re-run", true);
    let again = ferry(&left, &right, &state)
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(again.status.success());
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        "Nothing to do.\n",
        "a second re-run still has work"
    );
}
