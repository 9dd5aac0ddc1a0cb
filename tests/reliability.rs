//! Reliability of the real binary (SPEC §3 and §8): concurrent writes to one
//! client, durability across `kill -9`, graceful shutdown, processes racing
//! on a new database, hostile input on every route, and what the request log
//! shows (and never shows).

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{small_template, Reply, Server, BIN};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Asserts an answer is not a server error and does not leak a lock error.
fn assert_no_server_error(what: &str, reply: &Reply) {
    assert!(
        reply.status < 500,
        "{what}: {} {}",
        reply.status,
        reply.body
    );
    let body = reply.body.to_ascii_lowercase();
    assert!(
        !body.contains("locked") && !body.contains("busy"),
        "{what}: lock error leaked: {}",
        reply.body
    );
}

/// `completed × 100 / total` rounded half up, 100 only when all are done.
fn expected_percentage(completed: u64, total: u64) -> u64 {
    if total == 0 {
        return 0;
    }
    if completed == total {
        return 100;
    }
    ((completed * 200 + total) / (2 * total)).min(99)
}

/// SPEC §4.1's current stage from `(type, completed, total)` per stage.
fn expected_current_stage(stages: &[(String, u64, u64)]) -> Option<String> {
    let with_milestones: Vec<_> = stages.iter().filter(|s| s.2 > 0).collect();
    with_milestones
        .iter()
        .find(|s| s.1 < s.2)
        .or(with_milestones.last())
        .map(|s| s.0.clone())
}

/// Checks that an onboarding answer agrees with itself: stage counts, totals,
/// percentage and current stage all recomputed from its milestones. Returns
/// each milestone's `completed` flag by id.
fn check_onboarding_consistent(onboarding: &Value) -> HashMap<String, bool> {
    let mut flags = HashMap::new();
    let mut tallies = Vec::new();
    for stage in onboarding["stages"].as_array().expect("stages") {
        let milestones = stage["milestones"].as_array().expect("milestones");
        let done = milestones.iter().filter(|m| m["completed"] == true).count() as u64;
        let total = milestones.len() as u64;
        assert_eq!(stage["completed_count"], done, "{stage}");
        assert_eq!(stage["total_count"], total, "{stage}");
        for m in milestones {
            let completed = m["completed"].as_bool().expect("completed flag");
            assert_eq!(m["completed_at"].is_null(), !completed, "{m}");
            flags.insert(m["id"].as_str().unwrap().to_string(), completed);
        }
        tallies.push((stage["type"].as_str().unwrap().to_string(), done, total));
    }

    let done: u64 = tallies.iter().map(|t| t.1).sum();
    let total: u64 = tallies.iter().map(|t| t.2).sum();
    assert_eq!(onboarding["completed_milestones"], done);
    assert_eq!(onboarding["total_milestones"], total);
    assert_eq!(
        onboarding["completion_percentage"],
        expected_percentage(done, total)
    );
    assert_eq!(
        onboarding["current_stage_type"],
        json!(expected_current_stage(&tallies))
    );
    flags
}

/// Checks `GET /api/clients/:id` against the client's onboarding answer.
fn check_summary_agrees(server: &Server, client: &str, onboarding: &Value) {
    let summary = server.get_json(&format!("/api/clients/{client}"));
    assert_eq!(summary["template_id"], onboarding["template"]["id"]);
    assert_eq!(
        summary["current_stage_type"],
        onboarding["current_stage_type"]
    );
    assert_eq!(
        summary["completed_count"],
        onboarding["completed_milestones"]
    );
    assert_eq!(summary["total_count"], onboarding["total_milestones"]);
    assert_eq!(
        summary["completion_percentage"],
        onboarding["completion_percentage"]
    );

    let latest = onboarding["stages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["milestones"].as_array().unwrap())
        .filter_map(|m| m["completed_at"].as_str())
        .max_by_key(|at| time_millis(at));
    assert_eq!(summary["last_activity"], json!(latest));
}

/// Milliseconds of an RFC 3339 `...Z` timestamp, for ordering.
fn time_millis(at: &str) -> i64 {
    onboarding::timestamp::Timestamp::parse(at)
        .expect("an RFC 3339 timestamp")
        .millis()
}

/// Every activity entry of a client, following `next_cursor`.
fn all_activity(server: &Server, client: &str) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut path = format!("/api/clients/{client}/onboarding/activity?limit=200");
    loop {
        let page = server.get_json(&path);
        entries.extend(page["entries"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!(
                    "/api/clients/{client}/onboarding/activity?limit=200&cursor={}",
                    encode(cursor)
                );
            }
            None => return entries,
        }
    }
}

/// Percent-encodes every byte outside the unreserved set.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A template of `stages`, each `(type, milestone ids)`.
fn template_of(id: &str, stages: &[(&str, Vec<String>)]) -> Value {
    let stages: Vec<Value> = stages
        .iter()
        .enumerate()
        .map(|(i, (stage_type, milestones))| {
            let milestones: Vec<Value> = milestones
                .iter()
                .map(|m| json!({ "id": m, "name": format!("Milestone {m}") }))
                .collect();
            json!({
                "id": format!("s{i}"),
                "type": stage_type,
                "name": format!("Stage {i}"),
                "milestones": milestones,
            })
        })
        .collect();
    json!({ "id": id, "name": format!("Template {id}"), "stages": stages })
}

