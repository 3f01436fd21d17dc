//! Any text given as a profile either parses into a valid profile that round-trips, or is
//! rejected with an error: never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(profile) = ferrysync::Profile::from_json(text) {
        let again = ferrysync::Profile::from_json(&profile.to_json()).expect("export re-imports");
        assert_eq!(again, profile);
    }
    let _ = ferrysync::profiles_from_json(text);
});
