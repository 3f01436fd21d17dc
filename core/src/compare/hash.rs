//! Reading file contents for comparison: MD5 and BLAKE3 digests, and byte-for-byte equality.
//!
//! Files are streamed through a buffer as large as the file, up to [`CHUNK`]; large local
//! BLAKE3-only hashes memory-map the file and hash it on every core instead.

use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::path::PathBuf;

use md5::{Digest, Md5};

use crate::error::{Error, Result};
use crate::path::RelPath;
use crate::transport::Transport;

/// The largest read buffer: big sequential reads keep disks and hashers busy.
pub(super) const CHUNK: usize = 1 << 20;

/// The smallest read buffer, for files known to be tiny.
const MIN_BUFFER: usize = 8 << 10;

/// Local files at least this large are hashed memory-mapped on all cores (BLAKE3 only).
pub(super) const MMAP_THRESHOLD: u64 = 16 << 20;

/// Which digests to compute in one pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Want {
    pub(super) md5: bool,
    pub(super) blake3: bool,
}

/// The digests of one file, those not wanted left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Digests {
    pub(super) md5: Option<[u8; 16]>,
    pub(super) blake3: Option<[u8; 32]>,
}

/// Computes the wanted digests of `path`, reading it once. `size` is the file's size when
/// already known (it only sizes buffers and picks the memory-mapped path).
pub(super) fn digests(
    transport: &dyn Transport,
    path: &RelPath,
    size: Option<u64>,
    want: Want,
) -> Result<Digests> {
    if !want.md5 {
        let blake3 = match want.blake3 {
            true => Some(blake3(transport, path, size)?),
            false => None,
        };
        return Ok(Digests { md5: None, blake3 });
    }
    let mut md5 = Md5::new();
    let mut b3 = want.blake3.then(blake3::Hasher::new);
    stream(transport, path, size, |chunk| {
        md5.update(chunk);
        if let Some(h) = &mut b3 {
            h.update(chunk);
        }
    })?;
    Ok(Digests {
        md5: Some(md5.finalize().into()),
        blake3: b3.map(|h| *h.finalize().as_bytes()),
    })
}

/// The BLAKE3 digest of `path`: memory-mapped and multi-threaded for local files of at least
/// [`MMAP_THRESHOLD`] bytes, streamed otherwise.
pub(super) fn blake3(
    transport: &dyn Transport,
    path: &RelPath,
    size: Option<u64>,
) -> Result<[u8; 32]> {
    let mut hasher = blake3::Hasher::new();
    if let Some(file) = transport.open_local(path)? {
        let shown = || name(transport, path);
        let size = match size {
            Some(size) => size,
            None => file.metadata().map_err(|e| Error::io(shown(), e))?.len(),
        };
        // Mapped through the open file (as resolved by the transport), never by its path.
        let by_fd = format!("/proc/self/fd/{}", file.as_raw_fd());
        if size >= MMAP_THRESHOLD && hasher.update_mmap_rayon(&by_fd).is_ok() {
            return Ok(*hasher.finalize().as_bytes());
        }
        hasher.reset();
        let mut file = file;
        feed(&mut file, Some(size), |chunk| {
            hasher.update(chunk);
        })
        .map_err(|e| Error::io(shown(), e))?;
        return Ok(*hasher.finalize().as_bytes());
    }
    stream(transport, path, size, |chunk| {
        hasher.update(chunk);
    })?;
    Ok(*hasher.finalize().as_bytes())
}

/// Whether two files hold the same bytes. Different sizes answer at once; otherwise both are
/// read in large chunks, stopping at the first chunk that differs.
pub(super) fn same_bytes(
    src: &dyn Transport,
    dst: &dyn Transport,
    path: &RelPath,
    src_size: u64,
    dst_size: u64,
) -> Result<bool> {
    if src_size != dst_size {
        return Ok(false);
    }
    let len = buffer_len(Some(src_size));
    let (mut a, mut b) = (src.open(path)?, dst.open(path)?);
    let (mut buf_a, mut buf_b) = (vec![0; len], vec![0; len]);
    loop {
        let n = fill(&mut a, &mut buf_a).map_err(|e| Error::io(name(src, path), e))?;
        let m = fill(&mut b, &mut buf_b).map_err(|e| Error::io(name(dst, path), e))?;
        // A length mismatch means a file changed size while being read: not the same.
        if n != m || buf_a[..n] != buf_b[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

/// Feeds the whole file to `sink`, chunk by chunk.
fn stream(
    transport: &dyn Transport,
    path: &RelPath,
    size: Option<u64>,
    sink: impl FnMut(&[u8]),
) -> Result<()> {
    let mut reader = transport.open(path)?;
    feed(&mut reader, size, sink).map_err(|e| Error::io(name(transport, path), e))
}

/// Feeds all of `reader` to `sink`, chunk by chunk.
fn feed(reader: &mut dyn Read, size: Option<u64>, mut sink: impl FnMut(&[u8])) -> io::Result<()> {
    let mut buf = vec![0; buffer_len(size)];
    loop {
        let n = fill(reader, &mut buf)?;
        if n == 0 {
            return Ok(());
        }
        sink(&buf[..n]);
    }
}

/// Reads until `buf` is full or the end of the file; returns the bytes read (0 at the end).
fn fill(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// A buffer as large as the file (plus one byte, so one read reaches the end), within
/// [`MIN_BUFFER`]..=[`CHUNK`]; [`CHUNK`] when the size is unknown.
fn buffer_len(size: Option<u64>) -> usize {
    size.and_then(|s| usize::try_from(s.saturating_add(1)).ok())
        .map_or(CHUNK, |s| s.clamp(MIN_BUFFER, CHUNK))
}

/// The path to name in an error: the local path when there is one.
pub(super) fn name(transport: &dyn Transport, path: &RelPath) -> PathBuf {
    transport
        .local_path(path)
        .unwrap_or_else(|| PathBuf::from(path.as_os_str()))
}
