//! Where a folder is: a [`Location`], parsed from a profile's text — a local path (with
//! environment variables) or a URL of a remote tree, whose secrets never reach a message.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{Error, Result};

/// Where a folder pair's source or destination is: a local folder, or a URL of a remote one.
///
/// [`Location::parse`] reads a profile's text:
///
/// - **A local path**: `/data/docs`, `~/docs`, `$HOME/docs`, `docs`. Environment variables
///   (`$VAR`, `${VAR}`; `$$` is a dollar sign) and a leading `~` are expanded
///   ([`expand_vars`]). A relative path is made absolute against the working folder *when it
///   is parsed*, as written (no link is resolved, `..` is kept): a plan made from it names
///   the same folder wherever it runs later.
/// - **`file://` URLs** are local paths too: `file:///data/my%20docs` is `/data/my docs`
///   (the host must be empty or `localhost`).
/// - **URLs of remote trees**: `sftp://user:password@host:port/path`, `ftp://…`,
///   `ftps://…`, `webdav://…` and `webdavs://…` (WebDAV over HTTP and HTTPS),
///   `s3://bucket/prefix`, `az://container/prefix`, `gs://bucket/prefix`, and
///   `memory://name` (a tree held in memory, which only an embedding program's own
///   [`TransportFactory`](crate::transport::TransportFactory) can provide). The user,
///   password and path are percent-decoded (`%40` is `@`, `%2F` a `/` inside a name), the
///   query holds backend options (`?region=eu-west-1`). Variables are expanded in URLs as
///   well, before they are parsed: a password read from `$PASSWORD` is never written into
///   the profile. `.` and `..` segments of a URL's path are resolved as written.
///
/// A text is a URL when it starts with a scheme followed by `://` (or one of the schemes
/// above followed by `:`); anything else is a path. An unknown scheme, a missing host, a bad
/// port, a fragment (`#`; write `%23` in a name) are [`ErrorKind::InvalidInput`]
/// (crate::ErrorKind::InvalidInput).
///
/// A location's text for people ([`Display`](fmt::Display), [`Location::describe`],
/// [`Debug`](fmt::Debug), and the plan's JSON) never shows a password or a secret query
/// parameter (one whose name holds `pass`, `pwd`, `secret`, `key`, `token`, `sig`, `auth`,
/// `credential` or `sas`, in any case): they read `***`.
///
/// ```
/// use ferrysync::{Location, Scheme};
///
/// let dst: Location = "sftp://me:s3cr%40t@backup.example:2222/srv/docs?key=abc".parse()?;
/// assert_eq!(dst.scheme(), Scheme::Sftp);
/// assert_eq!((dst.user(), dst.password()), (Some("me"), Some("s3cr@t")));
/// assert_eq!((dst.host(), dst.port()), (Some("backup.example"), Some(2222)));
/// assert_eq!(dst.path(), "/srv/docs");
/// assert_eq!(dst.query_param("key"), Some("abc"));
/// assert_eq!(dst.to_string(), "sftp://me:***@backup.example:2222/srv/docs?key=***");
///
/// let src = Location::parse("/data/docs")?;
/// assert_eq!(src.local_path(), Some(std::path::Path::new("/data/docs")));
/// # Ok::<(), ferrysync::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Location(Inner);

#[derive(Clone, PartialEq, Eq, Hash)]
enum Inner {
    Local(PathBuf),
    Remote(Box<Remote>),
}

/// A parsed URL of a remote tree, its parts decoded.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Remote {
    scheme: Scheme,
    url: url::Url,
    user: Option<String>,
    password: Option<String>,
    host: String,
    path: String,
    query: Vec<(String, String)>,
}

/// What kind of tree a [`Location`] names: its URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// A local (or mounted) folder: a path, or a `file://` URL.
    File,
    /// `sftp://`: SSH file transfer.
    Sftp,
    /// `ftp://`: plain FTP.
    Ftp,
    /// `ftps://`: FTP over TLS.
    Ftps,
    /// `webdav://`: WebDAV over HTTP.
    Webdav,
    /// `webdavs://`: WebDAV over HTTPS.
    Webdavs,
    /// `s3://bucket/prefix`: Amazon S3 and compatible object stores.
    S3,
    /// `az://container/prefix`: Azure Blob Storage.
    Azure,
    /// `gs://bucket/prefix`: Google Cloud Storage.
    Gcs,
    /// `memory://name`: a tree in memory, provided by an embedding program's own factory.
    Memory,
}

