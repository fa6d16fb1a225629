//! Reading a file as text, refusing what is not a text file (a folder, a device, a pipe, one
//! too large, not UTF-8, control bytes YAML forbids) before it is parsed.

use std::path::Path;

use super::{ConfigError, Position};

/// The largest configuration or experiment file read, in bytes (1 MiB).
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Read a configuration or experiment file as text, refusing what is not one: a missing
/// path, a folder, a device or a pipe (`/dev/zero`, a FIFO: never opened, so never a hang),
/// a file over [`MAX_FILE_BYTES`], bytes that are not UTF-8, and control bytes YAML forbids
/// (a binary file); the last two with their byte offset, line and column.
///
/// # Errors
/// One problem naming the file and, for its content, the position.
pub fn read_text(path: &Path) -> Result<String, ConfigError> {
    read_text_within(path, MAX_FILE_BYTES)
}

/// [`read_text`] for files of at most `limit` bytes (a saved journal may be larger than an
/// experiment file).
///
/// # Errors
/// As [`read_text`], the size against `limit`.
pub fn read_text_within(path: &Path, limit: u64) -> Result<String, ConfigError> {
    let refuse = |message: String| ConfigError::one(path, Position::default(), "", message);
    let meta = std::fs::metadata(path).map_err(|e| {
        refuse(match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            _ => format!("cannot read: {e}"),
        })
    })?;
    if !meta.is_file() {
        return Err(refuse(format!(
            "is {}, not a regular file",
            file_kind(&meta.file_type())
        )));
    }
    let too_large = |size: u64| {
        refuse(format!(
            "is {size} bytes; files of at most {limit} bytes ({}) are read",
            mebibytes(limit)
        ))
    };
    if meta.len() > limit {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| {
            std::io::Read::read_to_end(
                &mut std::io::Read::take(f, limit.saturating_add(1)),
                &mut bytes,
            )
        })
        .map_err(|e| refuse(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    text_of(path, bytes)
}

/// A size limit for people: `1 MiB`, `1024 MiB`.
fn mebibytes(bytes: u64) -> String {
    format!("{} MiB", bytes / (1024 * 1024))
}

/// What a non-regular file is, in words.
fn file_kind(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a folder"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a named pipe (FIFO)"
    } else if t.is_socket() {
        "a socket"
    } else {
        "something other than a file"
    }
}

/// `bytes` as text: UTF-8, without the control bytes YAML forbids (tab, LF and CR are fine).
fn text_of(path: &Path, bytes: Vec<u8>) -> Result<String, ConfigError> {
    let at = |bytes: &[u8], offset: usize, message: String| {
        let before = &bytes[..offset];
        let line = before.iter().filter(|b| **b == b'\n').count() as u64 + 1;
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count() as u64
            + 1;
        ConfigError::one(
            path,
            Position { line, column },
            "",
            message.replace("{offset}", &offset.to_string()),
        )
    };
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            return Err(at(
                &bytes,
                offset,
                format!(
                    "not UTF-8 text: byte 0x{:02x} at byte offset {{offset}} (a binary file, \
                     or another encoding)",
                    bytes[offset]
                ),
            ));
        }
    };
    if let Some((offset, c)) = text
        .char_indices()
        .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r') && (*c as u32) < 0x80)
    {
        return Err(at(
            text.as_bytes(),
            offset,
            format!(
                "control byte 0x{:02x} at byte offset {{offset}}, which YAML does not allow \
                 (a binary file?)",
                c as u32
            ),
        ));
    }
    Ok(text)
}
