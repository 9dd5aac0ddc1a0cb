//! Route tests of SPEC §2 and §3 without a socket: the whole filter of
//! `http::app` driven by `warp::test::request()` against a temporary,
//! migrated SQLite file. They cover the framework's own answers (unknown
//! path, wrong method, unreadable body), authentication and permissions,
//! the order of the checks, the error body shape and the request id.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use onboarding::auth::Permission;
use onboarding::db::{open_migrated, Db};
use onboarding::http::{app, App};
use onboarding::settings::Settings;
use onboarding::store::users::{add_user, create_token, revoke_token};
use onboarding::timestamp::Timestamp;
use serde_json::{json, Value};
use warp::filters::BoxedFilter;
use warp::http::Response;
use warp::test::RequestBuilder;

/// Body limit of the test app, far below the default so tests stay small.
const BODY_LIMIT: u64 = 256;

/// One app on its own database, with a token per kind of caller.
struct Fixture {
    _dir: tempfile::TempDir,
    db: Db,
    filter: BoxedFilter<(warp::reply::Response,)>,
    /// `*`
    admin: String,
    /// `clients:view` only.
    viewer: String,
    /// `clients:update` only.
    updater: String,
    /// `templates:manage` only.
    manager: String,
    /// A `*` token that has been revoked.
    revoked: String,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("temporary folder");
        let db = open_migrated(&dir.path().join("routes.db"), 4, Duration::from_secs(5))
            .expect("database opens");
        let settings = Settings {
            max_body_bytes: BODY_LIMIT,
            ..Settings::default()
        };

        let token = |permissions: &[Permission]| {
            db.write_now(|tx| create_token(tx, "ana", permissions, None, Timestamp::now()))
                .expect("token created")
        };
        db.write_now(|tx| add_user(tx, "ana", "Ana", Timestamp::now()))
            .expect("user added");
        let admin = token(&[Permission::All]).1;
        let viewer = token(&[Permission::ClientsView]).1;
        let updater = token(&[Permission::ClientsUpdate]).1;
        let manager = token(&[Permission::TemplatesManage]).1;
        let (revoked_info, revoked) = token(&[Permission::All]);
        db.write_now(|tx| revoke_token(tx, &revoked_info.id, Timestamp::now()))
            .expect("token revoked");

        let filter = app(App {
            db: db.clone(),
            settings: Arc::new(settings),
        });
        Fixture {
            _dir: dir,
            db,
            filter,
            admin: admin.expose().to_owned(),
            viewer: viewer.expose().to_owned(),
            updater: updater.expose().to_owned(),
            manager: manager.expose().to_owned(),
            revoked: revoked.expose().to_owned(),
        }
    }

    async fn send(&self, request: RequestBuilder) -> Response<Bytes> {
        request.reply(&self.filter).await
    }

    /// A request carrying `Authorization: Bearer <token>`.
    fn with_token(&self, method: &str, path: &str, token: &str) -> RequestBuilder {
        request(method, path).header("authorization", format!("Bearer {token}"))
    }
}

fn request(method: &str, path: &str) -> RequestBuilder {
    warp::test::request().method(method).path(path)
}

fn body_json(response: &Response<Bytes>) -> Value {
    serde_json::from_slice(response.body()).unwrap_or_else(|err| {
        panic!(
            "not JSON ({err}): {:?}",
            String::from_utf8_lossy(response.body())
        )
    })
}

fn header<'a>(response: &'a Response<Bytes>, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

/// Asserts the status and that the body is exactly `{"error": <sentence>,
/// "code": <code>}` served as JSON; returns the error sentence.
fn assert_error(response: &Response<Bytes>, status: u16, code: &str) -> String {
    let body = body_json(response);
    assert_eq!(response.status().as_u16(), status, "body: {body}");
    assert_eq!(
        header(response, "content-type"),
        Some("application/json"),
        "{body}"
    );
    let object = body.as_object().expect("an object");
    let keys: BTreeSet<&str> = object.keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["code", "error"]), "{body}");
    assert_eq!(body["code"], code, "{body}");
    let sentence = body["error"].as_str().expect("error is a string");
    assert!(!sentence.trim().is_empty(), "{body}");
    assert!(!sentence.contains('\n'), "one line: {body}");
    sentence.to_owned()
}

