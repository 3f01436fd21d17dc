//! Criterion benches of the engine's stages: scanning a local tree, planning two listings,
//! and a whole no-change mirror run.
//!
//! `cargo bench -p ferrysync-benches -- --quick` for a fast pass; `cargo test -p
//! ferrysync-benches --benches` runs each bench once on smaller inputs.

use std::path::Path;
use std::time::Duration;

use criterion::{criterion_main, Criterion, Throughput};
use ferrysync::transport::{EntryKind, LocalTransport};
use ferrysync::{
    scan, Comparator, CompareOptions, ContentVerdicts, Engine, Filter, Folder, Listing, Operation,
    Planner, Profile, RunOptions, ScanOptions,
};
use ferrysync_benches::{synthetic_entries, write_tree};

/// Whether criterion measures (`cargo bench`) rather than runs each bench once (`cargo test`).
fn measuring() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Files in the generated tree: the full size when measuring, a tenth in test mode.
fn tree_files() -> usize {
    if measuring() {
        20_000
    } else {
        2_000
    }
}

/// Entries in each in-memory listing planned.
fn listing_entries() -> usize {
    if measuring() {
        100_000
    } else {
        10_000
    }
}

fn tree(files: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    write_tree(dir.path(), files).expect("generated tree");
    dir
}

fn bench_scan(c: &mut Criterion) {
    let files = tree_files();
    let dir = tree(files);
    let transport = LocalTransport::new(dir.path());
    let filter = Filter::everything();
    let opts = ScanOptions::default();
    let mut group = c.benchmark_group("scan");
    group
        .sample_size(10)
        .throughput(Throughput::Elements(files as u64));
    group.bench_function(format!("{files}-files"), |b| {
        b.iter(|| {
            let listing = scan(&transport, &filter, &opts).expect("scan");
            assert!(listing.len() > files);
            listing
        })
    });
    group.finish();
}

fn bench_plan(c: &mut Criterion) {
    let n = listing_entries();
    let src = Listing::from_entries(synthetic_entries(n));
    let same = src.clone();
    // Every hundredth entry of the destination is stale: the "1% changed" re-run.
    let mut stale = synthetic_entries(n);
    let files = stale.iter_mut().filter(|e| e.kind == EntryKind::File);
    for e in files.step_by(100) {
        e.mtime_ns -= 60_000_000_000;
        e.size += 100;
    }
    let stale = Listing::from_entries(stale);
    let comparator = Comparator::new(&CompareOptions::default()).expect("default comparator");
    let planner = Planner::new(Operation::Mirror, &comparator);
    let content = ContentVerdicts::new();
    let mut group = c.benchmark_group("plan");
    group
        .sample_size(20)
        .throughput(Throughput::Elements(n as u64));
    group.bench_function(format!("{n}-entries/no-change"), |b| {
        b.iter(|| {
            let actions = planner.plan(&src, &same, &content);
            assert!(actions.is_empty());
            actions
        })
    });
    group.bench_function(format!("{n}-entries/1%-changed"), |b| {
        b.iter(|| {
            let actions = planner.plan(&src, &stale, &content);
            assert!(!actions.is_empty());
            actions
        })
    });
    group.finish();
}

fn mirror_profile(src: &Path, dst: &Path) -> Profile {
    Profile::new("bench", Operation::Mirror).with_folder(Folder::new(
        "tree",
        src.to_str().expect("UTF-8 temporary path"),
        dst.to_str().expect("UTF-8 temporary path"),
    ))
}

fn bench_run(c: &mut Criterion) {
    let files = tree_files();
    let src = tree(files);
    let dst = tempfile::tempdir().expect("temporary folder");
    let profile = mirror_profile(src.path(), dst.path());
    let engine = Engine::new();
    let opts = RunOptions::default();
    let first = engine.run(&profile, &opts).expect("first mirror");
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    assert_eq!(first.done.new_files, files as u64);
    let mut group = c.benchmark_group("run");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(files as u64));
    group.bench_function(format!("mirror-no-change/{files}-files"), |b| {
        b.iter(|| {
            let report = engine.run(&profile, &opts).expect("mirror");
            assert!(report.errors.is_empty() && report.done.is_empty());
            report
        })
    });
    group.finish();
}

/// `criterion_group!` makes an undocumented public function.
#[allow(missing_docs)]
mod group {
    use super::{bench_plan, bench_run, bench_scan};
    criterion::criterion_group!(benches, bench_scan, bench_plan, bench_run);
}

criterion_main!(group::benches);
