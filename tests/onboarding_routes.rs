//! The onboarding routes of SPEC §4.1–§4.3 end to end: the real binary over
//! HTTP, every row of their tables, each answer checked against the state
//! read back afterwards.

mod common;

use common::{small_template, Reply, Server};
use serde_json::{json, Value};

const NO_TEMPLATE: &str = r#"{"template": null, "stages": [], "current_stage_type": null}"#;

fn onboarding(server: &Server, client: &str) -> Value {
    server.get_json(&format!("/api/clients/{client}/onboarding"))
}

fn activity(server: &Server, client: &str) -> Vec<Value> {
    let page = server.get_json(&format!("/api/clients/{client}/onboarding/activity"));
    page["entries"].as_array().expect("entries").clone()
}

fn assign(server: &Server, client: &str, body: Value) -> Reply {
    server.call(
        "POST",
        &format!("/api/clients/{client}/onboarding/assign"),
        Some(body),
    )
}

fn toggle(server: &Server, client: &str, milestone: &str, body: Value) -> Reply {
    server.call(
        "PATCH",
        &format!("/api/clients/{client}/onboarding/milestones/{milestone}"),
        Some(body),
    )
}

fn assert_ok(reply: &Reply) {
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json(), json!({ "ok": true }));
}

/// The milestone `id` of an onboarding answer.
fn milestone<'a>(onboarding: &'a Value, id: &str) -> &'a Value {
    onboarding["stages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["milestones"].as_array().unwrap())
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("milestone {id} not in {onboarding}"))
}

fn incomplete(id: &str) -> Value {
    json!({"completed": false, "completed_at": null, "completed_by": null,
           "completed_by_name": null, "source": null, "id": id})
}

/// Asserts the completion fields of milestone `id` match `expected`'s keys.
fn assert_milestone(onboarding: &Value, expected: &Value) {
    let id = expected["id"].as_str().unwrap();
    let actual = milestone(onboarding, id);
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(&actual[key], value, "{key} of {id}: {actual}");
    }
}

/// A template whose milestones are named `m1`… with `count` of them in one
/// stage, the first `auto` completed by `deal_won`.
fn flat_template(id: &str, count: usize, auto: usize) -> Value {
    let milestones: Vec<Value> = (1..=count)
        .map(|i| {
            let condition = if i <= auto {
                json!("deal_won")
            } else {
                json!(null)
            };
            json!({"id": format!("m{i}"), "name": format!("Step {i}"), "auto_complete": condition})
        })
        .collect();
    json!({"id": id, "name": id, "stages": [
        {"id": "s", "type": "work", "name": "Work", "milestones": milestones}
    ]})
}

fn record_fact(server: &Server, client: &str, fact_type: &str) -> Value {
    let reply = server.call(
        "POST",
        &format!("/api/clients/{client}/events"),
        Some(json!({ "type": fact_type })),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()
}

// §4.1

#[test]
fn a_client_without_template_reads_exactly_null() {
    let server = Server::start();
    server.put_client("acme", "Acme");

    let reply = server.call("GET", "/api/clients/acme/onboarding", None);

    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.body.trim(),
        NO_TEMPLATE.replace(": ", ":").replace(", ", ",")
    );
    assert_eq!(
        reply.json(),
        serde_json::from_str::<Value>(NO_TEMPLATE).unwrap()
    );
}

#[test]
fn an_unknown_company_is_404() {
    let server = Server::start();

    let reply = server.call("GET", "/api/clients/nobody/onboarding", None);

    reply.assert_error(404, "not_found");
}

#[test]
fn onboarding_lists_stages_and_milestones_in_template_order() {
    let server = Server::start();
    // Ids run against the order, so that sorting by id would show.
    server.post_template(json!({
        "id": "tpl", "name": "Ordered", "description": "Two stages",
        "stages": [
            {"id": "z_first", "type": "kickoff", "name": "Kickoff", "milestones": [
                {"id": "m_z", "name": "Z first", "description": "first one",
                 "auto_complete": "deal_won"},
                {"id": "m_a", "name": "A second"}
            ]},
            {"id": "a_second", "type": "launch", "name": "Launch", "milestones": [
                {"id": "m_b", "name": "Only"}
            ]}
        ]
    }));
    server.put_client("acme", "Acme");
    assert_ok(&assign(&server, "acme", json!({"template_id": "tpl"})));

    let expected = json!({
        "template": {"id": "tpl", "name": "Ordered", "description": "Two stages", "active": true},
        "stages": [
            {"id": "z_first", "type": "kickoff", "name": "Kickoff", "position": 0,
             "completed_count": 0, "total_count": 2, "milestones": [
                {"id": "m_z", "name": "Z first", "description": "first one", "position": 0,
                 "auto_complete": "deal_won", "completed": false, "completed_at": null,
                 "completed_by": null, "completed_by_name": null, "source": null,
                 "notes": null},
                {"id": "m_a", "name": "A second", "description": null, "position": 1,
                 "auto_complete": null, "completed": false, "completed_at": null,
                 "completed_by": null, "completed_by_name": null, "source": null,
                 "notes": null}
            ]},
            {"id": "a_second", "type": "launch", "name": "Launch", "position": 1,
             "completed_count": 0, "total_count": 1, "milestones": [
                {"id": "m_b", "name": "Only", "description": null, "position": 0,
                 "auto_complete": null, "completed": false, "completed_at": null,
                 "completed_by": null, "completed_by_name": null, "source": null,
                 "notes": null}
            ]}
        ],
        "current_stage_type": "kickoff",
        "total_milestones": 3,
        "completed_milestones": 0,
        "completion_percentage": 0
    });
    assert_eq!(onboarding(&server, "acme"), expected);
}