fn assign(server: &Server, client: &str, template: &str) {
    let reply = server.call(
        "POST",
        &format!("/api/clients/{client}/onboarding/assign"),
        Some(json!({ "template_id": template })),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// A small import document: one user, one template, one client with one
/// completed milestone and no recorded history.
fn import_document(client: &str, template: &str, user: &str) -> Value {
    json!({
        "version": 1,
        "users": [{"id": user, "name": "Imported user"}],
        "templates": [{
            "id": template, "name": "Imported template",
            "stages": [{"id": "st_a", "type": "setup", "name": "Setup", "milestones": [
                {"id": "ms_a", "name": "First"}, {"id": "ms_b", "name": "Second"}
            ]}]
        }],
        "clients": [{
            "id": client, "name": "Imported client",
            "created_at": "2026-01-01T00:00:00Z",
            "onboarding": {"template_id": template, "assigned_at": "2026-01-02T00:00:00Z",
                "assigned_by": user,
                "milestones": [{"id": "ms_a", "completed_at": "2026-01-03T00:00:00Z",
                                "completed_by": user, "source": "manual", "notes": null}]},
            "events": []
        }]
    })
}

/// An HTTP/1.1 exchange over its own connection with exactly these bytes,
/// for what an HTTP library would not send (bad UTF-8, raw `%` in paths).
/// Adds `Content-Length` unless `headers` set a transfer encoding.
fn raw_request(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let addr = base.strip_prefix("http://").expect("an http:// base");
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();

    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let chunked = headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("transfer-encoding"));
    if !chunked {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    // The server may answer (413) and close before reading all of a body.
    let _ = stream.write_all(&bytes);

    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    parse_response(&answer)
}

/// Parses one HTTP/1.1 response (content-length or chunked body).
fn parse_response(bytes: &[u8]) -> Reply {
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {:?}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..split]).to_string();
    let mut body = bytes[split + 4..].to_vec();

    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();

    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&rest[..end]).to_string();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .expect("a chunk size");
        if size == 0 {
            break;
        }
        out.extend_from_slice(&rest[end + 2..end + 2 + size]);
        rest = &rest[end + 2 + size + 2..];
    }
    out
}

/// A server process this file starts itself, to control its environment
/// and read its stderr while it runs.
struct OwnServer {
    child: Child,
    base: String,
    stderr: Option<thread::JoinHandle<String>>,
}

impl OwnServer {
    /// Starts `serve` on `db` with `config` and `RUST_LOG=rust_log` (unset
    /// when `None`).
    fn start(db: &Path, config: &Path, rust_log: Option<&str>) -> OwnServer {
        let mut command = Command::new(BIN);
        match rust_log {
            Some(filter) => command.env("RUST_LOG", filter),
            None => command.env_remove("RUST_LOG"),
        };
        let mut child = command
            .arg("--config")
            .arg(config)
            .arg("--db")
            .arg(db)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");

        // Read stderr all along so a chatty log never fills the pipe.
        let mut stderr = child.stderr.take().unwrap();
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });

        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
        OwnServer {
            child,
            base,
            stderr: Some(stderr),
        }
    }

    /// SIGTERM, then waits up to `limit` for the exit. Returns whether it
    /// exited 0 in time, and its stderr.
    fn terminate(&mut self, limit: Duration) -> (bool, String) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());

        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break Some(status);
            }
            if Instant::now() > deadline {
                break None;
            }
            thread::sleep(Duration::from_millis(20));
        };
        if status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let log = self.stderr.take().unwrap().join().unwrap();
        (status.is_some_and(|s| s.success()), log)
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// `PUT /api/clients/:id` on a base URL with its own agent; `None` when the
/// connection failed (the server is gone).
fn put_client_raw(agent: &ureq::Agent, base: &str, token: &str, id: &str) -> Option<u16> {
    agent
        .put(format!("{base}/api/clients/{id}"))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(json!({ "name": format!("Client {id}") }).to_string())
        .ok()
        .map(|r| r.status().as_u16())
}

// ---------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------

const THREADS: usize = 16;
const TOGGLES_PER_THREAD: usize = 50;
const ASSIGNS: usize = 20;

/// The milestone ids owned by thread `t`.
fn owned(t: usize) -> [String; 2] {
    [format!("m{t}_a"), format!("m{t}_b")]
}

/// What thread `t` asks for on its `i`-th toggle: (milestone, completed).
/// The last two requests leave a known final state.
fn toggle_plan(t: usize, i: usize) -> (String, bool) {
    let which = i % 2;
    let completed = if i + 2 >= TOGGLES_PER_THREAD {
        final_state(t, which)
    } else {
        (t * 31 + i * 17) % 5 < 3
    };
    (owned(t)[which].clone(), completed)
}

fn final_state(t: usize, which: usize) -> bool {
    !(t >= 8 && which == 1)
}

