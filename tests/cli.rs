//! The command line of SPEC §6 end to end: the real binary run in temporary
//! folders, its settings observed through what it does (which file it
//! creates, which address it serves on, what the API answers), its refusals
//! (exit code 2, one line naming the fault) and every subcommand.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{Server, BIN};
use serde_json::{json, Value};

/// The settings the environment can give; every child starts without them.
const SETTING_VARIABLES: [&str; 3] = ["ONBOARDING_CONFIG", "ONBOARDING_DB", "ONBOARDING_LISTEN"];

/// The binary, run in `dir`, with none of the settings of this process's environment.
fn onboarding(dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir).env("RUST_LOG", "warn");
    for name in SETTING_VARIABLES {
        command.env_remove(name);
    }
    command
}

fn run(command: &mut Command) -> Output {
    command
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn stdout_of(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("stderr is UTF-8")
}

fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}): {}{}",
        out.status.code(),
        stdout_of(out),
        stderr_of(out)
    );
}

/// Asserts a usage or settings refusal: exit code 2, nothing on stdout.
fn assert_refused(out: &Output, what: &str) -> String {
    assert_eq!(
        out.status.code(),
        Some(2),
        "{what}: {}{}",
        stdout_of(out),
        stderr_of(out)
    );
    assert_eq!(stdout_of(out), "", "{what}");
    stderr_of(out)
}

/// A `serve` or `demo` process that printed its address; killed when dropped.
struct Running {
    child: Option<Child>,
    base: String,
    lines: mpsc::Receiver<String>,
}

/// What a `serve` or `demo` command did: serve, or exit at once.
enum Started {
    Serving(Running),
    Exited { status: ExitStatus, stderr: String },
}

impl Started {
    fn serving(self, what: &str) -> Running {
        match self {
            Started::Serving(running) => running,
            Started::Exited { status, stderr } => {
                panic!("{what} exited with {status}: {stderr}")
            }
        }
    }

    fn exited(self, what: &str) -> (ExitStatus, String) {
        match self {
            Started::Serving(running) => panic!("{what} serves on {}", running.base),
            Started::Exited { status, stderr } => (status, stderr),
        }
    }
}

/// Spawns `command` and reads its first line of stdout: either the
/// "listening on http://ADDR" of a server, or nothing from one that exited.
fn start(command: &mut Command) -> Started {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");

    let (sender, lines) = mpsc::channel();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });

    let first = lines.recv_timeout(Duration::from_secs(60));
    match first
        .as_deref()
        .map(|line| line.strip_prefix("listening on "))
    {
        Ok(Some(base)) => Started::Serving(Running {
            child: Some(child),
            base: base.to_string(),
            lines,
        }),
        Ok(None) => panic!("unexpected first line: {first:?}"),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("nothing printed within a minute"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let status = child.wait().unwrap();
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            Started::Exited { status, stderr }
        }
    }
}

impl Running {
    /// The port the server printed.
    fn port(&self) -> u16 {
        self.base.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// The next line of stdout (after the address line).
    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(60))
            .expect("another line of stdout")
    }

    /// Sends SIGTERM, waits, and returns whether it exited 0, with its stderr.
    fn stop(mut self) -> (bool, String) {
        let mut child = self.child.take().unwrap();
        let killed = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(killed.success());

        let status = child.wait().unwrap();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (status.success(), stderr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One HTTP request to a server this test started; the status and body.
fn send(url: &str, method: &str, headers: &[(&str, &str)], body: Option<&str>) -> (u16, String) {
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder.body(body.unwrap_or("").to_string()).unwrap();

    let mut response = agent.run(request).expect("the request is answered");
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    (status, body)
}

/// `GET base+path` with a bearer token; the status and body.
fn get(base: &str, path: &str, token: &str) -> (u16, String) {
    let auth = format!("Bearer {token}");
    send(
        &format!("{base}{path}"),
        "GET",
        &[("Authorization", &auth)],
        None,
    )
}

/// `GET base+path` with a bearer token, asserting 200; the JSON body.
fn get_json(base: &str, path: &str, token: &str) -> Value {
    let (status, body) = get(base, path, token);
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// A port on 127.0.0.1 held by this test for as long as the listener lives,
/// so a server told to use it cannot start.
fn occupied_port() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    (listener, addr)
}

/// The names of the tables of an SQLite file.
fn tables(path: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap();
    let names = stmt
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<rusqlite::Result<Vec<String>>>()
        .unwrap();
    names
}

/// The `.db` files in `dir`, sorted.
fn databases_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".db"))
        .collect();
    names.sort();
    names
}

