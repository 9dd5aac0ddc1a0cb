//! Filters that turn the parts of a request into checked values: the
//! caller's token, a JSON body within the size limit, path ids and query
//! parameters, each failing with the SPEC §3 error it stands for.

use std::convert::Infallible;

use bytes::{Buf, BytesMut};
use futures_util::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use warp::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use warp::http::HeaderMap;
use warp::{Filter, Rejection};

use super::errors::reject;
use super::App;
use rusqlite::Connection;

use crate::auth::{Permission, Principal, Secret};
use crate::input::MAX_ID_CHARS;
use crate::store::users;
use crate::Error;

/// The state every handler gets.
pub fn with_app(app: App) -> impl Filter<Extract = (App,), Error = Infallible> + Clone {
    warp::any().map(move || app.clone())
}

/// Whoever sent a request: its bearer token and what the route needs.
///
/// The token is checked by [`Caller::authenticate`] inside the handler's one
/// database call, so a request costs one trip to a blocking thread. Missing
/// or malformed headers are refused here already, before the body is read.
#[derive(Clone, Debug)]
pub struct Caller {
    secret: Secret,
    any_of: &'static [Permission],
}

impl Caller {
    /// The principal of a live token that grants one of the route's
    /// permissions: `401` for an unknown or revoked token, `403` without
    /// the permission.
    pub fn authenticate(&self, conn: &Connection) -> Result<Principal, Error> {
        let principal = users::authenticate(conn, &self.secret)?
            .ok_or(Error::Unauthorized("unknown or revoked token"))?;
        if !self.any_of.iter().any(|&p| principal.may(p)) {
            let needed: Vec<&str> = self.any_of.iter().map(|p| p.as_str()).collect();
            return Err(Error::Forbidden(format!(
                "this token lacks the permission {}",
                needed.join(" or ")
            )));
        }
        Ok(principal)
    }
}

/// The request's [`Caller`]; `401` without a well-formed bearer token.
pub fn caller(
    any_of: &'static [Permission],
) -> impl Filter<Extract = (Caller,), Error = Rejection> + Clone {
    warp::header::headers_cloned().and_then(move |headers: HeaderMap| async move {
        let secret = bearer_token(&headers).ok_or_else(|| {
            reject(Error::Unauthorized(
                "missing or malformed Authorization header; expected \"Bearer <token>\"",
            ))
        })?;
        Ok::<_, Rejection>(Caller { secret, any_of })
    })
}

fn bearer_token(headers: &HeaderMap) -> Option<Secret> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(' ') {
        return None;
    }
    Some(Secret::new(token))
}

/// A request body read as JSON, or why it could not be.
///
/// Body errors are answered only after the token is checked (SPEC §3), so
/// they travel as a value to the handler instead of as a rejection.
pub type Body<T> = Result<T, Error>;

/// A JSON body of type `T`: `415` for another content type (none counts as
/// JSON), `413` over `limit` bytes, `400` naming the field at fault.
pub fn json_body<T: DeserializeOwned + Send>(
    limit: u64,
) -> impl Filter<Extract = (Body<T>,), Error = Rejection> + Clone {
    warp::header::headers_cloned()
        .and(warp::body::stream())
        .then(move |headers: HeaderMap, body| async move {
            check_content_type(&headers)?;
            let declared = headers
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|n| n > limit) {
                return Err(Error::PayloadTooLarge(limit));
            }
            let bytes = read_limited(body, limit).await?;
            parse_json(&bytes)
        })
}

fn check_content_type(headers: &HeaderMap) -> Result<(), Error> {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let is_json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if is_json {
        Ok(())
    } else {
        Err(Error::UnsupportedMediaType)
    }
}

async fn read_limited<S, B>(body: S, limit: u64) -> Result<BytesMut, Error>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let mut body = std::pin::pin!(body);
    let mut bytes = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let mut chunk =
            chunk.map_err(|err| Error::BadRequest(format!("the body could not be read: {err}")))?;
        if (bytes.len() + chunk.remaining()) as u64 > limit {
            return Err(Error::PayloadTooLarge(limit));
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            bytes.extend_from_slice(part);
            let n = part.len();
            chunk.advance(n);
        }
    }
    Ok(bytes)
}

