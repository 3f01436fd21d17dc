//! SmartSync-style masks compiled into glob sets: file masks match a name, folder masks match
//! a folder's relative path.
//!
//! Every mask goes through [`glob`], the one place that sets the glob syntax: `*`, `?`,
//! `[...]` classes and `{a,b}` alternates as in `globset`, and `\` never escapes (in a folder
//! mask it is a separator, as on Windows; a file mask may not contain one).

use globset::{Candidate, Glob, GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};

use crate::error::{Error, Result};

/// Builds one glob the way every mask is built; `literal_separator` makes `*` and `?` stop at
/// `/` (path masks).
pub(crate) fn glob(
    pattern: &str,
    case_sensitive: bool,
    literal_separator: bool,
) -> std::result::Result<Glob, globset::Error> {
    GlobBuilder::new(pattern)
        .case_insensitive(!case_sensitive)
        .literal_separator(literal_separator)
        .backslash_escape(false)
        .build()
}

/// A list of masks from one field of the spec, compiled into one set; indices are the
/// field's indices.
#[derive(Debug, Clone)]
pub(super) struct MaskSet {
    set: GlobSet,
    texts: Vec<String>,
    /// Folder masks only: each mask's pattern, one matcher per folder level, to tell which
    /// folders a match may lie below; `None` where that cannot be told (any folder may).
    steps: Vec<Option<Vec<Step>>>,
}

/// One `/`-separated component of a folder pattern.
#[derive(Debug, Clone)]
enum Step {
    /// `**`: any number of folders, none included.
    AnyDepth,
    /// One folder whose name matches.
    Name(GlobMatcher),
}

impl MaskSet {
    /// Masks on file names (`*.doc`, `report??.xls`).
    pub(super) fn names(field: &str, masks: &[String], case_sensitive: bool) -> Result<MaskSet> {
        MaskSet::build(field, masks, |mask| {
            if mask.contains(['/', '\\']) {
                return Err("a file mask matches names, not paths; use a folder mask".into());
            }
            glob(mask, case_sensitive, true).map_err(|e| e.kind().to_string())
        })
    }

    /// Masks on folders, matched against the folder's relative path; see [`folder_pattern`].
    pub(super) fn folders(field: &str, masks: &[String], case_sensitive: bool) -> Result<MaskSet> {
        let mut set = MaskSet::build(field, masks, |mask| {
            let pattern = folder_pattern(mask)?;
            glob(&pattern, case_sensitive, true).map_err(|e| e.kind().to_string())
        })?;
        set.steps = masks
            .iter()
            .map(|mask| {
                let pattern = folder_pattern(mask).ok()?;
                pattern
                    .split('/')
                    .map(|part| match part {
                        "**" => Some(Step::AnyDepth),
                        _ => glob(part, case_sensitive, true)
                            .ok()
                            .map(|g| Step::Name(g.compile_matcher())),
                    })
                    .collect()
            })
            .collect();
        Ok(set)
    }

    fn build(
        field: &str,
        masks: &[String],
        compile: impl Fn(&str) -> std::result::Result<Glob, String>,
    ) -> Result<MaskSet> {
        let mut builder = GlobSetBuilder::new();
        for (i, mask) in masks.iter().enumerate() {
            let invalid =
                |why: &str| Error::invalid(format!("{field}[{i}]: invalid mask \"{mask}\": {why}"));
            if mask.trim().is_empty() {
                return Err(invalid("empty"));
            }
            builder.add(compile(mask).map_err(|why| invalid(&why))?);
        }
        let set = builder
            .build()
            .map_err(|e| Error::invalid(format!("{field}: {}", e.kind())))?;
        Ok(MaskSet {
            set,
            texts: masks.to_vec(),
            steps: Vec::new(),
        })
    }

    /// A set with no masks.
    pub(super) fn empty() -> MaskSet {
        MaskSet {
            set: GlobSet::empty(),
            texts: Vec::new(),
            steps: Vec::new(),
        }
    }

