//! Memory of a [`Listing`] per entry: builds a listing of 1,000,000 synthetic entries with
//! realistic relative paths and reads the resident set size (`VmRSS` in `/proc/self/status`)
//! before and after.
//!
//! `cargo run --release -p ferrysync-benches --bin listing_memory [ENTRIES]`
//!
//! Prints `bytes per entry: N` (target: at most 300).

use std::fs;
use std::hint::black_box;

use ferrysync::transport::Entry;
use ferrysync::Listing;
use ferrysync_benches::synthetic_entries;

const DEFAULT_ENTRIES: usize = 1_000_000;
const TARGET_BYTES_PER_ENTRY: f64 = 300.0;
const MIB: f64 = 1024.0 * 1024.0;

/// Resident set size of this process in bytes.
fn rss_bytes() -> u64 {
    let status = fs::read_to_string("/proc/self/status").expect("/proc/self/status (Linux only)");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line in /proc/self/status");
    kib * 1024
}

fn main() {
    let entries = match std::env::args().nth(1) {
        Some(n) => n.parse().expect("ENTRIES: a number"),
        None => DEFAULT_ENTRIES,
    };
    let before = rss_bytes();
    let listing = black_box(Listing::from_entries(synthetic_entries(entries)));
    let after = rss_bytes();
    let n = listing.len();
    let per_entry = after.saturating_sub(before) as f64 / n as f64;
    let path_bytes: usize = listing
        .entries()
        .iter()
        .map(|e| e.path.as_bytes().len())
        .sum();
    println!("entries: {n}");
    println!(
        "mean path length: {:.1} bytes",
        path_bytes as f64 / n as f64
    );
    println!("size of Entry: {} bytes", std::mem::size_of::<Entry>());
    println!("rss before: {:.1} MiB", before as f64 / MIB);
    println!("rss after: {:.1} MiB", after as f64 / MIB);
    println!("bytes per entry: {per_entry:.0}");
    let verdict = if per_entry <= TARGET_BYTES_PER_ENTRY {
        "ok"
    } else {
        "over target"
    };
    println!("target: <= {TARGET_BYTES_PER_ENTRY:.0} bytes per entry: {verdict}");
}