/// Kickoff (2), an empty stage, launch (1), an empty stage at the end.
fn stage_template(id: &str) -> Value {
    json!({"id": id, "name": "Stages", "stages": [
        {"id": "s1", "type": "kickoff", "name": "Kickoff", "milestones": [
            {"id": "k1", "name": "K1"}, {"id": "k2", "name": "K2"}]},
        {"id": "s2", "type": "empty", "name": "Empty", "milestones": []},
        {"id": "s3", "type": "launch", "name": "Launch", "milestones": [
            {"id": "l1", "name": "L1"}]},
        {"id": "s4", "type": "after", "name": "After", "milestones": []}
    ]})
}

fn assert_current_stage(server: &Server, client: &str, expected: Value) {
    assert_eq!(onboarding(server, client)["current_stage_type"], expected);
    // The stored copy on the client profile agrees.
    let summary = server.get_json(&format!("/api/clients/{client}"));
    assert_eq!(summary["current_stage_type"], expected, "{summary}");
}

#[test]
fn the_current_stage_follows_the_first_stage_with_work_left() {
    let server = Server::start();
    server.post_template(stage_template("tpl"));
    server.put_client("acme", "Acme");
    assert_ok(&assign(&server, "acme", json!({"template_id": "tpl"})));
    assert_current_stage(&server, "acme", json!("kickoff"));

    // Kickoff done: the empty stage is passed over.
    assert_ok(&toggle(&server, "acme", "k1", json!({"completed": true})));
    assert_current_stage(&server, "acme", json!("kickoff"));
    assert_ok(&toggle(&server, "acme", "k2", json!({"completed": true})));
    assert_current_stage(&server, "acme", json!("launch"));

    // All done: the last stage that has milestones, not the empty last one.
    assert_ok(&toggle(&server, "acme", "l1", json!({"completed": true})));
    assert_current_stage(&server, "acme", json!("launch"));
    let all = onboarding(&server, "acme");
    assert_eq!(all["completion_percentage"], 100);
    assert_eq!(all["stages"][1]["total_count"], 0);
    assert_eq!(all["stages"][1]["milestones"], json!([]));

    // Un-completing an early milestone moves it back.
    assert_ok(&toggle(&server, "acme", "k1", json!({"completed": false})));
    assert_current_stage(&server, "acme", json!("kickoff"));
}

#[test]
fn a_template_without_milestones_has_no_current_stage() {
    let server = Server::start();
    server.post_template(json!({"id": "hollow", "name": "Hollow", "stages": [
        {"id": "s1", "type": "kickoff", "name": "Kickoff", "milestones": []},
        {"id": "s2", "type": "launch", "name": "Launch", "milestones": []}
    ]}));
    server.post_template(json!({"id": "bare", "name": "Bare", "stages": []}));
    server.put_client("acme", "Acme");
    server.put_client("bolt", "Bolt");

    assert_ok(&assign(&server, "acme", json!({"template_id": "hollow"})));
    assert_ok(&assign(&server, "bolt", json!({"template_id": "bare"})));

    let hollow = onboarding(&server, "acme");
    assert_eq!(hollow["current_stage_type"], Value::Null);
    assert_eq!(hollow["total_milestones"], 0);
    assert_eq!(hollow["completed_milestones"], 0);
    assert_eq!(hollow["completion_percentage"], 0);
    assert_eq!(hollow["stages"].as_array().unwrap().len(), 2);
    let bare = onboarding(&server, "bolt");
    assert_eq!(bare["template"]["id"], "bare");
    assert_eq!(bare["stages"], json!([]));
    assert_eq!(bare["current_stage_type"], Value::Null);
    assert_eq!(bare["completion_percentage"], 0);
    assert_current_stage(&server, "acme", Value::Null);
}

