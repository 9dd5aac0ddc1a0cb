//! The one error type of the application.
//!
//! Variants are named by what went wrong, not by where; `http::errors` maps
//! each to a status code and the JSON error body in one exhaustive match.

use rusqlite::ErrorCode;

/// Result with the application's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field of the input is missing, of the wrong type or out of range.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },

    /// The request cannot be served as it stands, for a reason not tied to one field.
    #[error("{0}")]
    BadRequest(String),

    #[error("{0}")]
    NotFound(String),

    /// The request clashes with what is stored (a taken id, a template in use).
    #[error("{0}")]
    Conflict(String),

    /// Assigning would replace another template; the caller must confirm with `force`.
    #[error("client already has template {current_template_id}; send force: true to replace it")]
    NeedsConfirmation { current_template_id: String },

    #[error("{0}")]
    Unauthorized(&'static str),

    #[error("{0}")]
    Forbidden(String),

    #[error("no route for this method; allowed: {0}")]
    MethodNotAllowed(&'static str),

    #[error("request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(u64),

    #[error("request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,

    /// No database connection could be had in time, or the database stayed locked.
    #[error("the database is busy; try again shortly")]
    Unavailable(String),

    /// Anything unexpected. The text goes to the log, never to the client.
    #[error("internal error")]
    Internal(String),
}

impl Error {
    /// An [`Error::Invalid`] for `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Error::NotFound(what.into())
    }
}

impl From<rusqlite::Error> for Error {
    fn from(err: rusqlite::Error) -> Self {
        match err.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                Error::Unavailable(err.to_string())
            }
            Some(ErrorCode::ConstraintViolation) if is_unique_violation(&err) => {
                Error::Conflict("a record with this id already exists".into())
            }
            _ => Error::Internal(format!("database: {err}")),
        }
    }
}

fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

impl From<r2d2::Error> for Error {
    fn from(err: r2d2::Error) -> Self {
        Error::Unavailable(format!("connection pool: {err}"))
    }
}
