//! Template edits, facts, the client list and the activity history (SPEC §5),
//! end to end over HTTP against the real binary.

mod common;

use std::collections::HashMap;

use common::{small_template, Server};
use onboarding::timestamp::Timestamp;
use serde_json::{json, Value};

/// Assigns a template, asserting `200`.
fn assign(server: &Server, client: &str, template: &str, force: bool) {
    let reply = server.call(
        "POST",
        &format!("/api/clients/{client}/onboarding/assign"),
        Some(json!({ "template_id": template, "force": force })),
    );
    assert_eq!(
        reply.status, 200,
        "assign {client} {template}: {}",
        reply.body
    );
}

/// Toggles a milestone, asserting `200`.
fn toggle(server: &Server, client: &str, milestone: &str, body: Value) {
    let reply = server.call(
        "PATCH",
        &format!("/api/clients/{client}/onboarding/milestones/{milestone}"),
        Some(body),
    );
    assert_eq!(
        reply.status, 200,
        "toggle {client} {milestone}: {}",
        reply.body
    );
}

/// Records a fact and returns the answer.
fn record_fact(server: &Server, client: &str, fact: Value) -> common::Reply {
    server.call("POST", &format!("/api/clients/{client}/events"), Some(fact))
}

fn onboarding_of(server: &Server, client: &str) -> Value {
    server.get_json(&format!("/api/clients/{client}/onboarding"))
}