#[test]
fn the_percentage_rounds_half_up_and_reads_100_only_when_done() {
    let server = Server::start();
    server.post_template(flat_template("six", 6, 0));
    server.post_template(flat_template("two_hundred", 200, 199));
    server.put_client("six", "Six");
    server.put_client("many", "Many");

    assert_ok(&assign(&server, "six", json!({"template_id": "six"})));
    assert_ok(&toggle(&server, "six", "m4", json!({"completed": true})));
    let six = onboarding(&server, "six");
    assert_eq!(six["completed_milestones"], 1);
    assert_eq!(six["total_milestones"], 6);
    assert_eq!(six["completion_percentage"], 17);
    let summary = server.get_json("/api/clients/six");
    assert_eq!(summary["completion_percentage"], 17);

    assert_ok(&assign(
        &server,
        "many",
        json!({"template_id": "two_hundred"}),
    ));
    let fact = record_fact(&server, "many", "deal_won");
    assert_eq!(fact["auto_completed"].as_array().unwrap().len(), 199);
    let many = onboarding(&server, "many");
    assert_eq!(many["completed_milestones"], 199);
    assert_eq!(many["completion_percentage"], 99);
    assert_eq!(
        server.get_json("/api/clients/many")["completion_percentage"],
        99
    );

    assert_ok(&toggle(&server, "many", "m200", json!({"completed": true})));
    assert_eq!(onboarding(&server, "many")["completion_percentage"], 100);
}

#[test]
fn template_edits_after_assignment_show_in_the_onboarding() {
    let server = Server::start();
    server.post_template(flat_template("tpl", 3, 0));
    server.put_client("acme", "Acme");
    assert_ok(&assign(&server, "acme", json!({"template_id": "tpl"})));
    assert_ok(&toggle(&server, "acme", "m1", json!({"completed": true})));
    assert_ok(&toggle(&server, "acme", "m3", json!({"completed": true})));

    // Drop m3 (completed), keep m1 and m2, add m9.
    let reply = server.call(
        "PUT",
        "/api/onboarding/templates/tpl",
        Some(json!({"name": "tpl", "stages": [
            {"id": "s", "type": "work", "name": "Work", "milestones": [
                {"id": "m1", "name": "Step 1"}, {"id": "m2", "name": "Step 2"},
                {"id": "m9", "name": "New"}]}
        ]})),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);

    let after = onboarding(&server, "acme");
    let ids: Vec<&str> = after["stages"][0]["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["m1", "m2", "m9"]);
    assert_eq!(milestone(&after, "m1")["completed"], true);
    assert_milestone(&after, &incomplete("m9"));
    assert_eq!(after["total_milestones"], 3);
    assert_eq!(after["completed_milestones"], 1);
    assert_eq!(after["completion_percentage"], 33);
    let summary = server.get_json("/api/clients/acme");
    assert_eq!(summary["completed_count"], 1);
    assert_eq!(summary["total_count"], 3);
}

// §4.2

#[test]
fn assign_refuses_bad_bodies_and_changes_nothing() {
    let server = Server::start();
    server.post_template(small_template("tpl"));
    server.put_client("acme", "Acme");

    let cases = [
        (json!({}), "template_id"),
        (json!({"force": true}), "template_id"),
        (json!({"template_id": ""}), "template_id"),
        (json!({"template_id": 5}), "template_id"),
        (json!({"template_id": null}), "template_id"),
        (json!({"template_id": ["tpl"]}), "template_id"),
        (json!({"template_id": "tpl", "force": "yes"}), "force"),
        (json!({"template_id": "tpl", "force": 1}), "force"),
        (json!({"template_id": "tpl", "force": "true"}), "force"),
    ];
    for (body, field) in cases {
        let reply = assign(&server, "acme", body.clone());
        let error = reply.assert_error(400, "bad_request");
        assert!(
            error["error"].as_str().unwrap().starts_with(field),
            "{body}: {error}"
        );
    }

    assert_eq!(
        onboarding(&server, "acme"),
        serde_json::from_str::<Value>(NO_TEMPLATE).unwrap()
    );
    assert!(activity(&server, "acme").is_empty());
}

#[test]
fn assign_answers_404_for_unknown_company_or_unusable_template() {
    let server = Server::start();
    server.post_template(small_template("tpl"));
    server.post_template(flat_template("old", 1, 0));
    let reply = server.call(
        "PATCH",
        "/api/onboarding/templates/old",
        Some(json!({"active": false})),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    server.put_client("acme", "Acme");

    assign(&server, "nobody", json!({"template_id": "tpl"})).assert_error(404, "not_found");
    assign(&server, "acme", json!({"template_id": "missing"})).assert_error(404, "not_found");
    assign(&server, "acme", json!({"template_id": "old"})).assert_error(404, "not_found");
    assign(
        &server,
        "acme",
        json!({"template_id": "old", "force": true}),
    )
    .assert_error(404, "not_found");

    assert_eq!(
        onboarding(&server, "acme"),
        serde_json::from_str::<Value>(NO_TEMPLATE).unwrap()
    );
    assert!(activity(&server, "acme").is_empty());
    let reply = server.call("GET", "/api/clients/nobody", None);
    reply.assert_error(404, "not_found");
}

#[test]
fn assigning_another_template_needs_force_and_changes_nothing_without_it() {
    let server = Server::start();
    server.post_template(small_template("tpl_a"));
    server.post_template(flat_template("tpl_b", 2, 0));
    server.put_client("acme", "Acme");
    assert_ok(&assign(&server, "acme", json!({"template_id": "tpl_a"})));
    assert_ok(&toggle(
        &server,
        "acme",
        "m_call",
        json!({"completed": true, "notes": "ok"}),
    ));
    let before = onboarding(&server, "acme");
    let summary_before = server.get_json("/api/clients/acme");
    let history_before = activity(&server, "acme");

    for body in [
        json!({"template_id": "tpl_b"}),
        json!({"template_id": "tpl_b", "force": false}),
    ] {
        let reply = assign(&server, "acme", body);
        assert_eq!(reply.status, 409, "{}", reply.body);
        let answer = reply.json();
        assert_eq!(answer["code"], "conflict");
        assert_eq!(answer["requires_confirmation"], true);
        assert_eq!(answer["current_template_id"], "tpl_a");
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()));
        assert_eq!(answer.as_object().unwrap().len(), 4, "{answer}");
    }

    assert_eq!(onboarding(&server, "acme"), before);
    assert_eq!(server.get_json("/api/clients/acme"), summary_before);
    assert_eq!(activity(&server, "acme"), history_before);
}

