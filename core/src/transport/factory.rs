//! From a [`Location`] to a transport: the one place that names a backend.

use std::sync::Arc;

use super::{LocalTransport, RetryPolicy, Retrying, Transport};
use crate::error::{Error, ErrorKind, Result};
use crate::location::{Location, Scheme};
use crate::vocab::RunControl;

/// What a tree is opened as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// The source of a folder pair (written too in a two-way synchronization).
    Source,
    /// The destination of a folder pair.
    Destination,
    /// A versions folder outside its destination.
    Versions,
    /// A folder a restore writes into.
    Restore,
}

impl Role {
    /// The kebab-case name: `source`, `destination`, `versions`, `restore`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Source => "source",
            Role::Destination => "destination",
            Role::Versions => "versions",
            Role::Restore => "restore",
        }
    }

    /// The role in the plural, for messages ("sftp:// destinations are not supported yet").
    fn plural(self) -> &'static str {
        match self {
            Role::Source => "sources",
            Role::Destination => "destinations",
            Role::Versions => "versions folders",
            Role::Restore => "restore targets",
        }
    }
}

/// What the engine needs a transport for, handed to a [`TransportFactory`] with the
/// location.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TransportRequest {
    /// What the tree is to the engine.
    pub role: Role,
    /// Reads follow symbolic links wherever they lead (a source whose profile follows
    /// links, or either side of a two-way pair that does). Writes never follow links.
    pub follow_links: bool,
    /// During a run: how calls that fail for a passing reason are tried again (the
    /// profile's `copy.retries` and `copy.retry-delay-ms`); `None` outside a run (a
    /// preview, listing versions, a restore).
    pub retry: Option<RetryPolicy>,
    /// The run's control: cancelling it ends every wait between tries (and should end a
    /// backend's own long waits).
    pub control: RunControl,
}

impl TransportRequest {
    /// A request for a tree opened as `role`, outside a run: no links followed, no retries.
    pub fn new(role: Role) -> TransportRequest {
        TransportRequest {
            role,
            follow_links: false,
            retry: None,
            control: RunControl::default(),
        }
    }

    /// The same request, whose reads follow links when `yes`.
    pub fn following_links(mut self, yes: bool) -> TransportRequest {
        self.follow_links = yes;
        self
    }

    /// The same request during a run: failed calls are tried again as `policy` says, until
    /// `control` cancels the run.
    pub fn retrying(mut self, policy: RetryPolicy, control: RunControl) -> TransportRequest {
        self.retry = Some(policy);
        self.control = control;
        self
    }

    /// `transport` as this request wants it: wrapped in [`Retrying`] during a run, as it is
    /// otherwise.
    pub fn decorate(&self, transport: Arc<dyn Transport>) -> Arc<dyn Transport> {
        match &self.retry {
            Some(policy) => Arc::new(Retrying::new(transport, *policy, self.control.clone())),
            None => transport,
        }
    }
}

/// Turns a [`Location`] into the transport the engine reads and writes it through.
///
/// The [`Engine`](crate::Engine) owns one (by default [`LocalTransports`]) and asks it for
/// every tree it touches: both sides of each folder pair, a versions folder outside its
/// destination, a restore's target. An embedding program replaces it through
/// [`Engine::builder`](crate::Engine::builder) to add backends, or to run the engine over
/// trees it holds itself ([`MemoryTransport`](super::MemoryTransport)).
///
/// Implement [`TransportFactory::backend`]; the engine calls [`TransportFactory::transport`],
/// which adds what the request asks on top of the backend (retries during a run).
///
/// ```
/// use std::sync::Arc;
/// use ferrysync::transport::{
///     MemoryTransport, Meta, Source, Transport, TransportFactory, TransportRequest, WriteMode,
/// };
/// use ferrysync::{Engine, Folder, Location, Operation, Profile, RelPath, Result, RunOptions};
///
/// /// Trees held in memory: `memory://source`, and the destination for everything else.
/// #[derive(Debug)]
/// struct InMemory {
///     source: MemoryTransport,
///     destination: MemoryTransport,
/// }
///
/// impl TransportFactory for InMemory {
///     fn backend(&self, at: &Location, _: &TransportRequest) -> Result<Arc<dyn Transport>> {
///         let tree = match at.host() {
///             Some("source") => &self.source,
///             _ => &self.destination,
///         };
///         Ok(Arc::new(tree.clone()))
///     }
/// }
///
/// let (source, destination) = (MemoryTransport::new("source"), MemoryTransport::new("dst"));
/// let a = RelPath::new("a.txt")?;
/// let hello = Source::Stream(&mut &b"hello"[..]);
/// source.write(&a, hello, &Meta::default(), WriteMode::Atomic)?;
///
/// let trees = InMemory { source, destination: destination.clone() };
/// let engine = Engine::builder().transports(trees).build();
/// let profile = Profile::new("p", Operation::Mirror)
///     .with_folder(Folder::new("f", "memory://source", "memory://destination"));
/// engine.run(&profile, &RunOptions::default())?;
/// assert_eq!(destination.read_to_vec(&a)?, b"hello");
/// # Ok::<(), ferrysync::Error>(())
/// ```
pub trait TransportFactory: Send + Sync + std::fmt::Debug {
    /// The backend for `location`, opened for `request` (its role, whether reads follow
    /// links), without decorators.
    ///
    /// # Errors
    /// [`ErrorKind::NotSupported`] for a location this factory has no backend for;
    /// [`ErrorKind::InvalidInput`] for one it cannot use; whatever opening the backend
    /// meets (a refused connection, bad credentials).
    fn backend(
        &self,
        location: &Location,
        request: &TransportRequest,
    ) -> Result<Arc<dyn Transport>>;

    /// The transport for `location` as the engine uses it: the
    /// [`backend`](TransportFactory::backend), [decorated](TransportRequest::decorate) as the
    /// request asks (retries during a run).
    ///
    /// # Errors
    /// As [`TransportFactory::backend`].
    fn transport(
        &self,
        location: &Location,
        request: &TransportRequest,
    ) -> Result<Arc<dyn Transport>> {
        Ok(request.decorate(self.backend(location, request)?))
    }
}

/// The engine's default [`TransportFactory`]: local folders (paths and `file://` URLs) are
/// [`LocalTransport`]s, following links for reading where the request says; every remote
/// scheme is [`ErrorKind::NotSupported`] until its backend lands.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalTransports;

impl TransportFactory for LocalTransports {
    fn backend(
        &self,
        location: &Location,
        request: &TransportRequest,
    ) -> Result<Arc<dyn Transport>> {
        let Some(root) = location.local_path() else {
            return Err(not_supported(location, request.role));
        };
        Ok(if request.follow_links {
            Arc::new(LocalTransport::following_links(root))
        } else {
            Arc::new(LocalTransport::new(root))
        })
    }
}

/// "sftp:// destinations are not supported yet", naming the location (without secrets).
pub(crate) fn not_supported(location: &Location, role: Role) -> Error {
    let scheme: Scheme = location.scheme();
    Error::new(
        ErrorKind::NotSupported,
        format!("{scheme}:// {} are not supported yet", role.plural()),
    )
    .with_path(location.describe())
}