const SCHEMES: [Scheme; 10] = [
    Scheme::File,
    Scheme::Sftp,
    Scheme::Ftp,
    Scheme::Ftps,
    Scheme::Webdav,
    Scheme::Webdavs,
    Scheme::S3,
    Scheme::Azure,
    Scheme::Gcs,
    Scheme::Memory,
];

impl Scheme {
    /// The scheme as written in URLs: `file`, `sftp`, `ftp`, `ftps`, `webdav`, `webdavs`,
    /// `s3`, `az`, `gs`, `memory`.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::File => "file",
            Scheme::Sftp => "sftp",
            Scheme::Ftp => "ftp",
            Scheme::Ftps => "ftps",
            Scheme::Webdav => "webdav",
            Scheme::Webdavs => "webdavs",
            Scheme::S3 => "s3",
            Scheme::Azure => "az",
            Scheme::Gcs => "gs",
            Scheme::Memory => "memory",
        }
    }

    fn of(name: &str) -> Option<Scheme> {
        SCHEMES
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Location {
    /// Parses a profile's text for a folder (see [`Location`]): environment variables are
    /// expanded, a relative path is made absolute against the working folder.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an undefined variable
    /// or a URL that does not parse (an unknown scheme, no host, a bad port, a fragment),
    /// quoting the text without its secrets.
    pub fn parse(text: &str) -> Result<Location> {
        Location::parse_expanded(&expand_vars(text)?)
    }

    /// The local folder `path`, as given (no variables expanded), made absolute against the
    /// working folder.
    pub fn local(path: impl AsRef<Path>) -> Location {
        let path = path.as_ref();
        Location(Inner::Local(
            std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
        ))
    }

    /// Parses text whose variables are expanded already.
    pub(crate) fn parse_expanded(text: &str) -> Result<Location> {
        let Some((scheme_text, rest)) = split_scheme(text) else {
            return Ok(Location::local(text));
        };
        let bad = |why: String| Error::invalid(format!("{:?}: {why}", redact(text)));
        let Some(scheme) = Scheme::of(scheme_text) else {
            let known: Vec<String> = SCHEMES.iter().map(|s| format!("{s}://")).collect();
            return Err(bad(format!(
                "unknown scheme {scheme_text:?} (a location is a path or a URL starting with {})",
                known.join(", ")
            )));
        };
        if !rest.starts_with("//") {
            return Err(bad(format!(
                "a {scheme} URL is written {scheme}://host/path"
            )));
        }
        let url = url::Url::parse(text).map_err(|e| bad(format!("not a valid URL: {e}")))?;
        if url.fragment().is_some() {
            return Err(bad(
                "has a fragment (\"#...\"); write \"#\" in a name as %23".into(),
            ));
        }
        if scheme == Scheme::File {
            if url.query().is_some() || !url.username().is_empty() || url.port().is_some() {
                return Err(bad(
                    "a file:// URL has no user, port or query (file:///path)".into(),
                ));
            }
            let path = url.to_file_path().map_err(|()| {
                bad("a file:// URL names a local folder: its host is empty or localhost".into())
            })?;
            return Ok(Location(Inner::Local(path)));
        }
        let decode = |what: &str, s: &str| -> Result<String> {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(Cow::into_owned)
                .map_err(|_| bad(format!("the {what} is not UTF-8 once percent-decoded")))
        };
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_string(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            None => String::new(),
        };
        if host.is_empty() {
            let what = match scheme {
                Scheme::S3 | Scheme::Gcs => "bucket",
                Scheme::Azure => "container",
                Scheme::Memory => "name",
                _ => "host",
            };
            return Err(bad(format!("no {what} (write {scheme}://{what}/path)")));
        }
        let user = match url.username() {
            "" => None,
            u => Some(decode("user", u)?),
        };
        let password = url.password().map(|p| decode("password", p)).transpose()?;
        let path = decode("path", url.path())?;
        let query = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Ok(Location(Inner::Remote(Box::new(Remote {
            scheme,
            url,
            user,
            password,
            host,
            path,
            query,
        }))))
    }

    /// Checks the syntax of a profile's text: a URL must parse. A text naming a variable
    /// that is not defined is left for when the folder is used (a folder the profile
    /// disables may name one), where the error names the variable.
    pub(crate) fn check(text: &str) -> Result<()> {
        match expand_vars(text) {
            Ok(expanded) => Location::parse_expanded(&expanded).map(drop),
            Err(_) => Ok(()),
        }
    }

    /// Parses `text` as written in a folder the profile disables: variables that are not
    /// defined stay as written, and a text that still does not parse is kept as a local
    /// path (its secrets hidden). Such a location is shown, never used.
    pub(crate) fn as_written(text: &str) -> Location {
        let expanded = expand_with(text, |name| {
            Some(std::env::var(name).unwrap_or_else(|_| format!("${{{name}}}")))
        })
        .unwrap_or_else(|_| text.to_string());
        Location::parse_expanded(&expanded)
            .unwrap_or_else(|_| Location(Inner::Local(PathBuf::from(redact(text)))))
    }

    /// The kind of tree: [`Scheme::File`] for a local folder.
    pub fn scheme(&self) -> Scheme {
        match &self.0 {
            Inner::Local(_) => Scheme::File,
            Inner::Remote(r) => r.scheme,
        }
    }

    /// The local folder, for a path or a `file://` URL; `None` for a remote tree.
    pub fn local_path(&self) -> Option<&Path> {
        match &self.0 {
            Inner::Local(p) => Some(p),
            Inner::Remote(_) => None,
        }
    }

    /// The user of a URL, percent-decoded.
    pub fn user(&self) -> Option<&str> {
        self.remote().and_then(|r| r.user.as_deref())
    }

    /// The password of a URL, percent-decoded. It is never shown: not by
    /// [`Location::describe`], nor by `Display` or `Debug`.
    pub fn password(&self) -> Option<&str> {
        self.remote().and_then(|r| r.password.as_deref())
    }

    /// The host of a URL (an IPv6 address without its brackets); for `s3://` and `gs://`
    /// the bucket, for `az://` the container, for `memory://` the tree's name.
    pub fn host(&self) -> Option<&str> {
        self.remote().map(|r| r.host.as_str())
    }

    /// The port a URL names; `None` when it names none (or the scheme's default, which
    /// URLs leave out: 21 for `ftp://`).
    pub fn port(&self) -> Option<u16> {
        self.remote().and_then(|r| r.url.port())
    }

    /// The path: a local folder's as text (lossily, for messages), or a URL's path,
    /// percent-decoded and starting with `/` (for `s3://`, `gs://` and `az://` the prefix
    /// within the bucket or container: `/` for none).
    pub fn path(&self) -> Cow<'_, str> {
        match &self.0 {
            Inner::Local(p) => p.to_string_lossy(),
            Inner::Remote(r) => Cow::Borrowed(&r.path),
        }
    }

    /// The query parameters of a URL, decoded, in order (backend options: `region`,
    /// `endpoint`, ...).
    pub fn query(&self) -> &[(String, String)] {
        self.remote().map_or(&[], |r| r.query.as_slice())
    }

    /// The value of the first query parameter called `name`.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query()
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The location for people and logs: a local folder's path, or the URL with its
    /// password and secret query parameters as `***` (the same as `Display`).
    pub fn describe(&self) -> String {
        self.to_string()
    }

    /// The folder `name` inside this one.
    pub(crate) fn child(&self, name: &str) -> Location {
        match &self.0 {
            Inner::Local(p) => Location(Inner::Local(p.join(name))),
            Inner::Remote(r) => {
                let mut url = r.url.clone();
                if let Ok(mut segments) = url.path_segments_mut() {
                    segments.pop_if_empty().push(name);
                }
                let mut path = r.path.trim_end_matches('/').to_string();
                path.push('/');
                path.push_str(name);
                Location(Inner::Remote(Box::new(Remote {
                    url,
                    path,
                    ..(**r).clone()
                })))
            }
        }
    }

    /// The folder holding this one and this one's name; `None` for a root.
    pub(crate) fn parent_and_name(&self) -> Option<(Location, String)> {
        match &self.0 {
            Inner::Local(p) => {
                let name = p.file_name()?.to_string_lossy().into_owned();
                Some((Location(Inner::Local(p.parent()?.to_path_buf())), name))
            }
            Inner::Remote(r) => {
                let trimmed = r.path.trim_end_matches('/');
                let (parent, name) = trimmed.rsplit_once('/')?;
                if name.is_empty() {
                    return None;
                }
                let mut url = r.url.clone();
                if let Ok(mut segments) = url.path_segments_mut() {
                    segments.pop_if_empty().pop();
                }
                let parent = if parent.is_empty() { "/" } else { parent };
                let location = Location(Inner::Remote(Box::new(Remote {
                    url,
                    path: parent.to_string(),
                    ..(**r).clone()
                })));
                Some((location, name.to_string()))
            }
        }
    }

    fn remote(&self) -> Option<&Remote> {
        match &self.0 {
            Inner::Local(_) => None,
            Inner::Remote(r) => Some(r),
        }
    }
}

