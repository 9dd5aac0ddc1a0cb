//! Service routes without authentication: the health check and the OpenAPI
//! document.

use serde_json::json;
use warp::filters::BoxedFilter;
use warp::http::header::{HeaderValue, CONTENT_TYPE};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Reply};

use super::extract::with_app;
use super::{get_or_head, json, route, wrong_method, App};

/// The OpenAPI 3 document describing every route.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Marks a response as a health check, which is logged at debug level.
#[derive(Clone, Copy, Debug)]
pub struct HealthCheck;

pub fn routes(app: &App) -> BoxedFilter<(Response,)> {
    let health_path = || warp::path!("healthz");
    let health = health_path()
        .and(get_or_head())
        .and(route("/healthz"))
        .and(with_app(app.clone()))
        .then(health);

    let openapi_path = || warp::path!("api" / "openapi.json");
    let openapi = openapi_path()
        .and(get_or_head())
        .and(route("/api/openapi.json"))
        .map(|| {
            let mut response = Response::new(OPENAPI.into());
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        });

    health
        .or(health_path().and(wrong_method("/healthz", "GET, HEAD")))
        .unify()
        .or(openapi)
        .unify()
        .or(openapi_path().and(wrong_method("/api/openapi.json", "GET, HEAD")))
        .unify()
        .boxed()
}

/// `GET /healthz`: `200` when the database answers, else `503`.
async fn health(app: App) -> Response {
    let answer = app
        .db
        .read(|conn| Ok(conn.query_row("SELECT 1", [], |row| row.get::<_, i64>(0))?))
        .await;
    let mut response = match answer {
        Ok(_) => json(StatusCode::OK, &json!({ "status": "ok" })),
        Err(err) => {
            tracing::warn!(error = %err, "health check failed");
            json(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({ "error": "the database does not answer", "code": "unavailable" }),
            )
        }
    };
    response.extensions_mut().insert(HealthCheck);
    response.into_response()
}
