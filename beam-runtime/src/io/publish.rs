//! Publishing a run's outputs so that a reader never sees a half-written one and a
//! run never removes what it did not create.
//!
//! Each sink writes into a temporary directory beside its destination (see
//! [`output`](super::output)). When the whole run has succeeded, every sink of the
//! run is published in three steps:
//!
//! 1. **Stage.** All the work that can fail for want of space or a bad disk (joining
//!    the parts of a single file, `fsync`) is done for every sink before any
//!    destination changes.
//! 2. **Place.** Each destination changes by one rename. Without `overwrite()` the
//!    rename refuses to replace anything (`RENAME_NOREPLACE`), so an output that
//!    appeared during the run fails the run instead of being lost. With
//!    `overwrite()` the new output and the old one swap places in one step
//!    (`RENAME_EXCHANGE`): a reader sees the old output or the new one, never a mix
//!    and never nothing. If placing a later sink fails, the sinks placed before it
//!    are swapped back.
//! 3. **Commit.** The old outputs, now inside the temporary directories, are removed.
//!
//! A run killed at any moment leaves every destination whole. What it leaves behind
//! are its entries beside the destination (see [`TempDir`]); the next run to the
//! same destination removes those it can prove stale: made on this host by a process
//! that is gone, and not locked (the lock matters where the process id says nothing:
//! another PID namespace, or another machine of the same name). What stays
//! non-atomic across *several* destinations: a run killed between placing two sinks
//! has published the first and not the second.
//!
//! Where `renameat2` or its flags are missing (outside Linux, or a file system that
//! does not support them) the same steps fall back to plain renames: a check that
//! the destination is free right before the rename (a race with another writer in
//! that instant remains), and for `overwrite()` the old output renamed aside first
//! (`.name.beam-old-…`), then the new one renamed in; a run killed between the two
//! leaves the aside copy, which the next run renames back.
//!
//! An old output that cannot be put back after a failure (an error while undoing)
//! is never removed: it is renamed to `.name.beam-kept-…` (or, if even that fails,
//! left where it is and marked so that no clean-up removes it), and the error says
//! where it is.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::error::{Error, ErrorKind, InputPosition, Result};
use crate::io::output::{self, Writer};
use crate::plan::StageInfo;

/// One sink's output, written to `temp`, waiting to be published at `dest`.
pub(crate) struct Publication {
    /// The sink, named in errors.
    pub stage: StageInfo,
    pub dest: PathBuf,
    pub temp: TempDir,
    pub single_file: bool,
    /// With `shards(n)`: `n`, and the shards' names' stem and suffix. Each worker
    /// wrote a piece of every shard; the pieces are joined when staged.
    pub shards: Option<(usize, (String, String))>,
    pub gzip: bool,
    /// For a single file: the header lines each part starts with (all but the
    /// first part's are dropped). Set by the sink's workers.
    pub header_lines: Arc<AtomicUsize>,
    pub overwrite: bool,
    /// Directories above `dest` this run created, outermost first: a failed run
    /// removes them again.
    pub created_dirs: Vec<PathBuf>,
}

/// How a destination was changed, to undo or complete it.
enum Placed {
    /// Nothing was there; the new output was renamed in.
    New,
    /// The old output was swapped into the temporary directory.
    Swapped,
    /// The old output was renamed aside to this path first (the fallback).
    MovedAside(PathBuf),
}

impl Publication {
    /// The path that becomes the destination: the temporary directory itself, or
    /// the single file joined from its parts.
    fn staged(&self) -> PathBuf {
        if self.single_file { self.temp.path.join(".single") } else { self.temp.path.clone() }
    }

