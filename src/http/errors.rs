//! Turning errors and rejections into the JSON error body of SPEC §3.
//!
//! [`error_response`] is the one place that maps the application's
//! [`Error`] to a status; [`recover`] does the same for whatever warp
//! rejected, so no plain-text answer ever leaves the server.

use std::convert::Infallible;

use serde_json::json;
use warp::http::header::{HeaderValue, ALLOW, WWW_AUTHENTICATE};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Reply;

use crate::Error;

/// An [`Error`] carried through warp as a rejection.
#[derive(Debug)]
pub struct Rejected(pub Error);

impl warp::reject::Reject for Rejected {}

/// Rejects with `err`.
pub fn reject(err: Error) -> warp::Rejection {
    warp::reject::custom(Rejected(err))
}

/// The status and machine code of an error.
fn status_and_code(err: &Error) -> (StatusCode, &'static str) {
    match err {
        Error::Invalid { .. } | Error::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
        Error::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
        Error::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
        Error::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
        Error::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
        Error::Conflict(_) | Error::NeedsConfirmation { .. } => (StatusCode::CONFLICT, "conflict"),
        Error::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        Error::UnsupportedMediaType => {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
        }
        Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        Error::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    }
}

/// The JSON answer for `err`. Details of 5xx errors go to the log (inside
/// the request's span, so with its request id), never to the client.
pub fn error_response(err: &Error) -> Response {
    let (status, code) = status_and_code(err);
    match err {
        Error::Internal(detail) => tracing::error!(error = %detail, "internal error"),
        Error::Unavailable(detail) => tracing::warn!(error = %detail, "database unavailable"),
        _ => {}
    }

    let mut body = json!({ "error": err.to_string(), "code": code });
    if let Error::NeedsConfirmation {
        current_template_id,
    } = err
    {
        body["requires_confirmation"] = json!(true);
        body["current_template_id"] = json!(current_template_id);
    }

    let mut response = warp::reply::with_status(warp::reply::json(&body), status).into_response();
    let headers = response.headers_mut();
    match err {
        Error::Unauthorized(_) => {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        Error::MethodNotAllowed(allowed) => {
            headers.insert(ALLOW, HeaderValue::from_static(allowed));
        }
        _ => {}
    }
    response
}

/// Answers whatever was rejected with the JSON error shape.
pub async fn recover(rejection: warp::Rejection) -> Result<Response, Infallible> {
    if let Some(Rejected(err)) = rejection.find::<Rejected>() {
        return Ok(error_response(err));
    }
    let err = if rejection.is_not_found() {
        Error::not_found("no such route")
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        // Every path group answers a wrong method itself with its `Allow`
        // list; this is only reached for a method no route knows.
        Error::not_found("no such route")
    } else if let Some(cors) = rejection.find::<warp::filters::cors::CorsForbidden>() {
        Error::Forbidden(cors.to_string())
    } else {
        Error::BadRequest(format!("the request could not be read: {rejection:?}"))
    };
    Ok(error_response(&err))
}