#[test]
fn concurrent_toggles_assigns_and_an_import_keep_one_client_consistent() {
    let server = Server::start();

    // Four stages of four threads' milestones, an empty stage in between,
    // and a last milestone nobody ticks.
    let mut stages: Vec<(&str, Vec<String>)> = Vec::new();
    for group in 0..4 {
        let ids = (group * 4..group * 4 + 4).flat_map(owned).collect();
        stages.push((["kickoff", "setup", "build", "review"][group], ids));
        if group == 0 {
            stages.push(("empty", Vec::new()));
        }
    }
    stages.push(("launch", vec!["m_final".to_string()]));
    server.post_template(template_of("tpl_c", &stages));
    server.put_client("acme", "Acme");
    assign(&server, "acme", "tpl_c");

    let document = server.dir.path().join("import.json");
    std::fs::write(
        &document,
        import_document("imported", "tpl_imp", "u_imp").to_string(),
    )
    .unwrap();

    let start = Barrier::new(THREADS + 3);
    let done = AtomicBool::new(false);
    let reads = AtomicUsize::new(0);
    let (changes, assigns, import) = thread::scope(|s| {
        let togglers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (server, start) = (&server, &start);
                s.spawn(move || {
                    let mut state: HashMap<String, bool> =
                        owned(t).into_iter().map(|m| (m, false)).collect();
                    let mut changes: HashMap<String, usize> = HashMap::new();
                    start.wait();
                    for i in 0..TOGGLES_PER_THREAD {
                        let (milestone, completed) = toggle_plan(t, i);
                        let reply = server.call(
                            "PATCH",
                            &format!("/api/clients/acme/onboarding/milestones/{milestone}"),
                            Some(json!({ "completed": completed })),
                        );
                        assert_no_server_error("toggle", &reply);
                        assert_eq!(reply.status, 200, "{}", reply.body);
                        if state.insert(milestone.clone(), completed) != Some(completed) {
                            *changes.entry(milestone).or_default() += 1;
                        }
                    }
                    changes
                })
            })
            .collect();

        let assigner = s.spawn(|| {
            start.wait();
            let mut ok = 0;
            for _ in 0..ASSIGNS {
                let reply = server.call(
                    "POST",
                    "/api/clients/acme/onboarding/assign",
                    Some(json!({ "template_id": "tpl_c", "force": false })),
                );
                assert_no_server_error("assign", &reply);
                assert_eq!(reply.status, 200, "{}", reply.body);
                ok += 1;
            }
            ok
        });

        let importer = s.spawn(|| {
            start.wait();
            server.cli(&["import", document.to_str().unwrap()])
        });

        // A reader checks that every answer it sees is consistent in itself.
        s.spawn(|| {
            start.wait();
            while !done.load(Ordering::Relaxed) {
                let reply = server.call("GET", "/api/clients/acme/onboarding", None);
                assert_no_server_error("read", &reply);
                assert_eq!(reply.status, 200, "{}", reply.body);
                check_onboarding_consistent(&reply.json());
                reads.fetch_add(1, Ordering::Relaxed);
            }
        });

        let mut changes: HashMap<String, usize> = HashMap::new();
        for toggler in togglers {
            changes.extend(toggler.join().unwrap());
        }
        let assigns = assigner.join().unwrap();
        let import = importer.join().unwrap();
        done.store(true, Ordering::Relaxed);
        (changes, assigns, import)
    });
    assert!(reads.load(Ordering::Relaxed) > 0);

    // The import, run beside the server, landed whole.
    assert!(
        import.status.success(),
        "import: {}",
        String::from_utf8_lossy(&import.stderr)
    );
    let imported = server.get_json("/api/clients/imported/onboarding");
    assert_eq!(imported["completed_milestones"], 1);
    assert_eq!(imported["total_milestones"], 2);

    // Every milestone ends as its owner left it; the stored summary agrees.
    let onboarding = server.get_json("/api/clients/acme/onboarding");
    let flags = check_onboarding_consistent(&onboarding);
    for t in 0..THREADS {
        for (which, milestone) in owned(t).iter().enumerate() {
            assert_eq!(flags[milestone], final_state(t, which), "{milestone}");
        }
    }
    assert!(!flags["m_final"]);
    assert_eq!(onboarding["current_stage_type"], "build");
    check_summary_agrees(&server, "acme", &onboarding);

    // One history entry per toggle that changed something, per assignment.
    let entries = all_activity(&server, "acme");
    let mut logged: HashMap<String, usize> = HashMap::new();
    let mut assigned = 0;
    for entry in &entries {
        match entry["kind"].as_str().unwrap() {
            "completed" | "uncompleted" => {
                let milestone = entry["milestone_id"].as_str().unwrap().to_string();
                *logged.entry(milestone).or_default() += 1;
            }
            "assigned" => assigned += 1,
            other => panic!("unexpected activity {other}: {entry}"),
        }
    }
    assert_eq!(assigned, 1 + assigns);
    assert_eq!(logged, changes);
    let toggles: usize = changes.values().sum();
    assert_eq!(entries.len(), toggles + 1 + assigns);
}

#[test]
fn parallel_completions_of_different_milestones_are_all_kept() {
    const N: usize = 12;
    let server = Server::start();
    let ids: Vec<String> = (0..N).map(|i| format!("m{i}")).collect();
    let stages = [
        ("one", ids[..4].to_vec()),
        ("two", ids[4..8].to_vec()),
        ("three", ids[8..].to_vec()),
    ];
    server.post_template(template_of("tpl_p", &stages));
    server.put_client("acme", "Acme");
    assign(&server, "acme", "tpl_p");

    let start = Barrier::new(N);
    thread::scope(|s| {
        for id in &ids {
            let (server, start) = (&server, &start);
            s.spawn(move || {
                start.wait();
                let reply = server.call(
                    "PATCH",
                    &format!("/api/clients/acme/onboarding/milestones/{id}"),
                    Some(json!({ "completed": true, "notes": format!("done {id}") })),
                );
                assert_no_server_error("toggle", &reply);
                assert_eq!(reply.status, 200, "{}", reply.body);
            });
        }
    });

    let onboarding = server.get_json("/api/clients/acme/onboarding");
    check_onboarding_consistent(&onboarding);
    assert_eq!(onboarding["completed_milestones"], N);
    assert_eq!(onboarding["completion_percentage"], 100);
    assert_eq!(onboarding["current_stage_type"], "three");
    for stage in onboarding["stages"].as_array().unwrap() {
        for m in stage["milestones"].as_array().unwrap() {
            assert_eq!(m["completed"], true, "{m}");
            assert_eq!(m["completed_by"], "admin", "{m}");
            assert_eq!(m["source"], "manual", "{m}");
            assert_eq!(m["notes"], format!("done {}", m["id"].as_str().unwrap()));
        }
    }
    check_summary_agrees(&server, "acme", &onboarding);

    let entries = all_activity(&server, "acme");
    let completions = entries.iter().filter(|e| e["kind"] == "completed").count();
    assert_eq!(completions, N);
    assert_eq!(entries.len(), N + 1);
}