// Settings and their order.

#[test]
fn the_database_comes_from_the_flag_then_the_environment_then_the_file_then_the_default() {
    // (flag, environment, config file): the one expected to be used.
    let cases = [
        (Some("flag.db"), Some("env.db"), Some("file.db"), "flag.db"),
        (None, Some("env.db"), Some("file.db"), "env.db"),
        (None, None, Some("file.db"), "file.db"),
        (None, None, None, "onboarding.db"),
    ];
    for (flag, env, file, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        if let Some(file) = file {
            std::fs::write(
                dir.path().join("onboarding.toml"),
                format!("database = \"{file}\"\n"),
            )
            .unwrap();
        }
        let mut command = onboarding(dir.path());
        if let Some(flag) = flag {
            command.args(["--db", flag]);
        }
        if let Some(env) = env {
            command.env("ONBOARDING_DB", env);
        }

        let out = run(command.arg("migrate"));

        assert_success(&out, expected);
        assert_eq!(stdout_of(&out), format!("{expected} is up to date\n"));
        assert_eq!(databases_in(dir.path()), vec![expected.to_string()]);
        assert!(tables(&dir.path().join(expected)).contains(&"users".to_string()));
    }
}

#[test]
fn the_listen_address_comes_from_the_flag_then_the_environment_then_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (_held, taken) = occupied_port();
    let free = "127.0.0.1:0";
    let db = dir.path().join("listen.db");

    // (flag, environment, config file, the address expected to be used)
    let cases = [
        (Some(free), Some(taken.as_str()), Some(taken.as_str()), free),
        (Some(taken.as_str()), Some(free), Some(free), taken.as_str()),
        (None, Some(free), Some(taken.as_str()), free),
        (None, Some(taken.as_str()), Some(free), taken.as_str()),
        (None, None, Some(free), free),
        (None, None, Some(taken.as_str()), taken.as_str()),
    ];
    for (flag, env, file, expected) in cases {
        let what = format!("flag {flag:?}, env {env:?}, file {file:?}");
        let config = dir.path().join("listen.toml");
        let file_text = file.map_or(String::new(), |addr| format!("listen = \"{addr}\"\n"));
        std::fs::write(&config, file_text).unwrap();
        let mut command = onboarding(dir.path());
        command.arg("--config").arg(&config).arg("--db").arg(&db);
        command.arg("serve");
        if let Some(flag) = flag {
            command.args(["--listen", flag]);
        }
        if let Some(env) = env {
            command.env("ONBOARDING_LISTEN", env);
        }

        let started = start(&mut command);

        if expected == free {
            let server = started.serving(&what);
            assert!(server.base.starts_with("http://127.0.0.1:"), "{what}");
            assert_ne!(server.port(), 0, "{what}");
            assert_ne!(server.port(), 8080, "{what}: the default port");
            assert_ne!(format!("127.0.0.1:{}", server.port()), taken, "{what}");
            let (status, _) = send(&format!("{}/healthz", server.base), "GET", &[], None);
            assert_eq!(status, 200, "{what}");
            let (clean, stderr) = server.stop();
            assert!(clean, "{what}: {stderr}");
        } else {
            let (status, stderr) = started.exited(&what);
            assert_eq!(status.code(), Some(1), "{what}: {stderr}");
            assert!(
                stderr.contains(&format!("cannot listen on {taken}")),
                "{what}: {stderr}"
            );
        }
    }
}