impl FromStr for Location {
    type Err = Error;

    /// As [`Location::parse`].
    fn from_str(text: &str) -> Result<Location> {
        Location::parse(text)
    }
}

impl From<&Path> for Location {
    /// As [`Location::local`].
    fn from(path: &Path) -> Location {
        Location::local(path)
    }
}

impl From<PathBuf> for Location {
    /// As [`Location::local`].
    fn from(path: PathBuf) -> Location {
        Location::local(path)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Inner::Local(p) => write!(f, "{}", p.display()),
            Inner::Remote(r) => {
                let mut url = r.url.clone();
                url.set_query(None);
                if r.password.is_some() {
                    let _ = url.set_password(Some("***"));
                }
                let text = url.as_str();
                match r.url.query() {
                    Some(query) => write!(f, "{text}?{}", redact_query(query)),
                    None => f.write_str(text),
                }
            }
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Location").field(&self.to_string()).finish()
    }
}

impl serde::Serialize for Location {
    /// The text for people ([`Location::describe`]): no secrets.
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The scheme of a text that is a URL, and what follows its `:`: a scheme followed by
/// `://`, or a known scheme followed by `:` (`sftp:host`, to be told how to write it).
fn split_scheme(text: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = text.split_once(':')?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (valid && (rest.starts_with("//") || Scheme::of(scheme).is_some())).then_some((scheme, rest))
}

/// Whether a query parameter holds a secret (by its name).
fn is_secret(name: &str) -> bool {
    const WORDS: [&str; 9] = [
        "pass",
        "pwd",
        "secret",
        "key",
        "token",
        "sig",
        "auth",
        "credential",
        "sas",
    ];
    let name = name.to_ascii_lowercase();
    WORDS.iter().any(|w| name.contains(w))
}

/// A raw query with the values of secret parameters replaced by `***`.
fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| {
            let (name, _) = pair.split_once('=').unwrap_or((pair, ""));
            let decoded = url::form_urlencoded::parse(name.as_bytes())
                .next()
                .map(|(k, _)| k.into_owned())
                .unwrap_or_default();
            if is_secret(&decoded) {
                Cow::Owned(format!("{name}=***"))
            } else {
                Cow::Borrowed(pair)
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `text` (a URL that may not parse) with the password of its user part and the values of
/// secret query parameters replaced by `***`, for messages. A password may hold any
/// character, so the user part is all up to the last `@` when what precedes its first `:`
/// is a plain user name.
fn redact(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_string();
    };
    let mut out = format!("{scheme}://");
    let mut tail = rest;
    if let Some(at) = rest.rfind('@') {
        if let Some((user, _)) = rest[..at].split_once(':') {
            if !user.contains(['/', '?', '#']) {
                out.push_str(user);
                out.push_str(":***");
                tail = &rest[at..];
            }
        }
    }
    match tail.split_once('?') {
        Some((before, query)) => {
            let (query, fragment) = match query.split_once('#') {
                Some((query, fragment)) => (query, Some(fragment)),
                None => (query, None),
            };
            out.push_str(before);
            out.push('?');
            out.push_str(&redact_query(query));
            if let Some(fragment) = fragment {
                out.push('#');
                out.push_str(fragment);
            }
        }
        None => out.push_str(tail),
    }
    out
}

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
