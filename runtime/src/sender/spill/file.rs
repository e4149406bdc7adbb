//! The spill file of one sender: where it goes, appending to it, reading and rewriting it.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::format::SpillOp;
use crate::base::error::{Error, Result};

/// Environment variable choosing the spill folder.
pub const SPILL_DIR_ENV: &str = crate::base::env::SPILL_DIR;

/// The spill file of one background sender: created on first use, appended to, flushed
/// after every line so that a crash loses nothing written.
#[derive(Debug, Default)]
pub(crate) struct Spill {
    /// The folder, when given rather than read from [`SPILL_DIR_ENV`].
    dir: Option<PathBuf>,
    path: Option<PathBuf>,
    file: Option<std::fs::File>,
    /// Lines written and not yet delivered.
    pub(crate) pending: usize,
    /// Metrics, params, tags and status changes in those lines.
    pub(crate) values: usize,
}

impl Spill {
    /// A spill whose file goes into `dir`, else into [`SPILL_DIR_ENV`] or `./mlflow-spill`.
    pub(crate) fn new(dir: Option<PathBuf>) -> Spill {
        Spill {
            dir,
            ..Spill::default()
        }
    }

    /// Where this sender's spill goes (whether or not it exists yet).
    fn choose_path(&self) -> PathBuf {
        let dir = self
            .dir
            .clone()
            .or_else(|| crate::base::env::nonempty(SPILL_DIR_ENV).map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("mlflow-spill"));
        let dir = std::path::absolute(&dir).unwrap_or(dir);
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let mut n = 0;
        loop {
            let name = match n {
                0 => format!("{}-{secs}.jsonl", std::process::id()),
                _ => format!("{}-{secs}-{n}.jsonl", std::process::id()),
            };
            let path = dir.join(name);
            if !path.exists() {
                return path;
            }
            n += 1;
        }
    }

    /// The file, when something has been spilled.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Appends one operation.
    pub(crate) fn write(&mut self, op: &SpillOp) -> Result<()> {
        if self.file.is_none() {
            let path = self.path.clone().unwrap_or_else(|| self.choose_path());
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| io_error(&path, e))?;
            self.path = Some(path);
            self.file = Some(file);
        }
        let path = self.path.clone().unwrap_or_default();
        let mut line = serde_json::to_vec(op)
            .map_err(|e| Error::Internal(format!("cannot encode a spill line: {e}")))?;
        line.push(b'\n');
        if let Some(file) = self.file.as_mut() {
            file.write_all(&line).map_err(|e| io_error(&path, e))?;
            file.flush().map_err(|e| io_error(&path, e))?;
        }
        self.pending += 1;
        self.values += op.len();
        Ok(())
    }

    /// Forgets the file after its lines were delivered (the replay removed it).
    pub(crate) fn reset(&mut self) {
        *self = Spill::new(self.dir.take());
    }

    /// After the replay rewrote the file with the lines still undelivered: the next line
    /// is appended to the new file.
    pub(crate) fn reopen(&mut self, pending: usize, values: usize) {
        self.file = None;
        self.pending = pending;
        self.values = values;
    }
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::io("spill file", path, e)
}

/// Reads a spill file.
pub fn read_spill(path: &Path) -> Result<Vec<SpillOp>> {
    let text = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                let bad = std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("line {}: {e}", i + 1),
                );
                io_error(path, bad)
            })
        })
        .collect()
}

/// Writes `ops` back to `path`, or removes it when none are left.
pub(crate) fn rewrite(path: &Path, ops: &[SpillOp]) -> Result<()> {
    if ops.is_empty() {
        return match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(path, e)),
        };
    }
    let mut text = Vec::new();
    for op in ops {
        let line = serde_json::to_vec(op)
            .map_err(|e| Error::Internal(format!("cannot encode a spill line: {e}")))?;
        text.extend_from_slice(&line);
        text.push(b'\n');
    }
    let tmp = path.with_extension("jsonl.tmp");
    std::fs::write(&tmp, &text).map_err(|e| io_error(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_error(path, e))
}
