//! The conflict policy of every path of a two-way pair, compiled from the profile's
//! `sync` options: parse, then compile, as [`FilterSpec`](crate::FilterSpec) becomes a
//! [`Filter`](crate::Filter).

use globset::{Candidate, GlobMatcher};

use super::{ConflictPolicy, SyncOptions};
use crate::error::{Error, Result};
use crate::filter::mask;
use crate::path::RelPath;

/// The conflict policy of every path: the per-path rules (first matching mask wins), else the
/// profile's policy; at a first run, the first-run policy when one is set.
#[derive(Debug, Clone)]
pub struct ConflictPolicies {
    default: ConflictPolicy,
    first_run: Option<ConflictPolicy>,
    rules: Vec<(Rule, ConflictPolicy)>,
}

#[derive(Debug, Clone)]
enum Rule {
    /// Matched against the file name.
    Name(GlobMatcher),
    /// Matched against the relative path (the mask holds a separator).
    Path(GlobMatcher),
}

impl ConflictPolicies {
    /// Compiles the profile's conflict rules; masks match like the filters' file masks, with
    /// the filters' case sensitivity.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] for an empty or invalid mask, naming
    /// `sync.conflict-rules[i].mask`.
    pub fn new(sync: &SyncOptions, case_sensitive: bool) -> Result<ConflictPolicies> {
        let mut rules = Vec::with_capacity(sync.conflict_rules.len());
        for (i, rule) in sync.conflict_rules.iter().enumerate() {
            let invalid = |why: &str| {
                Error::invalid(format!(
                    "sync.conflict-rules[{i}].mask: invalid mask {:?}: {why}",
                    rule.mask
                ))
            };
            if rule.mask.trim().is_empty() {
                return Err(invalid("empty"));
            }
            let pattern = rule.mask.replace('\\', "/");
            let is_path = pattern.contains('/');
            let pattern = pattern.trim_start_matches('/').to_string();
            let glob = mask::glob(&pattern, case_sensitive, true)
                .map_err(|e| invalid(&e.kind().to_string()))?
                .compile_matcher();
            let matcher = if is_path {
                Rule::Path(glob)
            } else {
                Rule::Name(glob)
            };
            rules.push((matcher, rule.policy));
        }
        Ok(ConflictPolicies {
            default: sync.conflict,
            first_run: sync.first_run,
            rules,
        })
    }

    /// The policy for a conflict at `path`; `first_run` when the pair has no base yet.
    pub fn policy_for(&self, path: &RelPath, first_run: bool) -> ConflictPolicy {
        if first_run {
            if let Some(p) = self.first_run {
                return p;
            }
        }
        self.rules
            .iter()
            .find(|(rule, _)| match rule {
                Rule::Name(m) => m.is_match_candidate(&Candidate::from_bytes(path.file_name())),
                Rule::Path(m) => m.is_match_candidate(&Candidate::from_bytes(path.as_bytes())),
            })
            .map_or(self.default, |(_, p)| *p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ConflictRule;

    #[test]
    fn a_bad_rule_mask_names_its_json_path() {
        let sync = SyncOptions {
            conflict_rules: vec![ConflictRule {
                mask: "[".into(),
                policy: ConflictPolicy::Newer,
            }],
            ..SyncOptions::default()
        };
        let err = ConflictPolicies::new(&sync, false).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("sync.conflict-rules[0].mask: invalid mask"),
            "{err}"
        );
    }
}
