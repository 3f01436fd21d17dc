//! A folder of profile files, one per profile, laid out as the group tree.

use std::fs;
use std::path::{Path, PathBuf};

use super::validate::{check_group, check_name};
use super::{profiles_from_json, profiles_to_json, Profile};
use crate::error::{Error, ErrorKind, Result};

/// A folder the user chooses, holding each profile as `<folder>/<group path>/<name>.json`.
///
/// Profiles are addressed by key: `group/name`, `/name` for a profile at the top, or a bare
/// `name` when only one group has a profile of that name. Groups are the store's folders, so a
/// group stays in [`groups`](ProfileStore::groups) after its last profile is deleted.
///
/// Every write is atomic (a temporary file renamed into place); the store keeps no state in
/// memory, so several stores may share a folder.
#[derive(Debug, Clone)]
pub struct ProfileStore {
    root: PathBuf,
}

/// Where a key points, checked so that it stays inside the store.
struct Location {
    group: String,
    name: String,
    file: PathBuf,
}

impl Location {
    fn key(&self) -> String {
        key_of(&self.group, &self.name)
    }
}

fn key_of(group: &str, name: &str) -> String {
    if group.is_empty() {
        name.to_string()
    } else {
        format!("{group}/{name}")
    }
}

fn not_found(key: &str) -> Error {
    Error::new(ErrorKind::NotFound, format!("profile {key:?} not found"))
}

fn already_exists(key: &str) -> Error {
    Error::new(
        ErrorKind::AlreadyExists,
        format!("profile {key:?} already exists"),
    )
}

impl ProfileStore {
    /// Opens the store in `dir`, creating the folder (and its parents) when missing.
    ///
    /// # Errors
    /// The I/O error creating the folder, naming it.
    pub fn open(dir: impl AsRef<Path>) -> Result<ProfileStore> {
        let root = dir.as_ref().to_path_buf();
        fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
        Ok(ProfileStore { root })
    }

    /// The store's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every profile, sorted by group, then name.
    ///
    /// # Errors
    /// A folder that cannot be read, or a profile file that does not load (naming the file),
    /// including one whose `group` or `name` does not match where it is stored.
    pub fn list(&self) -> Result<Vec<Profile>> {
        self.locations()?.iter().map(|at| self.read(at)).collect()
    }

    /// The profile with `key` (`group/name`, `/name`, or a bare `name`).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when no profile has the key;
    /// [`ErrorKind::InvalidInput`] for a bare name that several groups use (the message
    /// lists them) or a key that would leave the store; the errors of [`Profile::load`].
    pub fn get(&self, key: &str) -> Result<Profile> {
        let at = self.find(key)?;
        self.read(&at)
    }

    /// Inserts `profile`, or replaces the one with the same group and name.
    ///
    /// # Errors
    /// The errors of [`Profile::validate`] (nothing is written), or the write's I/O error.
    pub fn save(&self, profile: &Profile) -> Result<()> {
        profile.validate()?;
        let at = self.location(&profile.group, &profile.name)?;
        self.write(&at, profile)
    }

    /// Adds the profiles of `json` (a single profile or a group export) and returns their
    /// keys. Nothing is written unless every profile is valid and, without `overwrite`, none
    /// exists yet.
    ///
    /// # Errors
    /// The errors of [`profiles_from_json`]; [`ErrorKind::AlreadyExists`] naming a profile
    /// that exists when `overwrite` is false; the write's I/O error.
    pub fn import(&self, json: &str, overwrite: bool) -> Result<Vec<String>> {
        let profiles = profiles_from_json(json)?;
        let mut targets = Vec::with_capacity(profiles.len());
        for profile in &profiles {
            let at = self.location(&profile.group, &profile.name)?;
            if !overwrite && self.exists(&at)? {
                return Err(already_exists(&at.key()));
            }
            targets.push(at);
        }
        for (at, profile) in targets.iter().zip(&profiles) {
            self.write(at, profile)?;
        }
        Ok(targets.iter().map(Location::key).collect())
    }

