//! Any filter description compiles or is rejected; a compiled filter never panics on a path.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (spec, path) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"a/b.txt"[..]),
    };
    let Ok(text) = std::str::from_utf8(spec) else { return };
    let Ok(spec) = serde_json::from_str::<ferrysync::FilterSpec>(text) else { return };
    let Ok(filter) = ferrysync::Filter::new(&spec, 1_700_000_000_000_000_000) else { return };
    let Ok(path) = ferrysync::RelPath::new(path) else { return };
    let entry = ferrysync::transport::Entry {
        path,
        kind: ferrysync::transport::EntryKind::File,
        size: 10,
        mtime_ns: 1_600_000_000_000_000_000,
        mode: 0o644,
        owner: None,
        file_id: 0,
    };
    let _ = filter.explain(&entry, &|_| true);
    let _ = filter.accepts_file(&entry, &|_| false);
    let _ = filter.accepts_dir(&entry);
});
