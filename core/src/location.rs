//! Where a folder is: paths with environment variables, and (later) URLs.

use crate::error::{Error, Result};

/// Expands `$VAR` and `${VAR}` in `text` from the environment; `$$` is a literal `$`, and a
/// leading `~` (alone or followed by `/`) is `$HOME`.
///
/// # Errors
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming an undefined variable
/// (`HOME` for a leading `~`).
pub fn expand_vars(text: &str) -> Result<String> {
    expand_with(text, |name| std::env::var(name).ok())
}

pub(crate) fn expand_with(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    if let Some(tail) = text.strip_prefix('~') {
        if tail.is_empty() || tail.starts_with('/') {
            let home = lookup("HOME").ok_or_else(|| {
                Error::invalid(format!(
                    "{text:?}: \"~\" stands for $HOME, and environment variable HOME is not defined"
                ))
            })?;
            out.push_str(&home);
            rest = tail;
        }
    }
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, tail) = if let Some(braced) = after.strip_prefix('{') {
            let end = braced
                .find('}')
                .ok_or_else(|| Error::invalid(format!("{text:?}: unclosed \"${{\"")))?;
            (&braced[..end], &braced[end + 1..])
        } else if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        if name.is_empty() {
            return Err(Error::invalid(format!(
                "{text:?}: \"$\" without a variable name (write \"$$\" for a dollar sign)"
            )));
        }
        let value = lookup(name).ok_or_else(|| {
            Error::invalid(format!(
                "{text:?}: environment variable {name} is not defined"
            ))
        })?;
        out.push_str(&value);
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "HOME").then(|| "/home/me".to_string())
    }

    #[test]
    fn expands_both_forms() {
        assert_eq!(expand_with("$HOME/Docs", env).unwrap(), "/home/me/Docs");
        assert_eq!(expand_with("${HOME}x", env).unwrap(), "/home/mex");
        assert_eq!(expand_with("a$$b", env).unwrap(), "a$b");
    }

    #[test]
    fn undefined_variable_is_an_error_naming_it() {
        let err = expand_with("$NOPE/x", env).unwrap_err();
        assert!(err.to_string().contains("NOPE"), "{err}");
        assert!(expand_with("${HOME", env).is_err());
    }

    #[test]
    fn leading_tilde_is_home() {
        assert_eq!(expand_with("~/Docs", env).unwrap(), "/home/me/Docs");
        assert_eq!(expand_with("~", env).unwrap(), "/home/me");
        assert_eq!(expand_with("~/$HOME", env).unwrap(), "/home/me//home/me");
        // Only a leading "~" or "~/": "~user" and inner tildes stay as written.
        assert_eq!(expand_with("~bob/x", env).unwrap(), "~bob/x");
        assert_eq!(expand_with("a/~/b", env).unwrap(), "a/~/b");
        let err = expand_with("~/x", |_| None).unwrap_err();
        assert!(err.to_string().contains("HOME"), "{err}");
    }
}
