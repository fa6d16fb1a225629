//! The append-only write log: one JSON object per line, replayed at start.
//!
//! A record is `{"op":"put","key":K,"value":V,"version":N}` or
//! `{"op":"delete","key":K}`, terminated by `\n`. A record counts only once
//! its newline is written, so an unterminated or unparsable *last* line is a
//! torn append from a crash: replay drops it with a warning and truncates the
//! file to the last whole record, so later appends start on a clean line. A
//! bad line anywhere else is corruption and stops the start.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

/// One logged write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
pub(crate) enum Record {
    /// `key` now holds `value` at `version`.
    Put {
        /// The key.
        key: String,
        /// The stored value.
        value: String,
        /// The key's version after this write (1 for a new key).
        version: u64,
    },
    /// `key` was deleted.
    Delete {
        /// The key.
        key: String,
    },
}

impl Record {
    /// The record as one log line, newline included.
    pub(crate) fn line(&self) -> Vec<u8> {
        // Serializing a struct of strings and integers cannot fail.
        let mut line = serde_json::to_vec(self).unwrap_or_default();
        line.push(b'\n');
        line
    }
}

/// A stored value and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The exact value written.
    pub value: String,
    /// Per-key version, counted from 1.
    pub version: u64,
}

/// What a replay found.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    /// The map rebuilt from the log.
    pub map: HashMap<String, Entry>,
    /// Whole records applied.
    pub records: u64,
    /// Bytes of a torn last line that were dropped (0 when the log was clean).
    pub torn_bytes: u64,
}

/// A log that could not be read, replayed or written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LogError {
    /// Reading, truncating, opening or appending failed.
    #[error("{path}: {action}: {error}")]
    Io {
        /// The log file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The I/O error (shown in the message, so not a `source`).
        error: std::io::Error,
    },
    /// A line before the last one is not a record.
    #[error("{path}:{line}: corrupt log record: {error}")]
    Corrupt {
        /// The log file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Why it did not parse (shown in the message, so not a `source`).
        error: serde_json::Error,
    },
}

/// Apply `record` to `map`.
pub(crate) fn apply(map: &mut HashMap<String, Entry>, record: Record) {
    match record {
        Record::Put {
            key,
            value,
            version,
        } => {
            map.insert(key, Entry { value, version });
        }
        Record::Delete { key } => {
            map.remove(&key);
        }
    }
}

/// Rebuild the map from the bytes of a log. Returns the replay and the
/// length of the valid prefix (everything after it is a torn last line).
pub(crate) fn replay_bytes(path: &Path, bytes: &[u8]) -> Result<(Replay, usize), LogError> {
    let mut replay = Replay::default();
    let mut valid = 0;
    let lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
    for (index, line) in lines.iter().enumerate() {
        let last = index + 1 == lines.len();
        let parsed = match line.strip_suffix(b"\n") {
            Some(body) => serde_json::from_slice::<Record>(body),
            // No newline: the append never finished, so it was never counted.
            None => break,
        };
        match parsed {
            Ok(record) => {
                apply(&mut replay.map, record);
                replay.records += 1;
                valid += line.len();
            }
            Err(_) if last => break,
            Err(error) => {
                return Err(LogError::Corrupt {
                    path: path.to_owned(),
                    line: index + 1,
                    error,
                });
            }
        }
    }
    replay.torn_bytes = (bytes.len() - valid) as u64;
    Ok((replay, valid))
}

/// An open log: replayed, torn tail removed, positioned for appends.
#[derive(Debug)]
pub(crate) struct Log {
    path: PathBuf,
    file: tokio::fs::File,
    fsync: bool,
}