    /// Whether the set has no masks.
    pub(super) fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// Whether any mask matches `subject` (a name or a `/`-separated relative path).
    pub(super) fn is_match(&self, subject: &[u8]) -> bool {
        !self.is_empty() && self.set.is_match_candidate(&Candidate::from_bytes(subject))
    }

    /// The index of the first mask that matches `subject`.
    pub(super) fn first_match(&self, subject: &[u8]) -> Option<usize> {
        if !self.is_match(subject) {
            return None;
        }
        let candidate = Candidate::from_bytes(subject);
        self.set.matches_candidate(&candidate).into_iter().min()
    }

    /// Indices of all masks that match `subject`, in order.
    pub(super) fn all_matches(&self, subject: &[u8]) -> Vec<usize> {
        if !self.is_match(subject) {
            return Vec::new();
        }
        let mut found = self.set.matches_candidate(&Candidate::from_bytes(subject));
        found.sort_unstable();
        found
    }

    /// The index of the first mask that matches `path` or one of its ancestors, outermost
    /// ancestor first.
    pub(super) fn first_match_on_path_or_ancestor(&self, path: &[u8]) -> Option<usize> {
        if self.is_empty() {
            return None;
        }
        prefixes(path).find_map(|prefix| self.first_match(prefix))
    }

    /// Whether a mask matches `path` or one of its ancestors.
    pub(super) fn matches_path_or_ancestor(&self, path: &[u8]) -> bool {
        !self.is_empty() && prefixes(path).any(|prefix| self.is_match(prefix))
    }

    /// Whether a folder mask may match a folder strictly below the folder at `path` (judged
    /// from the masks alone: `a/b/Doc` only below `a` and `a/b`, `Doc` below any folder).
    pub(super) fn may_match_below(&self, path: &[u8]) -> bool {
        self.steps.iter().any(|steps| match steps {
            None => true,
            Some(steps) => may_match_below(steps, path),
        })
    }

    /// The mask as written in the spec.
    pub(super) fn text(&self, index: usize) -> &str {
        &self.texts[index]
    }
}

/// Whether a pattern of `steps` may match a path that continues `path` by one or more
/// folders: walks the steps along `path`'s components (a `**` step may take none, one or
/// several), and asks whether a step is left over at some point reached.
fn may_match_below(steps: &[Step], path: &[u8]) -> bool {
    // `at[i]`: the first `i` steps can match the components read so far.
    let mut at = vec![false; steps.len() + 1];
    at[0] = true;
    let close = |at: &mut Vec<bool>| {
        for i in 0..steps.len() {
            if at[i] && matches!(steps[i], Step::AnyDepth) {
                at[i + 1] = true;
            }
        }
    };
    close(&mut at);
    if !path.is_empty() {
        for component in path.split(|&b| b == b'/') {
            let candidate = Candidate::from_bytes(component);
            let mut next = vec![false; steps.len() + 1];
            for (i, step) in steps.iter().enumerate() {
                if !at[i] {
                    continue;
                }
                match step {
                    Step::AnyDepth => next[i] = true,
                    Step::Name(name) if name.is_match_candidate(&candidate) => next[i + 1] = true,
                    Step::Name(_) => {}
                }
            }
            close(&mut next);
            at = next;
        }
    }
    at[..steps.len()].iter().any(|&reached| reached)
}

/// `a`, `a/b`, `a/b/c` for `a/b/c` (nothing for the root).
pub(super) fn prefixes(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    let ends = path
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'/')
        .map(|(i, _)| i)
        .chain((!path.is_empty()).then_some(path.len()));
    ends.map(move |end| &path[..end])
}