#[test]
fn the_config_file_is_onboarding_toml_in_the_working_directory_unless_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("onboarding.toml"),
        "database = \"cwd.db\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("flag.toml"),
        "database = \"named-by-flag.db\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("env.toml"),
        "database = \"named-by-env.db\"\n",
    )
    .unwrap();

    // No --config: the working directory's file.
    assert_success(&run(onboarding(dir.path()).arg("migrate")), "cwd config");
    assert_eq!(databases_in(dir.path()), vec!["cwd.db"]);

    // --config names another file, and beats ONBOARDING_CONFIG.
    let out = run(onboarding(dir.path())
        .args(["--config", "flag.toml", "migrate"])
        .env("ONBOARDING_CONFIG", "env.toml"));
    assert_success(&out, "--config");
    assert_eq!(stdout_of(&out), "named-by-flag.db is up to date\n");

    // ONBOARDING_CONFIG names another file.
    let out = run(onboarding(dir.path())
        .arg("migrate")
        .env("ONBOARDING_CONFIG", "env.toml"));
    assert_success(&out, "ONBOARDING_CONFIG");
    assert_eq!(stdout_of(&out), "named-by-env.db is up to date\n");

    assert_eq!(
        databases_in(dir.path()),
        vec!["cwd.db", "named-by-env.db", "named-by-flag.db"]
    );
}

