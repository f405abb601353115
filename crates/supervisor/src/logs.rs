//! Each process's output: the last lines in memory (for the UI and error reports), rotating files
//! in the data directory, and `Log` events for live viewers. Secrets are masked before a line is
//! kept anywhere.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tokio::sync::broadcast;

use crate::state::{Event, ProcessKind, Stream};

/// Lines kept in memory per process.
pub const RING_LINES: usize = 2000;
/// A log file is rotated past this size.
pub const FILE_MAX_BYTES: u64 = 5 * 1024 * 1024;
/// Rotated files kept (`api.log.1` … `api.log.3`).
pub const FILE_KEEP: usize = 3;

struct Book {
    ring: VecDeque<String>,
    file: Option<File>,
    path: PathBuf,
    written: u64,
}

/// The logs of the three processes.
pub struct Logs {
    books: [Mutex<Book>; 3],
    events: broadcast::Sender<Event>,
    /// Substrings replaced by `***` in every line (bot token, Redis password).
    secrets: Vec<String>,
}

impl std::fmt::Debug for Logs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logs").finish_non_exhaustive()
    }
}

impl Logs {
    /// Logs written under `dir/logs/`, published on `events`.
    pub fn new(dir: &Path, events: broadcast::Sender<Event>, secrets: Vec<String>) -> Self {
        let logs = dir.join("logs");
        let _ = crate::paths::private_dir(&logs);
        let book = |kind: ProcessKind| {
            let path = logs.join(format!("{}.log", kind.name()));
            let file = OpenOptions::new().create(true).append(true).open(&path).ok();
            let written = file.as_ref().and_then(|f| f.metadata().ok()).map_or(0, |m| m.len());
            Mutex::new(Book { ring: VecDeque::with_capacity(256), file, path, written })
        };
        Self {
            books: [book(ProcessKind::Redis), book(ProcessKind::Api), book(ProcessKind::Worker)],
            events,
            secrets: secrets.into_iter().filter(|s| s.len() >= 4).collect(),
        }
    }

    /// Records a line of `process`.
    pub fn line(&self, process: ProcessKind, stream: Stream, line: &str) {
        let mut line = line.trim_end().to_string();
        for secret in &self.secrets {
            if line.contains(secret.as_str()) {
                line = line.replace(secret.as_str(), "***");
            }
        }
        if let Ok(mut book) = self.books[process.index()].lock() {
            if book.ring.len() == RING_LINES {
                book.ring.pop_front();
            }
            book.ring.push_back(line.clone());
            book.write(&line);
        }
        let _ = self.events.send(Event::Log { process, stream, line });
    }

    /// The last `n` lines of `process`.
    pub fn tail(&self, process: ProcessKind, n: usize) -> Vec<String> {
        self.books[process.index()]
            .lock()
            .map(|b| b.ring.iter().skip(b.ring.len().saturating_sub(n)).cloned().collect())
            .unwrap_or_default()
    }

    /// The log file of `process`.
    pub fn path(&self, process: ProcessKind) -> PathBuf {
        self.books[process.index()].lock().map(|b| b.path.clone()).unwrap_or_default()
    }
}

impl Book {
    fn write(&mut self, line: &str) {
        if self.written >= FILE_MAX_BYTES {
            self.rotate();
        }
        if let Some(file) = &mut self.file
            && writeln!(file, "{line}").is_ok()
        {
            self.written += line.len() as u64 + 1;
        }
    }

    fn rotate(&mut self) {
        self.file = None;
        for n in (1..FILE_KEEP).rev() {
            let _ = std::fs::rename(rotated(&self.path, n), rotated(&self.path, n + 1));
        }
        let _ = std::fs::rename(&self.path, rotated(&self.path, 1));
        self.file = OpenOptions::new().create(true).write(true).truncate(true).open(&self.path).ok();
        self.written = 0;
    }
}

fn rotated(path: &Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_masked_kept_and_rotated() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, mut rx) = broadcast::channel(16);
        let logs = Logs::new(dir.path(), tx, vec!["s3cret-token".into()]);
        logs.line(ProcessKind::Api, Stream::Stdout, "calling bot s3cret-token now\n");
        assert_eq!(logs.tail(ProcessKind::Api, 5), ["calling bot *** now"]);
        assert!(matches!(rx.try_recv().unwrap(), Event::Log { line, .. } if line == "calling bot *** now"));
        let big = "x".repeat(1024);
        for _ in 0..(FILE_MAX_BYTES / 1024 + 10) {
            logs.line(ProcessKind::Worker, Stream::Stderr, &big);
        }
        assert!(rotated(&logs.path(ProcessKind::Worker), 1).exists(), "rotated past {FILE_MAX_BYTES} bytes");
        assert_eq!(logs.tail(ProcessKind::Worker, 10_000).len(), RING_LINES);
        assert!(std::fs::read_to_string(logs.path(ProcessKind::Api)).unwrap().contains("calling bot *** now"));
    }
}
