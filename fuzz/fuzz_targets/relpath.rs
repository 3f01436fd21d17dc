//! A relative path accepted from any bytes never leaves its tree.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = ferrysync::RelPath::new(data) {
        assert!(!p.as_bytes().starts_with(b"/"));
        assert!(p.components().all(|c| c != b".." && c != b"." && !c.is_empty()));
        assert!(!p.as_bytes().contains(&0));
        let root = std::path::Path::new("/root-of-tree");
        assert!(p.to_path(root).starts_with(root));
    }
});