#[test]
fn stuck_settings_in_the_working_directory_config_shape_the_stuck_list() {
    let dir = tempfile::tempdir().unwrap();
    let config = "database = \"stuck.db\"\nstuck_after_days = 7\nstuck_limit = 1\n";
    std::fs::write(dir.path().join("onboarding.toml"), config).unwrap();
    let ten_days_ago = onboarding::timestamp::Timestamp::now()
        .days_before(10)
        .to_string();
    let assigned = |id: &str, name: &str| {
        json!({"id": id, "name": name,
               "onboarding": {"template_id": "tpl", "assigned_at": ten_days_ago,
                              "milestones": []}})
    };
    let document = json!({
        "version": 1,
        "users": [{"id": "admin", "name": "Admin"}],
        "templates": [common::small_template("tpl")],
        "clients": [assigned("older", "Older"), assigned("newer", "Newer")]
    });
    std::fs::write(dir.path().join("doc.json"), document.to_string()).unwrap();
    assert_success(
        &run(onboarding(dir.path()).args(["import", "doc.json"])),
        "import",
    );
    let out = run(onboarding(dir.path())
        .args(["tokens", "create", "--user", "admin"])
        .args(["--permissions", "clients:view"]));
    assert_success(&out, "tokens create");
    let token = stdout_of(&out).lines().last().unwrap().to_string();

    let server =
        start(onboarding(dir.path()).args(["serve", "--listen", "127.0.0.1:0"])).serving("serve");

    // Ten days idle is stuck after 7 days (not after the default 14), and
    // only one of the two is listed without a limit (not the default 5).
    let stuck = get_json(&server.base, "/api/clients/onboarding/stuck", &token);
    assert_eq!(stuck["clients"].as_array().unwrap().len(), 1, "{stuck}");
    assert_eq!(stuck["clients"][0]["id"], "newer", "{stuck}");
    let both = get_json(
        &server.base,
        "/api/clients/onboarding/stuck?limit=5",
        &token,
    );
    let mut ids: Vec<&str> = both["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["newer", "older"]);
    assert_eq!(databases_in(dir.path()), vec!["stuck.db"]);
}

// Refusals.

#[test]
fn a_bad_config_file_stops_every_command_with_one_line_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    // (config text, what the one line must name)
    let cases = [
        ("stuck_after_dayz = 3\n", "`stuck_after_dayz`"),
        ("stuck_limit = \"five\"\n", "`stuck_limit`"),
        ("listen = 8080\n", "`listen`"),
        ("pool_size = 0\n", "`pool_size`"),
        ("stuck_after_days = 3651\n", "`stuck_after_days`"),
        ("max_body_bytes = 1.5\n", "`max_body_bytes`"),
        ("cors_origins = \"https://a.example\"\n", "`cors_origins`"),
        ("log_level = \"loud\"\n", "`log_level`"),
        (
            "listen = \"127.0.0.1:0\"\nstuck_limit = 3\nstuck_limit = 4\n",
            "line 3",
        ),
    ];
    for (text, named) in cases {
        let config = dir.path().join("bad.toml");
        std::fs::write(&config, text).unwrap();
        for args in [
            &["serve", "--listen", "127.0.0.1:0"][..],
            &["migrate"][..],
            &["users", "list"][..],
        ] {
            let what = format!("{text:?} with {args:?}");
            let mut command = onboarding(dir.path());
            command
                .arg("--config")
                .arg(&config)
                .args(["--db", "never.db"]);

            let (status, stderr) = start(command.args(args)).exited(&what);

            assert_eq!(status.code(), Some(2), "{what}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
            assert!(stderr.contains(named), "{what}: {stderr}");
            assert!(stderr.contains("bad.toml"), "{what}: {stderr}");
        }
    }

    assert!(databases_in(dir.path()).is_empty());
}

#[test]
fn an_unreadable_config_file_stops_the_program_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("folder.toml")).unwrap();
    std::fs::write(
        dir.path().join("latin1.toml"),
        b"log_level = \"d\xe9bug\"\n",
    )
    .unwrap();

    for (name, how) in [
        ("missing.toml", "--config"),
        ("folder.toml", "--config"),
        ("latin1.toml", "--config"),
        ("missing.toml", "ONBOARDING_CONFIG"),
    ] {
        let mut command = onboarding(dir.path());
        if how == "--config" {
            command.args(["--config", name]);
        } else {
            command.env("ONBOARDING_CONFIG", name);
        }
        command.args(["--db", "never.db", "serve", "--listen", "127.0.0.1:0"]);

        let (status, stderr) = start(&mut command).exited(name);

        assert_eq!(status.code(), Some(2), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        assert!(stderr.contains(name), "{name}: {stderr}");
    }

    // An `onboarding.toml` that cannot be read is not silently skipped.
    std::fs::create_dir(dir.path().join("onboarding.toml")).unwrap();
    let out = run(onboarding(dir.path()).args(["--db", "never.db", "migrate"]));
    let stderr = assert_refused(&out, "folder as onboarding.toml");
    assert!(stderr.contains("onboarding.toml"), "{stderr}");

    assert!(databases_in(dir.path()).is_empty());
}

#[test]
fn bad_flag_values_exit_2_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("flags.db");
    let cli = |args: &[&str]| run(onboarding(dir.path()).arg("--db").arg(&db).args(args));
    assert_success(
        &cli(&["users", "add", "--id", "ana", "--name", "Ana"]),
        "add ana",
    );
    let long_id = "x".repeat(129);

    let cases: [(&[&str], &str); 9] = [
        (&["serve", "--listen", "nonsense"], "--listen"),
        (&["demo", "--listen", "127.0.0.1"], "--listen"),
        (&["users", "add", "--id", "", "--name", "Bob"], "--id"),
        (&["users", "add", "--id", &long_id, "--name", "Bob"], "--id"),
        (&["users", "add", "--id", "bob", "--name", "   "], "--name"),
        (&["users", "add", "--id", "bob", "--name", ""], "--name"),
        (
            &[
                "tokens",
                "create",
                "--user",
                "ana",
                "--permissions",
                "clients:fly",
            ],
            "--permissions",
        ),
        (
            &["tokens", "create", "--user", "ana", "--permissions", ""],
            "--permissions",
        ),
        (
            &["tokens", "create", "--user", "ana", "--permissions", ", ,"],
            "--permissions",
        ),
    ];
    for (args, flag) in cases {
        let what = format!("{args:?}");
        let mut command = onboarding(dir.path());

        let (status, stderr) = start(command.arg("--db").arg(&db).args(args)).exited(&what);

        assert_eq!(status.code(), Some(2), "{what}: {stderr}");
        assert!(stderr.contains(flag), "{what}: {stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{what}: one line: {stderr}"
        );
    }

    let users = stdout_of(&cli(&["users", "list"]));
    assert_eq!(users.lines().count(), 2, "{users}");
    assert!(users.lines().nth(1).unwrap().starts_with("ana "), "{users}");
    let tokens = stdout_of(&cli(&["tokens", "list"]));
    assert_eq!(tokens.lines().count(), 1, "only the header: {tokens}");
}