    /// Step 1: everything that can fail before the destination changes.
    fn stage(&self) -> Result<()> {
        let staged = self.staged();
        let header_lines = self.header_lines.load(Ordering::Relaxed);
        if self.single_file {
            let parts = files_in(&self.temp.path, |name| !name.starts_with('.'))
                .and_then(|parts| concatenate(&parts, &staged, self.gzip, header_lines));
            parts.map_err(|e| self.error("could not write", e))?;
        }
        if let Some((n, stem)) = &self.shards {
            for shard in 0..*n {
                let piece = output::shard_piece(stem, shard, *n, 0);
                let of_shard = &piece[..piece.len() - "00000".len()];
                let joined = files_in(&self.temp.path, |name| name.starts_with(of_shard)).and_then(|pieces| {
                    concatenate(
                        &pieces,
                        &self.temp.path.join(output::shard_name(stem, shard, *n)),
                        self.gzip,
                        header_lines,
                    )?;
                    pieces.iter().try_for_each(fs::remove_file)
                });
                joined.map_err(|e| self.error("could not write", e))?;
            }
        }
        // The part files were synced by their workers; the directory entries too.
        sync_dir(&self.temp.path).map_err(|e| self.error("could not write", e))
    }

    /// Step 2: one rename at the destination.
    fn place(&self) -> Result<Placed> {
        let staged = self.staged();
        match rename_no_replace(&staged, &self.dest) {
            Ok(()) => return Ok(Placed::New),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && !self.overwrite => {
                let what = "the output appeared while the run was working; it was left as it is.";
                return Err(output_exists(&self.dest, what).in_stage(&self.stage));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(self.error("could not move the output into place", e)),
        }
        match rename_exchange(&staged, &self.dest) {
            Ok(()) => Ok(Placed::Swapped),
            Err(e) if e.kind() == io::ErrorKind::Unsupported => self.place_aside(&staged),
            Err(e) => Err(self.error("could not move the output into place", e)),
        }
    }

    /// The fallback of `place` for an overwrite: the old output aside, then the new
    /// one in, never over an output that appeared in between.
    fn place_aside(&self, staged: &Path) -> Result<Placed> {
        let aside = self.temp.beside(OLD);
        fs::rename(&self.dest, &aside).map_err(|e| self.error("could not move the old output aside", e))?;
        let Err(e) = rename_no_replace(staged, &self.dest) else { return Ok(Placed::MovedAside(aside)) };
        let error = if e.kind() == io::ErrorKind::AlreadyExists {
            let what = "another output appeared in the instant the old one was moved aside; it was left as it is.";
            output_exists(&self.dest, what).in_stage(&self.stage)
        } else {
            self.error("could not move the output into place", e)
        };
        match rename_no_replace(&aside, &self.dest) {
            Ok(()) => Err(error),
            Err(e) => Err(error.and_also(&self.keep_old(&aside, &e))),
        }
    }

    /// Puts the destination back as it was before `place` (another sink failed).
    fn undo(&self, placed: &Placed) -> io::Result<()> {
        #[cfg(test)]
        if UNDO_FAILS.get() {
            return Err(io::Error::other("undo failed on purpose"));
        }
        let staged = self.staged();
        match placed {
            Placed::New => fs::rename(&self.dest, &staged),
            Placed::Swapped => rename_exchange(&staged, &self.dest),
            Placed::MovedAside(aside) => {
                fs::rename(&self.dest, &staged)?;
                rename_no_replace(aside, &self.dest)
            }
        }
    }

    /// After `undo` failed with `e`: keeps the old output out of reach of any
    /// clean-up and says where it is. Returns the note for the error, and whether the
    /// temporary directory must stay because the old output is still inside it.
    fn after_failed_undo(&self, placed: &Placed, e: &io::Error) -> (String, bool) {
        match placed {
            Placed::New => {
                let dest = self.dest.display();
                (format!("`{dest}` could not be taken back and keeps the new output: {e}"), false)
            }
            Placed::Swapped => {
                let note = self.keep_old(&self.staged(), e);
                (note, fs::symlink_metadata(self.staged()).is_ok())
            }
            Placed::MovedAside(aside) => (self.keep_old(aside, e), false),
        }
    }

    /// Renames the old output at `at`, which could not be put back (`e`), to a name
    /// no clean-up removes, and says where it is.
    fn keep_old(&self, at: &Path, e: &io::Error) -> String {
        let kept = self.temp.beside(KEPT);
        let place = match rename_no_replace(at, &kept) {
            Ok(()) => kept,
            Err(_) => {
                // It stays where it is; an empty `kept` entry of this run's tag
                // tells clean-ups to leave every entry of the run alone.
                let _ = File::create_new(&kept);
                at.to_owned()
            }
        };
        let dest = self.dest.display();
        format!("the old output of `{dest}` could not be put back ({e}); it is at `{}`", place.display())
    }

    /// Step 3: removes the old output and the temporary directory.
    fn commit(self, placed: Placed) {
        if let Placed::MovedAside(aside) = &placed {
            let _ = remove_any(aside);
        }
        self.temp.remove();
        let (parent, _) = parent_and_name(&self.dest);
        let _ = sync_dir(&parent);
    }

    /// An I/O error of this sink, at its destination (not at the temporary path,
    /// which means nothing to the user).
    fn error(&self, what: &str, e: io::Error) -> Error {
        Error::new(ErrorKind::Io, format!("{what} the output: {e}"))
            .at(InputPosition::new(&self.dest, None))
            .in_stage(&self.stage)
            .with_source(e)
    }
}

/// Moves the part files another process of the group wrote for `publication`'s
/// sink, in its temporary directory `from` (on the shared path), into this
/// process's, so that one rename publishes every process's parts.
#[cfg(feature = "timely")]
pub(crate) fn adopt_parts(publication: &Publication, from: &Path) -> Result<()> {
    let parts =
        files_in(from, |_| true).map_err(|e| publication.error("could not gather the other processes' parts of", e))?;
    for part in parts {
        let name = part.file_name().unwrap_or_default();
        fs::rename(&part, publication.temp.path.join(name))
            .map_err(|e| publication.error("could not gather the other processes' parts of", e))?;
    }
    Ok(())
}

/// Publishes every sink of a successful run (see the module documentation); on an
/// error no destination has changed, or the error says which did.
pub(crate) fn publish_all(publications: Vec<Publication>) -> Result<()> {
    if let Err(e) = publications.iter().try_for_each(Publication::stage) {
        discard_all(publications);
        return Err(e);
    }
    let mut placed = Vec::with_capacity(publications.len());
    for publication in &publications {
        match publication.place() {
            Ok(how) => placed.push(how),
            Err(error) => return Err(take_back(publications, placed, error)),
        }
    }
    for (publication, how) in publications.into_iter().zip(placed) {
        log::info!("published {}", publication.dest.display());
        publication.commit(how);
    }
    Ok(())
}

/// After `error` placing a sink: puts the destinations `placed` so far back, last
/// first, and discards every sink's output. What could not be put back is kept
/// and said in the returned error.
fn take_back(publications: Vec<Publication>, placed: Vec<Placed>, mut error: Error) -> Error {
    let mut keep_temp = vec![false; publications.len()];
    for (i, how) in placed.iter().enumerate().rev() {
        if let Err(e) = publications[i].undo(how) {
            let (note, keep) = publications[i].after_failed_undo(how, &e);
            error = error.and_also(&note);
            keep_temp[i] = keep;
        }
    }
    discard_all(publications.into_iter().zip(keep_temp).filter(|(_, keep)| !keep).map(|(p, _)| p));
    error
}

/// A failed run: removes the sinks' temporary directories, then the directories
/// the run created for them, deepest first (two sinks may share one), each only if
/// empty: another program may have put something there since.
pub(crate) fn discard_all(publications: impl IntoIterator<Item = Publication>) {
    let mut created = Vec::new();
    for publication in publications {
        publication.temp.remove();
        created.extend(publication.created_dirs);
    }
    remove_created(created);
}

/// Removes the directories a run created, deepest first, each only if empty.
pub(crate) fn remove_created(mut dirs: Vec<PathBuf>) {
    dirs.sort_by_key(|dir| std::cmp::Reverse(dir.components().count()));
    dirs.dedup();
    for dir in dirs {
        let _ = fs::remove_dir(dir);
    }
}

/// The error for an output that is already there, saying `what` happened and how
/// to go on.
pub(crate) fn output_exists(dest: &Path, what: &str) -> Error {
    let message = format!("{what} Remove it, write elsewhere, or ask for `FileOutput::new(..).overwrite()`");
    Error::new(ErrorKind::OutputExists, message).at(InputPosition::new(dest, None))
}

const LOCK: &str = "lock";
const TEMP: &str = "tmp";
const OLD: &str = "old";
/// Never removed by beam, and keeps the other entries of its run from being
/// removed: see [`Publication::keep_old`].
const KEPT: &str = "kept";

/// A sink's temporary directory beside its destination, and the other entries of
/// the same run there, all named `.{name}.beam-{kind}-{host}-{pid}-{n}` with one
/// `{host}-{pid}-{n}`:
///
/// - `lock`, a file locked as long as the run lives: made first and removed last,
///   it tells other runs that this run's entries are not leftovers;
/// - `tmp`, the temporary directory the sink's workers write into;
/// - `old`, the old output moved aside by the fallback of an overwrite;
/// - `kept`, an old output that could not be put back (or, if even that rename
///   failed, an empty marker): never removed, and no entry of its run is.
pub(crate) struct TempDir {
    pub path: PathBuf,
    parent: PathBuf,
    prefix: String,
    tag: String,
    /// Held open: the lock lasts as long as the file is open.
    lock: File,
}

impl TempDir {
    /// A new temporary directory for an output `name` in `parent`.
    pub(crate) fn create(parent: &Path, name: &str) -> io::Result<TempDir> {
        let prefix = format!(".{name}.beam-");
        loop {
            let tag = format!("{}-{}-{}", host(), std::process::id(), next_number());
            let lock_path = parent.join(format!("{prefix}{LOCK}-{tag}"));
            let lock = match File::options().read(true).write(true).create_new(true).open(&lock_path) {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            };
            // Between making the file and locking it, a clean-up that takes this
            // process for dead (another PID namespace) may have locked or removed
            // it: then this tag is not safe, and the next one is tried. Where the
            // file system cannot lock, the host and the pid alone vouch for the run.
            let locked = match lock.try_lock() {
                Ok(()) => is_same_file(&lock_path, &lock),
                Err(fs::TryLockError::WouldBlock) => false,
                Err(fs::TryLockError::Error(_)) => true,
            };
            let path = parent.join(format!("{prefix}{TEMP}-{tag}"));
            let made = if locked { fs::create_dir(&path) } else { Err(io::ErrorKind::AlreadyExists.into()) };
            match made {
                Ok(()) => return Ok(TempDir { path, parent: parent.to_owned(), prefix, tag, lock }),
                Err(e) => {
                    if locked {
                        let _ = fs::remove_file(&lock_path);
                    }
                    if e.kind() != io::ErrorKind::AlreadyExists {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// This run's entry of another `kind` beside the destination.
    fn beside(&self, kind: &str) -> PathBuf {
        self.parent.join(format!("{}{kind}-{}", self.prefix, self.tag))
    }

    /// Removes the directory, then the lock file (the lock goes with it).
    fn remove(self) {
        let _ = remove_any(&self.path);
        let _ = fs::remove_file(self.beside(LOCK));
        drop(self.lock);
    }
}

/// The `n` of a new tag: counted from the time this process first asked, so that
/// a later process with the same pid does not repeat an earlier one's tags.
fn next_number() -> u64 {
    static NEXT: std::sync::OnceLock<AtomicU64> = std::sync::OnceLock::new();
    let start = || {
        let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        AtomicU64::new(since_epoch.as_micros() as u64)
    };
    NEXT.get_or_init(start).fetch_add(1, Ordering::Relaxed)
}

/// Whether `path` still names the open `file` (and was not removed and made again).
fn is_same_file(path: &Path, file: &File) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (fs::metadata(path), file.metadata()) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        path.exists()
    }
}

/// Removes what killed runs left beside `dest`: their temporary directories, and
/// an old output moved aside (renamed back first if the destination is missing,
/// because then the run died before the new one was in). A run's entries are
/// leftovers only if it ran on this host, its process is gone, its lock file (if
/// any) can be locked, and it kept no old output (`kept`). Where the file system
/// cannot lock at all, the host and the pid decide alone. Another run cleaning up
/// at the same time holds the lock, so only one of them does it.
pub(crate) fn clean_up_after_killed_runs(parent: &Path, name: &str, dest: &Path) {
    let Ok(entries) = fs::read_dir(parent) else { return };
    let prefix = format!(".{name}.beam-");
    // The entries of each dead run of this host, by tag.
    let mut dead_runs: BTreeMap<String, Vec<(&'static str, PathBuf)>> = BTreeMap::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else { continue };
        let Some(leftover) = parse_leftover(rest) else { continue };
        if leftover.host == host() && !process_alive(leftover.pid) {
            dead_runs.entry(leftover.tag.to_owned()).or_default().push((leftover.kind, entry.path()));
        }
    }
    for (tag, mut entries) in dead_runs {
        if entries.iter().any(|&(kind, _)| kind == KEPT) {
            continue;
        }
        // Held until the entries are gone.
        let lock = match File::options().read(true).write(true).open(parent.join(format!("{prefix}{LOCK}-{tag}"))) {
            Ok(lock) => match lock.try_lock() {
                Ok(()) | Err(fs::TryLockError::Error(_)) => Some(lock),
                Err(fs::TryLockError::WouldBlock) => continue,
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            // Another user's run, say: not ours to judge.
            Err(_) => continue,
        };
        // The old output first, the lock file last.
        entries.sort_by_key(|(kind, _)| [OLD, TEMP, LOCK].iter().position(|k| k == kind));
        for (kind, path) in entries {
            if kind == OLD && fs::symlink_metadata(dest).is_err() {
                if rename_no_replace(&path, dest).is_err() {
                    let _ = fs::rename(&path, parent.join(format!("{prefix}{KEPT}-{tag}")));
                }
                continue;
            }
            let _ = remove_any(&path);
        }
        drop(lock);
    }
}

/// An entry a run left beside its destination, by the name after `.{name}.beam-`.
#[derive(Debug, PartialEq)]
struct Leftover<'a> {
    kind: &'static str,
    host: &'a str,
    pid: u32,
    /// `{host}-{pid}-{n}`: the same for every entry of one run.
    tag: &'a str,
}

/// `tmp-host-123-4` → a `tmp` of process 123 on `host`; host names may contain `-`.
fn parse_leftover(rest: &str) -> Option<Leftover<'_>> {
    let (kind, tag) = rest.split_once('-')?;
    let kind = [LOCK, TEMP, OLD, KEPT].into_iter().find(|&k| k == kind)?;
    let mut parts = tag.rsplitn(3, '-');
    let _n: u64 = parts.next()?.parse().ok()?;
    let pid = parts.next()?.parse().ok()?;
    Some(Leftover { kind, host: parts.next()?, pid, tag })
}

/// This machine's name as it appears in temporary names: processes of other
/// machines writing to a shared file system are never taken for dead.
fn host() -> &'static str {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        let name = host_name().unwrap_or_else(|| "localhost".to_owned());
        let keep = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        name.chars().map(|c| if keep(c) { c } else { '_' }).collect()
    })
}