// ---------------------------------------------------------------------------
// Durability
// ---------------------------------------------------------------------------

#[test]
fn acknowledged_writes_survive_kill_9() {
    let mut server = Server::start();
    for i in 0..60 {
        let reply = server.call(
            "PUT",
            &format!("/api/clients/c{i}"),
            Some(json!({ "name": format!("Client {i}") })),
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
    }

    server.kill9();
    server.spawn();

    for i in 0..60 {
        let client = server.get_json(&format!("/api/clients/c{i}"));
        assert_eq!(client["name"], format!("Client {i}"));
    }
    let list = server.get_json("/api/clients?limit=200");
    assert_eq!(list["clients"].as_array().unwrap().len(), 60);
}

#[test]
fn kill_9_during_a_write_burst_leaves_an_intact_database() {
    let mut server = Server::start();
    let acknowledged = Arc::new(Mutex::new(Vec::new()));

    let writer = {
        let (base, token) = (server.base.clone(), server.token.clone());
        let acknowledged = Arc::clone(&acknowledged);
        thread::spawn(move || {
            let agent = agent();
            for i in 0..100_000 {
                let id = format!("burst{i}");
                match put_client_raw(&agent, &base, &token, &id) {
                    Some(201) => acknowledged.lock().unwrap().push(id),
                    Some(status) => panic!("PUT {id}: status {status}"),
                    None => return,
                }
            }
        })
    };

    // Kill while writes are flowing: once some have been acknowledged.
    while acknowledged.lock().unwrap().len() < 40 {
        thread::sleep(Duration::from_millis(5));
    }
    server.kill9();
    writer.join().unwrap();
    let acknowledged = acknowledged.lock().unwrap().clone();

    let conn = rusqlite::Connection::open(&server.db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let stored: i64 = conn
        .query_row("SELECT count(*) FROM clients", [], |row| row.get(0))
        .unwrap();
    assert!(stored as usize >= acknowledged.len());
    drop(conn);

    server.spawn();
    for id in &acknowledged {
        let client = server.get_json(&format!("/api/clients/{id}"));
        assert_eq!(client["name"], format!("Client {id}"));
    }
}

// ---------------------------------------------------------------------------
// Shutdown and start-up
// ---------------------------------------------------------------------------

#[test]
fn sigterm_finishes_requests_in_flight_and_exits_0() {
    let mut harness = Server::start();
    let (ok, _) = harness.stop();
    assert!(ok);
    let mut server = OwnServer::start(
        &harness.db,
        &harness.dir.path().join("onboarding.toml"),
        Some("warn"),
    );
    let (base, token) = (server.base.clone(), harness.token.clone());

    // A request in flight: its head and half its body are in, the rest
    // comes after SIGTERM.
    let addr = base.strip_prefix("http://").unwrap().to_string();
    let mut in_flight = TcpStream::connect(&addr).unwrap();
    in_flight
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = json!({ "name": "Sent across the shutdown" }).to_string();
    let (first, second) = body.split_at(10);
    let second = second.to_string();
    write!(
        in_flight,
        "PUT /api/clients/inflight HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{first}",
        body.len()
    )
    .unwrap();

    // A slow stream of ordinary requests from a few clients.
    let stop_streams = Arc::new(AtomicBool::new(false));
    let streams: Vec<_> = (0..3)
        .map(|_| {
            let (base, token, stop) = (base.clone(), token.clone(), Arc::clone(&stop_streams));
            thread::spawn(move || {
                let agent = agent();
                let mut answered = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let reply = agent
                        .get(format!("{base}/api/clients"))
                        .header("Authorization", format!("Bearer {token}"))
                        .call();
                    match reply {
                        Ok(r) => answered.push(r.status().as_u16()),
                        Err(_) => break,
                    }
                    thread::sleep(Duration::from_millis(10));
                }
                answered
            })
        })
        .collect();

    thread::sleep(Duration::from_millis(200));
    let finisher = thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        in_flight.write_all(second.as_bytes()).unwrap();
        let mut answer = Vec::new();
        let _ = in_flight.read_to_end(&mut answer);
        answer
    });
    let (exited_ok, log) = server.terminate(Duration::from_secs(5));
    stop_streams.store(true, Ordering::Relaxed);

    assert!(exited_ok, "no clean exit within 5 s; log:\n{log}");
    let answer = finisher.join().unwrap();
    assert!(!answer.is_empty(), "the request in flight got no answer");
    let reply = parse_response(&answer);
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.json()["name"], "Sent across the shutdown");
    for stream in streams {
        let answered = stream.join().unwrap();
        assert!(answered.iter().all(|&s| s == 200), "{answered:?}");
    }

    harness.spawn();
    let client = harness.get_json("/api/clients/inflight");
    assert_eq!(client["name"], "Sent across the shutdown");
}