#[test]
fn assigning_the_same_template_keeps_progress_and_rechecks_conditions() {
    let server = Server::start();
    server.post_template(small_template("tpl"));
    server.put_client("acme", "Acme");
    assert_ok(&assign(&server, "acme", json!({"template_id": "tpl"})));
    assert_ok(&toggle(
        &server,
        "acme",
        "m_call",
        json!({"completed": true, "notes": "n"}),
    ));
    record_fact(&server, "acme", "deal_won");
    // Un-complete the auto-completed milestone: its condition is still met.
    assert_ok(&toggle(
        &server,
        "acme",
        "m_contract",
        json!({"completed": false}),
    ));
    let before = onboarding(&server, "acme");
    let call_before = milestone(&before, "m_call").clone();
    assert_milestone(&before, &incomplete("m_contract"));

    assert_ok(&assign(&server, "acme", json!({"template_id": "tpl"})));

    let after = onboarding(&server, "acme");
    assert_eq!(milestone(&after, "m_call"), &call_before);
    assert_milestone(
        &after,
        &json!({"id": "m_contract", "completed": true, "source": "auto",
                "completed_by": null, "completed_by_name": null}),
    );
    assert_eq!(after["completed_milestones"], 2);
    assert_eq!(after["current_stage_type"], "launch");
    let history = activity(&server, "acme");
    let kinds: Vec<&str> = history
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "completed",
            "assigned",
            "uncompleted",
            "completed",
            "completed",
            "assigned"
        ]
    );
    assert_eq!(history[0]["source"], "auto");
    assert_eq!(history[0]["milestone_id"], "m_contract");
}

#[test]
fn forcing_another_template_drops_the_old_progress() {
    let server = Server::start();
    server.post_template(small_template("tpl_a"));
    server.post_template(flat_template("tpl_b", 2, 1));
    server.put_client("acme", "Acme");
    assert_ok(&assign(&server, "acme", json!({"template_id": "tpl_a"})));
    assert_ok(&toggle(
        &server,
        "acme",
        "m_call",
        json!({"completed": true, "notes": "n"}),
    ));
    record_fact(&server, "acme", "deal_won");

    assert_ok(&assign(
        &server,
        "acme",
        json!({"template_id": "tpl_b", "force": true}),
    ));

    let b = onboarding(&server, "acme");
    assert_eq!(b["template"]["id"], "tpl_b");
    assert_eq!(b["total_milestones"], 2);
    // The recorded fact meets m1's condition on the new template.
    assert_milestone(
        &b,
        &json!({"id": "m1", "completed": true, "source": "auto", "completed_by": null}),
    );
    assert_milestone(&b, &incomplete("m2"));
    assert_eq!(b["completed_milestones"], 1);
    let latest = &activity(&server, "acme")[1];
    assert_eq!(latest["kind"], "reassigned");
    assert_eq!(latest["template_id"], "tpl_b");
    assert_eq!(latest["user_id"], "admin");

    // Back to the first template: it starts afresh, m_call is not completed.
    assert_ok(&assign(
        &server,
        "acme",
        json!({"template_id": "tpl_a", "force": true}),
    ));
    let a = onboarding(&server, "acme");
    assert_milestone(
        &a,
        &json!({"id": "m_call", "completed": false, "notes": null}),
    );
    assert_milestone(
        &a,
        &json!({"id": "m_contract", "completed": true, "source": "auto"}),
    );
    assert_eq!(a["completed_milestones"], 1);
}

