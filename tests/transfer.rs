//! Import, export and backup through the command line (SPEC §6–7), checked
//! against what the running server answers and what the database holds.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};

use common::{small_template, Server, BIN};
use onboarding::timestamp::Timestamp;
use serde_json::{json, Value};

/// Runs the binary on the database at `db` with an empty config file.
fn cli_on(db: &Path, args: &[&str]) -> Output {
    let config = db.with_extension("toml");
    if !config.exists() {
        std::fs::write(&config, "").unwrap();
    }
    Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("--db")
        .arg(db)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs")
}

fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Exports the database at `db` through the CLI and returns the document.
fn export_db(db: &Path) -> String {
    let path = db.with_extension("export.json");
    let out = cli_on(db, &["export", path.to_str().unwrap()]);
    assert_success(&out, "export");
    std::fs::read_to_string(path).unwrap()
}

fn export(server: &Server) -> String {
    let path = server.dir.path().join("export.json");
    let out = server.cli(&["export", path.to_str().unwrap()]);
    assert_success(&out, "export");
    std::fs::read_to_string(path).unwrap()
}

/// Writes `document` beside the server's database and imports it.
fn import(server: &Server, document: &Value) -> Output {
    let path = server.dir.path().join("import.json");
    std::fs::write(&path, serde_json::to_string_pretty(document).unwrap()).unwrap();
    server.cli(&["import", path.to_str().unwrap()])
}

fn assign(server: &Server, client: &str, template: &str, force: bool) {
    let reply = server.call(
        "POST",
        &format!("/api/clients/{client}/onboarding/assign"),
        Some(json!({ "template_id": template, "force": force })),
    );
    assert_eq!(reply.status, 200, "assign {client}: {}", reply.body);
}

fn toggle_as(server: &Server, token: &str, client: &str, milestone: &str, body: Value) {
    let body = body.to_string();
    let reply = server.request(
        "PATCH",
        &format!("/api/clients/{client}/onboarding/milestones/{milestone}"),
        Some(token),
        Some(&body),
        Some("application/json"),
    );
    assert_eq!(
        reply.status, 200,
        "toggle {client} {milestone}: {}",
        reply.body
    );
}

fn record_fact(server: &Server, client: &str, fact: Value) {
    let reply = server.call("POST", &format!("/api/clients/{client}/events"), Some(fact));
    assert!(matches!(reply.status, 200 | 201), "{}", reply.body);
}

