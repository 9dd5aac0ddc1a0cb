//! The HTTP API: route table, request tracing and the server itself.
//!
//! Each path is one group: the handlers for its methods, then a fallback
//! that answers any other method with `405` and an `Allow` header. Within a
//! route the checks run in the order SPEC §3 gives: the route itself, then
//! the token, then the body, then the handler's lookups. The token's form is
//! checked by `extract::caller`; its validity and permission, by
//! `Caller::authenticate` first thing in the handler's one
//! database call; body errors (`extract::json_body`) travel to the handler
//! as values so that they are answered only after that. Handlers are thin:
//! they parse, make one database call to the store, and answer.

mod clients;
mod errors;
mod extract;
mod onboarding;
mod service;
mod templates;
mod web;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use warp::filters::BoxedFilter;
use warp::http::header::{HeaderValue, X_CONTENT_TYPE_OPTIONS};
use warp::http::{Method, StatusCode};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

pub use errors::error_response;
use errors::reject;
pub use extract::parse_json;

use crate::auth::Permission;
use crate::db::Db;
use crate::settings::Settings;
use crate::Error;

/// What every handler shares.
#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub settings: Arc<Settings>,
}

const VIEW: &[Permission] = &[Permission::ClientsView];
const UPDATE: &[Permission] = &[Permission::ClientsUpdate];
const MANAGE: &[Permission] = &[Permission::TemplatesManage];
const READ_TEMPLATES: &[Permission] = &[Permission::TemplatesManage, Permission::ClientsView];

/// The whole application as one warp filter: every route, the JSON error
/// answers, request ids and one log line per request.
pub fn app(app: App) -> BoxedFilter<(Response,)> {
    let routes = service::routes(&app)
        .or(web::routes())
        .unify()
        .or(clients::routes(&app))
        .unify()
        .or(onboarding::routes(&app))
        .unify()
        .or(templates::routes(&app))
        .unify();

    let routes = if app.settings.cors_origins.is_empty() {
        routes.boxed()
    } else {
        let cors = warp::cors()
            .allow_origins(app.settings.cors_origins.iter().map(String::as_str))
            .allow_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
            .allow_headers(["authorization", "content-type", "x-request-id"])
            .expose_headers(["x-request-id"])
            .max_age(600);
        routes.with(cors).map(Reply::into_response).boxed()
    };

    warp::any()
        .map(Instant::now)
        .and(request_id())
        .and(routes.recover(errors::recover).unify())
        .map(finish)
        .with(warp::trace(|info| {
            tracing::info_span!(
                "request",
                method = %info.method(),
                path = %info.path(),
                route = tracing::field::Empty,
                request_id = tracing::field::Empty,
            )
        }))
        .map(Reply::into_response)
        .boxed()
}

/// Serves `app` on `listener` until `shutdown` resolves, then finishes the
/// requests in flight.
pub async fn serve(
    app_state: App,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    warp::serve(app(app_state))
        .incoming(listener)
        .graceful(shutdown)
        .run()
        .await;
}

/// The caller's `x-request-id` when it is sane, else a new one; recorded on
/// the request's span.
fn request_id() -> impl Filter<Extract = (String,), Error = std::convert::Infallible> + Clone {
    warp::header::headers_cloned().map(|headers: warp::http::HeaderMap| {
        let given = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| {
                (1..=64).contains(&v.len())
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
            })
            .map(str::to_owned);
        let id = given.unwrap_or_else(|| crate::auth::random_id("req"));
        tracing::Span::current().record("request_id", id.as_str());
        id
    })
}

/// Stamps the request id on the answer and writes the request's log line.
fn finish(started: Instant, request_id: String, mut response: Response) -> Response {
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert("x-request-id", value);
    }
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));

    if response_is_health_check(&response) {
        tracing::debug!(status, latency_ms, "request");
    } else {
        tracing::info!(status, latency_ms, "request");
    }
    response
}

/// Health checks are marked by their handler so that they log at debug.
fn response_is_health_check(response: &Response) -> bool {
    response
        .extensions()
        .get::<service::HealthCheck>()
        .is_some()
}

/// `GET`, and `HEAD` wherever `GET` works (hyper sends no body for it).
fn get_or_head() -> impl Filter<Extract = (), Error = Rejection> + Copy {
    warp::get().or(warp::head()).unify()
}

/// What every API route checks after its path, in SPEC §3 order: the
/// method (recording the route on the span), then the bearer token. The
/// handler checks the token's validity and permission (`any_of`) first
/// thing in its database call.
fn guard(
    method: impl Filter<Extract = (), Error = Rejection> + Clone,
    pattern: &'static str,
    any_of: &'static [Permission],
) -> impl Filter<Extract = (extract::Caller,), Error = Rejection> + Clone {
    method.and(route(pattern)).and(extract::caller(any_of))
}

/// Records the matched route pattern on the request's span. Placed after
/// the method filter, so each request records it once.
fn route(
    pattern: &'static str,
) -> impl Filter<Extract = (), Error = std::convert::Infallible> + Clone {
    warp::any()
        .map(move || {
            tracing::Span::current().record("route", pattern);
        })
        .untuple_one()
}

/// The fallback of the path group of route `pattern`: `405` with `Allow`
/// for a method the path does not take. Never succeeds.
fn wrong_method(
    pattern: &'static str,
    allowed: &'static str,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::method().and_then(move |method: Method| async move {
        if allowed.split(", ").any(|m| m == method.as_str()) {
            return Err::<Response, _>(warp::reject::not_found());
        }
        tracing::Span::current().record("route", pattern);
        Err(reject(Error::MethodNotAllowed(allowed)))
    })
}

/// A JSON answer.
fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    warp::reply::with_status(warp::reply::json(value), status).into_response()
}

/// The answer of a handler: its response, or its error as JSON.
fn respond(result: crate::Result<Response>) -> Response {
    result.unwrap_or_else(|err| error_response(&err))
}
