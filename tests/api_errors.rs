//! SPEC §2 and §3 end to end: tokens made and revoked through the CLI,
//! bodies over a configured limit, and the framework's own error answers,
//! all over a real socket to the real binary.

mod common;

use common::{small_template, Reply, Server};
use serde_json::{json, Value};

/// Asserts a JSON error whose body holds exactly `error` and `code`.
fn assert_plain_error(reply: &Reply, status: u16, code: &str) {
    let body = reply.assert_error(status, code);
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("application/json"),
        "{:?}",
        reply.headers
    );
}

fn no_template() -> Value {
    json!({"template": null, "stages": [], "current_stage_type": null})
}

#[test]
fn a_token_revoked_through_the_cli_is_refused_at_once() {
    let server = Server::start();
    let (id, secret) = server.create_token_with_id("admin", "clients:view");
    let path = "/api/clients/onboarding/stuck";
    let reply = server.request("GET", path, Some(&secret), None, None);
    assert_eq!(reply.status, 200, "{}", reply.body);

    let out = server.cli(&["tokens", "revoke", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let reply = server.request("GET", path, Some(&secret), None, None);
    assert_plain_error(&reply, 401, "unauthorized");
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    // Other tokens still work.
    assert_eq!(server.call("GET", path, None).status, 200);
}

#[test]
fn missing_and_unknown_tokens_are_401_with_a_challenge() {
    let server = Server::start();

    for token in [None, Some("onb_0000"), Some("")] {
        let reply = server.request("GET", "/api/clients", token, None, None);
        assert_plain_error(&reply, 401, "unauthorized");
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    }

    // The two routes without authentication.
    assert_eq!(
        server.request("GET", "/healthz", None, None, None).status,
        200
    );
    let reply = server.request("GET", "/api/openapi.json", None, None, None);
    assert_eq!(reply.status, 200);
    assert!(reply.json()["paths"].as_object().unwrap().len() >= 10);
}

#[test]
fn permissions_decide_what_a_token_may_do() {
    let server = Server::start();
    server.post_template(small_template("tpl"));
    server.put_client("acme", "Acme");
    let viewer = server.create_token("admin", "clients:view");
    let updater = server.create_token("admin", "clients:update");
    let manager = server.create_token("admin", "templates:manage");
    let assign = "/api/clients/acme/onboarding/assign";
    let body = r#"{"template_id": "tpl"}"#;

    for token in [&viewer, &manager] {
        let reply = server.request("POST", assign, Some(token), Some(body), None);
        assert_plain_error(&reply, 403, "forbidden");
        assert_eq!(reply.header("www-authenticate"), None);
    }
    let reply = server.request(
        "GET",
        "/api/clients/acme/onboarding",
        Some(&updater),
        None,
        None,
    );
    assert_plain_error(&reply, 403, "forbidden");
    // Nothing was assigned by the refused calls.
    assert_eq!(
        server.get_json("/api/clients/acme/onboarding"),
        no_template()
    );

    let reply = server.request("POST", assign, Some(&updater), Some(body), None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = server.request(
        "GET",
        "/api/clients/acme/onboarding",
        Some(&viewer),
        None,
        None,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["template"]["id"], "tpl");
    // Templates are read with clients:view and managed with templates:manage.
    let reply = server.request(
        "GET",
        "/api/onboarding/templates/tpl",
        Some(&viewer),
        None,
        None,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = server.request(
        "PATCH",
        "/api/onboarding/templates/tpl",
        Some(&viewer),
        Some(r#"{"name": "Renamed"}"#),
        None,
    );
    assert_plain_error(&reply, 403, "forbidden");
}

#[test]
fn bodies_over_the_configured_limit_are_413_and_change_nothing() {
    let server = Server::start_with_config("max_body_bytes = 1024\n");
    server.post_template(small_template("tpl"));
    server.put_client("acme", "Acme");
    let path = "/api/clients/acme/onboarding/assign";
    let padded = |len: usize| {
        let frame = r#"{"template_id": "tpl", "pad": ""}"#.len();
        format!(
            r#"{{"template_id": "tpl", "pad": "{}"}}"#,
            " ".repeat(len - frame)
        )
    };

    let reply = server.request("POST", path, Some(&server.token), Some(&padded(1025)), None);
    assert_plain_error(&reply, 413, "payload_too_large");
    assert_eq!(
        server.get_json("/api/clients/acme/onboarding"),
        no_template()
    );

    let reply = server.request("POST", path, Some(&server.token), Some(&padded(1024)), None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        server.get_json("/api/clients/acme/onboarding")["template"]["id"],
        "tpl"
    );
}

#[test]
fn bodies_are_json_whatever_else_they_claim() {
    let server = Server::start();
    server.post_template(small_template("tpl"));
    server.put_client("acme", "Acme");
    let path = "/api/clients/acme/onboarding/assign";
    let body = r#"{"template_id": "tpl"}"#;

    let reply = server.request(
        "POST",
        path,
        Some(&server.token),
        Some(body),
        Some("text/plain"),
    );
    assert_plain_error(&reply, 415, "unsupported_media_type");
    let reply = server.request("POST", path, Some(&server.token), Some("{"), None);
    assert_plain_error(&reply, 400, "bad_request");
    assert!(reply.json()["error"].as_str().unwrap().starts_with("body"));
    assert_eq!(
        server.get_json("/api/clients/acme/onboarding"),
        no_template()
    );

    // No Content-Type at all is read as JSON.
    let reply = server.request("POST", path, Some(&server.token), Some(body), None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json(), json!({"ok": true}));
}

#[test]
fn the_framework_answers_unknown_routes_and_methods_in_json() {
    let server = Server::start();

    let reply = server.request("GET", "/api/nothing", None, None, None);
    assert_plain_error(&reply, 404, "not_found");

    let reply = server.request("DELETE", "/api/clients/onboarding/stuck", None, None, None);
    assert_plain_error(&reply, 405, "method_not_allowed");
    assert_eq!(reply.header("allow"), Some("GET, HEAD"));

    let reply = server.call("POST", "/api/clients/x", Some(json!({"name": "X"})));
    assert_plain_error(&reply, 405, "method_not_allowed");
    assert_eq!(reply.header("allow"), Some("GET, HEAD, PUT, DELETE"));
}

#[test]
fn every_answer_carries_a_request_id() {
    let server = Server::start();

    let reply = server.request("GET", "/api/nothing", None, None, None);
    let generated = reply
        .header("x-request-id")
        .expect("generated id")
        .to_owned();
    assert!(!generated.is_empty());
    let again = server.request("GET", "/healthz", None, None, None);
    assert_ne!(again.header("x-request-id"), Some(generated.as_str()));
}