/// Fills a server with every kind of row the export holds.
fn populate(server: &Server) {
    let out = server.cli(&["users", "add", "--id", "u_ana", "--name", "Ana Lima"]);
    assert_success(&out, "users add");
    let ana = server.create_token("u_ana", "clients:update,clients:view");
    let admin = server.token.clone();

    let mut standard = small_template("tpl_std");
    standard["description"] = json!("Our usual plan");
    standard["stages"][0]["milestones"][1]["description"] = json!("Thirty minutes, video");
    server.post_template(standard);
    let mut old = small_template("tpl_old");
    old["name"] = json!("Old plan");
    server.post_template(old);
    server.post_template(json!({"id": "tpl_empty", "name": "Empty", "stages": []}));

    server.put_client("none", "No Template Inc");
    let reply = server.call(
        "PUT",
        "/api/clients/acme",
        Some(json!({"name": "Acme Ltd", "logo_url": "https://acme.example/logo.png"})),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    server.put_client("beta", "Beta GmbH");
    server.put_client("gamma", "Gamma & Sons");
    server.put_client("delta", "Delta");

    // acme: auto, manual by Ana with notes, incomplete with notes.
    assign(server, "acme", "tpl_std", false);
    record_fact(
        server,
        "acme",
        json!({"type": "deal_won", "reference": "D-1042",
               "occurred_at": "2026-10-02T11:58:00+02:00"}),
    );
    record_fact(server, "acme", json!({"type": "invoice_created"}));
    toggle_as(
        server,
        &ana,
        "acme",
        "m_call",
        json!({"completed": true, "notes": "Went well"}),
    );
    toggle_as(server, &admin, "acme", "m_live", json!({"completed": true}));
    toggle_as(
        server,
        &admin,
        "acme",
        "m_live",
        json!({"completed": false, "notes": "DNS"}),
    );

    // beta: on a template deactivated later, facts without reference or time.
    assign(server, "beta", "tpl_old", false);
    record_fact(server, "beta", json!({"type": "project_created"}));
    record_fact(server, "beta", json!({"type": "project_created"}));
    toggle_as(server, &admin, "beta", "m_call", json!({"completed": true}));
    let reply = server.call(
        "PATCH",
        "/api/onboarding/templates/tpl_old",
        Some(json!({"active": false})),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);

    // gamma: switched templates; its history names the old milestones.
    assign(server, "gamma", "tpl_std", false);
    toggle_as(server, &ana, "gamma", "m_call", json!({"completed": true}));
    assign(server, "gamma", "tpl_empty", true);

    // delta: every milestone done, then the template edited.
    assign(server, "delta", "tpl_std", false);
    for milestone in ["m_contract", "m_call", "m_live"] {
        toggle_as(
            server,
            &admin,
            "delta",
            milestone,
            json!({"completed": true}),
        );
    }
    let mut edited = small_template("tpl_std");
    edited["description"] = json!("Our usual plan");
    edited["stages"][0]["milestones"][1]["name"] = json!("Kickoff call (video)");
    let reply = server.call("PUT", "/api/onboarding/templates/tpl_std", Some(edited));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn export_then_import_into_an_empty_database_gives_the_same_document() {
    let source = Server::start();
    populate(&source);
    let original = export(&source);

    // The export holds every kind of row.
    let doc: Value = serde_json::from_str(&original).unwrap();
    assert_eq!(doc["version"], 1);
    assert_eq!(
        doc["users"],
        json!([{"id": "admin", "name": "Admin"}, {"id": "u_ana", "name": "Ana Lima"}])
    );
    let templates: Vec<(&str, bool)> = doc["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap(), t["active"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        templates,
        [("tpl_empty", true), ("tpl_old", false), ("tpl_std", true)]
    );
    let clients = doc["clients"].as_array().unwrap();
    let client = |id: &str| clients.iter().find(|c| c["id"] == id).unwrap().clone();
    assert_eq!(client("none")["onboarding"], Value::Null);
    let acme = client("acme");
    assert_eq!(acme["logo_url"], "https://acme.example/logo.png");
    let states = &acme["onboarding"]["milestones"];
    assert_eq!(states[0]["id"], "m_contract");
    assert_eq!(states[0]["source"], "auto");
    assert_eq!(states[0]["completed_by"], Value::Null);
    assert_eq!(states[1]["completed_by"], "u_ana");
    assert_eq!(states[1]["notes"], "Went well");
    assert_eq!(
        states[2],
        json!({"id": "m_live", "completed_at": null, "completed_by": null, "source": null,
               "notes": "DNS"})
    );
    assert_eq!(
        acme["events"],
        json!([
            {"type": "deal_won", "reference": "D-1042", "occurred_at": "2026-10-02T09:58:00Z"},
            {"type": "invoice_created", "reference": null, "occurred_at": null}
        ])
    );
    assert_eq!(client("beta")["events"].as_array().unwrap().len(), 2);
    let gamma_history = client("gamma")["activity"].clone();
    assert_eq!(gamma_history[2]["kind"], "reassigned");
    assert_eq!(
        client("delta")["activity"][2]["milestone_name"],
        "Kickoff call"
    );

    // Into a fresh file through the CLI.
    let scratch = tempfile::tempdir().unwrap();
    let fresh = scratch.path().join("fresh.db");
    let document = scratch.path().join("document.json");
    std::fs::write(&document, &original).unwrap();
    let out = cli_on(&fresh, &["import", document.to_str().unwrap()]);
    assert_success(&out, "import");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "imported 2 users, 3 templates, 5 clients"
    );
    let again = export_db(&fresh);
    assert_eq!(again, original, "byte for byte");

    // Into a running server's database, which sees it at once.
    let target = Server::start();
    assert_eq!(target.get_json("/api/clients")["clients"], json!([]));
    let out = target.cli(&["import", document.to_str().unwrap()]);
    assert_success(&out, "import into a running server");
    assert_eq!(export(&target), original);
    for path in [
        "/api/clients",
        "/api/clients/acme/onboarding",
        "/api/clients/beta/onboarding",
        "/api/clients/gamma/onboarding/activity",
        "/api/onboarding/templates/tpl_std",
    ] {
        assert_eq!(target.get_json(path), source.get_json(path), "{path}");
    }
    // The server goes on from the imported history.
    let reply = target.call(
        "PATCH",
        "/api/clients/acme/onboarding/milestones/m_live",
        Some(json!({"completed": true})),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let history = target.get_json("/api/clients/acme/onboarding/activity");
    let newest: i64 = history["entries"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let imported_max = doc["clients"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["activity"].as_array().unwrap().iter())
        .map(|e| e["id"].as_str().unwrap().parse::<i64>().unwrap())
        .max()
        .unwrap();
    assert!(newest > imported_max);

    // Importing the same document again changes nothing.
    let out = cli_on(&fresh, &["import", document.to_str().unwrap()]);
    assert_success(&out, "second import");
    assert_eq!(export_db(&fresh), original);
}

/// A document written by hand, as a migration from another tool would be:
/// no history, and times in several offsets.
fn migration_document(now: Timestamp) -> Value {
    let ago = |days: u32, minutes: i64| {
        Timestamp::from_millis(now.days_before(days).millis() - 12 * 3_600_000 + minutes * 60_000)
            .to_string()
    };
    json!({
        "version": 1,
        "users": [{"id": "u_ana", "name": "Ana"}, {"id": "u_ben", "name": "Ben"}],
        "templates": [{
            "id": "tpl_std", "name": "Standard", "description": null,
            "stages": [
                {"id": "s_kick", "type": "kickoff", "name": "Kickoff", "milestones": [
                    {"id": "ms_contract", "name": "Contract signed", "auto_complete": "deal_won"},
                    {"id": "ms_call", "name": "Kickoff call"}
                ]},
                {"id": "s_setup", "type": "setup", "name": "Setup", "milestones": [
                    {"id": "ms_access", "name": "Access granted"}
                ]}
            ]
        }],
        "clients": [
            {"id": "acme", "name": "Acme Ltd", "created_at": ago(40, 0),
             "onboarding": {"template_id": "tpl_std", "assigned_at": ago(30, 0),
                "assigned_by": "u_ana",
                "milestones": [
                    {"id": "ms_contract", "completed_at": ago(20, 0), "completed_by": null,
                     "source": "auto"},
                    {"id": "ms_access", "completed_at": null, "notes": "waiting for IT"}
                ]},
             "events": [{"type": "deal_won", "reference": "D-1", "occurred_at": ago(20, -1)}]},
            {"id": "beta", "name": "Beta", "created_at": ago(10, 0),
             "onboarding": {"template_id": "tpl_std", "assigned_at": ago(10, 0),
                "milestones": [
                    {"id": "ms_contract", "completed_at": ago(9, 0), "completed_by": "u_ben",
                     "source": "manual", "notes": "signed on paper"},
                    {"id": "ms_call", "completed_at": ago(2, 0), "completed_by": "u_ana"}
                ]},
             "events": []},
            {"id": "cold", "name": "Cold Co", "created_at": ago(60, 0),
             "onboarding": {"template_id": "tpl_std", "assigned_at": ago(50, 0),
                "assigned_by": "u_ben", "milestones": []}},
            {"id": "done", "name": "Done Inc", "created_at": ago(90, 0),
             "onboarding": {"template_id": "tpl_std", "assigned_at": ago(80, 0),
                "milestones": [
                    {"id": "ms_access", "completed_at": ago(70, 2), "completed_by": "u_ana"},
                    {"id": "ms_call", "completed_at": ago(70, 1), "completed_by": "u_ana"},
                    {"id": "ms_contract", "completed_at": ago(70, 0), "completed_by": "u_ana"}
                ]}},
            {"id": "idle", "name": "Idle", "created_at": ago(5, 0), "onboarding": null}
        ]
    })
}

#[test]
fn an_import_without_history_writes_it_from_the_assignments_and_completions() {
    let server = Server::start();
    let now = Timestamp::now();
    let document = migration_document(now);
    let at = |client: usize, path: &str| -> Value {
        let mut value = &document["clients"][client];
        for key in path.split('.') {
            value = match key.parse::<usize>() {
                Ok(i) => &value[i],
                Err(_) => &value[key],
            };
        }
        value.clone()
    };
    let out = import(&server, &document);
    assert_success(&out, "import");

    // Histories: the assignment, then completions, at their own times.
    let history = server.get_json("/api/clients/acme/onboarding/activity");
    assert_eq!(
        history["entries"],
        json!([
            {"id": history["entries"][0]["id"], "at": at(0, "onboarding.milestones.0.completed_at"),
             "kind": "completed", "template_id": "tpl_std", "milestone_id": "ms_contract",
             "milestone_name": "Contract signed", "user_id": null, "user_name": null,
             "source": "import", "notes": null},
            {"id": history["entries"][1]["id"], "at": at(0, "onboarding.assigned_at"),
             "kind": "assigned", "template_id": "tpl_std", "milestone_id": null,
             "milestone_name": null, "user_id": "u_ana", "user_name": "Ana",
             "source": "import", "notes": null}
        ])
    );
    let history = server.get_json("/api/clients/beta/onboarding/activity");
    let story: Vec<Value> = history["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            json!([
                e["kind"],
                e["milestone_id"],
                e["user_name"],
                e["source"],
                e["at"],
                e["notes"]
            ])
        })
        .collect();
    assert_eq!(
        story,
        [
            json!([
                "completed",
                "ms_call",
                "Ana",
                "import",
                at(1, "onboarding.milestones.1.completed_at"),
                null
            ]),
            json!([
                "completed",
                "ms_contract",
                "Ben",
                "import",
                at(1, "onboarding.milestones.0.completed_at"),
                "signed on paper"
            ]),
            json!([
                "assigned",
                null,
                null,
                "import",
                at(1, "onboarding.assigned_at"),
                null
            ]),
        ]
    );
    // Oldest first whatever order the document lists them in.
    let history = server.get_json("/api/clients/done/onboarding/activity");
    let order: Vec<&str> = history["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["milestone_id"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(order, ["ms_access", "ms_call", "ms_contract", "-"]);
    let idle = server.get_json("/api/clients/idle/onboarding/activity");
    assert_eq!(idle["entries"], json!([]));

    // Nothing was auto-completed: beta's deal is not recorded, acme's call
    // stays open though its notes are kept.
    let acme = server.get_json("/api/clients/acme/onboarding");
    assert_eq!(acme["current_stage_type"], "kickoff");
    assert_eq!(acme["completed_milestones"], 1);
    assert_eq!(acme["completion_percentage"], 33);
    let contract = &acme["stages"][0]["milestones"][0];
    assert_eq!(
        contract["completed_at"],
        at(0, "onboarding.milestones.0.completed_at")
    );
    assert_eq!(contract["source"], "auto");
    assert_eq!(contract["completed_by"], Value::Null);
    let access = &acme["stages"][1]["milestones"][0];
    assert_eq!(access["completed"], false);
    assert_eq!(access["notes"], "waiting for IT");
    let beta = server.get_json("/api/clients/beta/onboarding");
    assert_eq!(beta["current_stage_type"], "setup");
    assert_eq!(
        beta["stages"][0]["milestones"][0]["completed_by_name"],
        "Ben"
    );
    assert_eq!(beta["stages"][0]["milestones"][0]["source"], "manual");
    assert_eq!(beta["stages"][0]["milestones"][1]["source"], "manual");
    let done = server.get_json("/api/clients/done/onboarding");
    assert_eq!(done["completion_percentage"], 100);
    assert_eq!(done["current_stage_type"], "setup");

    // The stuck list reads the historical times: cold (50 days, nothing
    // done) before acme (20 days); beta was active 2 days ago, done is done.
    let stuck = server.get_json("/api/clients/onboarding/stuck");
    assert_eq!(
        stuck,
        json!({"clients": [
            {"id": "cold", "name": "Cold Co", "logo_url": null, "current_stage_type": "kickoff",
             "completed_count": 0, "total_count": 3, "last_activity": null,
             "days_since_activity": null},
            {"id": "acme", "name": "Acme Ltd", "logo_url": null,
             "current_stage_type": "kickoff", "completed_count": 1, "total_count": 3,
             "last_activity": at(0, "onboarding.milestones.0.completed_at"),
             "days_since_activity": 20}
        ]})
    );

    let list = server.get_json("/api/clients");
    let rows: Vec<Value> = list["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            json!([
                c["id"],
                c["created_at"],
                c["template_id"],
                c["current_stage_type"],
                c["completed_count"],
                c["total_count"],
                c["completion_percentage"],
                c["last_activity"]
            ])
        })
        .collect();
    assert_eq!(
        rows,
        [
            json!([
                "acme",
                at(0, "created_at"),
                "tpl_std",
                "kickoff",
                1,
                3,
                33,
                at(0, "onboarding.milestones.0.completed_at")
            ]),
            json!([
                "beta",
                at(1, "created_at"),
                "tpl_std",
                "setup",
                2,
                3,
                67,
                at(1, "onboarding.milestones.1.completed_at")
            ]),
            json!([
                "cold",
                at(2, "created_at"),
                "tpl_std",
                "kickoff",
                0,
                3,
                0,
                null
            ]),
            json!([
                "done",
                at(3, "created_at"),
                "tpl_std",
                "setup",
                3,
                3,
                100,
                at(3, "onboarding.milestones.0.completed_at")
            ]),
            json!(["idle", at(4, "created_at"), null, null, 0, 0, 0, null]),
        ]
    );

    // Importing it again rewrites the history rather than adding to it.
    let out = import(&server, &document);
    assert_success(&out, "second import");
    let history = server.get_json("/api/clients/beta/onboarding/activity");
    assert_eq!(history["entries"].as_array().unwrap().len(), 3);
    assert_eq!(server.get_json("/api/clients/onboarding/stuck"), stuck);

    // The export now carries the written history, and reads back the same.
    let exported: Value = serde_json::from_str(&export(&server)).unwrap();
    assert_eq!(exported["clients"][0]["activity"][0]["source"], "import");
    assert_eq!(
        exported["clients"][1]["onboarding"]["assigned_by"],
        Value::Null
    );
}