#[cfg(unix)]
fn host_name() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0)?;
    ok.then(|| String::from_utf8_lossy(&buf[..end]).into_owned())
}

#[cfg(not(unix))]
fn host_name() -> Option<String> {
    std::env::var("COMPUTERNAME").ok()
}

/// Whether process `pid` of this host may still be running. Errs towards "alive":
/// a leftover is removed only when its process is provably gone.
#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return true };
    // SAFETY: signal 0 sends nothing; it only asks whether the process exists.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(not(unix))]
fn process_alive(_pid: u32) -> bool {
    true
}

/// Renames `from` to `to` unless something is at `to` (then `AlreadyExists`).
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    match renameat2(from, to, libc::RENAME_NOREPLACE) {
        Err(e) if e.kind() == io::ErrorKind::Unsupported => {}
        done => return done,
    }
    // The fallback. A file is linked, which fails if `to` exists; once linked it
    // is in place, whatever happens to the old name.
    if from.is_file() {
        fs::hard_link(from, to)?;
        let _ = fs::remove_file(from);
        return Ok(());
    }
    // A directory: an empty one is made at `to` first, which fails if anything is
    // there, then replaced by the rename; if another program fills it meanwhile, the
    // rename fails instead of replacing it.
    #[cfg(unix)]
    {
        fs::create_dir(to)?;
        let renamed = fs::rename(from, to);
        if renamed.is_err() {
            let _ = fs::remove_dir(to);
        }
        renamed
    }
    #[cfg(not(unix))]
    {
        if fs::symlink_metadata(to).is_ok() {
            return Err(io::Error::from(io::ErrorKind::AlreadyExists));
        }
        fs::rename(from, to)
    }
}