/// Every milestone of an onboarding answer by id.
fn milestones_by_id(onboarding: &Value) -> HashMap<String, Value> {
    onboarding["stages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|stage| stage["milestones"].as_array().unwrap().iter())
        .map(|m| (m["id"].as_str().unwrap().to_owned(), m.clone()))
        .collect()
}

/// The progress fields of a milestone, without its definition.
fn progress_fields(milestone: &Value) -> Value {
    let fields = [
        "completed",
        "completed_at",
        "completed_by",
        "completed_by_name",
        "source",
        "notes",
    ];
    fields
        .iter()
        .map(|f| (f.to_string(), milestone[f].clone()))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn parse_time(value: &Value) -> Timestamp {
    Timestamp::parse(
        value
            .as_str()
            .unwrap_or_else(|| panic!("not a time: {value}")),
    )
    .unwrap()
}

/// Asserts a `400` whose message names `field` first.
fn assert_bad_field(reply: &common::Reply, field: &str) {
    let body = reply.assert_error(400, "bad_request");
    let message = body["error"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("{field}:")),
        "expected the field {field} in {message:?}"
    );
}

/// One number from the server's database.
fn count(server: &Server, sql: &str, client: &str) -> i64 {
    let conn = rusqlite::Connection::open(&server.db).unwrap();
    conn.query_row(sql, [client], |row| row.get(0)).unwrap()
}

/// Five milestones in three stages; `m1` waits for `deal_won`.
fn five_milestones() -> Value {
    json!({
        "id": "tpl",
        "name": "Five",
        "stages": [
            {"id": "s_a", "type": "kickoff", "name": "Kickoff", "milestones": [
                {"id": "m1", "name": "Contract", "auto_complete": "deal_won"},
                {"id": "m2", "name": "Kickoff call"}
            ]},
            {"id": "s_b", "type": "setup", "name": "Setup", "milestones": [
                {"id": "m3", "name": "Accounts"},
                {"id": "m4", "name": "Data import"}
            ]},
            {"id": "s_c", "type": "launch", "name": "Launch", "milestones": [
                {"id": "m5", "name": "Live"}
            ]}
        ]
    })
}

#[test]
fn a_template_edit_keeps_progress_and_recomputes_every_client() {
    let server = Server::start();
    server.post_template(five_milestones());
    for client in ["c1", "c2", "c3"] {
        server.put_client(client, &format!("Client {client}"));
        assign(&server, client, "tpl", false);
    }

    let reply = record_fact(
        &server,
        "c1",
        json!({"type": "deal_won", "reference": "D-1"}),
    );
    assert_eq!(reply.json()["auto_completed"], json!(["m1"]));
    toggle(
        &server,
        "c1",
        "m2",
        json!({"completed": true, "notes": "went well"}),
    );
    toggle(&server, "c2", "m3", json!({"completed": true}));
    toggle(
        &server,
        "c2",
        "m5",
        json!({"completed": true, "notes": "early"}),
    );
    toggle(
        &server,
        "c2",
        "m4",
        json!({"completed": false, "notes": "waiting on CSV"}),
    );
    let reply = record_fact(&server, "c3", json!({"type": "invoice_paid"}));
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.json()["auto_completed"], json!([]));
    let before: HashMap<&str, HashMap<String, Value>> = ["c1", "c2", "c3"]
        .into_iter()
        .map(|c| (c, milestones_by_id(&onboarding_of(&server, c))))
        .collect();
    assert_eq!(onboarding_of(&server, "c2")["completed_milestones"], 2);

    // m2 renamed, m5 moved into setup, m4 and stage s_c dropped, two new
    // milestones (one already met by c3's invoice) and a new stage.
    let edited = json!({
        "id": "tpl",
        "name": "Five, edited",
        "stages": [
            {"id": "s_a", "type": "kickoff", "name": "Kickoff", "milestones": [
                {"id": "m1", "name": "Contract", "auto_complete": "deal_won"},
                {"id": "m2", "name": "Kickoff call held"}
            ]},
            {"id": "s_b", "type": "setup", "name": "Setup", "milestones": [
                {"id": "m3", "name": "Accounts"},
                {"id": "m_paid", "name": "First invoice paid", "auto_complete": "invoice_paid"},
                {"id": "m5", "name": "Live"}
            ]},
            {"id": "s_d", "type": "review", "name": "Review", "milestones": [
                {"id": "m_review", "name": "Review meeting"}
            ]}
        ]
    });
    let started = Timestamp::now();
    let reply = server.call("PUT", "/api/onboarding/templates/tpl", Some(edited));
    let finished = Timestamp::now();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let template = reply.json();
    assert_eq!(template["name"], "Five, edited");
    let stage_ids: Vec<&str> = template["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(stage_ids, ["s_a", "s_b", "s_d"]);
    assert_eq!(template["stages"][1]["milestones"][2]["id"], "m5");
    assert_eq!(template["stages"][1]["milestones"][2]["position"], 2);

    // (client, completed, current stage, percentage) of 6 milestones.
    let expected = [
        ("c1", 2, "setup", 33),
        ("c2", 2, "kickoff", 33),
        ("c3", 1, "kickoff", 17),
    ];
    for (client, completed, stage, percentage) in expected {
        let onboarding = onboarding_of(&server, client);
        assert_eq!(onboarding["total_milestones"], 6, "{client}");
        assert_eq!(onboarding["completed_milestones"], completed, "{client}");
        assert_eq!(onboarding["current_stage_type"], stage, "{client}");
        assert_eq!(onboarding["completion_percentage"], percentage, "{client}");
        assert_eq!(onboarding["template"]["name"], "Five, edited");

        let summary = server.get_json(&format!("/api/clients/{client}"));
        assert_eq!(summary["template_id"], "tpl");
        assert_eq!(summary["total_count"], 6, "{client}");
        assert_eq!(summary["completed_count"], completed, "{client}");
        assert_eq!(summary["current_stage_type"], stage, "{client}");
        assert_eq!(summary["completion_percentage"], percentage, "{client}");

        let now = milestones_by_id(&onboarding);
        let ids: Vec<&str> = {
            let mut ids: Vec<&str> = now.keys().map(String::as_str).collect();
            ids.sort();
            ids
        };
        assert_eq!(
            ids,
            ["m1", "m2", "m3", "m5", "m_paid", "m_review"],
            "{client}"
        );
        for kept in ["m1", "m2", "m3", "m5"] {
            assert_eq!(
                progress_fields(&now[kept]),
                progress_fields(&before[client][kept]),
                "{client} {kept}"
            );
        }
        assert_eq!(now["m_review"]["completed"], false, "{client}");
        assert_eq!(now["m_review"]["notes"], Value::Null, "{client}");
        assert_eq!(now["m2"]["name"], "Kickoff call held");
    }

    // Values the kept progress had, spelled out.
    let c1 = milestones_by_id(&onboarding_of(&server, "c1"));
    assert_eq!(c1["m1"]["source"], "auto");
    assert_eq!(c1["m2"]["notes"], "went well");
    assert_eq!(c1["m2"]["completed_by"], "admin");
    let c2 = onboarding_of(&server, "c2");
    assert_eq!(c2["stages"][1]["completed_count"], 2);
    assert_eq!(c2["stages"][1]["milestones"][2]["notes"], "early");

    // The new milestone c3's invoice already met: auto, at the time of the edit.
    let c3 = milestones_by_id(&onboarding_of(&server, "c3"));
    let paid = &c3["m_paid"];
    assert_eq!(paid["completed"], true);
    assert_eq!(paid["source"], "auto");
    assert_eq!(paid["completed_by"], Value::Null);
    let at = parse_time(&paid["completed_at"]);
    assert!(started <= at && at <= finished, "{at} outside the edit");
    let history = server.get_json("/api/clients/c3/onboarding/activity");
    assert_eq!(history["entries"][0]["kind"], "completed");
    assert_eq!(history["entries"][0]["milestone_id"], "m_paid");
    assert_eq!(
        history["entries"][0]["milestone_name"],
        "First invoice paid"
    );
    assert_eq!(history["entries"][0]["source"], "auto");
    assert_eq!(history["entries"][0]["at"], paid["completed_at"]);
    assert_eq!(c3["m_paid"]["completed"], true);
    assert_eq!(
        milestones_by_id(&onboarding_of(&server, "c1"))["m_paid"]["completed"],
        false
    );

    // The dropped milestone went with its progress (and c2's notes on it).
    let dropped = count(
        &server,
        "SELECT count(*) FROM progress WHERE client_id = ?1 AND milestone_id = 'm4'",
        "c2",
    );
    assert_eq!(dropped, 0);
    let reply = server.call(
        "PATCH",
        "/api/clients/c2/onboarding/milestones/m4",
        Some(json!({"completed": true})),
    );
    reply.assert_error(404, "not_found");

    // Completing everything left puts c1 on the last stage with milestones.
    for milestone in ["m3", "m_paid", "m5", "m_review"] {
        toggle(&server, "c1", milestone, json!({"completed": true}));
    }
    let summary = server.get_json("/api/clients/c1");
    assert_eq!(summary["completion_percentage"], 100);
    assert_eq!(summary["current_stage_type"], "review");
}

#[test]
fn a_template_edit_is_checked_before_anything_changes() {
    let server = Server::start();
    server.post_template(five_milestones());
    let original = server.get_json("/api/onboarding/templates/tpl");

    let reply = server.call(
        "PUT",
        "/api/onboarding/templates/nope",
        Some(json!({"name": "X", "stages": []})),
    );
    reply.assert_error(404, "not_found");

    let mut body = five_milestones();
    body["id"] = json!("other");
    let reply = server.call("PUT", "/api/onboarding/templates/tpl", Some(body));
    assert_bad_field(&reply, "id");

    let mut body = five_milestones();
    body["stages"][2]["id"] = json!("s_a");
    let reply = server.call("PUT", "/api/onboarding/templates/tpl", Some(body));
    assert_bad_field(&reply, "stages[2].id");

    let mut body = five_milestones();
    body["stages"][1]["milestones"][1]["id"] = json!("m1");
    let reply = server.call("PUT", "/api/onboarding/templates/tpl", Some(body));
    assert_bad_field(&reply, "stages[1].milestones[1].id");

    let mut body = five_milestones();
    body["stages"][0]["milestones"][1]["id"] = json!("m1");
    let reply = server.call("PUT", "/api/onboarding/templates/tpl", Some(body));
    assert_bad_field(&reply, "stages[0].milestones[1].id");

    for bad_type in ["Kick Off", "", "kick/off", &"x".repeat(51)] {
        let mut body = five_milestones();
        body["stages"][0]["type"] = json!(bad_type);
        let reply = server.call("PUT", "/api/onboarding/templates/tpl", Some(body));
        assert_bad_field(&reply, "stages[0].type");
    }

    let mut body = five_milestones();
    body["stages"][0]["milestones"][0]["auto_complete"] = json!("deal_lost");
    body["name"] = json!("Changed");
    let reply = server.call("PUT", "/api/onboarding/templates/tpl", Some(body));
    assert_bad_field(&reply, "stages[0].milestones[0].auto_complete");

    assert_eq!(server.get_json("/api/onboarding/templates/tpl"), original);

    // The id may be left out of the body: the path names the template.
    let mut body = five_milestones();
    body.as_object_mut().unwrap().remove("id");
    body["name"] = json!("Renamed");
    let reply = server.call("PUT", "/api/onboarding/templates/tpl", Some(body));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["id"], "tpl");
    assert_eq!(reply.json()["name"], "Renamed");
}