#[test]
fn an_import_replaces_a_template_without_auto_completing_anything() {
    let server = Server::start();
    server.post_template(json!({
        "id": "tpl_std", "name": "Standard",
        "stages": [{"id": "s_kick", "type": "kickoff", "name": "Kickoff", "milestones": [
            {"id": "ms_call", "name": "Kickoff call"}
        ]}]
    }));
    server.put_client("local", "Local client");
    assign(&server, "local", "tpl_std", false);
    record_fact(
        &server,
        "local",
        json!({"type": "deal_won", "reference": "D-7"}),
    );
    let history_before = server.get_json("/api/clients/local/onboarding/activity");

    let mut document = migration_document(Timestamp::now());
    document["clients"] = json!([]);
    let out = import(&server, &document);
    assert_success(&out, "import");

    // The client not in the document sees the new definition, with the new
    // milestones open and no new history.
    let onboarding = server.get_json("/api/clients/local/onboarding");
    assert_eq!(onboarding["total_milestones"], 3);
    assert_eq!(onboarding["completed_milestones"], 0);
    assert_eq!(
        onboarding["stages"][0]["milestones"][0]["id"],
        "ms_contract"
    );
    assert_eq!(onboarding["stages"][0]["milestones"][0]["completed"], false);
    assert_eq!(
        server.get_json("/api/clients/local/onboarding/activity"),
        history_before
    );
    let summary = server.get_json("/api/clients/local");
    assert_eq!(summary["total_count"], 3);
    assert_eq!(summary["current_stage_type"], "kickoff");
}