    /// The profile with `key` as a single-profile document.
    ///
    /// # Errors
    /// The errors of [`get`](ProfileStore::get).
    pub fn export(&self, key: &str) -> Result<String> {
        Ok(self.get(key)?.to_json())
    }

    /// The profiles of `group` and its subgroups as a group export (`""` exports all).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when the group does not exist; the errors of
    /// [`list`](ProfileStore::list).
    pub fn export_group(&self, group: &str) -> Result<String> {
        let group = group.trim_matches('/');
        check_group("group", group)?;
        if !self.root.join(group).is_dir() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("group {group:?} not found"),
            ));
        }
        let inside = |g: &str| {
            group.is_empty()
                || g == group
                || g.strip_prefix(group).is_some_and(|r| r.starts_with('/'))
        };
        let profiles: Vec<Profile> = self
            .list()?
            .into_iter()
            .filter(|p| inside(&p.group))
            .collect();
        Ok(profiles_to_json(&profiles))
    }

    /// Renames the profile with `key` to `new_name` in the same group.
    ///
    /// # Errors
    /// The errors of [`get`](ProfileStore::get); [`ErrorKind::InvalidInput`] for an invalid
    /// name; [`ErrorKind::AlreadyExists`] when the group has a profile named `new_name`.
    pub fn rename(&self, key: &str, new_name: &str) -> Result<()> {
        let from = self.find(key)?;
        if from.name == new_name {
            return Ok(());
        }
        let mut profile = self.read(&from)?;
        let to = self.fresh(&from.group, new_name)?;
        profile.name = new_name.to_string();
        self.write(&to, &profile)?;
        fs::remove_file(&from.file).map_err(|e| Error::io(&from.file, e))
    }

    /// Copies the profile with `key` as `new_name` in the same group.
    ///
    /// # Errors
    /// The errors of [`rename`](ProfileStore::rename).
    pub fn duplicate(&self, key: &str, new_name: &str) -> Result<()> {
        let from = self.find(key)?;
        let mut profile = self.read(&from)?;
        let to = self.fresh(&from.group, new_name)?;
        profile.name = new_name.to_string();
        self.write(&to, &profile)
    }

    /// Deletes the profile with `key` (its group folder stays).
    ///
    /// # Errors
    /// The errors of [`get`](ProfileStore::get), or the I/O error removing the file.
    pub fn delete(&self, key: &str) -> Result<()> {
        let at = self.find(key)?;
        fs::remove_file(&at.file).map_err(|e| Error::io(&at.file, e))
    }

    /// Enables or disables the profile with `key`.
    ///
    /// # Errors
    /// The errors of [`get`](ProfileStore::get) and [`save`](ProfileStore::save).
    pub fn set_enabled(&self, key: &str, enabled: bool) -> Result<()> {
        let at = self.find(key)?;
        let mut profile = self.read(&at)?;
        if profile.enabled != enabled {
            profile.enabled = enabled;
            self.write(&at, &profile)?;
        }
        Ok(())
    }

    /// The group tree as sorted paths, every level included (`"Daily"`, `"Daily/Docs"`).
    ///
    /// # Errors
    /// A folder that cannot be read.
    pub fn groups(&self) -> Result<Vec<String>> {
        let mut groups = Vec::new();
        self.walk(&self.root, "", &mut |group, entry| {
            if let Entry::Folder = entry {
                groups.push(group.to_string());
            }
        })?;
        groups.sort();
        Ok(groups)
    }

    /// Every profile file, by layout alone (no file is parsed), sorted by group then name.
    fn locations(&self) -> Result<Vec<Location>> {
        let mut found = Vec::new();
        self.walk(&self.root, "", &mut |group, entry| {
            if let Entry::Profile(name, file) = entry {
                found.push(Location {
                    group: group.to_string(),
                    name,
                    file,
                });
            }
        })?;
        found.sort_by(|a, b| (&a.group, &a.name).cmp(&(&b.group, &b.name)));
        Ok(found)
    }

    /// Visits `dir` (the folder of `group`) and below: each subfolder as a group, each
    /// `<name>.json` file as a profile. Links to folders are not followed (no loops).
    fn walk(&self, dir: &Path, group: &str, visit: &mut dyn FnMut(&str, Entry)) -> Result<()> {
        let entries = fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(dir, e))?;
            let path = entry.path();
            let Some(file_name) = entry.file_name().to_str().map(str::to_string) else {
                continue; // Never written by the store; not a profile.
            };
            let kind = entry.file_type().map_err(|e| Error::io(&path, e))?;
            if kind.is_dir() {
                if check_group("group", &file_name).is_err() {
                    continue;
                }
                let sub = key_of(group, &file_name);
                visit(&sub, Entry::Folder);
                self.walk(&path, &sub, visit)?;
            } else if let Some(name) = file_name.strip_suffix(".json") {
                if check_name("name", name).is_ok() && path.is_file() {
                    visit(group, Entry::Profile(name.to_string(), path));
                }
            }
        }
        Ok(())
    }

    /// Resolves a key to an existing profile file.
    fn find(&self, key: &str) -> Result<Location> {
        match key.rsplit_once('/') {
            Some((group, name)) => {
                let at = self.location(group.strip_prefix('/').unwrap_or(group), name)?;
                if self.exists(&at)? {
                    Ok(at)
                } else {
                    Err(not_found(&at.key()))
                }
            }
            None => {
                check_name("name", key)?;
                let mut matches: Vec<Location> = self
                    .locations()?
                    .into_iter()
                    .filter(|at| at.name == key)
                    .collect();
                match matches.len() {
                    0 => Err(not_found(key)),
                    1 => Ok(matches.remove(0)),
                    _ => Err(Error::invalid(format!(
                        "profile name {key:?} is ambiguous: {} (use group/name, or /name \
                         for the top)",
                        matches
                            .iter()
                            .map(|at| format!("{:?}", at.key()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))),
                }
            }
        }
    }

    /// Where the profile `group`/`name` is stored, refusing anything that would leave the
    /// store's folder.
    fn location(&self, group: &str, name: &str) -> Result<Location> {
        check_group("group", group)?;
        check_name("name", name)?;
        let mut file = self.root.clone();
        file.extend(group.split('/').filter(|c| !c.is_empty()));
        file.push(format!("{name}.json"));
        Ok(Location {
            group: group.to_string(),
            name: name.to_string(),
            file,
        })
    }

    /// The location for a new profile `name` in `group`, which must not exist yet.
    fn fresh(&self, group: &str, name: &str) -> Result<Location> {
        let at = self.location(group, name)?;
        if self.exists(&at)? {
            return Err(already_exists(&at.key()));
        }
        Ok(at)
    }

    fn exists(&self, at: &Location) -> Result<bool> {
        at.file.try_exists().map_err(|e| Error::io(&at.file, e))
    }

    /// Loads the profile at `at`, checking that its contents match its place.
    fn read(&self, at: &Location) -> Result<Profile> {
        let profile = Profile::load(&at.file)?;
        if profile.group != at.group || profile.name != at.name {
            return Err(Error::invalid(format!(
                "the file holds profile {:?}, but its place in the store is {:?}",
                profile.key(),
                at.key()
            ))
            .with_path(&at.file));
        }
        Ok(profile)
    }

    fn write(&self, at: &Location, profile: &Profile) -> Result<()> {
        if let Some(parent) = at.file.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let mut profile = profile.clone();
        profile.group.clone_from(&at.group);
        profile.name.clone_from(&at.name);
        profile.save(&at.file)
    }
}

/// What [`ProfileStore::walk`] finds.
enum Entry {
    Folder,
    Profile(String, PathBuf),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Folder, Operation};

    fn profile(group: &str, name: &str) -> Profile {
        let mut p =
            Profile::new(name, Operation::Mirror).with_folder(Folder::new("f", "/src", "/dst"));
        p.group = group.to_string();
        p
    }

    fn keys(store: &ProfileStore) -> Vec<String> {
        store.list().unwrap().iter().map(Profile::key).collect()
    }

    fn store() -> (tempfile::TempDir, ProfileStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::open(dir.path().join("profiles")).unwrap();
        (dir, store)
    }

    #[test]
    fn open_creates_the_folder() {
        let (dir, store) = store();
        assert!(dir.path().join("profiles").is_dir());
        assert_eq!(store.root(), dir.path().join("profiles"));
        assert!(store.list().unwrap().is_empty());
    }

    #[test]
    fn save_lays_out_the_tree_and_list_sorts_it() {
        let (_dir, store) = store();
        for (g, n) in [
            ("Daily/Docs", "b"),
            ("", "z"),
            ("Daily", "a"),
            ("Daily/Docs", "a"),
        ] {
            store.save(&profile(g, n)).unwrap();
        }
        assert!(store.root().join("Daily/Docs/a.json").is_file());
        assert!(store.root().join("z.json").is_file());
        assert_eq!(
            keys(&store),
            ["z", "Daily/a", "Daily/Docs/a", "Daily/Docs/b"]
        );
        assert_eq!(store.groups().unwrap(), ["Daily", "Daily/Docs"]);

        // Saving again replaces.
        let mut p = profile("Daily", "a");
        p.description = "changed".into();
        store.save(&p).unwrap();
        assert_eq!(store.get("Daily/a").unwrap(), p);
        assert_eq!(store.list().unwrap().len(), 4);
    }

    #[test]
    fn get_by_bare_name_full_key_or_top_key() {
        let (_dir, store) = store();
        store.save(&profile("G", "only")).unwrap();
        store.save(&profile("", "twice")).unwrap();
        store.save(&profile("H/I", "twice")).unwrap();

        assert_eq!(store.get("only").unwrap(), profile("G", "only"));
        assert_eq!(store.get("G/only").unwrap(), profile("G", "only"));
        assert_eq!(store.get("/twice").unwrap(), profile("", "twice"));
        assert_eq!(store.get("H/I/twice").unwrap(), profile("H/I", "twice"));

        let err = store.get("twice").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.message().contains("\"twice\", \"H/I/twice\""), "{err}");

        for missing in ["nope", "G/nope", "/only", "X/only"] {
            assert_eq!(
                store.get(missing).unwrap_err().kind(),
                ErrorKind::NotFound,
                "{missing}"
            );
        }
    }

    #[test]
    fn keys_and_names_cannot_escape_the_folder() {
        let (dir, store) = store();
        fs::write(dir.path().join("secret.json"), "{}").unwrap();
        for key in ["../secret", "a/../../secret", "..", "a//b", "a\\..\\b"] {
            let err = store.get(key).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{key}: {err}");
        }
        let err = store.save(&profile("..", "x")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        store.save(&profile("", "p")).unwrap();
        for name in ["../p2", "..", "a\\b", ""] {
            assert_eq!(
                store.rename("p", name).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{name:?}"
            );
            assert_eq!(
                store.duplicate("p", name).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{name:?}"
            );
        }
        assert!(!dir.path().join("p2.json").exists());
        assert_eq!(keys(&store), ["p"]);
    }

    #[test]
    fn import_single_and_group_exports() {
        let (_dir, store) = store();
        let single = profile("A", "one").to_json();
        assert_eq!(store.import(&single, false).unwrap(), ["A/one"]);

        let group = profiles_to_json(&[profile("B", "two"), profile("", "three")]);
        assert_eq!(store.import(&group, false).unwrap(), ["B/two", "three"]);
        assert_eq!(keys(&store), ["three", "A/one", "B/two"]);
    }

    #[test]
    fn import_without_overwrite_changes_nothing_when_one_exists() {
        let (_dir, store) = store();
        store.save(&profile("B", "two")).unwrap();
        let mut changed = profile("B", "two");
        changed.description = "new".into();
        let group = profiles_to_json(&[profile("A", "one"), changed.clone()]);

        let err = store.import(&group, false).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        assert!(err.message().contains("\"B/two\""), "{err}");
        assert_eq!(keys(&store), ["B/two"]);

        assert_eq!(store.import(&group, true).unwrap(), ["A/one", "B/two"]);
        assert_eq!(store.get("B/two").unwrap(), changed);
    }

    #[test]
    fn import_rejects_invalid_documents() {
        let (_dir, store) = store();
        let err = store
            .import(r#"{"format": 1, "name": ""}"#, true)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(store.list().unwrap().is_empty());
    }

    #[test]
    fn export_round_trips_through_import() {
        let (_dir, store) = store();
        let p = profile("G", "p");
        store.save(&p).unwrap();
        assert_eq!(Profile::from_json(&store.export("p").unwrap()).unwrap(), p);
        assert_eq!(
            store.export("missing").unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }

    #[test]
    fn export_group_takes_subgroups_only() {
        let (_dir, store) = store();
        for (g, n) in [
            ("Daily", "a"),
            ("Daily/Docs", "b"),
            ("DailyX", "c"),
            ("", "d"),
        ] {
            store.save(&profile(g, n)).unwrap();
        }
        let exported = |g: &str| -> Vec<String> {
            profiles_from_json(&store.export_group(g).unwrap())
                .unwrap()
                .iter()
                .map(Profile::key)
                .collect()
        };
        assert_eq!(exported("Daily"), ["Daily/a", "Daily/Docs/b"]);
        assert_eq!(exported("Daily/Docs"), ["Daily/Docs/b"]);
        assert_eq!(exported(""), ["d", "Daily/a", "Daily/Docs/b", "DailyX/c"]);
        assert_eq!(
            store.export_group("Nope").unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            store.export_group("../x").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn rename_duplicate_delete_and_enable() {
        let (_dir, store) = store();
        store.save(&profile("G", "a")).unwrap();
        store.save(&profile("G", "b")).unwrap();

        store.rename("G/a", "c").unwrap();
        assert_eq!(keys(&store), ["G/b", "G/c"]);
        assert_eq!(store.get("c").unwrap().name, "c");
        assert_eq!(
            store.rename("c", "b").unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
        store.rename("c", "c").unwrap();

        store.duplicate("b", "d").unwrap();
        assert_eq!(keys(&store), ["G/b", "G/c", "G/d"]);
        assert_eq!(store.get("d").unwrap(), profile("G", "d"));
        assert_eq!(
            store.duplicate("b", "c").unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );

        store.set_enabled("d", false).unwrap();
        assert!(!store.get("d").unwrap().enabled);
        store.set_enabled("G/d", true).unwrap();
        assert!(store.get("d").unwrap().enabled);

        store.delete("G/b").unwrap();
        store.delete("c").unwrap();
        store.delete("d").unwrap();
        assert!(keys(&store).is_empty());
        assert_eq!(store.delete("d").unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(store.groups().unwrap(), ["G"]);
    }

    #[test]
    fn a_file_that_disagrees_with_its_place_is_reported() {
        let (_dir, store) = store();
        fs::create_dir(store.root().join("G")).unwrap();
        let file = store.root().join("G/a.json");
        fs::write(&file, profile("", "b").to_json()).unwrap();
        let err = store.get("G/a").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(err.path(), Some(file.as_path()));
        assert!(err.message().contains("\"b\""), "{err}");
        assert!(store.list().is_err());
    }

    #[test]
    fn temporary_and_foreign_files_are_not_profiles() {
        let (_dir, store) = store();
        store.save(&profile("", "p")).unwrap();
        fs::write(store.root().join(".p.json.1-0.tmp"), "partial").unwrap();
        fs::write(store.root().join("notes.txt"), "hi").unwrap();
        assert_eq!(keys(&store), ["p"]);
    }
}