#[tokio::test]
async fn unknown_paths_answer_404_json() {
    let f = Fixture::new();

    for path in [
        "/nope",
        "/api",
        "/api/nothing",
        "/api/clients/acme/onboarding/nothing",
        "/api/clients/acme/onboarding/milestones",
        "/api/clients/acme/onboarding/milestones/m/extra",
        "/api/onboarding/templates/t/stages",
    ] {
        let response = f.send(f.with_token("GET", path, &f.admin)).await;
        assert_error(&response, 404, "not_found");
    }
}

#[tokio::test]
async fn wrong_methods_answer_405_with_the_allow_list() {
    let f = Fixture::new();
    let cases = [
        ("DELETE", "/api/clients/onboarding/stuck", "GET, HEAD"),
        ("POST", "/api/clients/onboarding/stuck", "GET, HEAD"),
        ("POST", "/api/clients/x", "GET, HEAD, PUT, DELETE"),
        ("PATCH", "/api/clients/x", "GET, HEAD, PUT, DELETE"),
        ("POST", "/api/clients", "GET, HEAD"),
        ("PUT", "/api/clients/x/onboarding", "GET, HEAD"),
        ("DELETE", "/api/clients/x/onboarding", "GET, HEAD"),
        ("GET", "/api/clients/x/onboarding/assign", "POST"),
        ("PUT", "/api/clients/x/onboarding/assign", "POST"),
        ("GET", "/api/clients/x/onboarding/milestones/m", "PATCH"),
        ("POST", "/api/clients/x/onboarding/milestones/m", "PATCH"),
        ("GET", "/api/clients/x/events", "POST"),
        ("POST", "/api/clients/x/onboarding/activity", "GET, HEAD"),
        ("DELETE", "/api/onboarding/templates", "GET, HEAD, POST"),
        (
            "POST",
            "/api/onboarding/templates/t",
            "GET, HEAD, PUT, PATCH, DELETE",
        ),
        ("POST", "/healthz", "GET, HEAD"),
        ("DELETE", "/api/openapi.json", "GET, HEAD"),
    ];

    for (method, path, allow) in cases {
        // The route is checked before the token: no token still reads 405.
        for token in [Some(f.admin.as_str()), None] {
            let builder = match token {
                Some(token) => f.with_token(method, path, token),
                None => request(method, path),
            };
            let response = f.send(builder).await;
            assert_error(&response, 405, "method_not_allowed");
            assert_eq!(header(&response, "allow"), Some(allow), "{method} {path}");
        }
    }
}