/// Parses JSON, naming the field at fault in the error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err(Error::invalid("body", "is empty; expected a JSON object")),
        Some(b'{') => {}
        Some(_) => return Err(Error::invalid("body", "must be a JSON object")),
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let message = err.inner().to_string();
        let message = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(m, _)| m);
        if let Some(field) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'))
        {
            let field = if path == "." {
                field.to_owned()
            } else {
                format!("{path}.{field}")
            };
            return Error::invalid(field, "is required");
        }
        if err.inner().is_syntax() || err.inner().is_eof() {
            let field = if path == "." || path == "?" {
                "body".to_owned()
            } else {
                path
            };
            return Error::invalid(field, format!("is not valid JSON: {message}"));
        }
        let field = if path == "." { "body".to_owned() } else { path };
        Error::invalid(field, message)
    })?;
    deserializer
        .end()
        .map_err(|_| Error::invalid("body", "has trailing characters after the JSON value"))?;
    Ok(value)
}

/// A percent-decoded path id of 1–128 characters; `400` naming `name`
/// otherwise, also for a `%` not followed by two hex digits.
pub fn decode_id(name: &str, raw: &str) -> Result<String, Error> {
    let bytes = raw.as_bytes();
    let malformed = bytes.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    if malformed {
        return Err(Error::invalid(name, "has a malformed percent-escape"));
    }
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| Error::invalid(name, "is not valid UTF-8 once percent-decoded"))?;
    let len = decoded.chars().count();
    if len == 0 || len > MAX_ID_CHARS {
        return Err(Error::invalid(name, "must be 1 to 128 characters"));
    }
    Ok(decoded.into_owned())
}

/// The raw query string (empty when there is none).
pub fn raw_query() -> impl Filter<Extract = (String,), Error = Infallible> + Clone {
    warp::query::raw().or(warp::any().map(String::new)).unify()
}

/// The decoded query parameters `limit` and `cursor`; others are ignored.
#[derive(Debug, Default, PartialEq)]
pub struct Paging {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl Paging {
    /// Reads `limit` (1 to `max`) and `cursor` from a query string.
    pub fn parse(query: &str, max: u32) -> Result<Paging, Error> {
        let mut paging = Paging::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_encoding::percent_decode_str(&value.replace('+', " "))
                .decode_utf8()
                .map_err(|_| Error::invalid(key.to_owned(), "is not valid UTF-8"))?
                .into_owned();
            match key {
                "limit" => {
                    let limit = value
                        .parse::<u32>()
                        .ok()
                        .filter(|n| (1..=max).contains(n))
                        .ok_or_else(|| {
                            Error::invalid(
                                "limit",
                                format!("must be a whole number from 1 to {max}"),
                            )
                        })?;
                    paging.limit = Some(limit);
                }
                "cursor" => paging.cursor = Some(value).filter(|c| !c.is_empty()),
                _ => {}
            }
        }
        Ok(paging)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        completed: bool,
        notes: Option<String>,
    }

    #[test]
    fn parse_errors_name_the_field() {
        let err = parse_json::<Body>(br#"{"completed": "yes"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "completed: invalid type: string \"yes\", expected a boolean"
        );
        let err = parse_json::<Body>(br#"{"notes": "x"}"#).unwrap_err();
        assert_eq!(err.to_string(), "completed: is required");
        let err = parse_json::<Body>(b"[true]").unwrap_err();
        assert_eq!(err.to_string(), "body: must be a JSON object");
        let err = parse_json::<Body>(b"{\"completed\": true} x").unwrap_err();
        assert!(err.to_string().starts_with("body: "), "{err}");
        let err = parse_json::<Body>(b"").unwrap_err();
        assert_eq!(err.to_string(), "body: is empty; expected a JSON object");
    }

    #[test]
    fn ids_are_percent_decoded_and_bounded() {
        assert_eq!(decode_id("id", "acme%20ltd").unwrap(), "acme ltd");
        assert_eq!(decode_id("id", "%F0%9F%9A%80").unwrap(), "🚀");
        assert!(decode_id("id", "%FF").is_err());
        assert!(decode_id("id", "%").is_err());
        assert!(decode_id("id", "a%zz").is_err());
        assert!(decode_id("id", "a%2").is_err());
        assert!(decode_id("id", &"x".repeat(129)).is_err());
    }

    #[test]
    fn paging_checks_the_limit() {
        assert_eq!(Paging::parse("limit=3&x=1", 50).unwrap().limit, Some(3));
        assert!(Paging::parse("limit=0", 50).is_err());
        assert!(Paging::parse("limit=51", 50).is_err());
        assert!(Paging::parse("limit=abc", 50).is_err());
        assert_eq!(
            Paging::parse("cursor=a%2Bb", 50).unwrap().cursor.as_deref(),
            Some("a+b")
        );
    }
}