#[test]
fn templates_are_created_patched_deactivated_and_deleted() {
    let server = Server::start();
    server.post_template(small_template("tpl_a"));
    server.post_template(small_template("tpl_b"));
    let reply = server.call(
        "POST",
        "/api/onboarding/templates",
        Some(small_template("tpl_a")),
    );
    reply.assert_error(409, "conflict");

    server.put_client("c1", "One");
    server.put_client("c2", "Two");
    assign(&server, "c1", "tpl_a", false);
    let reply = server.call("DELETE", "/api/onboarding/templates/tpl_a", None);
    reply.assert_error(409, "conflict");
    assert_eq!(
        server.get_json("/api/onboarding/templates/tpl_a")["id"],
        "tpl_a"
    );

    let reply = server.call(
        "PATCH",
        "/api/onboarding/templates/tpl_a",
        Some(json!({"name": "Retired plan", "description": "Use tpl_b", "active": false})),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let patched = reply.json();
    assert_eq!(patched["name"], "Retired plan");
    assert_eq!(patched["description"], "Use tpl_b");
    assert_eq!(patched["active"], false);
    assert_eq!(patched["stages"].as_array().unwrap().len(), 3);
    let listed = server.get_json("/api/onboarding/templates");
    let entry = listed["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "tpl_a")
        .unwrap()
        .clone();
    assert_eq!(entry["active"], false);
    assert_eq!(entry["assigned_clients"], 1);
    assert_eq!(entry["milestone_count"], 3);

    // Absent fields stay; null clears the description.
    let reply = server.call(
        "PATCH",
        "/api/onboarding/templates/tpl_a",
        Some(json!({"description": null})),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["description"], Value::Null);
    assert_eq!(reply.json()["name"], "Retired plan");
    assert_eq!(reply.json()["active"], false);

    let reply = server.call(
        "POST",
        "/api/clients/c2/onboarding/assign",
        Some(json!({"template_id": "tpl_a"})),
    );
    reply.assert_error(404, "not_found");
    assert_eq!(onboarding_of(&server, "c2")["template"], Value::Null);
    let onboarding = onboarding_of(&server, "c1");
    assert_eq!(onboarding["template"]["active"], false);
    assert_eq!(onboarding["template"]["name"], "Retired plan");
    assert_eq!(onboarding["total_milestones"], 3);

    // Switching the last client away frees the template.
    assign(&server, "c1", "tpl_b", true);
    let reply = server.call("DELETE", "/api/onboarding/templates/tpl_a", None);
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert!(reply.body.is_empty());
    server
        .call("GET", "/api/onboarding/templates/tpl_a", None)
        .assert_error(404, "not_found");
    server
        .call("DELETE", "/api/onboarding/templates/tpl_a", None)
        .assert_error(404, "not_found");

    // So does deleting it.
    assign(&server, "c2", "tpl_b", false);
    server
        .call("DELETE", "/api/onboarding/templates/tpl_b", None)
        .assert_error(409, "conflict");
    assert_eq!(server.call("DELETE", "/api/clients/c1", None).status, 204);
    assert_eq!(server.call("DELETE", "/api/clients/c2", None).status, 204);
    assert_eq!(
        server
            .call("DELETE", "/api/onboarding/templates/tpl_b", None)
            .status,
        204
    );
    let listed = server.get_json("/api/onboarding/templates");
    assert_eq!(listed["templates"], json!([]));
}

/// Two milestones wait for `deal_won` (in template order `m_a`, `m_b`), one
/// for `invoice_paid`.
fn fact_template() -> Value {
    json!({
        "id": "tpl_f",
        "name": "Facts",
        "stages": [
            {"id": "s1", "type": "kickoff", "name": "Kickoff", "milestones": [
                {"id": "m_x", "name": "Intro"},
                {"id": "m_a", "name": "Deal won", "auto_complete": "deal_won"}
            ]},
            {"id": "s2", "type": "billing", "name": "Billing", "milestones": [
                {"id": "m_b", "name": "Welcome pack", "auto_complete": "deal_won"},
                {"id": "m_paid", "name": "Paid", "auto_complete": "invoice_paid"}
            ]}
        ]
    })
}

#[test]
fn facts_complete_milestones_once_and_are_merged_by_reference() {
    let server = Server::start();
    server.post_template(fact_template());
    server.put_client("acme", "Acme");
    assign(&server, "acme", "tpl_f", false);

    let started = Timestamp::now();
    let reply = record_fact(
        &server,
        "acme",
        json!({"type": "deal_won", "reference": "D-1", "occurred_at": "2020-01-01T12:00:00+02:00"}),
    );
    let finished = Timestamp::now();
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({"ok": true, "auto_completed": ["m_a", "m_b"]})
    );

    let milestones = milestones_by_id(&onboarding_of(&server, "acme"));
    for id in ["m_a", "m_b"] {
        assert_eq!(milestones[id]["source"], "auto");
        assert_eq!(milestones[id]["completed_by"], Value::Null);
        assert_eq!(milestones[id]["completed_by_name"], Value::Null);
        let at = parse_time(&milestones[id]["completed_at"]);
        assert!(started <= at && at <= finished, "{id} stamped {at}");
    }
    assert_eq!(milestones["m_x"]["completed"], false);

    // The same type and reference again: recorded once, nothing to do.
    toggle(&server, "acme", "m_a", json!({"completed": false}));
    let reply = record_fact(
        &server,
        "acme",
        json!({"type": "deal_won", "reference": "D-1", "occurred_at": "2021-05-05T00:00:00Z"}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json(), json!({"ok": true, "auto_completed": []}));
    assert_eq!(
        milestones_by_id(&onboarding_of(&server, "acme"))["m_a"]["completed"],
        false
    );
    let conn = rusqlite::Connection::open(&server.db).unwrap();
    let stored: Vec<(String, Option<String>, Option<i64>)> = conn
        .prepare("SELECT type, reference, occurred_at FROM facts WHERE client_id = 'acme'")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let occurred = Timestamp::parse("2020-01-01T10:00:00Z").unwrap().millis();
    assert_eq!(
        stored,
        [("deal_won".into(), Some("D-1".into()), Some(occurred))]
    );

    // Another reference is another fact, and completes what is open again.
    let reply = record_fact(
        &server,
        "acme",
        json!({"type": "deal_won", "reference": "D-2"}),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.json()["auto_completed"], json!(["m_a"]));

    // Facts without a reference never merge.
    let reply = record_fact(&server, "acme", json!({"type": "invoice_paid"}));
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.json()["auto_completed"], json!(["m_paid"]));
    let reply = record_fact(&server, "acme", json!({"type": "invoice_paid"}));
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.json()["auto_completed"], json!([]));
    let facts = count(
        &server,
        "SELECT count(*) FROM facts WHERE client_id = ?1",
        "acme",
    );
    assert_eq!(facts, 4);

    // Refusals record nothing.
    let reply = record_fact(&server, "acme", json!({"type": "deal_lost"}));
    let body = reply.assert_error(400, "bad_request");
    let message = body["error"].as_str().unwrap();
    assert!(message.starts_with("type:"), "{message}");
    for allowed in [
        "deal_won",
        "project_created",
        "invoice_created",
        "invoice_paid",
    ] {
        assert!(message.contains(allowed), "{message} lacks {allowed}");
    }
    for garbage in ["yesterday", "2026-11-02 10:15:00", "2026-13-01T00:00:00Z"] {
        let reply = record_fact(
            &server,
            "acme",
            json!({"type": "project_created", "occurred_at": garbage}),
        );
        assert_bad_field(&reply, "occurred_at");
    }
    let reply = record_fact(&server, "acme", json!({"reference": "D-9"}));
    assert_bad_field(&reply, "type");
    let facts = count(
        &server,
        "SELECT count(*) FROM facts WHERE client_id = ?1",
        "acme",
    );
    assert_eq!(facts, 4);
    record_fact(&server, "nobody", json!({"type": "deal_won"})).assert_error(404, "not_found");

    // A fact recorded before any template is met at assignment.
    server.put_client("beta", "Beta");
    let reply = record_fact(
        &server,
        "beta",
        json!({"type": "invoice_paid", "reference": "I-1"}),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.json()["auto_completed"], json!([]));
    assign(&server, "beta", "tpl_f", false);
    let beta = onboarding_of(&server, "beta");
    assert_eq!(beta["completed_milestones"], 1);
    assert_eq!(beta["stages"][1]["milestones"][1]["source"], "auto");
}

