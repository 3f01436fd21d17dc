//! The pair lock: keeps two runs, also of two processes, off the same folder pair.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::PathBuf;

use super::db::open_or_create;
use super::{PairId, StateDb};
use crate::error::{Error, ErrorKind, Result};

/// Held while a run works on a pair; released on drop (and by the OS if the process dies).
///
/// The lock is an advisory `flock` on `<database>.pair-<id>.lock`, which holds the pid of
/// the holder for the message another run gets. The file stays when the lock is released:
/// deleting it would let two processes lock two different files of the same name.
#[derive(Debug)]
pub struct PairLock {
    // Closing the file releases the lock.
    _file: File,
}

impl StateDb {
    /// Locks `pair` for a run until the returned lock is dropped.
    ///
    /// A lock left by a process that died is free again (the operating system released it)
    /// and is simply taken.
    ///
    /// # Errors
    /// [`ErrorKind::Busy`] naming the holder's process and the database when another run,
    /// in this process or another, holds the pair; [`ErrorKind::NotFound`] for an unknown
    /// pair; an I/O error when the lock file cannot be created.
    pub(crate) fn lock(&self, pair: PairId) -> Result<PairLock> {
        let folder = self.folder(pair)?;
        let path = self.lock_path(pair);
        let mut file = open_or_create(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                // The holder writes its pid just after locking; an empty or unreadable file
                // names no process.
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let by = match holder.trim().parse::<u32>() {
                    Ok(pid) => format!("process {pid}"),
                    Err(_) => "another process".to_string(),
                };
                return Err(Error::new(
                    ErrorKind::Busy,
                    format!("pair {folder:?} is being synchronized by {by}"),
                )
                .with_path(&self.path));
            }
            Err(fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        file.set_len(0)
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .map_err(|e| Error::io(&path, e))?;
        Ok(PairLock { _file: file })
    }

    /// The lock file of `pair`: `<database>.pair-<id>.lock`.
    fn lock_path(&self, pair: PairId) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".pair-{pair}.lock"));
        PathBuf::from(name)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use super::*;
    use crate::state::db::tests::{key, open};

    #[test]
    fn pair_lock_is_busy_while_held_and_free_after_drop() {
        let (_dir, db, pair) = open();
        let other = db.pair(&key("other")).unwrap();
        let lock = db.lock(pair).unwrap();
        let held = fs::read_to_string(db.lock_path(pair)).unwrap();
        assert_eq!(held.trim(), std::process::id().to_string());

        // Also through a second handle of the same database.
        let again = StateDb::open(db.path()).unwrap();
        let err = again.lock(pair).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Busy);
        assert_eq!(err.path(), Some(db.path()));
        assert_eq!(
            err.message(),
            format!(
                "pair \"docs\" is being synchronized by process {}",
                std::process::id()
            )
        );
        // Another pair is free.
        let _other = db.lock(other).unwrap();

        drop(lock);
        let _lock = again.lock(pair).unwrap();
    }

    /// Holds `file` locked in a child process which writes its pid into it, as a run does;
    /// the process itself holds the lock, so killing it releases the lock.
    fn hold_in_child(file: &Path) -> Child {
        Command::new("sh")
            .arg("-c")
            .arg("exec 9>>\"$1\" && flock 9 && echo $$ >\"$1\" && exec sleep 60")
            .arg("sh")
            .arg(file)
            .stdin(Stdio::null())
            .spawn()
            .expect("sh and flock from util-linux")
    }

    #[test]
    fn pair_lock_held_by_another_process_is_busy_until_it_dies() {
        let (_dir, db, pair) = open();
        // A stale pid of a process long gone is no obstacle.
        let lock_file = db.lock_path(pair);
        fs::write(&lock_file, "999999999\n").unwrap();
        drop(db.lock(pair).unwrap());

        let mut child = hold_in_child(&lock_file);
        let expected = format!(
            "pair \"docs\" is being synchronized by process {}",
            child.id()
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        let err = loop {
            match db.lock(pair) {
                Err(e) if e.message() == expected => break e,
                // Not locked by the child yet, or its pid not written yet.
                Err(e) => assert_eq!(e.kind(), ErrorKind::Busy, "{e}"),
                Ok(lock) => drop(lock),
            }
            assert!(Instant::now() < deadline, "the child never took the lock");
            assert!(child.try_wait().unwrap().is_none(), "the child died");
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(err.kind(), ErrorKind::Busy);
        assert_eq!(err.path(), Some(db.path()));
        assert!(db.lock(pair).is_err());

        child.kill().unwrap();
        child.wait().unwrap();
        let _lock = db.lock(pair).unwrap();
        assert_eq!(
            fs::read_to_string(db.lock_path(pair)).unwrap().trim(),
            std::process::id().to_string()
        );
    }
}