/// A valid document that would rename `acme` and add `beta`.
fn base_document() -> Value {
    json!({
        "version": 1,
        "users": [{"id": "u_ana", "name": "Ana"}],
        "templates": [small_template("tpl_std")],
        "clients": [
            {"id": "acme", "name": "Acme Renamed",
             "onboarding": {"template_id": "tpl_std", "assigned_at": "2026-10-01T09:00:00Z",
                "assigned_by": "u_ana",
                "milestones": [{"id": "m_contract", "completed_at": "2026-10-02T10:00:00Z",
                                "completed_by": "u_ana", "source": "manual"}]},
             "events": [{"type": "deal_won", "reference": "D-1"}]},
            {"id": "beta", "name": "Beta",
             "onboarding": {"template_id": "tpl_std",
                "milestones": [{"id": "m_call", "completed_at": "2026-10-03T10:00:00+01:00",
                                "completed_by": "u_ana", "notes": "ok"}]},
             "events": []}
        ]
    })
}

#[test]
fn a_faulty_document_is_refused_with_its_path_and_changes_nothing() {
    let server = Server::start();
    server.post_template(small_template("tpl_std"));
    server.put_client("acme", "Acme Ltd");
    assign(&server, "acme", "tpl_std", false);
    record_fact(&server, "acme", json!({"type": "invoice_paid"}));
    let before = export(&server);

    type Fault = (&'static str, fn(&mut Value), &'static str);
    let faults: Vec<Fault> = vec![
        (
            "unknown template",
            |d| d["clients"][1]["onboarding"]["template_id"] = json!("tpl_nope"),
            "clients[1].onboarding.template_id: ",
        ),
        (
            "milestone not in the template",
            |d| d["clients"][1]["onboarding"]["milestones"][0]["id"] = json!("m_nope"),
            "clients[1].onboarding.milestones[0].id: not a milestone of template tpl_std",
        ),
        (
            "unknown completing user",
            |d| d["clients"][1]["onboarding"]["milestones"][0]["completed_by"] = json!("u_ghost"),
            "clients[1].onboarding.milestones[0].completed_by: ",
        ),
        (
            "unknown assigning user",
            |d| d["clients"][1]["onboarding"]["assigned_by"] = json!("u_ghost"),
            "clients[1].onboarding.assigned_by: ",
        ),
        (
            "bad timestamp",
            |d| d["clients"][1]["onboarding"]["milestones"][0]["completed_at"] = json!("yesterday"),
            "clients[1].onboarding.milestones[0].completed_at: ",
        ),
        (
            "bad event timestamp",
            |d| d["clients"][0]["events"][0]["occurred_at"] = json!("2026-10-02 10:00"),
            "clients[0].events[0].occurred_at: ",
        ),
        (
            "duplicate client id",
            |d| d["clients"][1]["id"] = json!("acme"),
            "clients[1].id: ",
        ),
        (
            "wrong type",
            |d| d["clients"][1]["name"] = json!(42),
            "clients[1].name: ",
        ),
        (
            "missing name",
            |d| {
                d["clients"][1].as_object_mut().unwrap().remove("name");
            },
            "clients[1].name: ",
        ),
        ("bad version", |d| d["version"] = json!(2), "version: "),
        (
            "unknown fact type",
            |d| d["clients"][0]["events"][0]["type"] = json!("deal_lost"),
            "clients[0].events[0].type: ",
        ),
        (
            "unknown condition",
            |d| d["templates"][0]["stages"][0]["milestones"][0]["auto_complete"] = json!("x"),
            "templates[0].stages[0].milestones[0].auto_complete: ",
        ),
        (
            "duplicate milestone id",
            |d| d["templates"][0]["stages"][2]["milestones"][0]["id"] = json!("m_call"),
            "templates[0].stages[2].milestones[0].id: ",
        ),
        (
            "bad stage type",
            |d| d["templates"][0]["stages"][1]["type"] = json!("Not OK"),
            "templates[0].stages[1].type: ",
        ),
        (
            "import as a progress source",
            |d| d["clients"][1]["onboarding"]["milestones"][0]["source"] = json!("import"),
            "clients[1].onboarding.milestones[0].source: ",
        ),
        (
            "empty user name",
            |d| d["users"][0]["name"] = json!(""),
            "users[0].name: ",
        ),
        (
            "another version in another shape",
            |d| {
                d["version"] = json!(2);
                d["clients"] = json!("all of them");
            },
            "version: must be 1",
        ),
        (
            "history id used by another client",
            |d| {
                let entry = json!([{"id": "5", "at": "2026-10-01T09:00:00Z", "kind": "assigned",
                                "template_id": "tpl_std", "source": "import"}]);
                d["clients"][0]["activity"] = entry.clone();
                d["clients"][1]["activity"] = entry;
            },
            "clients[1].activity[0].id: ",
        ),
        (
            "history id not a number",
            |d| {
                d["clients"][1]["activity"] = json!([{"id": "x1", "at": "2026-10-01T09:00:00Z",
                "kind": "assigned", "source": "manual"}]);
            },
            "clients[1].activity[0].id: ",
        ),
        (
            "history kind unknown",
            |d| {
                d["clients"][1]["activity"] = json!([{"at": "2026-10-01T09:00:00Z",
                "kind": "deleted", "source": "manual"}]);
            },
            "clients[1].activity[0].kind: ",
        ),
    ];

    // The base document itself is fine (checked on a copy of the database).
    let copy = server.dir.path().join("copy.db");
    let out = server.cli(&["backup", copy.to_str().unwrap()]);
    assert_success(&out, "backup");
    let path = server.dir.path().join("base.json");
    std::fs::write(&path, base_document().to_string()).unwrap();
    assert_success(
        &cli_on(&copy, &["import", path.to_str().unwrap()]),
        "base import",
    );
    assert!(export_db(&copy).contains("Acme Renamed"));

    for (what, spoil, expected) in faults {
        let mut document = base_document();
        spoil(&mut document);
        let out = import(&server, &document);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what}: accepted");
        assert!(
            stderr.contains(expected),
            "{what}: {stderr:?} lacks {expected:?}"
        );
        assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
        assert_eq!(export(&server), before, "{what}: the database changed");
    }

    let path = server.dir.path().join("broken.json");
    std::fs::write(&path, "{\"version\": 1, \"clients\": [").unwrap();
    let out = server.cli(&["import", path.to_str().unwrap()]);
    assert!(!out.status.success());
    let out = server.cli(&["import", "/nonexistent/file.json"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/file.json"));
    assert_eq!(export(&server), before);
}

/// Checks that a database file is sound and its derived columns agree with
/// the rows they are derived from; returns the number of clients.
fn check_consistent(path: &Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(verdict, "ok");
    let violations = conn
        .prepare("PRAGMA foreign_key_check")
        .unwrap()
        .query_map([], |_| Ok(()))
        .unwrap()
        .count();
    assert_eq!(violations, 0);

    let mismatched: Vec<(String, i64, i64, i64, i64)> = conn
        .prepare(
            "SELECT c.id, c.completed_count,
                 (SELECT count(*) FROM progress p WHERE p.client_id = c.id
                      AND p.completed_at IS NOT NULL),
                 c.total_count,
                 (SELECT count(*) FROM milestones m WHERE m.template_id = c.template_id)
             FROM clients c",
        )
        .unwrap()
        .query_map([], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .filter(|(_, done, done_rows, total, milestones)| done != done_rows || total != milestones)
        .collect();
    assert_eq!(mismatched, [], "summaries that disagree with progress");
    let stale: i64 = conn
        .query_row(
            "SELECT count(*) FROM clients c WHERE c.activity_at IS NOT
                 (SELECT max(at) FROM activity a WHERE a.client_id = c.id)
             OR c.last_completed_at IS NOT
                 (SELECT max(completed_at) FROM progress p WHERE p.client_id = c.id)",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(stale, 0, "activity times that disagree with the history");
    let progress_of_other_templates: i64 = conn
        .query_row(
            "SELECT count(*) FROM progress p JOIN clients c ON c.id = p.client_id
             WHERE c.template_id IS NOT p.template_id",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(progress_of_other_templates, 0);
    conn.query_row("SELECT count(*) FROM clients", [], |row| row.get(0))
        .unwrap()
}

/// Checks that each exported milestone state agrees with the latest entry
/// of the exported history that completed or un-completed it.
fn check_export_consistent(document: &Value) {
    for client in document["clients"].as_array().unwrap() {
        let states = client["onboarding"]["milestones"].as_array().unwrap();
        for milestone in ["m_contract", "m_call", "m_live"] {
            let state = states.iter().find(|m| m["id"] == milestone);
            let completed_at = state.map_or(Value::Null, |m| m["completed_at"].clone());
            let last = client["activity"]
                .as_array()
                .unwrap()
                .iter()
                .rev()
                .find(|e| {
                    e["milestone_id"] == milestone
                        && (e["kind"] == "completed" || e["kind"] == "uncompleted")
                });
            let expected = match last {
                Some(entry) if entry["kind"] == "completed" => entry["at"].clone(),
                _ => Value::Null,
            };
            assert_eq!(completed_at, expected, "{} {milestone}", client["id"]);
        }
    }
}

#[test]
fn a_backup_or_export_taken_during_writes_is_a_consistent_copy() {
    let server = Server::start();
    server.post_template(small_template("tpl_std"));
    let clients: Vec<String> = (0..6).map(|i| format!("c{i}")).collect();
    for id in &clients {
        server.put_client(id, &format!("Client {id}"));
        assign(&server, id, "tpl_std", false);
    }
    let milestones = ["m_contract", "m_call", "m_live"];
    let writing = AtomicBool::new(true);

    let backups: Vec<PathBuf> = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            for i in 0..240usize {
                let client = &clients[i % clients.len()];
                let milestone = milestones[i % milestones.len()];
                let reply = server.call(
                    "PATCH",
                    &format!("/api/clients/{client}/onboarding/milestones/{milestone}"),
                    Some(json!({"completed": (i / 7) % 2 == 0, "notes": format!("round {i}")})),
                );
                assert_eq!(reply.status, 200, "{}", reply.body);
                if i % 20 == 0 {
                    // Adds or drops a milestone for every client at once.
                    let mut template = small_template("tpl_std");
                    if (i / 20) % 2 == 0 {
                        template["stages"][1]["milestones"] =
                            json!([{"id": "m_extra", "name": "Extra",
                                    "auto_complete": "deal_won"}]);
                    }
                    let path = "/api/onboarding/templates/tpl_std";
                    let reply = server.call("PUT", path, Some(template));
                    assert_eq!(reply.status, 200, "{}", reply.body);
                }
                if i % 30 == 0 {
                    let reply = server.call(
                        "PUT",
                        &format!("/api/clients/{client}"),
                        Some(json!({"name": format!("Client {client} v{i}")})),
                    );
                    assert_eq!(reply.status, 200, "{}", reply.body);
                }
            }
            writing.store(false, Ordering::SeqCst);
        });

        let mut backups = Vec::new();
        let mut exports = Vec::new();
        while backups.len() < 2 || (writing.load(Ordering::SeqCst) && backups.len() < 30) {
            let path = server
                .dir
                .path()
                .join(format!("backup-{}.db", backups.len()));
            let out = server.cli(&["backup", path.to_str().unwrap()]);
            assert_success(&out, "backup");
            backups.push(path);
            exports.push(export(&server));
        }
        writer.join().unwrap();
        for text in &exports {
            check_export_consistent(&serde_json::from_str(text).unwrap());
        }
        backups
    });

    for path in &backups {
        assert_eq!(check_consistent(path), 6, "{}", path.display());
        let export = export_db(path);
        assert!(export.contains("\"tpl_std\""));
    }

    // A backup of the settled database matches it exactly; an existing
    // file is replaced.
    let last = backups.last().unwrap();
    let out = server.cli(&["backup", last.to_str().unwrap()]);
    assert_success(&out, "backup over an existing file");
    assert_eq!(export_db(last), export(&server));
    check_consistent(&server.db);
}