#[test]
fn the_client_list_pages_by_name_without_losing_anyone() {
    let server = Server::start();
    server.post_template(small_template("tpl_std"));

    // Pairs of clients share a name, so the id breaks the tie.
    let mut expected: Vec<(String, String)> = (0..300)
        .map(|i| (format!("Client {:03}", i / 2), format!("c{i:03}")))
        .collect();
    for (name, id) in &expected {
        server.put_client(id, name);
    }
    assign(&server, "c007", "tpl_std", false);
    record_fact(&server, "c007", json!({"type": "deal_won"}));
    expected.sort();

    let summary = server.get_json("/api/clients/c007");
    assert_eq!(summary["id"], "c007");
    assert_eq!(summary["name"], "Client 003");
    assert_eq!(summary["logo_url"], Value::Null);
    assert_eq!(summary["template_id"], "tpl_std");
    assert_eq!(summary["current_stage_type"], "kickoff");
    assert_eq!(summary["completed_count"], 1);
    assert_eq!(summary["total_count"], 3);
    assert_eq!(summary["completion_percentage"], 33);
    let onboarding = onboarding_of(&server, "c007");
    assert_eq!(
        summary["last_activity"],
        onboarding["stages"][0]["milestones"][0]["completed_at"]
    );
    let plain = server.get_json("/api/clients/c008");
    assert_eq!(plain["template_id"], Value::Null);
    assert_eq!(plain["current_stage_type"], Value::Null);
    assert_eq!(plain["completion_percentage"], 0);
    assert_eq!(plain["last_activity"], Value::Null);

    // The default page holds 50; the first entry carries its summary.
    let first = server.get_json("/api/clients");
    assert_eq!(first["clients"].as_array().unwrap().len(), 50);
    assert_eq!(first["clients"][0]["id"], "c000");
    assert_eq!(first["clients"][7], summary);

    // Walk in pages of 37, adding a client before and one after the cursor
    // once the walk is under way.
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            None => "/api/clients?limit=37".to_owned(),
            Some(c) => format!("/api/clients?limit=37&cursor={c}"),
        };
        let page = server.get_json(&path);
        let clients = page["clients"].as_array().unwrap();
        assert!(clients.len() <= 37);
        seen.extend(clients.iter().map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["id"].as_str().unwrap().to_owned(),
            )
        }));
        pages += 1;
        if pages == 2 {
            server.put_client("early", "Aardvark Ltd");
            server.put_client("late", "Zebra Ltd");
            server.put_client("c150b", "Client 075");
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let mut want = expected.clone();
    want.push(("Client 075".into(), "c150b".into()));
    want.push(("Zebra Ltd".into(), "late".into()));
    want.sort();
    assert_eq!(seen, want, "every client once, in (name, id) order");

    // A full last page still ends the walk.
    let all = server.get_json("/api/clients?limit=200");
    let cursor = all["next_cursor"].as_str().unwrap().to_owned();
    let rest = server.get_json(&format!("/api/clients?limit=200&cursor={cursor}"));
    assert_eq!(rest["clients"].as_array().unwrap().len(), 103);
    assert_eq!(rest["next_cursor"], Value::Null);

    for bad in ["limit=0", "limit=201", "limit=abc", "limit=-1"] {
        let reply = server.call("GET", &format!("/api/clients?{bad}"), None);
        assert_bad_field(&reply, "limit");
    }
    for bad in ["garbage", "eyJ4IjoxfQ", "%FF"] {
        let reply = server.call("GET", &format!("/api/clients?cursor={bad}"), None);
        assert_eq!(reply.status, 400, "cursor {bad}: {}", reply.body);
    }
    let reply = server.call("GET", "/api/clients?cursor=garbage", None);
    assert_bad_field(&reply, "cursor");
}

