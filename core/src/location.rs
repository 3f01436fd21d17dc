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
/// port, a fragment (`#`; write `%23` in a name) are
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput).
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
        Location::parse_with(text, &|name| std::env::var(name).ok())
    }

    /// Parses `text` with the variables `lookup` gives.
    fn parse_with(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Location> {
        let expanded = match split_scheme(text) {
            Some(_) => expand_url(text, lookup)?,
            None => expand_with(text, lookup)?,
        };
        Location::parse_expanded(&expanded)
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
        let path = match decode("path", url.path())? {
            empty if empty.is_empty() => "/".to_string(),
            path => path,
        };
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
        let env = |name: &str| std::env::var(name).ok();
        let expanded = match split_scheme(text) {
            Some(_) => expand_url(text, &env),
            None => expand_with(text, env),
        };
        match expanded {
            Ok(expanded) => Location::parse_expanded(&expanded).map(drop),
            Err(_) => Ok(()),
        }
    }

    /// Parses `text` as written in a folder the profile disables: variables that are not
    /// defined stay as written, and a text that still does not parse is kept as a local
    /// path (its secrets hidden). Such a location is shown, never used.
    pub(crate) fn as_written(text: &str) -> Location {
        let lenient =
            |name: &str| Some(std::env::var(name).unwrap_or_else(|_| format!("${{{name}}}")));
        Location::parse_with(text, &lenient)
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
    /// percent-decoded, starting with `/` (`/` when the URL has none; for `s3://`, `gs://`
    /// and `az://` the prefix within the bucket or container).
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
    expand(text, true, &lookup).map_err(|why| Error::invalid(format!("{text:?}: {why}")))
}

/// Expands the variables of `text` (and a leading `~` when `tilde`); the error is why not.
fn expand(
    text: &str,
    tilde: bool,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    if let Some(tail) = text.strip_prefix('~').filter(|_| tilde) {
        if tail.is_empty() || tail.starts_with('/') {
            let home = lookup("HOME").ok_or_else(|| {
                "\"~\" stands for $HOME, and environment variable HOME is not defined".to_string()
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
                .ok_or_else(|| "unclosed \"${\"".to_string())?;
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
            return Err(
                "\"$\" without a variable name (write \"$$\" for a dollar sign)".to_string(),
            );
        }
        let value =
            lookup(name).ok_or_else(|| format!("environment variable {name} is not defined"))?;
        out.push_str(&value);
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

/// Characters a variable's value is percent-encoded in, by where it lands in a URL: in
/// the user part and in query parameters, all but letters, digits and `-._~` (a password
/// may hold `@`, `:`, `/`, `&`...); in the path, only what would end the path or start an
/// escape (`?`, `#`, `%`), so that a variable may hold several segments.
const IN_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
const IN_PATH: &percent_encoding::AsciiSet =
    &percent_encoding::CONTROLS.add(b'?').add(b'#').add(b'%');

/// Expands the variables of the URL `text` part by part, each value percent-encoded for the
/// part it lands in ([`IN_COMPONENT`], [`IN_PATH`]; the host and port take values as they
/// are). Messages quote the URL without its secrets.
fn expand_url(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String> {
    let fail = |why: String| Error::invalid(format!("{:?}: {why}", redact(text)));
    let Some((scheme, rest)) = text.split_once("://") else {
        return expand(text, false, lookup).map_err(fail);
    };
    let part = |raw: &str, set: Option<&'static percent_encoding::AsciiSet>| {
        let encoded = |name: &str| {
            let value = lookup(name)?;
            Some(match set {
                Some(set) => percent_encoding::utf8_percent_encode(&value, set).to_string(),
                None => value,
            })
        };
        expand(raw, false, &encoded).map_err(fail)
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let mut out = format!("{scheme}://");
    let host = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            // The variable's name could be the tail of a password with a stray `$`.
            let userinfo = part(userinfo, Some(IN_COMPONENT)).map_err(|_| {
                fail(
                    "the user or password part names an undefined environment variable \
                     (write \"$$\" for a dollar sign)"
                        .into(),
                )
            })?;
            out.push_str(&userinfo);
            out.push('@');
            host
        }
        None => authority,
    };
    out.push_str(&part(host, None)?);
    let (before_fragment, fragment) = match tail.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (tail, None),
    };
    let (path, query) = match before_fragment.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (before_fragment, None),
    };
    out.push_str(&part(path, Some(IN_PATH))?);
    if let Some(query) = query {
        out.push('?');
        out.push_str(&part(query, Some(IN_COMPONENT))?);
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(&part(fragment, None)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn url(text: &str) -> Location {
        Location::parse_expanded(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn bad(text: &str) -> Error {
        let err = Location::parse_expanded(text).expect_err(text);
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{text}: {err}");
        err
    }

    /// Issue 11, item 1: every scheme parses into its parts, percent-decoded.
    #[test]
    fn urls_parse_into_their_parts() {
        let l = url("sftp://me:p%40ss%3Aword@backup.example:2222/srv/my%20docs?key=abc&x=1");
        assert_eq!(l.scheme(), Scheme::Sftp);
        assert_eq!(l.user(), Some("me"));
        assert_eq!(l.password(), Some("p@ss:word"));
        assert_eq!(l.host(), Some("backup.example"));
        assert_eq!(l.port(), Some(2222));
        assert_eq!(l.path(), "/srv/my docs");
        assert_eq!(l.query_param("key"), Some("abc"));
        assert_eq!(l.query_param("x"), Some("1"));
        assert_eq!(l.local_path(), None);

        for (text, scheme, host, path) in [
            (
                "ftp://files.example/pub",
                Scheme::Ftp,
                "files.example",
                "/pub",
            ),
            (
                "ftps://files.example:990/",
                Scheme::Ftps,
                "files.example",
                "/",
            ),
            (
                "webdav://dav.example/remote.php/dav",
                Scheme::Webdav,
                "dav.example",
                "/remote.php/dav",
            ),
            (
                "webdavs://dav.example/d",
                Scheme::Webdavs,
                "dav.example",
                "/d",
            ),
            (
                "s3://my-bucket/backups/docs",
                Scheme::S3,
                "my-bucket",
                "/backups/docs",
            ),
            ("s3://my-bucket", Scheme::S3, "my-bucket", "/"),
            (
                "az://container/prefix",
                Scheme::Azure,
                "container",
                "/prefix",
            ),
            ("gs://bucket/prefix/", Scheme::Gcs, "bucket", "/prefix/"),
            ("memory://tree", Scheme::Memory, "tree", "/"),
            ("SFTP://Host.Example/x", Scheme::Sftp, "Host.Example", "/x"),
            ("sftp://[::1]:22/x", Scheme::Sftp, "::1", "/x"),
            ("sftp://10.0.0.2/a/../b", Scheme::Sftp, "10.0.0.2", "/b"),
        ] {
            let l = url(text);
            assert_eq!(
                (l.scheme(), l.host(), &*l.path()),
                (scheme, Some(host), path),
                "{text}"
            );
            assert_eq!((l.user(), l.password()), (None, None), "{text}");
        }
        assert_eq!(url("sftp://me@h/x").user(), Some("me"));
        assert_eq!(url("sftp://h:2200/x").port(), Some(2200));
        assert_eq!(url("sftp://h/x").port(), None);
    }

    #[test]
    fn paths_and_file_urls_are_local_folders() {
        let l = url("/data/docs");
        assert_eq!(l.scheme(), Scheme::File);
        assert_eq!(l.local_path(), Some(Path::new("/data/docs")));
        assert_eq!(l.to_string(), "/data/docs");
        assert_eq!(
            url("file:///data/my%20docs").local_path(),
            Some(Path::new("/data/my docs"))
        );
        assert_eq!(
            url("file://localhost/data").local_path(),
            Some(Path::new("/data"))
        );
        // Not URLs: a drive-letter-like prefix, a colon later on, a scheme-less name.
        assert_eq!(url("/a/b:c//d").local_path(), Some(Path::new("/a/b:c//d")));
        assert!(url("c:/x").local_path().unwrap().ends_with("c:/x"));
    }

    /// Relative paths are made absolute against the working folder when parsed.
    #[test]
    fn relative_paths_are_made_absolute_when_parsed() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(url("docs/a").local_path(), Some(&*cwd.join("docs/a")));
        assert_eq!(Location::local("x").local_path(), Some(&*cwd.join("x")));
        assert_eq!(url("../up").local_path(), Some(&*cwd.join("../up")));
    }

    #[test]
    fn variables_are_expanded_in_paths_and_urls() {
        let home = std::env::var("HOME").unwrap();
        assert_eq!(
            Location::parse("~/x").unwrap().local_path(),
            Some(&*Path::new(&home).join("x"))
        );
        let l = Location::parse("sftp://u:$HOME@h/$$x").unwrap();
        assert_eq!(l.password(), Some(&*home));
        assert_eq!(l.path(), "/$x");
        let err = Location::parse("sftp://h/$FERRYSYNC_SURELY_UNDEFINED").unwrap_err();
        assert!(
            err.message().contains("FERRYSYNC_SURELY_UNDEFINED"),
            "{err}"
        );
    }

    /// A password or token from a variable may hold any character; a path variable may
    /// hold several segments.
    #[test]
    fn variable_values_are_encoded_for_where_they_land_in_a_url() {
        let odd = "a@b:c/d?e#f%g&h=i j";
        let env = |name: &str| match name {
            "PW" => Some(odd.to_string()),
            "DIR" => Some("a b/c%d".to_string()),
            _ => None,
        };
        let l = Location::parse_with("sftp://me:$PW@h:22/$DIR/x?token=${PW}&n=1", &env).unwrap();
        assert_eq!((l.user(), l.password()), (Some("me"), Some(odd)));
        assert_eq!((l.host(), l.port()), (Some("h"), Some(22)));
        assert_eq!(l.path(), "/a b/c%d/x");
        assert_eq!(
            (l.query_param("token"), l.query_param("n")),
            (Some(odd), Some("1"))
        );
        assert!(!l.to_string().contains("b:c"), "{l}");
        // A stray `$` in a password: neither the password nor its tail is quoted.
        let err = Location::parse_with("sftp://me:pa$sword@h/x", &env).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(!err.message().contains("variable sword"), "{err}");
        assert!(err.message().contains("$$"), "{err}");
    }

    /// Issue 11, item 1: no password or secret query parameter in any text for people.
    #[test]
    fn secrets_are_never_shown() {
        let l = url(
            "s3://AKIA:wJalrXUt@bucket/p?region=eu&secret=S1&X-Amz-Signature=S2&token=S3\
             &sig=S4&api_key=S5&password=S6&AccountKey=S7&sas=S8&auth=S9",
        );
        for shown in [
            l.to_string(),
            l.describe(),
            format!("{l:?}"),
            serde_json::to_string(&l).unwrap(),
        ] {
            for secret in [
                "wJalrXUt", "S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9",
            ] {
                assert!(!shown.contains(secret), "{secret} in {shown}");
            }
            assert!(shown.contains("region=eu"), "{shown}");
            assert!(shown.contains("AKIA"), "the user is no secret: {shown}");
        }
        assert_eq!(
            url("sftp://me:pw@h:2222/x?key=k").to_string(),
            "sftp://me:***@h:2222/x?key=***"
        );
        assert_eq!(url("sftp://me@h/x").to_string(), "sftp://me@h/x");
        assert_eq!(
            url("webdavs://h/a%20b?x=1").to_string(),
            "webdavs://h/a%20b?x=1"
        );
    }

    /// Issue 11, item 1: a URL that does not parse is bad input, and the message quotes it
    /// without its secrets.
    #[test]
    fn bad_urls_are_invalid_input_without_their_secrets() {
        for text in [
            "http://h/x",
            "sftp:host/x",
            "sftp://",
            "sftp:///path",
            "sftp://me:pw@h:99999/x",
            "sftp://me:pw@h:port/x",
            "s3:///prefix",
            "ftp://h/x#frag",
            "file://otherhost/x",
            "file:///x?y=1",
            "sftp://me:pw@[::1/x",
        ] {
            let err = bad(text);
            assert!(!err.message().contains("pw"), "{err}");
            assert!(!err.message().contains('\n'), "{err}");
        }
        assert!(bad("http://h/x")
            .message()
            .contains("unknown scheme \"http\""));
        assert!(bad("s3:///prefix").message().contains("no bucket"));
        assert!(bad("sftp://me:se:cr@t@/x").message().contains("me:***@"));
        assert!(!bad("sftp://me:a/b?c@/x?token=T").message().contains("T"));
    }

    #[test]
    fn a_child_and_its_parent() {
        let l = url("/data/backup").child("2026-01-01 000000.000");
        assert_eq!(
            l.local_path(),
            Some(Path::new("/data/backup/2026-01-01 000000.000"))
        );
        let (parent, name) = l.parent_and_name().unwrap();
        assert_eq!(
            (parent, name.as_str()),
            (url("/data/backup"), "2026-01-01 000000.000")
        );
        let r = url("sftp://me:pw@h/srv/b").child("s 1");
        assert_eq!(r.path(), "/srv/b/s 1");
        assert_eq!(r.to_string(), "sftp://me:***@h/srv/b/s%201");
        let (parent, name) = r.parent_and_name().unwrap();
        assert_eq!((parent.path(), name.as_str()), ("/srv/b".into(), "s 1"));
        assert_eq!(parent.password(), Some("pw"));
    }

    /// A disabled folder is shown as written: undefined variables stay, secrets do not.
    #[test]
    fn as_written_keeps_undefined_variables_and_hides_secrets() {
        let l = Location::as_written("/x/$FERRYSYNC_SURELY_UNDEFINED/y");
        assert_eq!(l.to_string(), "/x/${FERRYSYNC_SURELY_UNDEFINED}/y");
        let l = Location::as_written("sftp://me:pw@h:99999/$FERRYSYNC_SURELY_UNDEFINED");
        assert!(!l.to_string().contains("pw"), "{l}");
    }

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