// Users and tokens.

#[test]
fn a_bad_value_from_the_environment_says_where_it_came_from() {
    let dir = tempfile::tempdir().unwrap();

    let out = run(onboarding(dir.path())
        .env("ONBOARDING_LISTEN", "bad")
        .arg("serve"));

    assert_eq!(out.status.code(), Some(2));
    let stderr = stderr_of(&out);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("'bad'"), "{stderr}");
    assert!(stderr.contains("ONBOARDING_LISTEN is set"), "{stderr}");
}

#[test]
fn commands_other_than_serving_keep_stderr_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("quiet.db");

    let mut command = onboarding(dir.path());
    command.env_remove("RUST_LOG");

    let out = run(command.arg("--db").arg(&db).args(["users", "list"]));

    assert_success(&out, "users list on a new database");
    assert_eq!(stderr_of(&out), "", "migrating a new database says nothing");
}

#[test]
fn users_are_added_once_and_listed() {
    let server = Server::start();

    let out = server.cli(&["users", "add", "--id", "ana", "--name", "Ana Pereira"]);
    assert_success(&out, "users add");
    assert_eq!(stdout_of(&out), "added user ana (Ana Pereira)\n");

    let again = server.cli(&["users", "add", "--id", "ana", "--name", "Someone Else"]);
    assert_eq!(again.status.code(), Some(1), "{}", stderr_of(&again));
    let stderr = stderr_of(&again);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("\"ana\" already exists"), "{stderr}");

    let list = server.cli(&["users", "list"]);
    assert_success(&list, "users list");
    let listing = stdout_of(&list);
    let rows: Vec<Vec<&str>> = listing
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "{listing}");
    assert_eq!(rows[0][..2], ["admin", "Admin"], "{listing}");
    assert_eq!(rows[1][..3], ["ana", "Ana", "Pereira"], "{listing}");
    assert!(!listing.contains("Someone Else"));
}

/// Creates a token for `user`; the whole stdout, the token id and the secret.
fn create_token(server: &Server, user: &str, permissions: &str) -> (String, String, String) {
    let out = server.cli(&[
        "tokens",
        "create",
        "--user",
        user,
        "--permissions",
        permissions,
        "--label",
        "laptop",
    ]);
    assert_success(&out, "tokens create");
    let stdout = stdout_of(&out);

    let secret = stdout.lines().last().unwrap().to_string();
    assert!(secret.starts_with("onb_"), "{stdout}");
    assert!(!secret.contains(char::is_whitespace), "{stdout}");
    assert_eq!(stdout.matches(&secret).count(), 1, "{stdout}");
    let id = stdout
        .strip_prefix("created token ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no token id in {stdout:?}"))
        .to_string();
    (stdout, id, secret)
}