#[test]
fn deleting_a_client_removes_everything_it_had() {
    let server = Server::start();
    server.post_template(small_template("tpl_std"));
    server.put_client("gone", "Gone Ltd");
    server.put_client("kept", "Kept Ltd");
    for client in ["gone", "kept"] {
        assign(&server, client, "tpl_std", false);
        record_fact(
            &server,
            client,
            json!({"type": "deal_won", "reference": "D"}),
        );
        toggle(&server, client, "m_call", json!({"completed": true}));
    }

    let reply = server.call("DELETE", "/api/clients/gone", None);
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert!(reply.body.is_empty());

    for path in [
        "/api/clients/gone",
        "/api/clients/gone/onboarding",
        "/api/clients/gone/onboarding/activity",
    ] {
        server
            .call("GET", path, None)
            .assert_error(404, "not_found");
    }
    server
        .call("DELETE", "/api/clients/gone", None)
        .assert_error(404, "not_found");
    for table in ["progress", "facts", "activity"] {
        let sql = format!("SELECT count(*) FROM {table} WHERE client_id = ?1");
        assert_eq!(count(&server, &sql, "gone"), 0, "{table}");
        assert!(count(&server, &sql, "kept") > 0, "{table}");
    }
    let listed = server.get_json("/api/clients");
    assert_eq!(listed["clients"].as_array().unwrap().len(), 1);
    assert_eq!(listed["clients"][0]["id"], "kept");
    assert_eq!(onboarding_of(&server, "kept")["completed_milestones"], 2);
}