/// Turns a SmartSync folder mask into a glob on the folder's relative path
/// (`literal_separator` on, so `*` stays inside one component):
///
/// | mask                 | meaning                                  | glob        |
/// |----------------------|------------------------------------------|-------------|
/// | `Doc`                | every folder named Doc, at any depth     | `**/Doc`    |
/// | `Doc\` or `Doc/`     | only the top-level Doc                   | `Doc`       |
/// | `\Doc` or `/Doc`     | only the top-level Doc                   | `Doc`       |
/// | `*\Doc` or `*/Doc`   | every Doc that is not top-level          | `*/**/Doc`  |
/// | `a\b`, `a/b`, `a/b/` | that path from the root                  | `a/b`       |
/// | `*/a/b`              | `a/b` anywhere below the top level       | `*/**/a/b`  |
///
/// So a mask with a separator anywhere is anchored at the root, except that a leading `*`
/// component stands for "one or more folders". `**` keeps its glob meaning (`**/a/b` is
/// `a/b` at any depth).
pub(super) fn folder_pattern(mask: &str) -> std::result::Result<String, String> {
    let unified = mask.replace('\\', "/");
    let parts: Vec<&str> = unified.split('/').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        return Err("no folder name".into());
    }
    let has_separator = unified.contains('/');
    let pattern = if !has_separator {
        format!("**/{}", parts[0])
    } else if parts[0] == "*" && parts.len() > 1 && !unified.starts_with('/') {
        format!("*/**/{}", parts[1..].join("/"))
    } else {
        parts.join("/")
    };
    Ok(pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! folder_patterns {
        ($($name:ident: $mask:expr => $pattern:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(folder_pattern($mask).as_deref(), Ok($pattern));
            }
        )*};
    }

    folder_patterns! {
        bare_name_is_any_depth: "Doc" => "**/Doc";
        trailing_backslash_is_top_level: "Doc\\" => "Doc";
        trailing_slash_is_top_level: "Doc/" => "Doc";
        leading_slash_is_top_level: "/Doc" => "Doc";
        star_backslash_is_below_top: "*\\Doc" => "*/**/Doc";
        star_slash_is_below_top: "*/Doc" => "*/**/Doc";
        path_is_anchored: "a\\b" => "a/b";
        path_with_trailing_separator_is_anchored: "a/b/" => "a/b";
        star_path_is_below_top: "*/a/b" => "*/**/a/b";
        double_star_keeps_its_meaning: "**/a" => "**/a";
        doubled_separators_collapse: "a//b" => "a/b";
        wildcard_name_is_any_depth: "*.git" => "**/*.git";
    }

    #[test]
    fn separator_only_mask_is_rejected() {
        assert!(folder_pattern("\\/").is_err());
    }

    #[test]
    fn prefixes_go_outermost_first() {
        let all: Vec<&[u8]> = prefixes(b"a/bc/d").collect();
        assert_eq!(all, [&b"a"[..], b"a/bc", b"a/bc/d"]);
        assert_eq!(prefixes(b"").count(), 0);
    }

    macro_rules! below {
        ($($name:ident: $mask:expr, $path:expr => $expected:expr;)*) => {$(
            #[test]
            fn $name() {
                let set = MaskSet::folders("include-folders", &[$mask.to_string()], false).unwrap();
                assert_eq!(set.may_match_below($path), $expected, "{} below {:?}", $mask, $path);
            }
        )*};
    }

    below! {
        below_root_always: "a/b", b"" => true;
        below_any_depth_name: "Doc", b"x/y" => true;
        below_a_path_step: "a/b/c", b"a/b" => true;
        below_a_path_end: "a/b/c", b"a/b/c" => false;
        below_a_path_elsewhere: "a/b/c", b"a/x" => false;
        below_top_level_only: "Doc/", b"Doc" => false;
        below_nested_from_the_top: "*/Doc", b"x" => true;
        below_double_star_inside: "a/**/c", b"a/x/y/z" => true;
        below_double_star_prefix: "a/**/c", b"b" => false;
        below_trailing_double_star: "a/**", b"a/x" => true;
        below_alternates_with_separator_are_unknown: "{a/b,c}", b"zzz" => true;
    }

    #[test]
    fn first_match_is_the_lowest_index() {
        let masks = ["*.txt".to_string(), "a*".to_string()];
        let set = MaskSet::names("include-files", &masks, false).unwrap();
        assert_eq!(set.first_match(b"a.txt"), Some(0));
        assert_eq!(set.first_match(b"ab"), Some(1));
        assert_eq!(set.first_match(b"b"), None);
        assert_eq!(set.all_matches(b"A.TXT"), [0, 1]);
    }
}