/// Swaps `a` and `b` in one step; `Unsupported` where the system cannot.
fn rename_exchange(a: &Path, b: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    return renameat2(a, b, libc::RENAME_EXCHANGE);
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (a, b);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

#[cfg(test)]
thread_local! {
    /// Makes `renameat2` unsupported on this thread, to test the fallback.
    static WITHOUT_RENAMEAT2: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Makes `Publication::undo` fail on this thread.
    static UNDO_FAILS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(target_os = "linux")]
fn renameat2(from: &Path, to: &Path, flags: libc::c_uint) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    #[cfg(test)]
    if WITHOUT_RENAMEAT2.get() {
        return Err(io::Error::from(io::ErrorKind::Unsupported));
    }
    let c_path = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(io::Error::other);
    let (from, to) = (c_path(from)?, c_path(to)?);
    // SAFETY: both paths are NUL-terminated strings that outlive the call.
    let result = unsafe { libc::renameat2(libc::AT_FDCWD, from.as_ptr(), libc::AT_FDCWD, to.as_ptr(), flags) };
    if result == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        // The kernel or the file system does not know the flag.
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP) => Err(io::Error::from(io::ErrorKind::Unsupported)),
        _ => Err(e),
    }
}

/// Removes a file or a directory tree.
fn remove_any(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) => Err(e),
    }
}

