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
//! is temporary directories named after the host and the process; the next run to
//! the same destination removes those whose process is no longer alive. What stays
//! non-atomic across *several* destinations: a run killed between placing two sinks
//! has published the first and not the second.
//!
//! Where `renameat2` or its flags are missing (outside Linux, or a file system that
//! does not support them) the same steps fall back to plain renames: a check that
//! the destination is free right before the rename (a race with another writer in
//! that instant remains), and for `overwrite()` the old output renamed aside first
//! (`.name.beam-old-…`), then the new one renamed in; a run killed between the two
//! leaves the aside copy, which the next run renames back.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::error::{Error, ErrorKind, InputPosition, Result};
use crate::io::output::Writer;
use crate::plan::StageInfo;

/// One sink's output, written to `temp`, waiting to be published at `dest`.
pub(crate) struct Publication {
    /// The sink, named in errors.
    pub stage: StageInfo,
    pub dest: PathBuf,
    pub temp: PathBuf,
    pub single_file: bool,
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
        if self.single_file { self.temp.join(".single") } else { self.temp.clone() }
    }

    /// Step 1: everything that can fail before the destination changes.
    fn stage(&self) -> Result<()> {
        let staged = self.staged();
        if self.single_file {
            let header_lines = self.header_lines.load(Ordering::Relaxed);
            concatenate(&self.temp, &staged, self.gzip, header_lines).map_err(|e| self.error("could not write", e))?;
        }
        // The part files were synced by their workers; the directory entries too.
        sync_dir(&self.temp).map_err(|e| self.error("could not write", e))
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
            Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                let aside = self.aside_path()?;
                fs::rename(&self.dest, &aside).map_err(|e| self.error("could not move the old output aside", e))?;
                if let Err(e) = fs::rename(&staged, &self.dest) {
                    let _ = fs::rename(&aside, &self.dest);
                    return Err(self.error("could not move the output into place", e));
                }
                Ok(Placed::MovedAside(aside))
            }
            Err(e) => Err(self.error("could not move the output into place", e)),
        }
    }

    fn aside_path(&self) -> Result<PathBuf> {
        let (parent, name) = parent_and_name(&self.dest);
        unique_path(&parent, &name, OLD).map_err(|e| self.error("could not move the old output aside", e))
    }

    /// Puts the destination back as it was before `place` (best effort: this runs
    /// only when another sink failed).
    fn undo(&self, placed: Placed) {
        let staged = self.staged();
        let _ = match placed {
            Placed::New => fs::rename(&self.dest, &staged),
            Placed::Swapped => rename_exchange(&staged, &self.dest),
            Placed::MovedAside(aside) => fs::rename(&self.dest, &staged).and_then(|()| fs::rename(&aside, &self.dest)),
        };
    }

    /// Step 3: removes the old output and the temporary directory.
    fn commit(self, placed: Placed) {
        if let Placed::MovedAside(aside) = &placed {
            let _ = remove_any(aside);
        }
        let _ = remove_any(&self.temp);
        let (parent, _) = parent_and_name(&self.dest);
        let _ = sync_dir(&parent);
    }

    /// A failed run: removes the temporary directory and the directories it made.
    pub fn discard(self) {
        let _ = remove_any(&self.temp);
        remove_created(&self.created_dirs);
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

/// Publishes every sink of a successful run (see the module documentation); on an
/// error no destination has changed.
pub(crate) fn publish_all(publications: Vec<Publication>) -> Result<()> {
    if let Err(e) = publications.iter().try_for_each(Publication::stage) {
        publications.into_iter().for_each(Publication::discard);
        return Err(e);
    }
    let mut placed = Vec::with_capacity(publications.len());
    let mut failure = None;
    for publication in &publications {
        match publication.place() {
            Ok(how) => placed.push(how),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    if let Some(e) = failure {
        for (publication, how) in publications.iter().zip(placed).rev() {
            publication.undo(how);
        }
        publications.into_iter().for_each(Publication::discard);
        return Err(e);
    }
    for (publication, how) in publications.into_iter().zip(placed) {
        publication.commit(how);
    }
    Ok(())
}

/// The error for an output that is already there, saying `what` happened and how
/// to go on.
pub(crate) fn output_exists(dest: &Path, what: &str) -> Error {
    let message = format!("{what} Remove it, write elsewhere, or ask for `FileOutput::new(..).overwrite()`");
    Error::new(ErrorKind::OutputExists, message).at(InputPosition::new(dest, None))
}

/// Removes the directories a run created (outermost first in `dirs`), deepest
/// first, each only if empty: another program may have put something there since.
pub(crate) fn remove_created(dirs: &[PathBuf]) {
    for dir in dirs.iter().rev() {
        let _ = fs::remove_dir(dir);
    }
}

const TEMP: &str = "tmp";
const OLD: &str = "old";

/// `.name.beam-{kind}-{host}-{pid}-{n}` in `parent`, created as a directory for
/// `TEMP` (so two runs never share one) and only named for `OLD`.
pub(crate) fn unique_path(parent: &Path, name: &str, kind: &str) -> io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = parent.join(format!(".{name}.beam-{kind}-{}-{}-{n}", host(), std::process::id()));
        if kind != TEMP {
            if fs::symlink_metadata(&path).is_err() {
                return Ok(path);
            }
            continue;
        }
        match fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A new temporary directory for an output `name` in `parent`.
pub(crate) fn temp_dir(parent: &Path, name: &str) -> io::Result<PathBuf> {
    unique_path(parent, name, TEMP)
}

/// Removes what killed runs of this host left beside `dest`: their temporary
/// directories, and an old output moved aside (renamed back first if the
/// destination is missing, because then the run died before the new one was in).
pub(crate) fn clean_up_after_killed_runs(parent: &Path, name: &str, dest: &Path) {
    let Ok(entries) = fs::read_dir(parent) else { return };
    let prefix = format!(".{name}.beam-");
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else { continue };
        let Some((kind, host_name, pid)) = parse_leftover(rest) else { continue };
        if host_name != host() || process_alive(pid) {
            continue;
        }
        let path = entry.path();
        if kind == OLD && fs::symlink_metadata(dest).is_err() && fs::rename(&path, dest).is_ok() {
            continue;
        }
        let _ = remove_any(&path);
    }
}

/// `tmp-host-123-4` → `("tmp", "host", 123)`; host names may contain `-`.
fn parse_leftover(rest: &str) -> Option<(&str, &str, u32)> {
    let (kind, rest) = rest.split_once('-')?;
    if kind != TEMP && kind != OLD {
        return None;
    }
    let mut parts = rest.rsplitn(3, '-');
    let _n: u64 = parts.next()?.parse().ok()?;
    let pid = parts.next()?.parse().ok()?;
    Some((kind, parts.next()?, pid))
}

/// This machine's name as it appears in temporary names: processes of other
/// machines writing to a shared file system are never taken for dead.
fn host() -> &'static str {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        let name = host_name().unwrap_or_else(|| "localhost".to_owned());
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '_' { c } else { '_' }).collect()
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
    // The fallback: a single file can be linked, which fails if `to` exists; a
    // directory is checked first.
    if from.is_file() {
        fs::hard_link(from, to)?;
        return fs::remove_file(from);
    }
    if fs::symlink_metadata(to).is_ok() {
        return Err(io::Error::from(io::ErrorKind::AlreadyExists));
    }
    fs::rename(from, to)
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

/// Concatenates the part files of `dir` in order into `to`, keeping the header
/// lines of the first non-empty part only, and syncs it.
fn concatenate(dir: &Path, to: &Path, gzip: bool, header_lines: usize) -> io::Result<()> {
    let mut parts: Vec<PathBuf> = fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<io::Result<_>>()?;
    parts.retain(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("part-")));
    parts.sort();
    let file = BufWriter::with_capacity(1 << 16, File::create(to)?);
    let mut out = if gzip {
        Writer::Gzip(flate2::write::GzEncoder::new(file, flate2::Compression::default()))
    } else {
        Writer::Plain(file)
    };
    let mut header_written = false;
    for part in parts {
        let mut reader = BufReader::with_capacity(1 << 16, File::open(&part)?);
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
        assert_eq!(parse_leftover("tmp-my-host-42-7"), Some(("tmp", "my-host", 42)));
        assert_eq!(parse_leftover("old-h-1-0"), Some(("old", "h", 1)));
        assert_eq!(parse_leftover("tmp-h-x-0"), None);
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
        let temp = temp_dir(&parent, &name).unwrap();
        fs::write(temp.join("part-00000-of-00001"), text).unwrap();
        Publication {
            stage: SINK,
            dest: dest.to_owned(),
            temp,
            single_file: false,
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
    fn this_process_is_alive() {
        assert!(process_alive(std::process::id()));
    }

    #[test]
    fn a_rename_that_may_not_replace_leaves_the_target_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&a, "new").unwrap();
        fs::create_dir(&b).unwrap(); // even an empty directory is not replaced
        let e = rename_no_replace(&a, &b).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert!(b.is_dir());
        assert_eq!(fs::read_to_string(&a).unwrap(), "new");
    }
}
