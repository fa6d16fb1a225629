//! `POST /notes`: a participant's note, one line of plain text with its author.

use serde_json::Value;

use super::super::error::ApiError;
use super::{object, only, string};

/// A validated note (`POST /notes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteRequest {
    /// Who wrote it: 1 to 64 characters.
    pub author: String,
    /// What they observed: 1 to 4,000 characters.
    pub text: String,
}

/// A note from a JSON value: `author` 1–64 and `text` 1–4,000 characters, neither with a
/// control character (a line break included), a Unicode line or paragraph separator, or a
/// bidirectional control (which would show the text in another order than it was written).
pub fn note_request(value: &Value) -> Result<NoteRequest, ApiError> {
    let map = object(value, "a note")?;
    only(map, &["author", "text"])?;
    let checked = |field: &str, max: usize| -> Result<String, ApiError> {
        let Some(v) = string(map, field)? else {
            return Err(ApiError::missing(field));
        };
        let n = v.chars().count();
        if n == 0 || n > max {
            return Err(ApiError::bad_field(
                field,
                format!("must be 1 to {max} characters, got {n}"),
            ));
        }
        if let Some(c) = v.chars().find(|&c| unfit_for_a_line(c)) {
            return Err(ApiError::bad_field(
                field,
                format!("contains the control character {c:?}, which notes may not"),
            ));
        }
        Ok(v)
    };
    Ok(NoteRequest {
        author: checked("author", 64)?,
        text: checked("text", 4000)?,
    })
}

/// Characters a one-line note may not hold: C0/C1 controls, U+2028/U+2029 (line and paragraph
/// separators) and the bidirectional controls U+200E/F, U+202A–U+202E and U+2066–U+2069.
fn unfit_for_a_line(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}')
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}
