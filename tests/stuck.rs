//! The stuck list of SPEC §4.4 end to end. Backdated history is written
//! through the storage layer into the running server's database (WAL lets
//! both use it), then read back over HTTP.

mod common;

use common::{small_template, Server};
use onboarding::auth::{Permission, Principal};
use onboarding::db::Db;
use onboarding::store::progress::{self, Toggle};
use onboarding::timestamp::Timestamp;
use serde_json::{json, Value};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// The harness's admin user, acting through the storage layer.
fn admin() -> Principal {
    Principal {
        user_id: "admin".into(),
        user_name: "Admin".into(),
        permissions: vec![Permission::All],
    }
}

/// `days` days and `minutes` minutes before now (negative minutes are later).
fn ago(days: i64, minutes: i64) -> Timestamp {
    Timestamp::from_millis(Timestamp::now().millis() - days * DAY_MS - minutes * MINUTE_MS)
}

/// A server with the small template `tpl` (three milestones: m_contract,
/// m_call, m_live) and a template without milestones, `hollow`.
fn start(config: &str) -> (Server, Db) {
    let server = Server::start_with_config(config);
    server.post_template(small_template("tpl"));
    server.post_template(json!({"id": "hollow", "name": "Hollow", "stages": [
        {"id": "s", "type": "kickoff", "name": "Kickoff", "milestones": []}
    ]}));
    let db = server.open_db();
    (server, db)
}

/// Creates a client over HTTP and assigns `template` to it at `at`.
fn client_assigned(server: &Server, db: &Db, id: &str, name: &str, template: &str, at: Timestamp) {
    server.put_client(id, name);
    db.write_now(|tx| progress::assign(tx, id, template, false, &admin(), at))
        .expect("backdated assignment");
}

fn toggle_at(db: &Db, client: &str, milestone: &str, completed: bool, at: Timestamp) {
    let toggle = Toggle {
        completed,
        notes: None,
    };
    let changed = db
        .write_now(|tx| progress::toggle_milestone(tx, client, milestone, toggle, &admin(), at))
        .expect("backdated toggle");
    assert!(changed);
}

fn stuck(server: &Server, query: &str) -> Vec<Value> {
    let answer = server.get_json(&format!("/api/clients/onboarding/stuck{query}"));
    assert_eq!(answer.as_object().unwrap().len(), 1, "{answer}");
    answer["clients"].as_array().expect("clients").clone()
}

fn ids(clients: &[Value]) -> Vec<&str> {
    clients.iter().map(|c| c["id"].as_str().unwrap()).collect()
}

#[test]
fn stuck_starts_at_exactly_the_configured_number_of_days() {
    let (server, db) = start("stuck_after_days = 14\n");
    client_assigned(&server, &db, "over", "Over", "tpl", ago(14, 1));
    client_assigned(&server, &db, "under", "Under", "tpl", ago(14, -1));
    // The same edges reached by a completion instead of the assignment.
    client_assigned(&server, &db, "done_over", "Done over", "tpl", ago(40, 0));
    toggle_at(&db, "done_over", "m_call", true, ago(14, 1));
    client_assigned(&server, &db, "done_under", "Done under", "tpl", ago(40, 0));
    toggle_at(&db, "done_under", "m_call", true, ago(14, -1));

    let clients = stuck(&server, "");

    assert_eq!(ids(&clients), ["over", "done_over"]);
    assert_eq!(clients[1]["days_since_activity"], 14);
}

#[test]
fn the_configured_days_are_read() {
    let (server, db) = start("stuck_after_days = 7\n");
    client_assigned(&server, &db, "eight", "Eight", "tpl", ago(8, 0));
    client_assigned(&server, &db, "six", "Six", "tpl", ago(6, 0));

    assert_eq!(ids(&stuck(&server, "")), ["eight"]);
}

#[test]
fn clients_never_completed_are_stuck_by_their_assignment_time() {
    let (server, db) = start("");
    client_assigned(&server, &db, "acme", "Acme Ltd", "tpl", ago(20, 0));

    let clients = stuck(&server, "");

    assert_eq!(
        clients,
        [json!({
            "id": "acme", "name": "Acme Ltd", "logo_url": null,
            "current_stage_type": "kickoff", "completed_count": 0, "total_count": 3,
            "last_activity": null, "days_since_activity": null
        })]
    );
}

#[test]
fn last_activity_is_the_latest_completion_in_whole_days() {
    let (server, db) = start("");
    let first = ago(30, 0);
    let latest = Timestamp::from_millis(ago(20, 0).millis() - 23 * HOUR_MS);
    client_assigned(&server, &db, "acme", "Acme", "tpl", ago(40, 0));
    toggle_at(&db, "acme", "m_live", true, latest);
    toggle_at(&db, "acme", "m_call", true, first);

    let clients = stuck(&server, "");

    assert_eq!(ids(&clients), ["acme"]);
    let acme = &clients[0];
    assert_eq!(acme["last_activity"], latest.to_string());
    assert_eq!(acme["days_since_activity"], 20);
    assert_eq!(acme["completed_count"], 2);
    assert_eq!(acme["total_count"], 3);
    assert_eq!(acme["current_stage_type"], "kickoff");
}

