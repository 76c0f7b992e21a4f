//! Where `simulate --out` and `--report` go: stdout, a file written whole (a hidden temporary
//! file beside it, renamed once whole), or a link, FIFO or device written through; settled
//! before the replay, so that a path that cannot be written fails at once, not after hours.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Where `--out` or `--report` goes.
#[derive(Debug)]
pub enum Output {
    Stdout,
    /// Something other than a regular file (a link, a FIFO, `/dev/stdout`, a process
    /// substitution's `/dev/fd/N`): written through, as it is.
    Through(PathBuf),
    /// The file's path, and a file beside it that becomes the file once it is whole.
    File(PathBuf, tempfile::NamedTempFile),
}

/// What an output holds, for its messages and its temporary file's name.
#[derive(Debug)]
pub struct OutputKind {
    /// "the report", "the decisions".
    what: &'static str,
    /// The hidden temporary file's prefix and suffix.
    prefix: &'static str,
    suffix: &'static str,
    /// A file name to suggest in a folder given instead of a file.
    example: &'static str,
}

pub const REPORT: OutputKind = OutputKind {
    what: "the report",
    prefix: ".tierd-report-",
    suffix: ".html",
    example: "report.html",
};

pub const DECISIONS: OutputKind = OutputKind {
    what: "the decisions",
    prefix: ".tierd-decisions-",
    suffix: ".jsonl",
    example: "decisions.jsonl",
};

/// Where the output at `path` goes, settled before the replay: `-` is stdout; a folder is an
/// error; a link whose target's folder does not exist is an error; a path that is not a
/// regular file is written through; a new or regular file is replaced whole.
pub fn output_to(path: &Path, kind: &OutputKind) -> anyhow::Result<Output> {
    if path.as_os_str() == "-" {
        return Ok(Output::Stdout);
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => bail!(
            "cannot write {} {}: it is a folder; name a file in it, e.g. {}",
            kind.what,
            path.display(),
            path.join(kind.example).display()
        ),
        Ok(m) if m.file_type().is_symlink() => {
            check_link(path, kind)?;
            Ok(Output::Through(path.to_path_buf()))
        }
        Ok(m) if !m.file_type().is_file() => Ok(Output::Through(path.to_path_buf())),
        _ => Ok(Output::File(
            path.to_path_buf(),
            temporary_beside(path, kind)?,
        )),
    }
}

/// A link that leads to a file not there yet must lead into a folder that is: checked before
/// the replay, as a missing folder given directly is.
fn check_link(path: &Path, kind: &OutputKind) -> anyhow::Result<()> {
    if std::fs::metadata(path).is_ok() {
        return Ok(());
    }
    // Follow the links by hand to the name that is missing (at most 40, as the kernel does).
    let mut target = path.to_path_buf();
    for _ in 0..40 {
        let Ok(next) = std::fs::read_link(&target) else {
            break;
        };
        target = match target.parent() {
            Some(dir) => dir.join(next),
            None => next,
        };
    }
    let folder = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match std::fs::metadata(folder) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => bail!(
            "cannot write {} {}: it links to {}, and {} is not a folder",
            kind.what,
            path.display(),
            target.display(),
            folder.display()
        ),
        Err(e) => bail!(
            "cannot write {} {}: it links to {}, and {}: {e}",
            kind.what,
            path.display(),
            target.display(),
            folder.display()
        ),
    }
}

/// A temporary file in the folder of `path` (so that the output is written whole, by a
/// rename), created before the replay: a folder that does not exist or cannot be written is
/// an error at once.
fn temporary_beside(path: &Path, kind: &OutputKind) -> anyhow::Result<tempfile::NamedTempFile> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // The mode of the file it replaces (a decision file made private stays private), else
    // readable as a file written directly would be (a temporary file is private to its owner).
    let mode = std::fs::metadata(path).map_or(0o644, |m| {
        std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o7777
    });
    let readable = std::os::unix::fs::PermissionsExt::from_mode(mode);
    tempfile::Builder::new()
        .prefix(kind.prefix)
        .suffix(kind.suffix)
        .permissions(readable)
        .tempfile_in(folder)
        .map_err(|e| {
            // The error names the temporary file (`... at path "..."`); the user named the
            // output.
            let why = e.to_string();
            let why = why.split(" at path ").next().unwrap_or_default();
            anyhow::anyhow!("cannot write {} {}: {why}", kind.what, path.display())
        })
}

/// Makes the whole temporary file `tmp` the file at `path`: on disk first, then renamed over it.
pub fn persist(tmp: tempfile::NamedTempFile, path: &Path, what: &str) -> anyhow::Result<()> {
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("writing {what} {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("writing {what} {}", path.display()))?;
    Ok(())
}

/// Stdout for `--out -`, which notes in its flag when the reader has gone.
#[derive(Debug)]
pub struct Stdout(pub std::rc::Rc<std::cell::Cell<bool>>);

impl Stdout {
    fn noted<T>(&self, r: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &r
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            self.0.set(true);
        }
        r
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let r = std::io::stdout().write(buf);
        self.noted(r)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let r = std::io::stdout().flush();
        self.noted(r)
    }
}