#[test]
fn the_activity_history_tells_the_whole_story() {
    let server = Server::start();
    server.post_template(small_template("tpl_std"));
    let mut other = small_template("tpl_new");
    other["name"] = json!("New plan");
    // Without a condition, so the switch completes nothing by itself.
    other["stages"][0]["milestones"][0]["auto_complete"] = Value::Null;
    server.post_template(other);
    server.put_client("acme", "Acme Ltd");

    assign(&server, "acme", "tpl_std", false);
    record_fact(
        &server,
        "acme",
        json!({"type": "deal_won", "reference": "D-1"}),
    );
    toggle(
        &server,
        "acme",
        "m_call",
        json!({"completed": true, "notes": "booked"}),
    );
    toggle(
        &server,
        "acme",
        "m_call",
        json!({"completed": true, "notes": "held"}),
    );
    toggle(&server, "acme", "m_call", json!({"completed": false}));
    // Changes nothing, so leaves no trace.
    toggle(&server, "acme", "m_live", json!({"completed": false}));
    toggle(&server, "acme", "m_contract", json!({"completed": true}));
    let before_switch = server.get_json("/api/clients/acme/onboarding/activity");
    assert_eq!(before_switch["entries"].as_array().unwrap().len(), 5);
    assign(&server, "acme", "tpl_new", true);

    // Renaming the milestones afterwards does not rewrite history.
    let mut renamed = small_template("tpl_std");
    renamed["stages"][0]["milestones"][0]["name"] = json!("Signed (renamed)");
    renamed["stages"][0]["milestones"][1]["name"] = json!("Call (renamed)");
    let reply = server.call("PUT", "/api/onboarding/templates/tpl_std", Some(renamed));
    assert_eq!(reply.status, 200, "{}", reply.body);

    let history = server.get_json("/api/clients/acme/onboarding/activity");
    assert_eq!(history["next_cursor"], Value::Null);
    let entries = history["entries"].as_array().unwrap();
    let story: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!([
                e["kind"],
                e["template_id"],
                e["milestone_id"],
                e["milestone_name"],
                e["user_id"],
                e["user_name"],
                e["source"],
                e["notes"]
            ])
        })
        .collect();
    let admin = ("admin", "Admin");
    assert_eq!(
        story,
        [
            json!([
                "reassigned",
                "tpl_new",
                null,
                null,
                admin.0,
                admin.1,
                "manual",
                null
            ]),
            json!([
                "uncompleted",
                "tpl_std",
                "m_call",
                "Kickoff call",
                admin.0,
                admin.1,
                "manual",
                null
            ]),
            json!([
                "notes_changed",
                "tpl_std",
                "m_call",
                "Kickoff call",
                admin.0,
                admin.1,
                "manual",
                "held"
            ]),
            json!([
                "completed",
                "tpl_std",
                "m_call",
                "Kickoff call",
                admin.0,
                admin.1,
                "manual",
                "booked"
            ]),
            json!([
                "completed",
                "tpl_std",
                "m_contract",
                "Contract signed",
                null,
                null,
                "auto",
                null
            ]),
            json!(["assigned", "tpl_std", null, null, admin.0, admin.1, "manual", null]),
        ]
    );

    // Ids and times run downwards; times are UTC with a Z.
    for pair in entries.windows(2) {
        let newer: i64 = pair[0]["id"].as_str().unwrap().parse().unwrap();
        let older: i64 = pair[1]["id"].as_str().unwrap().parse().unwrap();
        assert!(newer > older);
        assert!(parse_time(&pair[0]["at"]) >= parse_time(&pair[1]["at"]));
        assert!(pair[0]["at"].as_str().unwrap().ends_with('Z'));
    }

    // Pages of 4 then 2 give the same entries.
    let first = server.get_json("/api/clients/acme/onboarding/activity?limit=4");
    assert_eq!(first["entries"].as_array().unwrap()[..], entries[..4]);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = server.get_json(&format!(
        "/api/clients/acme/onboarding/activity?limit=4&cursor={cursor}"
    ));
    assert_eq!(second["entries"].as_array().unwrap()[..], entries[4..]);
    assert_eq!(second["next_cursor"], Value::Null);
    let exact = server.get_json("/api/clients/acme/onboarding/activity?limit=6");
    assert_eq!(exact["next_cursor"], Value::Null);

    for bad in ["limit=0", "limit=201", "limit=x"] {
        let reply = server.call(
            "GET",
            &format!("/api/clients/acme/onboarding/activity?{bad}"),
            None,
        );
        assert_bad_field(&reply, "limit");
    }
    let reply = server.call(
        "GET",
        "/api/clients/acme/onboarding/activity?cursor=abc",
        None,
    );
    assert_bad_field(&reply, "cursor");
    server
        .call("GET", "/api/clients/nobody/onboarding/activity", None)
        .assert_error(404, "not_found");

    // A client with no history yet has an empty one.
    server.put_client("fresh", "Fresh");
    let empty = server.get_json("/api/clients/fresh/onboarding/activity");
    assert_eq!(empty, json!({"entries": [], "next_cursor": null}));
}
