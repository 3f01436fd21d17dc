//! Finding the profile a command names: a JSON file, or (later) a name in the profile store.

use std::path::Path;

use ferrysync::{Error, ErrorKind, Profile, Result};

/// The profile `arg` names: a path to a profile file when one exists there (or when `arg`
/// looks like a path), otherwise a profile name.
///
/// # Errors
/// A file that cannot be read or parsed ([`ErrorKind::InvalidInput`] with the JSON path of
/// the problem), or an unknown name ([`ErrorKind::NotFound`]).
pub fn resolve(arg: &str) -> Result<Profile> {
    let path = Path::new(arg);
    if path.is_file() || arg.ends_with(".json") || arg.contains(std::path::MAIN_SEPARATOR) {
        return load(path);
    }
    Err(Error::new(
        ErrorKind::NotFound,
        format!(
            "no profile file {arg:?} (profile names need the profile store, not in this build yet)"
        ),
    ))
}

/// Reads a single-profile document. Stands in for `Profile::load` until the library has it:
/// drops the top-level `"format"` key, then deserializes, naming the JSON path of an error.
fn load(path: &Path) -> Result<Profile> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Error::invalid(e.to_string()).with_path(path))?;
    if let Some(map) = value.as_object_mut() {
        map.remove("format");
    }
    serde_path_to_error::deserialize(value)
        .map_err(|e| Error::invalid(format!("{}: {}", e.path(), e.inner())).with_path(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_json_path() {
        let dir = std::env::temp_dir().join(format!("ferry-profile-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("bad.json");
        std::fs::write(
            &file,
            r#"{"format": 1, "name": "x", "folders": [{"name": "a", "source": 3, "destination": "d"}]}"#,
        )
        .unwrap();
        let err = resolve(file.to_str().unwrap()).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.message().starts_with("folders[0].source: "), "{err}");
    }

    #[test]
    fn a_bare_name_is_not_found() {
        assert_eq!(resolve("nightly").unwrap_err().kind(), ErrorKind::NotFound);
    }
}