#[test]
fn facts_recorded_before_assignment_complete_milestones_on_assign() {
    let server = Server::start();
    server.post_template(small_template("tpl"));
    server.put_client("acme", "Acme");
    let fact = record_fact(&server, "acme", "deal_won");
    assert_eq!(fact["auto_completed"], json!([]));

    assert_ok(&assign(&server, "acme", json!({"template_id": "tpl"})));

    let after = onboarding(&server, "acme");
    let contract = milestone(&after, "m_contract");
    assert_eq!(contract["completed"], true);
    assert_eq!(contract["source"], "auto");
    assert_eq!(contract["completed_by"], Value::Null);
    assert_eq!(contract["completed_by_name"], Value::Null);
    assert!(contract["completed_at"].as_str().unwrap().ends_with('Z'));
    assert_milestone(&after, &incomplete("m_call"));
    assert_eq!(after["completed_milestones"], 1);
    assert_eq!(after["completion_percentage"], 33);

    let history = activity(&server, "acme");
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[0]["kind"], "completed");
    assert_eq!(history[0]["source"], "auto");
    assert_eq!(history[0]["milestone_id"], "m_contract");
    assert_eq!(history[0]["user_id"], Value::Null);
    assert_eq!(history[1]["kind"], "assigned");
    assert_eq!(history[1]["user_id"], "admin");
    let summary = server.get_json("/api/clients/acme");
    assert_eq!(summary["template_id"], "tpl");
    assert_eq!(summary["last_activity"], contract["completed_at"]);
}

// §4.3

#[test]
fn toggle_refuses_bad_bodies() {
    let server = Server::start();
    server.post_template(small_template("tpl"));
    server.put_client("acme", "Acme");
    assert_ok(&assign(&server, "acme", json!({"template_id": "tpl"})));
    let before = onboarding(&server, "acme");

    let cases = [
        (json!({}), "completed"),
        (json!({"notes": "x"}), "completed"),
        (json!({"completed": "true"}), "completed"),
        (json!({"completed": 1}), "completed"),
        (json!({"completed": null}), "completed"),
        (json!({"completed": true, "notes": 5}), "notes"),
        (json!({"completed": true, "notes": ["x"]}), "notes"),
        (
            json!({"completed": true, "notes": "é".repeat(2001)}),
            "notes",
        ),
    ];
    for (body, field) in cases {
        let reply = toggle(&server, "acme", "m_call", body.clone());
        let error = reply.assert_error(400, "bad_request");
        assert!(
            error["error"].as_str().unwrap().starts_with(field),
            "{body}: {error}"
        );
    }
    assert_eq!(onboarding(&server, "acme"), before);
    assert_eq!(activity(&server, "acme").len(), 1);

    // Exactly 2,000 characters (of two bytes each) are fine.
    let notes = "é".repeat(2000);
    assert_ok(&toggle(
        &server,
        "acme",
        "m_call",
        json!({"completed": true, "notes": notes}),
    ));
    assert_eq!(
        milestone(&onboarding(&server, "acme"), "m_call")["notes"],
        notes
    );
}

#[test]
fn toggle_answers_404_or_400_for_what_it_cannot_find() {
    let server = Server::start();
    server.post_template(small_template("tpl"));
    server.post_template(flat_template("other", 1, 0));
    server.put_client("acme", "Acme");
    server.put_client("bare", "Bare");
    assert_ok(&assign(&server, "acme", json!({"template_id": "tpl"})));

    toggle(&server, "nobody", "m_call", json!({"completed": true})).assert_error(404, "not_found");
    let error = toggle(&server, "bare", "m_call", json!({"completed": true}))
        .assert_error(400, "bad_request");
    assert!(
        error["error"].as_str().unwrap().contains("template"),
        "{error}"
    );
    toggle(&server, "acme", "m_nothing", json!({"completed": true})).assert_error(404, "not_found");
    // A milestone of another template is not in this one.
    toggle(&server, "acme", "m1", json!({"completed": true})).assert_error(404, "not_found");

    assert_eq!(onboarding(&server, "acme")["completed_milestones"], 0);
    assert_eq!(activity(&server, "acme").len(), 1);
    assert!(activity(&server, "bare").is_empty());
}