impl Log {
    /// Replay `path` (a missing file is an empty log) and open it for appending.
    pub(crate) async fn open(path: &Path, fsync: bool) -> Result<(Log, Replay), LogError> {
        let io = |action| {
            let path = path.to_owned();
            move |error| LogError::Io {
                path,
                action,
                error,
            }
        };
        let bytes = match tokio::fs::read(path).await {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io("reading")(e)),
        };
        let (replay, valid) = replay_bytes(path, &bytes)?;
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await
            .map_err(io("opening for append"))?;
        if replay.torn_bytes > 0 {
            tracing::warn!(
                path = %path.display(),
                bytes = replay.torn_bytes,
                "dropping a torn last line (an append interrupted by a crash)"
            );
            file.set_len(valid as u64)
                .await
                .map_err(io("truncating the torn last line"))?;
        }
        let log = Log {
            path: path.to_owned(),
            file,
            fsync,
        };
        Ok((log, replay))
    }

    /// Append `records` in one write and hand them to the OS (and to the disk
    /// with `--fsync`). Returns once the bytes are out of this process.
    pub(crate) async fn append(
        &mut self,
        records: impl IntoIterator<Item = &Record>,
    ) -> Result<(), LogError> {
        let bytes: Vec<u8> = records.into_iter().flat_map(Record::line).collect();
        let io = |action| {
            let path = self.path.clone();
            move |error| LogError::Io {
                path,
                action,
                error,
            }
        };
        self.file.write_all(&bytes).await.map_err(io("appending"))?;
        self.file.flush().await.map_err(io("appending"))?;
        if self.fsync {
            self.file.sync_data().await.map_err(io("fsync"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(key: &str, value: &str, version: u64) -> Record {
        Record::Put {
            key: key.into(),
            value: value.into(),
            version,
        }
    }

    fn log_of(records: &[Record]) -> Vec<u8> {
        records.iter().flat_map(Record::line).collect()
    }

    #[test]
    fn replays_puts_and_deletes_in_order() {
        let bytes = log_of(&[
            put("a", "1", 1),
            put("b", "x", 1),
            put("a", "2", 2),
            Record::Delete { key: "b".into() },
        ]);
        let (replay, valid) = replay_bytes(Path::new("log"), &bytes).unwrap();
        assert_eq!(valid, bytes.len());
        assert_eq!(replay.records, 4);
        assert_eq!(replay.torn_bytes, 0);
        assert_eq!(
            replay.map.get("a"),
            Some(&Entry {
                value: "2".into(),
                version: 2
            })
        );
        assert!(!replay.map.contains_key("b"));
    }

    #[test]
    fn a_torn_last_line_is_dropped() {
        let mut bytes = log_of(&[put("a", "1", 1)]);
        let whole = bytes.len();
        bytes.extend_from_slice(br#"{"op":"put","key":"b","val"#);
        let (replay, valid) = replay_bytes(Path::new("log"), &bytes).unwrap();
        assert_eq!(valid, whole);
        assert_eq!(replay.records, 1);
        assert_eq!(replay.torn_bytes, (bytes.len() - whole) as u64);
        // Even a parsable line without its newline was never counted.
        let mut unterminated = log_of(&[put("a", "1", 1), put("b", "2", 1)]);
        unterminated.pop();
        let (replay, _) = replay_bytes(Path::new("log"), &unterminated).unwrap();
        assert!(!replay.map.contains_key("b"));
    }

    #[test]
    fn a_bad_line_before_the_last_is_corruption_with_its_line_number() {
        let mut bytes = log_of(&[put("a", "1", 1)]);
        bytes.extend_from_slice(b"garbage\n");
        bytes.extend(log_of(&[put("b", "2", 1)]));
        let err = replay_bytes(Path::new("kv.log"), &bytes).unwrap_err();
        assert!(matches!(err, LogError::Corrupt { line: 2, .. }), "{err}");
        assert!(err.to_string().starts_with("kv.log:2: corrupt log record"));
    }

    #[tokio::test]
    async fn open_truncates_the_torn_tail_so_appends_start_clean() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.log");
        let mut bytes = log_of(&[put("a", "1", 1)]);
        bytes.extend_from_slice(b"{\"op\":\"pu");
        std::fs::write(&path, &bytes).unwrap();
        let (mut log, replay) = Log::open(&path, false).await.unwrap();
        assert_eq!(replay.records, 1);
        log.append([&put("b", "2", 1)]).await.unwrap();
        drop(log);
        let (_, replay) = Log::open(&path, true).await.unwrap();
        assert_eq!(replay.records, 2);
        assert_eq!(replay.torn_bytes, 0);
        assert_eq!(replay.map["b"].value, "2");
    }
}