/// The big template: kickoff (2), an empty stage, setup (3), launch (1).
const BIG_STAGES: [(&str, &[&str]); 4] = [
    ("kickoff", &["k1", "k2"]),
    ("empty", &[]),
    ("setup", &["s1", "s2", "s3"]),
    ("launch", &["l1"]),
];

/// What the service should answer for one imported client.
struct Expected {
    id: String,
    name: String,
    on_template: bool,
    done: Vec<(&'static str, String)>,
    current_stage: Option<&'static str>,
    activity_at: Option<Timestamp>,
    last_activity: Option<String>,
    days: i64,
}

fn big_document(now: Timestamp, count: usize) -> (Value, Vec<Expected>) {
    let all: Vec<&'static str> = BIG_STAGES
        .iter()
        .flat_map(|(_, ms)| ms.iter().copied())
        .collect();
    let template = json!({
        "id": "tpl_big", "name": "Big",
        "stages": BIG_STAGES.iter().map(|(kind, milestones)| json!({
            "id": format!("st_{kind}"), "type": kind, "name": kind.to_uppercase(),
            "milestones": milestones.iter().map(|m| json!({"id": m, "name": format!("Step {m}")}))
                .collect::<Vec<_>>()
        })).collect::<Vec<_>>()
    });

    let mut clients = Vec::new();
    let mut expected = Vec::new();
    for i in 0..count {
        let id = format!("co{i:04}");
        let name = format!("Company {:03}", (i * 7919) % (count / 3));
        let days = (i % 40) as u32;
        let assigned = Timestamp::from_millis(now.days_before(days).millis() - 12 * 3_600_000);
        let minute = |m: usize| Timestamp::from_millis(assigned.millis() + m as i64 * 60_000);

        if i % 10 == 0 {
            clients.push(json!({"id": id, "name": name, "onboarding": null}));
            expected.push(Expected {
                id,
                name,
                on_template: false,
                done: vec![],
                current_stage: None,
                activity_at: None,
                last_activity: None,
                days: 0,
            });
            continue;
        }
        let mut done: Vec<&str> = all[..i % 7].to_vec();
        if i % 3 == 0 && !done.contains(&"l1") {
            done.push("l1");
        }
        let done: Vec<(&'static str, String)> = done
            .iter()
            .enumerate()
            .map(|(j, m)| (*m, minute(j + 1).to_string()))
            .collect();
        let mut states: Vec<Value> = done
            .iter()
            .enumerate()
            .map(|(j, (m, at))| match j % 3 {
                0 => json!({"id": m, "completed_at": at, "completed_by": "u_ana",
                            "source": "manual"}),
                1 => json!({"id": m, "completed_at": at, "completed_by": null, "source": "auto"}),
                _ => json!({"id": m, "completed_at": at, "completed_by": "u_ben",
                            "notes": format!("n{i}")}),
            })
            .collect();
        if i % 4 == 0 {
            if let Some(open) = all.iter().find(|m| !done.iter().any(|(d, _)| d == *m)) {
                states.push(json!({"id": open, "completed_at": null, "notes": "blocked"}));
            }
        }
        clients.push(json!({
            "id": id, "name": name, "created_at": assigned.to_string(),
            "onboarding": {"template_id": "tpl_big", "assigned_at": assigned.to_string(),
                           "assigned_by": "u_ana", "milestones": states},
            "events": [{"type": "deal_won", "reference": format!("D-{i}")}]
        }));

        let is_done = |m: &str| done.iter().any(|(d, _)| *d == m);
        let current_stage = BIG_STAGES
            .iter()
            .filter(|(_, ms)| !ms.is_empty())
            .find(|(_, ms)| ms.iter().any(|m| !is_done(m)))
            .map(|(kind, _)| *kind)
            .or(Some("launch"));
        let last_activity = done
            .iter()
            .map(|(_, at)| at.clone())
            .max_by_key(|at| Timestamp::parse(at).unwrap());
        let activity_at = Some(minute(done.len()));
        expected.push(Expected {
            id,
            name,
            on_template: true,
            done,
            current_stage,
            activity_at,
            last_activity,
            days: i64::from(days),
        });
    }

    let document = json!({
        "version": 1,
        "users": [{"id": "u_ana", "name": "Ana"}, {"id": "u_ben", "name": "Ben"}],
        "templates": [template],
        "clients": clients
    });
    (document, expected)
}

fn percentage(done: usize, total: usize) -> usize {
    if total == 0 {
        return 0;
    }
    let rounded = (done * 200 + total) / (total * 2);
    if rounded == 100 && done < total {
        99
    } else {
        rounded
    }
}

#[test]
fn hundreds_of_clients_imported_while_serving_read_back_exactly() {
    let server = Server::start();
    let now = Timestamp::now();
    let (document, mut expected) = big_document(now, 300);
    let serving = AtomicBool::new(true);

    std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut reads = 0;
            while serving.load(Ordering::SeqCst) && reads < 2000 {
                for path in ["/api/clients?limit=20", "/api/clients/onboarding/stuck"] {
                    let reply = server.call("GET", path, None);
                    assert_eq!(
                        reply.status, 200,
                        "{path} during the import: {}",
                        reply.body
                    );
                }
                reads += 1;
            }
        });
        let out = import(&server, &document);
        serving.store(false, Ordering::SeqCst);
        assert_success(&out, "import");
        reader.join().unwrap();
    });

    // Stuck: unfinished, and no activity within 14 days.
    let cutoff = now.days_before(14);
    let mut stuck: Vec<&Expected> = expected
        .iter()
        .filter(|e| e.on_template && e.done.len() < 6 && e.activity_at.unwrap() <= cutoff)
        .collect();
    stuck.sort_by(|a, b| (a.activity_at, &a.name, &a.id).cmp(&(b.activity_at, &b.name, &b.id)));
    assert!(stuck.len() > 50);
    let answer = server.get_json("/api/clients/onboarding/stuck?limit=50");
    let want: Vec<Value> = stuck[..50]
        .iter()
        .map(|e| {
            json!({"id": e.id, "name": e.name, "logo_url": null,
                   "current_stage_type": e.current_stage, "completed_count": e.done.len(),
                   "total_count": 6, "last_activity": e.last_activity,
                   "days_since_activity": e.last_activity.as_ref().map(|_| e.days)})
        })
        .collect();
    assert_eq!(answer["clients"], json!(want));

    // The client list, by name then id, in pages of 200.
    expected.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    let first = server.get_json("/api/clients?limit=200");
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = server.get_json(&format!("/api/clients?limit=200&cursor={cursor}"));
    assert_eq!(second["next_cursor"], Value::Null);
    let listed: Vec<Value> = first["clients"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["clients"].as_array().unwrap())
        .map(|c| {
            json!([
                c["id"],
                c["name"],
                c["template_id"],
                c["current_stage_type"],
                c["completed_count"],
                c["total_count"],
                c["completion_percentage"],
                c["last_activity"]
            ])
        })
        .collect();
    let want: Vec<Value> = expected
        .iter()
        .map(|e| {
            let total = if e.on_template { 6 } else { 0 };
            json!([
                e.id,
                e.name,
                e.on_template.then_some("tpl_big"),
                e.current_stage,
                e.done.len(),
                total,
                percentage(e.done.len(), total),
                e.last_activity
            ])
        })
        .collect();
    assert_eq!(listed, want);

    // Every client's onboarding and history.
    for e in &expected {
        let onboarding = server.get_json(&format!("/api/clients/{}/onboarding", e.id));
        if !e.on_template {
            assert_eq!(
                onboarding,
                json!({"template": null, "stages": [], "current_stage_type": null})
            );
            continue;
        }
        assert_eq!(
            onboarding["current_stage_type"],
            json!(e.current_stage),
            "{}",
            e.id
        );
        assert_eq!(onboarding["completed_milestones"], e.done.len(), "{}", e.id);
        assert_eq!(onboarding["total_milestones"], 6);
        let completed: Vec<(String, String)> = onboarding["stages"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["milestones"].as_array().unwrap().iter())
            .filter(|m| m["completed"] == true)
            .map(|m| {
                (
                    m["id"].as_str().unwrap().into(),
                    m["completed_at"].as_str().unwrap().into(),
                )
            })
            .collect();
        let mut want: Vec<(String, String)> = e
            .done
            .iter()
            .map(|(m, at)| (m.to_string(), at.clone()))
            .collect();
        want.sort_by_key(|(m, _)| {
            ["k1", "k2", "s1", "s2", "s3", "l1"]
                .iter()
                .position(|x| x == m)
                .unwrap()
        });
        assert_eq!(completed, want, "{}", e.id);

        let history = server.get_json(&format!("/api/clients/{}/onboarding/activity", e.id));
        let entries = history["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 1 + e.done.len(), "{}", e.id);
        assert!(entries.iter().all(|x| x["source"] == "import"));
        assert_eq!(entries.last().unwrap()["kind"], "assigned");
        assert_eq!(entries.last().unwrap()["user_name"], "Ana");
        assert_eq!(
            entries[0]["at"]
                .as_str()
                .map(Timestamp::parse)
                .map(Result::unwrap),
            e.activity_at
        );
    }
    check_consistent(&server.db);
}