#[tokio::test]
async fn requests_without_a_valid_token_answer_401_with_a_challenge() {
    let f = Fixture::new();
    let bad_headers = [
        None,
        Some("Basic x".to_owned()),
        Some("Bearer".to_owned()),
        Some("Bearer ".to_owned()),
        Some(f.admin.clone()),
        Some(format!("Bearer {} extra", f.admin)),
        Some("Bearer onb_unknown".to_owned()),
        Some(format!("Bearer {}", f.revoked)),
    ];
    let routes = [
        ("GET", "/api/clients/acme/onboarding", None),
        ("GET", "/api/clients/onboarding/stuck", None),
        (
            "POST",
            "/api/clients/acme/onboarding/assign",
            Some(r#"{"template_id": "t"}"#),
        ),
        (
            "PATCH",
            "/api/clients/acme/onboarding/milestones/m",
            Some(r#"{"completed": true}"#),
        ),
    ];

    for (method, path, body) in routes {
        for value in &bad_headers {
            let mut builder = request(method, path);
            if let Some(value) = value {
                builder = builder.header("authorization", value.as_str());
            }
            if let Some(body) = body {
                builder = builder.body(body);
            }
            let response = f.send(builder).await;
            assert_error(&response, 401, "unauthorized");
            assert_eq!(
                header(&response, "www-authenticate"),
                Some("Bearer"),
                "{method} {path} with {value:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_scheme_name_is_case_insensitive() {
    let f = Fixture::new();

    let response = f
        .send(
            request("GET", "/api/clients/onboarding/stuck")
                .header("authorization", format!("bearer {}", f.viewer)),
        )
        .await;

    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response), json!({ "clients": [] }));
}

#[tokio::test]
async fn tokens_without_the_route_permission_answer_403() {
    let f = Fixture::new();
    let writes = [
        (
            "POST",
            "/api/clients/acme/onboarding/assign",
            r#"{"template_id": "t"}"#,
        ),
        (
            "PATCH",
            "/api/clients/acme/onboarding/milestones/m",
            r#"{"completed": true}"#,
        ),
        ("PUT", "/api/clients/acme", r#"{"name": "Acme"}"#),
        (
            "POST",
            "/api/clients/acme/events",
            r#"{"type": "deal_won"}"#,
        ),
    ];

    for token in [&f.viewer, &f.manager] {
        for (method, path, body) in writes {
            let response = f.send(f.with_token(method, path, token).body(body)).await;
            let sentence = assert_error(&response, 403, "forbidden");
            assert!(sentence.contains("clients:update"), "{sentence}");
            assert_eq!(header(&response, "www-authenticate"), None);
        }
    }
    for token in [&f.updater, &f.manager] {
        for path in [
            "/api/clients/acme/onboarding",
            "/api/clients/onboarding/stuck",
        ] {
            let response = f.send(f.with_token("GET", path, token)).await;
            assert_error(&response, 403, "forbidden");
        }
    }

    // Nothing was written by the refused requests.
    let clients =
        f.db.read_now(|conn| {
            Ok(conn.query_row("SELECT count(*) FROM clients", [], |r| r.get::<_, i64>(0))?)
        })
        .unwrap();
    assert_eq!(clients, 0);
}

#[tokio::test]
async fn tokens_with_the_permission_pass_to_the_route() {
    let f = Fixture::new();

    // A viewer reaches the lookup of an unknown client.
    let response = f
        .send(f.with_token("GET", "/api/clients/acme/onboarding", &f.viewer))
        .await;
    assert_error(&response, 404, "not_found");

    // An updater writes.
    let response = f
        .send(
            f.with_token("PUT", "/api/clients/acme", &f.updater)
                .body(r#"{"name": "Acme"}"#),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(body_json(&response)["id"], "acme");
}

#[tokio::test]
async fn the_route_is_checked_before_the_token() {
    let f = Fixture::new();

    let response = f.send(request("GET", "/api/nothing")).await;
    assert_error(&response, 404, "not_found");

    let response = f
        .send(request("DELETE", "/api/clients/onboarding/stuck"))
        .await;
    assert_error(&response, 405, "method_not_allowed");
}

#[tokio::test]
async fn the_token_is_checked_before_the_body() {
    let f = Fixture::new();
    let oversized = format!(r#"{{"template_id": "{}"}}"#, "x".repeat(1000));
    let bodies: [(&str, Option<&str>); 4] = [
        (&oversized, Some("application/json")),
        (r#"{"template_id": 5}"#, Some("application/json")),
        ("{", Some("application/json")),
        ("template_id=t", Some("text/plain")),
    ];

    for (body, content_type) in bodies {
        let mut builder = request("POST", "/api/clients/acme/onboarding/assign").body(body);
        if let Some(content_type) = content_type {
            builder = builder.header("content-type", content_type);
        }
        let response = f.send(builder).await;
        assert_error(&response, 401, "unauthorized");

        // A token without the permission is refused before the body too.
        let mut builder = f
            .with_token("POST", "/api/clients/acme/onboarding/assign", &f.viewer)
            .body(body);
        if let Some(content_type) = content_type {
            builder = builder.header("content-type", content_type);
        }
        let response = f.send(builder).await;
        assert_error(&response, 403, "forbidden");
    }
}

#[tokio::test]
async fn the_body_is_checked_before_the_lookups() {
    let f = Fixture::new();
    let assign = "/api/clients/nobody/onboarding/assign";
    let toggle = "/api/clients/nobody/onboarding/milestones/m";

    let unreadable = [
        ("POST", assign, "{not json"),
        ("POST", assign, r#"{"template_id": 5}"#),
        ("POST", assign, ""),
        ("PATCH", toggle, "{not json"),
        ("PATCH", toggle, r#"{"completed": "yes"}"#),
    ];
    for (method, path, body) in unreadable {
        let response = f
            .send(f.with_token(method, path, &f.admin).body(body))
            .await;
        assert_error(&response, 400, "bad_request");
    }

    let response = f
        .send(
            f.with_token("PATCH", toggle, &f.admin)
                .header("content-type", "text/plain")
                .body(r#"{"completed": true}"#),
        )
        .await;
    assert_error(&response, 415, "unsupported_media_type");

    let oversized = format!(r#"{{"completed": true, "notes": "{}"}}"#, "x".repeat(300));
    let response = f
        .send(f.with_token("PATCH", toggle, &f.admin).body(oversized))
        .await;
    assert_error(&response, 413, "payload_too_large");

    // A readable body reaches the lookup.
    let response = f
        .send(
            f.with_token("PATCH", toggle, &f.admin)
                .body(r#"{"completed": true}"#),
        )
        .await;
    assert_error(&response, 404, "not_found");
}

/// A JSON assign body of exactly `len` bytes.
fn assign_body_of(len: usize) -> String {
    let frame = r#"{"template_id": "t", "pad": ""}"#.len();
    format!(
        r#"{{"template_id": "t", "pad": "{}"}}"#,
        "p".repeat(len - frame)
    )
}

#[tokio::test]
async fn bodies_over_the_limit_answer_413() {
    let f = Fixture::new();
    let path = "/api/clients/nobody/onboarding/assign";
    let limit = BODY_LIMIT as usize;

    let at_limit = assign_body_of(limit);
    assert_eq!(at_limit.len(), limit);
    let response = f
        .send(f.with_token("POST", path, &f.admin).body(&at_limit))
        .await;
    assert_error(&response, 404, "not_found");

    let over = assign_body_of(limit + 1);
    let response = f
        .send(f.with_token("POST", path, &f.admin).body(&over))
        .await;
    let sentence = assert_error(&response, 413, "payload_too_large");
    assert!(sentence.contains(&BODY_LIMIT.to_string()), "{sentence}");

    // A body over the limit without a Content-Length is refused as it streams.
    let mut builder = f.with_token("POST", path, &f.admin).body(&over);
    builder = builder.header("content-length", "");
    let response = f.send(builder).await;
    assert_error(&response, 413, "payload_too_large");
}

#[tokio::test]
async fn content_types_other_than_json_answer_415() {
    let f = Fixture::new();
    let path = "/api/clients/nobody/onboarding/assign";
    let body = r#"{"template_id": "t"}"#;

    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonp",
    ] {
        let builder = f
            .with_token("POST", path, &f.admin)
            .header("content-type", content_type)
            .body(body);
        let response = f.send(builder).await;
        assert_error(&response, 415, "unsupported_media_type");
    }

    // JSON, JSON with parameters, and no Content-Type at all are read as
    // JSON and reach the lookup of the unknown client.
    for content_type in [
        Some("application/json"),
        Some("application/json; charset=utf-8"),
        Some("Application/JSON"),
        None,
    ] {
        let mut builder = f.with_token("POST", path, &f.admin).body(body);
        if let Some(content_type) = content_type {
            builder = builder.header("content-type", content_type);
        }
        let response = f.send(builder).await;
        let sentence = assert_error(&response, 404, "not_found");
        assert!(sentence.contains("nobody"), "{sentence}");
    }
}

#[tokio::test]
async fn json_without_content_type_is_accepted() {
    let f = Fixture::new();

    let response = f
        .send(
            f.with_token("PUT", "/api/clients/acme", &f.admin)
                .body(r#"{"name": "Acme"}"#),
        )
        .await;

    assert_eq!(response.status(), 201);
    let client = body_json(&response);
    assert_eq!(client["id"], "acme");
    assert_eq!(client["name"], "Acme");
}

#[tokio::test]
async fn malformed_bodies_answer_400_naming_the_field() {
    let f = Fixture::new();
    let response = f
        .send(
            f.with_token("PUT", "/api/clients/acme", &f.admin)
                .body(r#"{"name": "Acme"}"#),
        )
        .await;
    assert_eq!(response.status(), 201);
    let path = "/api/clients/acme/onboarding/milestones/m";

    let cases = [
        ("{", "body"),
        ("", "body"),
        ("   ", "body"),
        ("[1]", "body"),
        ("null", "body"),
        (r#"{"completed": true} trailing"#, "body"),
        (r#"{"notes": "x"}"#, "completed"),
        (r#"{"completed": "yes"}"#, "completed"),
        (r#"{"completed": 1}"#, "completed"),
        (r#"{"completed": null}"#, "completed"),
        (r#"{"completed": true, "notes": 5}"#, "notes"),
    ];
    for (body, field) in cases {
        let response = f
            .send(f.with_token("PATCH", path, &f.admin).body(body))
            .await;
        let sentence = assert_error(&response, 400, "bad_request");
        assert!(
            sentence.starts_with(&format!("{field}:")),
            "{body:?}: {sentence}"
        );
    }

    // Unknown fields are ignored: this reaches the route's own checks
    // (the client has no template).
    let response = f
        .send(
            f.with_token("PATCH", path, &f.admin)
                .body(r#"{"completed": true, "colour": "blue"}"#),
        )
        .await;
    assert_error(&response, 400, "bad_request");
    let sentence = body_json(&response)["error"].as_str().unwrap().to_owned();
    assert!(sentence.contains("no template"), "{sentence}");
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let f = Fixture::new();

    for path in ["/api/clients/onboarding/stuck", "/api/nothing"] {
        let response = f
            .send(
                f.with_token("GET", path, &f.viewer)
                    .header("x-request-id", "trace-42.a_b:c"),
            )
            .await;
        assert_eq!(header(&response, "x-request-id"), Some("trace-42.a_b:c"));
    }

    let first = f.send(f.with_token("GET", "/api/nothing", &f.viewer)).await;
    let second = f
        .send(request("GET", "/api/clients/onboarding/stuck"))
        .await;
    let first = header(&first, "x-request-id")
        .expect("generated")
        .to_owned();
    let second = header(&second, "x-request-id")
        .expect("generated")
        .to_owned();
    assert!(!first.is_empty());
    assert_ne!(first, second);

    // An id that cannot be echoed safely is replaced by a new one.
    let response = f
        .send(request("GET", "/healthz").header("x-request-id", "x".repeat(500)))
        .await;
    let replaced = header(&response, "x-request-id").expect("generated");
    assert!(!replaced.is_empty() && replaced.len() <= 64, "{replaced}");
}

#[tokio::test]
async fn the_openapi_document_needs_no_token_and_lists_every_route() {
    let f = Fixture::new();

    let response = f.send(request("GET", "/api/openapi.json")).await;

    assert_eq!(response.status(), 200);
    assert!(header(&response, "content-type")
        .unwrap()
        .starts_with("application/json"));
    let document = body_json(&response);
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        document["openapi"]
    );
    let routes = [
        ("/api/clients", vec!["get"]),
        ("/api/clients/{companyId}", vec!["get", "put", "delete"]),
        ("/api/clients/{companyId}/onboarding", vec!["get"]),
        ("/api/clients/{companyId}/onboarding/assign", vec!["post"]),
        (
            "/api/clients/{companyId}/onboarding/milestones/{milestoneId}",
            vec!["patch"],
        ),
        ("/api/clients/onboarding/stuck", vec!["get"]),
        ("/api/clients/{companyId}/events", vec!["post"]),
        ("/api/clients/{companyId}/onboarding/activity", vec!["get"]),
        ("/api/onboarding/templates", vec!["get", "post"]),
        (
            "/api/onboarding/templates/{id}",
            vec!["get", "put", "patch", "delete"],
        ),
        ("/healthz", vec!["get"]),
        ("/api/openapi.json", vec!["get"]),
    ];
    let paths = document["paths"].as_object().expect("paths");
    for (path, methods) in routes {
        let item = paths.get(path).unwrap_or_else(|| panic!("{path} missing"));
        for method in methods {
            assert!(item.get(method).is_some(), "{method} {path} missing");
        }
    }
}