#[test]
fn completing_records_the_token_user_source_and_notes() {
    let server = Server::start();
    let out = server.cli(&["users", "add", "--id", "ana", "--name", "Ana Lima"]);
    assert!(out.status.success());
    let ana = server.create_token("ana", "clients:update");
    server.post_template(small_template("tpl"));
    server.put_client("acme", "Acme");
    assert_ok(&assign(&server, "acme", json!({"template_id": "tpl"})));

    let reply = server.request(
        "PATCH",
        "/api/clients/acme/onboarding/milestones/m_call",
        Some(&ana),
        Some(r#"{"completed": true, "notes": "Call went well"}"#),
        Some("application/json"),
    );
    assert_ok(&reply);

    let after = onboarding(&server, "acme");
    let call = milestone(&after, "m_call");
    assert_milestone(
        &after,
        &json!({"id": "m_call", "completed": true, "completed_by": "ana",
                "completed_by_name": "Ana Lima", "source": "manual",
                "notes": "Call went well"}),
    );
    let completed_at = call["completed_at"].as_str().unwrap();
    assert!(
        completed_at.ends_with('Z') && completed_at.contains('T'),
        "{completed_at}"
    );
    assert_eq!(after["completed_milestones"], 1);

    let entry = &activity(&server, "acme")[0];
    assert_eq!(entry["kind"], "completed");
    assert_eq!(entry["milestone_id"], "m_call");
    assert_eq!(entry["milestone_name"], "Kickoff call");
    assert_eq!(entry["user_id"], "ana");
    assert_eq!(entry["user_name"], "Ana Lima");
    assert_eq!(entry["source"], "manual");
    assert_eq!(entry["notes"], "Call went well");
    assert_eq!(entry["at"], completed_at);
}

#[test]
fn completing_a_completed_milestone_changes_only_notes_when_given() {
    let server = Server::start();
    server.post_template(small_template("tpl"));
    server.put_client("acme", "Acme");
    assert_ok(&assign(&server, "acme", json!({"template_id": "tpl"})));
    assert_ok(&toggle(
        &server,
        "acme",
        "m_call",
        json!({"completed": true, "notes": "one"}),
    ));
    let first = milestone(&onboarding(&server, "acme"), "m_call").clone();
    let entries = activity(&server, "acme").len();

    // Without notes: nothing changes and nothing is recorded.
    assert_ok(&toggle(
        &server,
        "acme",
        "m_call",
        json!({"completed": true}),
    ));
    assert_eq!(milestone(&onboarding(&server, "acme"), "m_call"), &first);
    assert_eq!(activity(&server, "acme").len(), entries);

    // The same notes again: no trace either.
    assert_ok(&toggle(
        &server,
        "acme",
        "m_call",
        json!({"completed": true, "notes": "one"}),
    ));
    assert_eq!(activity(&server, "acme").len(), entries);

    // New notes: only the notes change.
    assert_ok(&toggle(
        &server,
        "acme",
        "m_call",
        json!({"completed": true, "notes": "two"}),
    ));
    let second = milestone(&onboarding(&server, "acme"), "m_call").clone();
    let mut expected = first.clone();
    expected["notes"] = json!("two");
    assert_eq!(second, expected);
    let history = activity(&server, "acme");
    assert_eq!(history.len(), entries + 1);
    assert_eq!(history[0]["kind"], "notes_changed");
    assert_eq!(history[0]["notes"], "two");

    // Notes given as null clear them, completion kept.
    assert_ok(&toggle(
        &server,
        "acme",
        "m_call",
        json!({"completed": true, "notes": null}),
    ));
    let third = milestone(&onboarding(&server, "acme"), "m_call").clone();
    assert_eq!(third["notes"], Value::Null);
    assert_eq!(third["completed_at"], first["completed_at"]);
}

#[test]
fn uncompleting_clears_every_completion_field() {
    let server = Server::start();
    server.post_template(small_template("tpl"));
    server.put_client("acme", "Acme");
    assert_ok(&assign(&server, "acme", json!({"template_id": "tpl"})));
    assert_ok(&toggle(
        &server,
        "acme",
        "m_call",
        json!({"completed": true, "notes": "x"}),
    ));
    assert_ok(&toggle(
        &server,
        "acme",
        "m_live",
        json!({"completed": true, "notes": "y"}),
    ));

    // Without notes: the notes go too.
    assert_ok(&toggle(
        &server,
        "acme",
        "m_call",
        json!({"completed": false}),
    ));
    // With notes: they are kept as given.
    assert_ok(&toggle(
        &server,
        "acme",
        "m_live",
        json!({"completed": false, "notes": "why"}),
    ));

    let after = onboarding(&server, "acme");
    let mut call = incomplete("m_call");
    call["notes"] = Value::Null;
    assert_milestone(&after, &call);
    let mut live = incomplete("m_live");
    live["notes"] = json!("why");
    assert_milestone(&after, &live);
    assert_eq!(after["completed_milestones"], 0);
    assert_eq!(after["current_stage_type"], "kickoff");
    let summary = server.get_json("/api/clients/acme");
    assert_eq!(summary["completed_count"], 0);
    assert_eq!(summary["last_activity"], Value::Null);

    let history = activity(&server, "acme");
    assert_eq!(history[0]["kind"], "uncompleted");
    assert_eq!(history[0]["milestone_id"], "m_live");
    assert_eq!(history[0]["notes"], "why");
    assert_eq!(history[1]["kind"], "uncompleted");
    assert_eq!(history[1]["notes"], Value::Null);
}

#[test]
fn a_toggle_that_changes_nothing_leaves_no_trace() {
    let server = Server::start();
    server.post_template(small_template("tpl"));
    server.put_client("acme", "Acme");
    assert_ok(&assign(&server, "acme", json!({"template_id": "tpl"})));
    let before = onboarding(&server, "acme");
    let summary_before = server.get_json("/api/clients/acme");

    assert_ok(&toggle(
        &server,
        "acme",
        "m_call",
        json!({"completed": false}),
    ));
    assert_ok(&toggle(
        &server,
        "acme",
        "m_call",
        json!({"completed": false, "notes": null}),
    ));

    assert_eq!(onboarding(&server, "acme"), before);
    assert_eq!(server.get_json("/api/clients/acme"), summary_before);
    let history = activity(&server, "acme");
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0]["kind"], "assigned");
}