/// Makes a directory's entries durable (a no-op where directories cannot be opened).
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    return File::open(dir)?.sync_all();
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// The directory `dest` is in (`.` for a bare name) and its file name.
pub(crate) fn parent_and_name(dest: &Path) -> (PathBuf, String) {
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = dest.file_name().map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    (parent, name)
}

/// The files of `dir` whose names `keep` accepts, sorted.
fn files_in(dir: &Path, keep: impl Fn(&str) -> bool) -> io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<io::Result<_>>()?;
    files.retain(|p| p.file_name().is_some_and(|n| keep(&n.to_string_lossy())));
    files.sort();
    Ok(files)
}

/// Concatenates `parts` in order into `to`, keeping the header lines of the first
/// non-empty part only, and syncs it.
fn concatenate(parts: &[PathBuf], to: &Path, gzip: bool, header_lines: usize) -> io::Result<()> {
    let file = BufWriter::with_capacity(1 << 16, File::create(to)?);
    let mut out = if gzip {
        Writer::Gzip(flate2::write::GzEncoder::new(file, flate2::Compression::default()))
    } else {
        Writer::Plain(file)
    };
    let mut header_written = false;
    for part in parts {
        let mut reader = BufReader::with_capacity(1 << 16, File::open(part)?);
        if header_lines > 0 {
            let mut header = Vec::new();
            for _ in 0..header_lines {
                reader.read_until(b'\n', &mut header)?;
            }
            if !header_written && !header.is_empty() {
                out.write_all(&header)?;
                header_written = true;
            }
        }
        io::copy(&mut reader, &mut out)?;
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftover_names_are_parsed_with_dashes_in_the_host() {
        let leftover = |kind, host, pid, tag| Some(Leftover { kind, host, pid, tag });
        assert_eq!(parse_leftover("tmp-my-host-42-7"), leftover(TEMP, "my-host", 42, "my-host-42-7"));
        assert_eq!(parse_leftover("old-h-1-0"), leftover(OLD, "h", 1, "h-1-0"));
        assert_eq!(parse_leftover("lock-h-1-0"), leftover(LOCK, "h", 1, "h-1-0"));
        assert_eq!(parse_leftover("tmp-h-x-0"), None);
        assert_eq!(parse_leftover("kept-h-1-0"), leftover(KEPT, "h", 1, "h-1-0"));
        assert_eq!(parse_leftover("new-h-1-0"), None);
    }

    const SINK: StageInfo = StageInfo {
        id: 0,
        op: "write_text",
        label: None,
        line: 1,
        column: 1,
        kind: crate::plan::StageKind::Sink,
        inputs: &[],
        side_inputs: &[],
        name: None,
    };

    /// A finished output of one part file saying `text`, for `dest`.
    fn written(dest: &Path, text: &str, overwrite: bool) -> Publication {
        let (parent, name) = parent_and_name(dest);
        let temp = TempDir::create(&parent, &name).unwrap();
        fs::write(temp.path.join("part-00000-of-00001"), text).unwrap();
        Publication {
            stage: SINK,
            dest: dest.to_owned(),
            temp,
            single_file: false,
            shards: None,
            gzip: false,
            header_lines: Arc::default(),
            overwrite,
            created_dirs: Vec::new(),
        }
    }

    fn part(dest: &Path) -> String {
        fs::read_to_string(dest.join("part-00000-of-00001")).unwrap()
    }

    fn entries(dir: &Path) -> usize {
        fs::read_dir(dir).unwrap().count()
    }

    #[test]
    fn without_renameat2_the_fallback_publishes_and_takes_back_the_same_way() {
        for without in [false, true] {
            WITHOUT_RENAMEAT2.set(without);
            let dir = tempfile::tempdir().unwrap();
            let (a, b) = (dir.path().join("a"), dir.path().join("b"));
            publish_all(vec![written(&a, "old a", false)]).unwrap();
            // Overwriting moves the old output aside and removes it afterwards.
            publish_all(vec![written(&a, "new a", true)]).unwrap();
            assert_eq!(part(&a), "new a");
            assert_eq!(entries(dir.path()), 1, "nothing left beside the output");
            // Without overwrite, an existing output stays.
            let e = publish_all(vec![written(&a, "newer a", false)]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::OutputExists);
            assert_eq!(part(&a), "new a");
            // A failing second sink takes the first one's overwrite back.
            fs::create_dir(&b).unwrap();
            let e = publish_all(vec![written(&a, "newest a", true), written(&b, "b", false)]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::OutputExists);
            assert_eq!(part(&a), "new a", "without renameat2: {without}");
            assert_eq!(entries(dir.path()), 2, "only `a` and `b`");
        }
        WITHOUT_RENAMEAT2.set(false);
    }

    #[test]
    fn an_old_output_that_cannot_be_put_back_is_kept_and_said() {
        for without in [false, true] {
            WITHOUT_RENAMEAT2.set(without);
            let dir = tempfile::tempdir().unwrap();
            let (a, b) = (dir.path().join("a"), dir.path().join("b"));
            publish_all(vec![written(&a, "old a", false)]).unwrap();
            fs::create_dir(&b).unwrap();
            UNDO_FAILS.set(true);
            let e = publish_all(vec![written(&a, "new a", true), written(&b, "b", false)]).unwrap_err();
            UNDO_FAILS.set(false);
            assert_eq!(e.kind(), ErrorKind::OutputExists, "the first error stays the error: {e}");
            assert_eq!(part(&a), "new a", "the undo failed");
            let kept: Vec<PathBuf> = fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(".a.beam-kept-"))
                .collect();
            assert_eq!(kept.len(), 1, "without renameat2: {without}");
            assert_eq!(part(&kept[0]), "old a");
            let message = e.to_string();
            assert!(message.contains("could not be put back (undo failed on purpose)"), "{message}");
            assert!(message.contains(&kept[0].display().to_string()), "the error says where: {message}");
            assert_eq!(entries(dir.path()), 3, "`a`, `b` and the kept old output only");
            // No clean-up takes the kept output for a leftover.
            clean_up_after_killed_runs(dir.path(), "a", &a);
            assert_eq!(part(&kept[0]), "old a");
        }
        WITHOUT_RENAMEAT2.set(false);
    }

    #[test]
    fn this_process_is_alive() {
        assert!(process_alive(std::process::id()));
    }

    #[test]
    fn a_rename_that_may_not_replace_leaves_the_target_alone() {
        for without in [false, true] {
            WITHOUT_RENAMEAT2.set(without);
            let dir = tempfile::tempdir().unwrap();
            let (file, new_dir, b) = (dir.path().join("a"), dir.path().join("d"), dir.path().join("b"));
            fs::write(&file, "new").unwrap();
            fs::create_dir(&new_dir).unwrap();
            fs::write(new_dir.join("part"), "new").unwrap();
            fs::create_dir(&b).unwrap(); // even an empty directory is not replaced
            for from in [&file, &new_dir] {
                let e = rename_no_replace(from, &b).unwrap_err();
                assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "without renameat2: {without}");
                assert!(b.is_dir() && entries(&b) == 0);
            }
            assert_eq!(fs::read_to_string(&file).unwrap(), "new");
            assert_eq!(fs::read_to_string(new_dir.join("part")).unwrap(), "new");
            // Where nothing is, both arrive.
            rename_no_replace(&file, &dir.path().join("a2")).unwrap();
            rename_no_replace(&new_dir, &dir.path().join("d2")).unwrap();
            assert_eq!(fs::read_to_string(dir.path().join("d2/part")).unwrap(), "new");
            assert_eq!(entries(dir.path()), 3, "`a2`, `d2` and `b`");
        }
        WITHOUT_RENAMEAT2.set(false);
    }

    #[test]
    fn a_new_temporary_directory_holds_its_lock() {
        let dir = tempfile::tempdir().unwrap();
        let temp = TempDir::create(dir.path(), "out").unwrap();
        let lock = File::options().read(true).write(true).open(temp.beside(LOCK)).unwrap();
        assert!(matches!(lock.try_lock(), Err(fs::TryLockError::WouldBlock)));
        assert!(is_same_file(&temp.beside(LOCK), &temp.lock));
        let other = TempDir::create(dir.path(), "out").unwrap();
        assert_ne!(other.tag, temp.tag);
        temp.remove();
        assert!(lock.try_lock().is_ok(), "released once removed");
        assert_eq!(entries(dir.path()), 2, "only the other run's lock and directory");
    }
}