#[test]
fn activity_time_not_completion_time_decides() {
    let (server, db) = start("");
    // Completed long ago, then un-completed recently: not stuck.
    client_assigned(&server, &db, "revived", "Revived", "tpl", ago(60, 0));
    toggle_at(&db, "revived", "m_call", true, ago(50, 0));
    toggle_at(&db, "revived", "m_call", false, ago(2, 0));
    // Completed, then un-completed long ago: stuck, with no completion left.
    client_assigned(&server, &db, "undone", "Undone", "tpl", ago(60, 0));
    toggle_at(&db, "undone", "m_call", true, ago(50, 0));
    toggle_at(&db, "undone", "m_call", false, ago(30, 0));
    // Activity today over HTTP rescues an old assignment.
    client_assigned(&server, &db, "busy", "Busy", "tpl", ago(60, 0));
    let reply = server.call(
        "PATCH",
        "/api/clients/busy/onboarding/milestones/m_call",
        Some(json!({"completed": true})),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);

    let clients = stuck(&server, "");

    assert_eq!(ids(&clients), ["undone"]);
    assert_eq!(clients[0]["last_activity"], Value::Null);
    assert_eq!(clients[0]["days_since_activity"], Value::Null);
}

#[test]
fn finished_or_empty_onboardings_are_never_stuck() {
    let (server, db) = start("");
    client_assigned(&server, &db, "done", "Done", "tpl", ago(90, 0));
    for milestone in ["m_contract", "m_call", "m_live"] {
        toggle_at(&db, "done", milestone, true, ago(80, 0));
    }
    client_assigned(&server, &db, "hollow", "Hollow", "hollow", ago(90, 0));
    server.put_client("plain", "No template");
    client_assigned(&server, &db, "stuck", "Stuck", "tpl", ago(90, 0));

    assert_eq!(ids(&stuck(&server, "")), ["stuck"]);
    let done = server.get_json("/api/clients/done");
    assert_eq!(done["completion_percentage"], 100);
}

#[test]
fn the_longest_stalled_come_first_then_by_name_then_id() {
    let (server, db) = start("");
    let same = ago(25, 0);
    client_assigned(&server, &db, "recent", "Aardvark", "tpl", ago(20, 0));
    client_assigned(&server, &db, "c2", "Beta", "tpl", same);
    client_assigned(&server, &db, "c1", "Beta", "tpl", same);
    client_assigned(&server, &db, "c3", "Alpha", "tpl", same);
    client_assigned(&server, &db, "oldest", "Zulu", "tpl", ago(30, 0));
    // Oldest completion but recent activity (a later change of notes).
    client_assigned(&server, &db, "noted", "Noted", "tpl", ago(50, 0));
    toggle_at(&db, "noted", "m_call", true, ago(45, 0));
    let notes = Toggle {
        completed: true,
        notes: Some(Some("chased".into())),
    };
    db.write_now(|tx| {
        progress::toggle_milestone(tx, "noted", "m_call", notes, &admin(), ago(16, 0))
    })
    .unwrap();

    let clients = stuck(&server, "?limit=50");

    assert_eq!(
        ids(&clients),
        ["oldest", "c3", "c1", "c2", "recent", "noted"]
    );
    assert_eq!(clients[5]["days_since_activity"], 45);
}

#[test]
fn the_default_limit_is_five() {
    let (server, db) = start("");
    for day in 0..7 {
        let id = format!("c{day}");
        client_assigned(&server, &db, &id, &id, "tpl", ago(30 - day, 0));
    }

    assert_eq!(ids(&stuck(&server, "")), ["c0", "c1", "c2", "c3", "c4"]);
    assert_eq!(stuck(&server, "?limit=7").len(), 7);
}

#[test]
fn the_limit_comes_from_settings_or_the_query() {
    let (server, db) = start("stuck_limit = 2\n");
    for day in 0..4 {
        let id = format!("c{day}");
        client_assigned(&server, &db, &id, &id, "tpl", ago(30 - day, 0));
    }

    assert_eq!(ids(&stuck(&server, "")), ["c0", "c1"]);
    assert_eq!(ids(&stuck(&server, "?limit=1")), ["c0"]);
    assert_eq!(ids(&stuck(&server, "?limit=3")), ["c0", "c1", "c2"]);
    assert_eq!(stuck(&server, "?limit=50").len(), 4);

    for query in [
        "limit=0",
        "limit=51",
        "limit=-1",
        "limit=abc",
        "limit=",
        "limit=2.5",
    ] {
        let reply = server.call(
            "GET",
            &format!("/api/clients/onboarding/stuck?{query}"),
            None,
        );
        let error = reply.assert_error(400, "bad_request");
        assert!(
            error["error"].as_str().unwrap().starts_with("limit"),
            "{query}: {error}"
        );
    }
}
