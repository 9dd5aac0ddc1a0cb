//! Checks shared by request bodies, import documents and the command line:
//! the lengths of ids, names and free text, and telling an absent field
//! from one given as `null`.

use serde::{Deserialize, Deserializer};

use crate::{Error, Result};

pub const MAX_ID_CHARS: usize = 128;
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_TEXT_CHARS: usize = 2000;

/// Checks an id of 1–128 characters.
pub fn check_id(field: &str, id: &str) -> Result<()> {
    let len = id.chars().count();
    if len == 0 || len > MAX_ID_CHARS {
        return Err(Error::invalid(field, "must be 1 to 128 characters"));
    }
    Ok(())
}

/// Checks a name of 1–200 characters that is not only white space.
pub fn check_name(field: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid(
            field,
            "must be 1 to 200 characters, not only spaces",
        ));
    }
    Ok(())
}

/// Checks optional free text of at most 2,000 characters.
pub fn check_text(field: &str, text: Option<&str>) -> Result<()> {
    if text.is_some_and(|t| t.chars().count() > MAX_TEXT_CHARS) {
        return Err(Error::invalid(field, "must be at most 2000 characters"));
    }
    Ok(())
}

/// For `#[serde(default, deserialize_with = "present")]` fields: `None`
/// when the field is absent, `Some(value)` when it is given. With `T` an
/// `Option`, `null` reads as `Some(None)`; with any other `T`, `null` is
/// refused as the wrong type.
pub fn present<'de, D, T>(deserializer: D) -> std::result::Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}