/// Runs the binary on `db` with an empty config file.
fn command_on(db: &Path, args: &[&str]) -> Command {
    let config = db.with_extension("toml");
    if !config.exists() {
        std::fs::write(&config, "").unwrap();
    }
    let mut command = Command::new(BIN);
    command
        .arg("--config")
        .arg(&config)
        .arg("--db")
        .arg(db)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

#[test]
fn two_migrations_on_a_new_database_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..5 {
        let db: PathBuf = dir.path().join(format!("new{round}.db"));
        let first = command_on(&db, &["migrate"]).spawn().unwrap();
        let second = command_on(&db, &["migrate"]).spawn().unwrap();
        for child in [first, second] {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn serve_and_import_on_a_new_database_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let document = dir.path().join("import.json");
    std::fs::write(
        &document,
        import_document("imported", "tpl_imp", "u_imp").to_string(),
    )
    .unwrap();

    for round in 0..4 {
        let db = dir.path().join(format!("new{round}.db"));
        let config = db.with_extension("toml");
        std::fs::write(&config, "").unwrap();

        let import = command_on(&db, &["import", document.to_str().unwrap()])
            .spawn()
            .unwrap();
        let mut server = OwnServer::start(&db, &config, Some("warn"));
        let out = import.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "round {round}: import: {}",
            String::from_utf8_lossy(&out.stderr)
        );

        let token = command_on(
            &db,
            &["tokens", "create", "--user", "u_imp", "--permissions", "*"],
        )
        .output()
        .unwrap();
        assert!(
            token.status.success(),
            "{}",
            String::from_utf8_lossy(&token.stderr)
        );
        let token = String::from_utf8(token.stdout).unwrap();
        let token = token.lines().last().unwrap().trim();
        let reply = agent()
            .get(format!("{}/api/clients/imported/onboarding", server.base))
            .header("Authorization", format!("Bearer {token}"))
            .call()
            .unwrap()
            .into_body()
            .read_to_string()
            .unwrap();
        let onboarding: Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(onboarding["completed_milestones"], 1, "{onboarding}");

        let (ok, log) = server.terminate(Duration::from_secs(10));
        assert!(ok, "round {round}: {log}");
    }
}

// ---------------------------------------------------------------------------
// Hostile input
// ---------------------------------------------------------------------------

/// Everything a failed request must leave as it was.
fn snapshot(server: &Server) -> Vec<Value> {
    [
        "/api/clients?limit=200",
        "/api/clients/acme",
        "/api/clients/acme/onboarding",
        "/api/clients/acme/onboarding/activity?limit=200",
        "/api/onboarding/templates",
        "/api/onboarding/templates/tpl",
    ]
    .iter()
    .map(|path| server.get_json(path))
    .collect()
}

/// A server with client `acme` on template `tpl`, `m_call` completed with notes.
fn hostile_setup() -> Server {
    let server = Server::start();
    server.post_template(small_template("tpl"));
    server.put_client("acme", "Acme");
    assign(&server, "acme", "tpl");
    let reply = server.call(
        "PATCH",
        "/api/clients/acme/onboarding/milestones/m_call",
        Some(json!({ "completed": true, "notes": "kept" })),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    server
}

/// A route that takes a body: method, path, and a valid body in which
/// `field` may be replaced by a hostile value.
struct BodyRoute {
    method: &'static str,
    path: &'static str,
    body: Value,
    /// A field holding a string of limited length, if any.
    limited: Option<&'static str>,
    /// A field that must hold a particular type.
    typed: &'static str,
}

/// What is wrong with `reply` as the JSON error `status`/`code` (naming
/// `field`, when given); `None` when it is right.
fn error_problem(
    context: &str,
    reply: &Reply,
    status: u16,
    code: &str,
    field: Option<&str>,
) -> Option<String> {
    let body: String = reply.body.chars().take(200).collect();
    if reply.status != status {
        return Some(format!(
            "{context}: status {} (want {status}): {body}",
            reply.status
        ));
    }
    let Ok(error) = serde_json::from_str::<Value>(&reply.body) else {
        return Some(format!("{context}: not JSON: {body}"));
    };
    let message = error["error"].as_str().unwrap_or("");
    if error["code"] != code || message.is_empty() {
        return Some(format!("{context}: not the {code} error: {body}"));
    }
    match field {
        Some(field) if !message.starts_with(field) => {
            Some(format!("{context}: does not name {field}: {message}"))
        }
        _ => None,
    }
}

fn body_routes() -> Vec<BodyRoute> {
    let template = json!({"name": "T", "stages": [
        {"type": "kickoff", "name": "K", "milestones": [{"name": "M"}]}
    ]});
    vec![
        BodyRoute {
            method: "PUT",
            path: "/api/clients/acme",
            body: json!({"name": "Acme"}),
            limited: Some("name"),
            typed: "name",
        },
        BodyRoute {
            method: "POST",
            path: "/api/clients/acme/onboarding/assign",
            body: json!({"template_id": "tpl", "force": true}),
            limited: None,
            typed: "force",
        },
        BodyRoute {
            method: "PATCH",
            path: "/api/clients/acme/onboarding/milestones/m_call",
            body: json!({"completed": false, "notes": "changed"}),
            limited: Some("notes"),
            typed: "completed",
        },
        BodyRoute {
            method: "POST",
            path: "/api/clients/acme/events",
            body: json!({"type": "deal_won", "reference": "R-1"}),
            limited: None,
            typed: "type",
        },
        BodyRoute {
            method: "POST",
            path: "/api/onboarding/templates",
            body: template.clone(),
            limited: Some("name"),
            typed: "stages",
        },
        BodyRoute {
            method: "PUT",
            path: "/api/onboarding/templates/tpl",
            body: template,
            limited: Some("name"),
            typed: "name",
        },
        BodyRoute {
            method: "PATCH",
            path: "/api/onboarding/templates/tpl",
            body: json!({"name": "Renamed", "active": false}),
            limited: Some("name"),
            typed: "active",
        },
    ]
}

/// `body` with `field` replaced by the raw JSON text `value`.
fn with_raw_field(body: &Value, field: &str, value: &str) -> Vec<u8> {
    let mut body = body.clone();
    body[field] = json!("\u{1}PLACEHOLDER\u{1}");
    body.to_string()
        .replace("\"\\u0001PLACEHOLDER\\u0001\"", value)
        .into_bytes()
}

#[test]
fn bad_bodies_on_every_route_are_json_errors_and_change_nothing() {
    let server = hostile_setup();
    let before = snapshot(&server);
    let auth = format!("Bearer {}", server.token);
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let megabyte = format!("\"{}\"", "x".repeat(1 << 20));
    let long = format!("\"{}\"", "y".repeat(60_000));
    let mut problems = Vec::new();

    for route in body_routes() {
        let mut cases: Vec<(String, Vec<u8>, u16, &str)> = vec![
            ("empty".into(), Vec::new(), 400, "bad_request"),
            (
                "malformed".into(),
                b"{\"name\": ".to_vec(),
                400,
                "bad_request",
            ),
            ("array".into(), b"[]".to_vec(), 400, "bad_request"),
            ("string".into(), b"\"x\"".to_vec(), 400, "bad_request"),
            ("null".into(), b"null".to_vec(), 400, "bad_request"),
            (
                "trailing".into(),
                [route.body.to_string().as_bytes(), b"}"].concat(),
                400,
                "bad_request",
            ),
            ("deep".into(), deep.clone().into_bytes(), 400, "bad_request"),
            (
                "invalid utf-8".into(),
                with_raw_field(&route.body, route.typed, "\"\u{1}\"")
                    .into_iter()
                    .flat_map(|b| if b == 1 { vec![0xff, 0xfe] } else { vec![b] })
                    .collect(),
                400,
                "bad_request",
            ),
        ];
        for value in [
            "1e400",
            "18446744073709551616",
            "-1e400",
            "{}",
            "[1]",
            &deep,
        ] {
            let body = with_raw_field(&route.body, route.typed, value);
            cases.push((
                format!("{} = {value:.20}", route.typed),
                body,
                400,
                "bad_request",
            ));
        }
        cases.push((
            "1 MB string".into(),
            with_raw_field(&route.body, route.typed, &megabyte),
            413,
            "payload_too_large",
        ));
        if let Some(field) = route.limited {
            cases.push((
                format!("60 KB {field}"),
                with_raw_field(&route.body, field, &long),
                400,
                "bad_request",
            ));
        }

        for (what, body, status, code) in cases {
            let reply = raw_request(&server.base, route.method, route.path, &headers, &body);
            let context = format!("{} {} with {what}", route.method, route.path);
            let field = (status == 400 && what.contains(" = ")).then_some(route.typed);
            problems.extend(error_problem(&context, &reply, status, code, field));
        }
    }

    // A 1 MB body sent chunked, without a length, is refused too.
    let body = with_raw_field(&json!({"name": "x"}), "name", &megabyte);
    let chunked: Vec<u8> = body
        .chunks(16 * 1024)
        .flat_map(|chunk| [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat())
        .chain(b"0\r\n\r\n".iter().copied())
        .collect();
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
        ("Transfer-Encoding", "chunked"),
    ];
    let reply = raw_request(&server.base, "PUT", "/api/clients/acme", &headers, &chunked);
    problems.extend(error_problem(
        "chunked 1 MB",
        &reply,
        413,
        "payload_too_large",
        None,
    ));

    assert_eq!(
        server.request("GET", "/healthz", None, None, None).status,
        200
    );
    assert_eq!(snapshot(&server), before);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every route that takes an id in its path, with `{}` for the id, and a
/// valid body for it.
fn id_routes() -> Vec<(&'static str, &'static str, Option<Value>)> {
    vec![
        ("GET", "/api/clients/{}", None),
        ("PUT", "/api/clients/{}", Some(json!({"name": "Odd"}))),
        ("DELETE", "/api/clients/{}", None),
        ("GET", "/api/clients/{}/onboarding", None),
        (
            "POST",
            "/api/clients/{}/onboarding/assign",
            Some(json!({"template_id": "tpl"})),
        ),
        (
            "PATCH",
            "/api/clients/{}/onboarding/milestones/m_live",
            Some(json!({"completed": true})),
        ),
        (
            "PATCH",
            "/api/clients/acme/onboarding/milestones/{}",
            Some(json!({"completed": true})),
        ),
        ("GET", "/api/clients/{}/onboarding/activity", None),
        (
            "POST",
            "/api/clients/{}/events",
            Some(json!({"type": "deal_won"})),
        ),
        ("GET", "/api/onboarding/templates/{}", None),
        (
            "PUT",
            "/api/onboarding/templates/{}",
            Some(template_without_id()),
        ),
        (
            "PATCH",
            "/api/onboarding/templates/{}",
            Some(json!({"active": false})),
        ),
        ("DELETE", "/api/onboarding/templates/{}", None),
    ]
}

/// The small template as a `PUT` body, which may leave out the id.
fn template_without_id() -> Value {
    let mut template = small_template("unused");
    template.as_object_mut().unwrap().remove("id");
    template
}

#[test]
fn odd_path_ids_are_json_errors_and_change_nothing() {
    let server = hostile_setup();
    let before = snapshot(&server);
    let auth = format!("Bearer {}", server.token);
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let too_long = "x".repeat(129);
    let mut problems = Vec::new();
    let too_long_multibyte = "%C3%A9".repeat(129);

    // (segment, status, code): ids that cannot be decoded or are too long
    // are bad requests; ids that decode to something unknown are not found.
    let odd: Vec<(&str, u16, &str)> = vec![
        ("%", 400, "bad_request"),
        ("%zz", 400, "bad_request"),
        ("%FF", 400, "bad_request"),
        ("%C3%28", 400, "bad_request"),
        (&too_long, 400, "bad_request"),
        (&too_long_multibyte, 400, "bad_request"),
    ];
    for (method, pattern, body) in id_routes() {
        for (segment, status, code) in &odd {
            let path = pattern.replace("{}", segment);
            let body = body.as_ref().map(Value::to_string).unwrap_or_default();
            let reply = raw_request(&server.base, method, &path, &headers, body.as_bytes());
            let context = format!("{method} {path:.60}");
            problems.extend(error_problem(&context, &reply, *status, code, None));
        }

        // A NUL id decodes fine and is simply unknown (PUT of a client
        // creates it; that case is in the round-trip test).
        if !(method == "PUT" && pattern == "/api/clients/{}") {
            let path = pattern.replace("{}", "%00");
            let body = body.as_ref().map(Value::to_string).unwrap_or_default();
            let reply = raw_request(&server.base, method, &path, &headers, body.as_bytes());
            let context = format!("{method} {path}");
            problems.extend(error_problem(&context, &reply, 404, "not_found", None));
        }
    }
    assert_eq!(snapshot(&server), before);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn ids_of_128_characters_work_and_129_are_refused() {
    let server = hostile_setup();
    for (unit, encoded) in [("x", "x"), ("é", "%C3%A9"), ("🚀", "%F0%9F%9A%80")] {
        let id = unit.repeat(128);
        let path = format!("/api/clients/{}", encoded.repeat(128));
        let reply = server.call("PUT", &path, Some(json!({"name": "Long"})));
        assert_eq!(reply.status, 201, "{}", reply.body);
        assert_eq!(reply.json()["id"], id);
        assert_eq!(server.get_json(&path)["id"], id);

        let path = format!("/api/clients/{}", encoded.repeat(129));
        let reply = server.call("PUT", &path, Some(json!({"name": "Too long"})));
        reply.assert_error(400, "bad_request");
    }

    let mut template = small_template(&"t".repeat(128));
    let created = server.post_template(template.clone());
    assert_eq!(created["id"], "t".repeat(128));
    template["id"] = json!("t".repeat(129));
    let reply = server.call("POST", "/api/onboarding/templates", Some(template));
    reply.assert_error(400, "bad_request");
    assert!(reply.json()["error"].as_str().unwrap().contains("id"));

    let list = server.get_json("/api/clients?limit=200");
    let ids: Vec<usize> = list["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().chars().count())
        .collect();
    assert_eq!(ids.iter().filter(|&&n| n == 128).count(), 3, "{ids:?}");
    assert!(ids.iter().all(|&n| n <= 128));
}

#[test]
fn odd_text_round_trips_verbatim() {
    let server = hostile_setup();
    let texts = [
        "O'Brien \"quoted\" `back`",
        "'; DROP TABLE clients; --",
        "Robert'); DELETE FROM progress WHERE ('1'='1",
        "🚀 emoji 👩‍👩‍👧 and 中文",
        "control \u{1} newline \n tab \t cr \r end",
        "back\\slash and %25 and %zz and /slash?query#hash",
        "\u{0}nul",
    ];
    for (i, text) in texts.iter().enumerate() {
        let id = format!("{text}{i}");
        let path = format!("/api/clients/{}", encode(&id));
        let reply = server.call("PUT", &path, Some(json!({"name": text})));
        assert_eq!(reply.status, 201, "{text:?}: {}", reply.body);
        assert_eq!(reply.json()["id"], id);
        assert_eq!(reply.json()["name"], *text);

        let client = server.get_json(&path);
        assert_eq!(client["id"], id);
        assert_eq!(client["name"], *text);

        assign(&server, &encode(&id), "tpl");
        let reply = server.call(
            "PATCH",
            &format!("{path}/onboarding/milestones/m_call"),
            Some(json!({"completed": true, "notes": text})),
        );
        assert_eq!(reply.status, 200, "{text:?}: {}", reply.body);
        let onboarding = server.get_json(&format!("{path}/onboarding"));
        assert_eq!(onboarding["stages"][0]["milestones"][1]["notes"], *text);
        let activity = server.get_json(&format!("{path}/onboarding/activity"));
        assert_eq!(activity["entries"][0]["notes"], *text);
    }

    let list = server.get_json("/api/clients?limit=200");
    let ids: Vec<&str> = list["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    for (i, text) in texts.iter().enumerate() {
        assert!(
            ids.contains(&format!("{text}{i}").as_str()),
            "{text:?} in {ids:?}"
        );
    }
    assert_eq!(ids.len(), texts.len() + 1);

    // Template, stage and milestone names too.
    let mut template = small_template("tpl_odd");
    template["name"] = json!(texts[1]);
    template["stages"][0]["name"] = json!(texts[3]);
    template["stages"][0]["milestones"][0]["name"] = json!(texts[4]);
    template["stages"][0]["milestones"][0]["id"] = json!(texts[0]);
    server.post_template(template);
    let stored = server.get_json("/api/onboarding/templates/tpl_odd");
    assert_eq!(stored["name"], texts[1]);
    assert_eq!(stored["stages"][0]["name"], texts[3]);
    assert_eq!(stored["stages"][0]["milestones"][0]["name"], texts[4]);
    assert_eq!(stored["stages"][0]["milestones"][0]["id"], texts[0]);
}

// ---------------------------------------------------------------------------
// The request log
// ---------------------------------------------------------------------------

#[test]
fn the_log_has_one_line_per_request_and_never_a_token() {
    let mut harness = Server::start();
    let (ok, _) = harness.stop();
    assert!(ok);
    let config = harness.dir.path().join("onboarding.toml");
    let mut server = OwnServer::start(&harness.db, &config, Some("debug"));
    let token = harness.token.clone();
    let fake = "obk_FAKEtokenSECRETvalue1234567890";
    let agent = agent();

    // (request id, authorization header, expected status)
    let requests = [
        ("rel-valid-1", format!("Bearer {token}"), 200),
        ("rel-valid-2", format!("bearer   {token}  "), 200),
        ("rel-invalid-1", format!("Bearer {fake}"), 401),
        ("rel-invalid-2", format!("Token {fake}"), 401),
        ("rel-invalid-3", format!("Bearer {token}x"), 401),
        ("rel-invalid-4", format!("Basic {fake}"), 401),
        ("rel-invalid-5", format!("Bearer {fake} extra"), 401),
    ];
    for (id, authorization, status) in &requests {
        let reply = agent
            .get(format!("{}/api/clients", server.base))
            .header("Authorization", authorization)
            .header("x-request-id", *id)
            .call()
            .unwrap();
        assert_eq!(reply.status().as_u16(), *status, "{id}");
        assert_eq!(reply.headers().get("x-request-id").unwrap(), *id);
    }

    // A write, a 404 and a 405, each with an id of ours.
    let reply = agent
        .put(format!("{}/api/clients/logged", server.base))
        .header("Authorization", format!("Bearer {token}"))
        .header("x-request-id", "rel-put")
        .send(json!({"name": format!("not a secret {fake}")}).to_string())
        .unwrap();
    assert_eq!(reply.status().as_u16(), 201);
    let reply = agent
        .get(format!("{}/api/nowhere", server.base))
        .header("x-request-id", "rel-404")
        .call()
        .unwrap();
    assert_eq!(reply.status().as_u16(), 404);
    let reply = agent
        .post(format!("{}/api/clients/onboarding/stuck", server.base))
        .header("Authorization", format!("Bearer {token}"))
        .header("x-request-id", "rel-405")
        .send("")
        .unwrap();
    assert_eq!(reply.status().as_u16(), 405);

    // Without an id, or with one that is not sane, the server makes one.
    let mut generated = Vec::new();
    for given in [None, Some("has spaces in it"), Some(&*"x".repeat(65))] {
        let mut request = agent
            .get(format!("{}/api/clients", server.base))
            .header("Authorization", format!("Bearer {token}"));
        if let Some(given) = given {
            request = request.header("x-request-id", given);
        }
        let reply = request.call().unwrap();
        let id = reply
            .headers()
            .get("x-request-id")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(!id.is_empty() && Some(id) != given, "{id}");
        generated.push(id.to_string());
    }

    let (ok, log) = server.terminate(Duration::from_secs(10));
    assert!(ok, "{log}");

    assert!(
        !log.contains(&token),
        "the token leaked into the log:\n{log}"
    );
    assert!(
        !log.contains(fake),
        "a refused token leaked into the log:\n{log}"
    );
    assert!(
        !log.contains(&token[..token.len() / 2]),
        "part of the token leaked:\n{log}"
    );

    let request_lines = |id: &str| -> Vec<&str> {
        log.lines()
            .filter(|l| l.contains(&format!("request_id=\"{id}\"")) && l.contains("status="))
            .filter(|l| l.contains("latency_ms="))
            .collect()
    };
    let expectations = requests
        .iter()
        .map(|(id, _, status)| (id.to_string(), "GET", "/api/clients", *status))
        .chain([
            ("rel-put".to_string(), "PUT", "/api/clients/:companyId", 201),
            ("rel-404".to_string(), "GET", "", 404),
            (
                "rel-405".to_string(),
                "POST",
                "/api/clients/onboarding/stuck",
                405,
            ),
        ])
        .chain(
            generated
                .iter()
                .map(|id| (id.clone(), "GET", "/api/clients", 200)),
        );
    for (id, method, route, status) in expectations {
        let lines = request_lines(&id);
        assert_eq!(lines.len(), 1, "{id}: {lines:#?}\nlog:\n{log}");
        let line = lines[0];
        assert!(line.contains(&format!("method={method}")), "{line}");
        assert!(line.contains(&format!("status={status}")), "{line}");
        if !route.is_empty() {
            assert!(line.contains(&format!("route=\"{route}\"")), "{line}");
        }
    }
}

#[test]
fn at_the_default_level_each_request_logs_exactly_one_line() {
    let mut harness = Server::start();
    let (ok, _) = harness.stop();
    assert!(ok);
    let config = harness.dir.path().join("onboarding.toml");
    let mut server = OwnServer::start(&harness.db, &config, None);
    let agent = agent();

    let sent = [
        ("dflt-ok", format!("Bearer {}", harness.token), 200),
        ("dflt-401", "Bearer nope".to_string(), 401),
    ];
    for (id, authorization, status) in &sent {
        let reply = agent
            .get(format!("{}/api/clients", server.base))
            .header("Authorization", authorization)
            .header("x-request-id", *id)
            .call()
            .unwrap();
        assert_eq!(reply.status().as_u16(), *status);
    }

    let (ok, log) = server.terminate(Duration::from_secs(10));
    assert!(ok, "{log}");
    for (id, _, status) in &sent {
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains(&format!("\"{id}\"")))
            .collect();
        assert_eq!(lines.len(), 1, "{id}: {lines:#?}");
        assert!(
            lines[0].contains(&format!("status={status}")),
            "{}",
            lines[0]
        );
        assert!(lines[0].contains("latency_ms="), "{}", lines[0]);
    }
}