#[test]
fn the_sample_import_document_imports_cleanly() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sample-import.json");
    let text = std::fs::read_to_string(&sample).unwrap();
    let document: Value = serde_json::from_str(&text).unwrap();
    assert!(document["clients"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c.get("activity").is_none()));

    let server = Server::start();
    let out = server.cli(&["import", sample.to_str().unwrap()]);
    assert_success(&out, "sample import");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "imported 2 users, 1 templates, 6 clients"
    );

    let template = server.get_json("/api/onboarding/templates/tpl_agency");
    let stages = template["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 4);
    let milestones: usize = stages
        .iter()
        .map(|s| s["milestones"].as_array().unwrap().len())
        .sum();
    assert_eq!(milestones, 12);

    let list = server.get_json("/api/clients");
    let clients = list["clients"].as_array().unwrap();
    assert_eq!(clients.len(), 6);
    let by_id = |id: &str| clients.iter().find(|c| c["id"] == id).unwrap().clone();
    let northwind = by_id("northwind");
    assert_eq!(northwind["current_stage_type"], "launch");
    assert_eq!(northwind["completion_percentage"], 100);
    assert_eq!(northwind["last_activity"], "2026-09-26T15:30:00Z");
    let harbor = by_id("harbor-dental");
    assert_eq!(harbor["current_stage_type"], "setup");
    assert_eq!(harbor["completed_count"], 5);
    let fresh = by_id("lumen-studio");
    assert_eq!(fresh["current_stage_type"], "kickoff");
    assert_eq!(fresh["completed_count"], 0);
    assert_eq!(by_id("pine-legal")["template_id"], Value::Null);

    let onboarding = server.get_json("/api/clients/harbor-dental/onboarding");
    let kickoff = &onboarding["stages"][0];
    assert_eq!(kickoff["milestones"][0]["source"], "auto");
    assert_eq!(kickoff["milestones"][1]["completed_by_name"], "Maya Okafor");
    let history = server.get_json("/api/clients/harbor-dental/onboarding/activity");
    assert_eq!(history["entries"].as_array().unwrap().len(), 6);
    assert!(history["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["source"] == "import"));

    // Quiet since the summer: stuck; finished clients never are.
    let stuck = server.get_json("/api/clients/onboarding/stuck?limit=50");
    let stuck_ids: Vec<&str> = stuck["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(stuck_ids.contains(&"fjord-bakery"), "{stuck_ids:?}");
    assert!(!stuck_ids.contains(&"northwind"));
    assert!(!stuck_ids.contains(&"pine-legal"));

    // It round-trips like any export.
    let once = export(&server);
    let fresh_db = server.dir.path().join("again.db");
    let path = server.dir.path().join("sample-export.json");
    std::fs::write(&path, &once).unwrap();
    assert_success(
        &cli_on(&fresh_db, &["import", path.to_str().unwrap()]),
        "re-import",
    );
    assert_eq!(export_db(&fresh_db), once);
}

#[test]
fn generated_history_ids_never_take_ids_a_later_client_brings() {
    let server = Server::start();
    let document = json!({
        "version": 1,
        "users": [{"id": "u_ana", "name": "Ana"}],
        "templates": [small_template("tpl_std")],
        "clients": [
            {"id": "first", "name": "First",
             "onboarding": {"template_id": "tpl_std", "assigned_at": "2026-10-01T09:00:00Z",
                "assigned_by": "u_ana", "milestones": []}},
            {"id": "second", "name": "Second",
             "onboarding": {"template_id": "tpl_std", "assigned_at": "2026-10-05T09:00:00Z",
                "assigned_by": "u_ana", "milestones": []},
             "activity": [{"id": "1", "at": "2026-10-05T09:00:00Z", "kind": "assigned",
                "template_id": "tpl_std", "user_id": "u_ana", "user_name": "Ana",
                "source": "manual"}]}
        ]
    });

    let out = import(&server, &document);
    assert_success(&out, "import");

    let second = server.get_json("/api/clients/second/onboarding/activity");
    assert_eq!(second["entries"][0]["id"], "1");
    assert_eq!(second["entries"][0]["source"], "manual");
    let first = server.get_json("/api/clients/first/onboarding/activity");
    assert_eq!(first["entries"][0]["id"], "2");
    assert_eq!(first["entries"][0]["source"], "import");
    assert_eq!(first["entries"][0]["at"], "2026-10-01T09:00:00Z");
}

/// A client whose imported history ids run against time: 900 is the latest
/// entry, 901 the earliest, 899 and 902 share one instant.
fn out_of_order_history_document() -> Value {
    let entry = |id: &str, at: &str, kind: &str, milestone: Option<&str>| {
        json!({"id": id, "at": at, "kind": kind, "template_id": "tpl_std",
               "milestone_id": milestone, "milestone_name": milestone.map(|_| "Step"),
               "user_id": "u_ana", "user_name": "Ana", "source": "manual", "notes": null})
    };
    json!({
        "version": 1,
        "users": [{"id": "u_ana", "name": "Ana"}],
        "templates": [small_template("tpl_std")],
        "clients": [
            {"id": "acme", "name": "Acme",
             "onboarding": {"template_id": "tpl_std", "assigned_at": "2026-10-01T09:00:00Z",
                "assigned_by": "u_ana",
                "milestones": [
                    {"id": "m_contract", "completed_at": "2026-10-02T09:00:00Z",
                     "completed_by": "u_ana", "source": "manual"},
                    {"id": "m_call", "completed_at": "2026-10-03T09:00:00Z",
                     "completed_by": "u_ana", "source": "manual"}
                ]},
             "activity": [
                entry("900", "2026-10-03T09:00:00Z", "completed", Some("m_call")),
                entry("901", "2026-10-01T09:00:00Z", "assigned", None),
                entry("902", "2026-10-02T09:00:00Z", "notes_changed", Some("m_contract")),
                entry("899", "2026-10-02T09:00:00Z", "completed", Some("m_contract"))
             ]}
        ]
    })
}

/// `(id, at)` of history entries.
fn ids_and_times(entries: &[Value]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|e| {
            (
                e["id"].as_str().expect("id").to_string(),
                e["at"].as_str().expect("at").to_string(),
            )
        })
        .collect()
}

#[test]
fn imported_history_is_ordered_by_time_not_by_id() {
    let server = Server::start();
    assert_success(&import(&server, &out_of_order_history_document()), "import");
    let newest_first = [
        ("900", "2026-10-03T09:00:00Z"),
        ("902", "2026-10-02T09:00:00Z"),
        ("899", "2026-10-02T09:00:00Z"),
        ("901", "2026-10-01T09:00:00Z"),
    ]
    .map(|(id, at)| (id.to_string(), at.to_string()));

    // The API: newest first, a tie broken by the larger id.
    let page = server.get_json("/api/clients/acme/onboarding/activity");
    assert_eq!(page["next_cursor"], Value::Null);
    let listed = ids_and_times(page["entries"].as_array().unwrap());
    assert_eq!(listed, newest_first);
    assert_eq!(page["entries"][0]["kind"], "completed");
    assert_eq!(page["entries"][0]["milestone_id"], "m_call");
    assert_eq!(page["entries"][3]["kind"], "assigned");

    // The export: oldest first, the same entries.
    let exported: Value = serde_json::from_str(&export(&server)).unwrap();
    let history = exported["clients"][0]["activity"].as_array().unwrap();
    let mut oldest_first = newest_first.to_vec();
    oldest_first.reverse();
    assert_eq!(ids_and_times(history), oldest_first);
    assert_eq!(history[0]["kind"], "assigned");
    assert_eq!(history[1]["kind"], "completed");
    assert_eq!(history[2]["kind"], "notes_changed");
}

#[test]
fn paging_imported_history_one_entry_at_a_time_visits_each_once_in_time_order() {
    let server = Server::start();
    assert_success(&import(&server, &out_of_order_history_document()), "import");

    let mut walked = Vec::new();
    let mut path = "/api/clients/acme/onboarding/activity?limit=1".to_string();
    loop {
        let page = server.get_json(&path);
        let entries = page["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "{path}: {page}");
        walked.extend(ids_and_times(entries));
        assert!(walked.len() <= 4, "more pages than entries: {walked:?}");

        match page["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!("/api/clients/acme/onboarding/activity?limit=1&cursor={cursor}");
            }
            None => break,
        }
    }

    let ids: Vec<&str> = walked.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["900", "902", "899", "901"]);
    let whole = server.get_json("/api/clients/acme/onboarding/activity");
    assert_eq!(walked, ids_and_times(whole["entries"].as_array().unwrap()));
}