#[test]
fn percent_encoded_ids_in_paths_are_decoded() {
    let server = Server::start();
    server.post_template(json!({"id": "tpl/1", "name": "Slashed", "stages": [
        {"id": "s", "type": "work", "name": "Work", "milestones": [
            {"id": "m/1", "name": "Slash"}, {"id": "m 2", "name": "Space"},
            {"id": "🚀", "name": "Rocket"}]}
    ]}));

    for (encoded, id) in [
        ("acme%20ltd", "acme ltd"),
        ("a%2Fb", "a/b"),
        ("%F0%9F%9A%80", "🚀"),
    ] {
        server.put_client(encoded, "Encoded");
        let summary = server.get_json(&format!("/api/clients/{encoded}"));
        assert_eq!(summary["id"], id);

        assert_ok(&assign(&server, encoded, json!({"template_id": "tpl/1"})));
        for milestone_path in ["m%2F1", "m%202", "%F0%9F%9A%80"] {
            assert_ok(&toggle(
                &server,
                encoded,
                milestone_path,
                json!({"completed": true}),
            ));
        }

        let after = onboarding(&server, encoded);
        assert_eq!(after["template"]["id"], "tpl/1");
        assert_eq!(after["completed_milestones"], 3, "{after}");
        assert_eq!(milestone(&after, "m/1")["completed"], true);
        assert_eq!(milestone(&after, "🚀")["completed"], true);
        assert_eq!(activity(&server, encoded).len(), 4);
    }

    // The raw (undecoded) id is another client.
    server
        .call("GET", "/api/clients/acme%2520ltd/onboarding", None)
        .assert_error(404, "not_found");
}

