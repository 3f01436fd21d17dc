//! Crash safety: `ferry mirror` killed with SIGKILL at random points never leaves a torn
//! destination file, and a re-run completes and removes the temporaries.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

const FILES: usize = 1500;

fn contents(tag: &str, i: usize) -> Vec<u8> {
    // Old and new contents differ in size, so a file is checked against one expectation.
    let size = 1024 + (i * 7919) % (64 * 1024) + if tag == "new" { 777 } else { 0 };
    let unit = format!("{tag} file {i} ").into_bytes();
    let mut data = unit.repeat(size / unit.len() + 1);
    data.truncate(size);
    data
}

fn rel(i: usize) -> PathBuf {
    PathBuf::from(format!("d{:02}/e{}/f{i:05}.bin", i % 23, i % 5))
}

fn write_all(root: &Path, tag: &str) {
    for i in 0..FILES {
        let p = root.join(rel(i));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, contents(tag, i)).unwrap();
    }
}

fn temporaries(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else if e.file_name().to_string_lossy().starts_with(".ferry-tmp.") {
                out.push(e.path());
            }
        }
    }
    out
}

fn ferry(args: &[&Path]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ferry"));
    c.arg("mirror").args(args).arg("--force");
    c.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    c
}

#[test]
fn sigkill_during_mirror_never_tears_a_file_and_rerun_converges() {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    write_all(&src, "old");
    let started = Instant::now();
    assert!(ferry(&[&src, &dst]).status().unwrap().success());
    // Kills land anywhere in a run however fast the machine (and ferry) is: a round that
    // replaces every file takes about as long as this first copy.
    let full_run = started.elapsed();
    write_all(&src, "new");

    let mut seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("seed {seed}; a first run takes {full_run:?}");
    let span = (full_run.as_millis() as u64).max(20);
    let mut kills = 0;
    for round in 0..6 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_millis(2 + (seed >> 33) % span);
        let mut child = ferry(&[&src, &dst]).spawn().unwrap();
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
        for i in 0..FILES {
            let got = fs::read(dst.join(rel(i)))
                .unwrap_or_else(|e| panic!("round {round}: {}: {e}", rel(i).display()));
            let tag = if got.len() == contents("new", i).len() {
                "new"
            } else {
                "old"
            };
            assert!(
                got == contents(tag, i),
                "round {round}: {} is torn ({} bytes)",
                rel(i).display(),
                got.len()
            );
        }
        // Start again from the old destination contents so later kills land mid-copy too.
        if round % 2 == 1 {
            write_all(&src, if round % 4 == 1 { "old" } else { "new" });
        }
    }
    println!("{kills} of 6 runs killed");
    assert!(
        kills >= 2,
        "only {kills} runs were killed before they finished: the test proved little"
    );

    assert!(ferry(&[&src, &dst]).status().unwrap().success());
    assert!(
        temporaries(&dst).is_empty(),
        "temporaries left: {:?}",
        temporaries(&dst)
    );
    for i in 0..FILES {
        assert_eq!(
            fs::read(dst.join(rel(i))).unwrap(),
            fs::read(src.join(rel(i))).unwrap()
        );
    }
}