/// The `tokens list` row of token `id`, split on whitespace.
fn token_row(server: &Server, id: &str) -> Vec<String> {
    let out = server.cli(&["tokens", "list"]);
    assert_success(&out, "tokens list");
    let listing = stdout_of(&out);
    assert!(!listing.contains("onb_"), "a secret is listed: {listing}");
    listing
        .lines()
        .map(|line| {
            line.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .find(|row| row[0] == id)
        .unwrap_or_else(|| panic!("token {id} not in {listing}"))
}

#[test]
fn a_created_token_works_is_listed_without_its_secret_and_dies_when_revoked() {
    let server = Server::start();
    assert_success(
        &server.cli(&["users", "add", "--id", "ana", "--name", "Ana"]),
        "users add",
    );

    let (stdout, id, secret) = create_token(&server, "ana", "clients:view");
    assert!(stdout.contains("for ana with clients:view"), "{stdout}");

    // It is a bearer token for ana's permissions, and no more.
    server.put_client("acme", "Acme");
    let reply = server.request("GET", "/api/clients/acme", Some(&secret), None, None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["name"], "Acme");
    let body = r#"{"name": "Renamed"}"#;
    let reply = server.request(
        "PUT",
        "/api/clients/acme",
        Some(&secret),
        Some(body),
        Some("application/json"),
    );
    reply.assert_error(403, "forbidden");

    // Listed by id, user, permissions and label; never the secret; not revoked.
    let row = token_row(&server, &id);
    assert_eq!(row[1..4], ["ana", "clients:view", "laptop"], "{row:?}");
    assert_eq!(row.last().unwrap(), "-", "{row:?}");

    // Revoked: the running server refuses it on the next request.
    let out = server.cli(&["tokens", "revoke", &id]);
    assert_success(&out, "tokens revoke");
    assert_eq!(stdout_of(&out), format!("revoked token {id}\n"));
    let reply = server.request("GET", "/api/clients/acme", Some(&secret), None, None);
    reply.assert_error(401, "unauthorized");
    let row = token_row(&server, &id);
    assert_ne!(row.last().unwrap(), "-", "{row:?}");
    assert!(row.last().unwrap().ends_with('Z'), "{row:?}");

    // Other tokens live on; revoking again is harmless.
    let reply = server.request("GET", "/api/clients/acme", Some(&server.token), None, None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_success(&server.cli(&["tokens", "revoke", &id]), "revoke again");
}

#[test]
fn revoking_an_unknown_token_or_creating_one_for_an_unknown_user_fails() {
    let server = Server::start();

    let out = server.cli(&["tokens", "revoke", "tok_nope"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("tok_nope"), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "");

    let out = server.cli(&["tokens", "create", "--user", "ghost", "--permissions", "*"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("ghost"), "{}", stderr_of(&out));
    assert!(!stdout_of(&out).contains("onb_"));

    let listing = stdout_of(&server.cli(&["tokens", "list"]));
    assert_eq!(
        listing.lines().count(),
        2,
        "the header and admin's: {listing}"
    );
}

// Database commands.

#[test]
fn migrate_creates_a_new_database_and_can_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fresh.db");
    let migrate = || run(onboarding(dir.path()).arg("--db").arg(&db).arg("migrate"));

    let first = migrate();
    assert_success(&first, "first migrate");
    assert_eq!(
        stdout_of(&first),
        format!("{} is up to date\n", db.display())
    );
    let after_first = tables(&db);
    for table in ["activity", "clients", "templates", "tokens", "users"] {
        assert!(
            after_first.contains(&table.to_string()),
            "{table}: {after_first:?}"
        );
    }

    let second = migrate();
    assert_success(&second, "second migrate");
    assert_eq!(tables(&db), after_first);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let applied: i64 = conn
        .query_row("SELECT count(*) FROM refinery_schema_history", [], |row| {
            row.get(0)
        })
        .unwrap();
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/sql"))
        .unwrap()
        .filter(|entry| entry.as_ref().unwrap().path().extension() == Some("sql".as_ref()))
        .count();
    assert_eq!(applied, files as i64, "each migration applied once");
}

#[test]
fn export_without_a_file_prints_the_document_and_backup_writes_a_sound_copy() {
    let server = Server::start();
    server.put_client("acme", "Acme Ltd");

    let out = server.cli(&["export"]);
    assert_success(&out, "export");
    let document: Value = serde_json::from_str(&stdout_of(&out)).expect("stdout is JSON");
    assert_eq!(document["version"], 1);
    assert_eq!(document["users"][0]["id"], "admin");
    assert_eq!(document["clients"][0]["id"], "acme");
    assert_eq!(document["clients"][0]["name"], "Acme Ltd");

    let copy = server.dir.path().join("copy.db");
    let out = server.cli(&["backup", copy.to_str().unwrap()]);
    assert_success(&out, "backup");
    assert_eq!(
        stdout_of(&out),
        format!("backup written to {}\n", copy.display())
    );
    let conn = rusqlite::Connection::open(&copy).unwrap();
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(verdict, "ok");
    let name: String = conn
        .query_row("SELECT name FROM clients WHERE id = 'acme'", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(name, "Acme Ltd");
    assert!(!server.dir.path().join("copy.partial").exists());
}

// The demo.

/// Splits a shell line into words, honouring single quotes (as the demo's
/// curl lines use them).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut in_word = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    assert!(!quoted, "unbalanced quotes: {line}");
    if in_word {
        words.push(word);
    }
    words
}

/// A curl command line as the request it sends.
#[derive(Debug)]
struct CurlRequest {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
}

fn parse_curl(line: &str) -> CurlRequest {
    let words = shell_words(line);
    assert_eq!(words[0], "curl", "{line}");
    let mut request = CurlRequest {
        method: String::new(),
        url: String::new(),
        headers: Vec::new(),
        body: None,
    };
    let mut rest = words[1..].iter();
    while let Some(word) = rest.next() {
        match word.as_str() {
            "-s" => {}
            "-X" => request.method = rest.next().unwrap().clone(),
            "-H" => {
                let header = rest.next().unwrap();
                let (name, value) = header.split_once(": ").unwrap();
                request.headers.push((name.into(), value.into()));
            }
            "-d" => request.body = Some(rest.next().unwrap().clone()),
            url if url.starts_with("http://") => request.url = url.into(),
            other => panic!("unexpected curl word {other:?} in {line}"),
        }
    }
    if request.method.is_empty() {
        request.method = if request.body.is_some() {
            "POST"
        } else {
            "GET"
        }
        .into();
    }
    request
}

/// What a demo run printed: the server, its token and its curl requests.
struct Demo {
    server: Running,
    token: String,
    curls: Vec<CurlRequest>,
}

/// Starts `demo` on `db` in `dir` and reads its welcome up to the fourth
/// curl line (one per onboarding route).
fn start_demo(dir: &Path, db: Option<&Path>) -> Demo {
    let mut command = onboarding(dir);
    if let Some(db) = db {
        command.arg("--db").arg(db);
    }
    let server = start(command.args(["demo", "--listen", "127.0.0.1:0"])).serving("demo");

    let mut printed = Vec::new();
    while printed
        .iter()
        .filter(|l: &&String| l.starts_with("curl "))
        .count()
        < 4
    {
        printed.push(server.next_line());
    }

    let tokens: Vec<&String> = printed.iter().filter(|l| l.starts_with("onb_")).collect();
    assert_eq!(tokens.len(), 1, "{printed:#?}");
    let token = tokens[0].clone();
    assert_eq!(token.trim(), token, "{printed:#?}");
    let curls = printed
        .iter()
        .filter(|line| line.starts_with("curl "))
        .map(|line| parse_curl(line))
        .collect();
    Demo {
        server,
        token,
        curls,
    }
}

/// The ids of all clients, in the API's order.
fn client_ids(base: &str, token: &str) -> Vec<String> {
    let page = get_json(base, "/api/clients?limit=200", token);
    assert_eq!(page["next_cursor"], Value::Null);
    page["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn demo_prints_a_working_token_and_curl_lines_and_reuses_its_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let demo = start_demo(dir.path(), Some(&db));
    let base = demo.server.base.clone();

    let clients = client_ids(&base, &demo.token);
    assert!(clients.len() >= 10, "a dozen clients: {clients:?}");
    let stuck = get_json(&base, "/api/clients/onboarding/stuck", &demo.token);
    assert!(!stuck["clients"].as_array().unwrap().is_empty(), "{stuck}");

    // Every printed curl line works as printed, with the printed token.
    let bearer = format!("Bearer {}", demo.token);
    let mut methods = Vec::new();
    for curl in &demo.curls {
        assert!(curl.url.starts_with(&format!("{base}/api/")), "{curl:?}");
        assert!(
            curl.headers
                .contains(&("Authorization".into(), bearer.clone())),
            "{curl:?}"
        );
        let headers: Vec<(&str, &str)> = curl
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let (status, body) = send(&curl.url, &curl.method, &headers, curl.body.as_deref());
        assert_eq!(status, 200, "{curl:?}: {body}");
        serde_json::from_str::<Value>(&body).unwrap_or_else(|e| panic!("{curl:?}: {e}"));
        methods.push(curl.method.clone());
    }
    assert_eq!(methods, ["GET", "GET", "PATCH", "POST"]);

    // Their writes took effect.
    let patch = &demo.curls[2];
    let path = patch.url.strip_prefix(&base).unwrap();
    let (client_path, milestone_id) = path.split_once("/milestones/").unwrap();
    let onboarding = get_json(&base, client_path, &demo.token);
    let ticked = onboarding["stages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["milestones"].as_array().unwrap())
        .find(|m| m["id"] == milestone_id)
        .unwrap_or_else(|| panic!("{milestone_id} not in {onboarding}"));
    let sent: Value = serde_json::from_str(patch.body.as_deref().unwrap()).unwrap();
    assert_eq!(ticked["completed"], true, "{ticked}");
    assert_eq!(ticked["notes"], sent["notes"], "{ticked}");
    let assign = &demo.curls[3];
    let sent: Value = serde_json::from_str(assign.body.as_deref().unwrap()).unwrap();
    let assigned_path = assign.url.strip_prefix(&base).unwrap();
    let assigned_path = assigned_path.strip_suffix("/assign").unwrap();
    let assigned = get_json(&base, assigned_path, &demo.token);
    assert_eq!(
        assigned["template"]["id"], sent["template_id"],
        "{assigned}"
    );

    let (clean, stderr) = demo.server.stop();
    assert!(clean, "demo did not exit 0 on SIGTERM: {stderr}");

    // A second run keeps the data (and the writes above) with a new token.
    let again = start_demo(dir.path(), Some(&db));
    assert_ne!(again.token, demo.token);
    assert_eq!(client_ids(&again.server.base, &again.token), clients);
    let reassigned = get_json(&again.server.base, assigned_path, &again.token);
    assert_eq!(reassigned["template"]["id"], sent["template_id"]);
    let onboarding_again = get_json(&again.server.base, client_path, &again.token);
    assert_eq!(onboarding_again, onboarding);
    let (clean, stderr) = again.server.stop();
    assert!(clean, "second demo did not exit 0 on SIGTERM: {stderr}");
}

#[test]
fn demo_without_a_database_setting_uses_onboarding_demo_db() {
    let dir = tempfile::tempdir().unwrap();

    let demo = start_demo(dir.path(), None);
    let clients = client_ids(&demo.server.base, &demo.token);
    let (clean, stderr) = demo.server.stop();

    assert!(clean, "{stderr}");
    assert!(!clients.is_empty());
    assert_eq!(databases_in(dir.path()), vec!["onboarding-demo.db"]);
}