#[test]
fn reassigning_a_deactivated_template_is_404_and_keeps_progress() {
    let server = Server::start();
    server.post_template(small_template("tpl"));
    server.put_client("acme", "Acme");
    assert_ok(&assign(&server, "acme", json!({"template_id": "tpl"})));
    assert_ok(&toggle(
        &server,
        "acme",
        "m_call",
        json!({"completed": true}),
    ));
    let reply = server.call(
        "PATCH",
        "/api/onboarding/templates/tpl",
        Some(json!({"active": false})),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let before = onboarding(&server, "acme");
    assert_eq!(before["template"]["active"], false);

    assign(&server, "acme", json!({"template_id": "tpl"})).assert_error(404, "not_found");

    assert_eq!(onboarding(&server, "acme"), before);
    assert_eq!(activity(&server, "acme").len(), 2);
}

#[test]
fn notes_kept_on_an_incomplete_milestone_survive_completion_without_notes() {
    let server = Server::start();
    server.post_template(small_template("tpl"));
    server.put_client("acme", "Acme");
    assert_ok(&assign(&server, "acme", json!({"template_id": "tpl"})));
    assert_ok(&toggle(
        &server,
        "acme",
        "m_live",
        json!({"completed": false, "notes": "wait"}),
    ));
    let waiting = onboarding(&server, "acme");
    let mut expected = incomplete("m_live");
    expected["notes"] = json!("wait");
    assert_milestone(&waiting, &expected);
    assert_eq!(activity(&server, "acme")[0]["kind"], "notes_changed");

    assert_ok(&toggle(
        &server,
        "acme",
        "m_live",
        json!({"completed": true}),
    ));

    let done = onboarding(&server, "acme");
    assert_milestone(
        &done,
        &json!({"id": "m_live", "completed": true, "source": "manual", "notes": "wait"}),
    );
}

// Recent decisions: `null` where it means nothing, HEAD, trailing slashes.

#[test]
fn force_null_on_assign_is_refused_and_changes_nothing() {
    let server = Server::start();
    server.post_template(small_template("tpl_a"));
    server.post_template(small_template("tpl_b"));
    server.put_client("fresh", "Fresh");
    server.put_client("taken", "Taken");
    assert_ok(&assign(&server, "taken", json!({"template_id": "tpl_a"})));
    let fresh_before = onboarding(&server, "fresh");
    let taken_before = onboarding(&server, "taken");
    let history_before = activity(&server, "taken");

    for (client, template) in [("fresh", "tpl_a"), ("taken", "tpl_b"), ("taken", "tpl_a")] {
        let body = json!({"template_id": template, "force": null});
        let reply = assign(&server, client, body);
        let error = reply.assert_error(400, "bad_request");
        assert!(
            error["error"].as_str().unwrap().starts_with("force"),
            "{client} {template}: {error}"
        );
        assert!(error.get("requires_confirmation").is_none(), "{error}");
    }

    assert_eq!(onboarding(&server, "fresh"), fresh_before);
    assert_eq!(fresh_before["template"], Value::Null);
    assert_eq!(onboarding(&server, "taken"), taken_before);
    assert_eq!(taken_before["template"]["id"], "tpl_a");
    assert!(activity(&server, "fresh").is_empty());
    assert_eq!(activity(&server, "taken"), history_before);
}

#[test]
fn patching_a_template_with_null_active_or_name_is_refused() {
    let server = Server::start();
    server.post_template(small_template("tpl"));
    let before = server.get_json("/api/onboarding/templates/tpl");

    for (body, field) in [
        (json!({"active": null}), "active"),
        (json!({"name": null}), "name"),
        (json!({"name": null, "active": false}), "name"),
        (json!({"active": null, "name": "Renamed"}), "active"),
    ] {
        let reply = server.call("PATCH", "/api/onboarding/templates/tpl", Some(body.clone()));
        let error = reply.assert_error(400, "bad_request");
        assert!(
            error["error"].as_str().unwrap().starts_with(field),
            "{body}: {error}"
        );
    }

    assert_eq!(server.get_json("/api/onboarding/templates/tpl"), before);
    assert_eq!(before["name"], "Standard");
    assert_eq!(before["active"], true);
}

#[test]
fn head_answers_wherever_get_does_without_a_body() {
    let server = Server::start();
    server.post_template(small_template("tpl"));
    server.put_client("acme", "Acme");
    assert_ok(&assign(&server, "acme", json!({"template_id": "tpl"})));

    for path in [
        "/api/clients/acme/onboarding",
        "/api/clients/acme/onboarding/activity",
        "/api/clients/acme",
        "/api/clients",
        "/api/clients/onboarding/stuck",
        "/api/onboarding/templates",
        "/api/onboarding/templates/tpl",
    ] {
        let get = server.call("GET", path, None);
        assert_eq!(get.status, 200, "GET {path}: {}", get.body);
        assert!(!get.body.is_empty());

        let head = server.call("HEAD", path, None);
        assert_eq!(head.status, 200, "HEAD {path}");
        assert_eq!(head.body, "", "HEAD {path}");
        assert_eq!(
            head.header("content-type"),
            get.header("content-type"),
            "{path}"
        );

        let anonymous = server.request("HEAD", path, None, None, None);
        assert_eq!(anonymous.status, 401, "HEAD {path} without a token");
        assert_eq!(anonymous.body, "");
        let bad = server.request("HEAD", path, Some("onb_nope"), None, None);
        assert_eq!(bad.status, 401, "HEAD {path} with an unknown token");
    }

    for path in ["/healthz", "/api/openapi.json"] {
        let head = server.request("HEAD", path, None, None, None);
        assert_eq!(head.status, 200, "HEAD {path}");
        assert_eq!(head.body, "");
    }
    let missing = server.call("HEAD", "/api/clients/nobody/onboarding", None);
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body, "");

    // HEAD changed nothing: the onboarding and its history are as before.
    assert_eq!(activity(&server, "acme").len(), 1);
    assert_eq!(onboarding(&server, "acme")["template"]["id"], "tpl");
}

#[test]
fn a_trailing_slash_reads_the_same_resource() {
    let server = Server::start();
    server.post_template(small_template("tpl"));
    server.put_client("acme", "Acme");
    server.put_client("beta", "Beta");
    assert_ok(&assign(&server, "acme", json!({"template_id": "tpl"})));

    for path in [
        "/api/clients/acme",
        "/api/clients/acme/onboarding",
        "/api/clients/acme/onboarding/activity",
        "/api/clients/beta",
        "/api/onboarding/templates/tpl",
    ] {
        let plain = server.get_json(path);
        let slashed = server.get_json(&format!("{path}/"));
        assert_eq!(slashed, plain, "{path}/");
    }
    assert_eq!(server.get_json("/api/clients/acme/")["name"], "Acme");
    assert_eq!(server.get_json("/api/clients/beta/")["name"], "Beta");

    // A write through a trailing slash reaches the same milestone.
    assert_ok(&toggle(
        &server,
        "acme",
        "m_call/",
        json!({"completed": true}),
    ));
    assert_eq!(
        milestone(&onboarding(&server, "acme"), "m_call")["completed"],
        true
    );
    server
        .call("GET", "/api/clients/nobody/", None)
        .assert_error(404, "not_found");
}
