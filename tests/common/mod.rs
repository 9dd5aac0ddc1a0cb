//! Shared harness for the end-to-end tests: starts the real `onboarding`
//! binary on 127.0.0.1 port 0 with a temporary SQLite file, creates an
//! all-permissions token through the CLI, and talks HTTP to it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_onboarding");

/// A running server with its own database in a temporary folder.
pub struct Server {
    pub base: String,
    pub db: PathBuf,
    pub token: String,
    pub dir: tempfile::TempDir,
    child: Option<Child>,
    agent: ureq::Agent,
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts the status and the error code of a JSON error answer.
    pub fn assert_error(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status, status, "body: {}", self.body);
        let body = self.json();
        assert_eq!(body["code"], code, "body: {}", self.body);
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));
        body
    }
}

impl Server {
    /// Starts a server with default settings.
    pub fn start() -> Server {
        Self::start_with_config("")
    }

    /// Starts a server with `config` written as its TOML config file.
    pub fn start_with_config(config: &str) -> Server {
        let dir = tempfile::tempdir().expect("temporary folder");
        let db = dir.path().join("test.db");
        let config_path = dir.path().join("onboarding.toml");
        std::fs::write(&config_path, config).unwrap();

        let mut server = Server {
            base: String::new(),
            db,
            token: String::new(),
            dir,
            child: None,
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(30)))
                .build()
                .into(),
        };
        let out = server.cli(&["users", "add", "--id", "admin", "--name", "Admin"]);
        assert!(
            out.status.success(),
            "users add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        server.token = server.create_token("admin", "*");
        server.spawn();
        server
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("onboarding.toml")
    }

    /// Starts (or restarts) the server process and waits for its address.
    pub fn spawn(&mut self) {
        let mut child = Command::new(BIN)
            .args(["--config"])
            .arg(self.config_path())
            .arg("--db")
            .arg(&self.db)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
        self.base = addr.to_string();
        self.child = Some(child);
        self.wait_healthy();
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.request("GET", "/healthz", None, None, None).status == 200 {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("server did not become healthy");
    }

    /// Sends SIGTERM and waits for the process; returns its stderr and whether it exited 0.
    pub fn stop(&mut self) -> (bool, String) {
        let mut child = self.child.take().expect("server is running");
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
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

    /// Kills the process with SIGKILL, as a crash would.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("server is running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Runs the binary with this server's database and config.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("--config")
            .arg(self.config_path())
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .env("RUST_LOG", "warn")
            .output()
            .expect("the binary runs")
    }

    /// Creates a token through the CLI and returns its secret.
    pub fn create_token(&self, user: &str, permissions: &str) -> String {
        self.create_token_with_id(user, permissions).1
    }

    /// Creates a token through the CLI and returns its id and secret.
    pub fn create_token_with_id(&self, user: &str, permissions: &str) -> (String, String) {
        let out = self.cli(&[
            "tokens",
            "create",
            "--user",
            user,
            "--permissions",
            permissions,
        ]);
        assert!(
            out.status.success(),
            "tokens create: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let id = stdout
            .split_whitespace()
            .nth(2)
            .expect("created token <id> ...")
            .to_owned();
        let secret = stdout.lines().last().unwrap().trim().to_owned();
        (id, secret)
    }

    /// Any request. `token: None` sends no Authorization header.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        content_type: Option<&str>,
    ) -> Reply {
        let mut builder = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{}", self.base, path));
        if let Some(token) = token {
            builder = builder.header("Authorization", format!("Bearer {token}"));
        }
        if let Some(content_type) = content_type {
            builder = builder.header("Content-Type", content_type);
        }
        let request = builder.body(body.unwrap_or("").to_string()).unwrap();
        let mut response = self.agent.run(request).expect("the request is answered");
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A JSON request with the all-permissions token.
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        let body = body.map(|b| b.to_string());
        let content_type = body.as_ref().map(|_| "application/json");
        self.request(
            method,
            path,
            Some(&self.token),
            body.as_deref(),
            content_type,
        )
    }

    /// `GET` with the all-permissions token, asserting `200`; the JSON body.
    pub fn get_json(&self, path: &str) -> Value {
        let reply = self.call("GET", path, None);
        assert_eq!(reply.status, 200, "GET {path}: {}", reply.body);
        reply.json()
    }

    /// Creates (or updates) a client, asserting success.
    pub fn put_client(&self, id: &str, name: &str) {
        let reply = self.call(
            "PUT",
            &format!("/api/clients/{id}"),
            Some(serde_json::json!({ "name": name })),
        );
        assert!(matches!(reply.status, 200 | 201), "{}", reply.body);
    }

    /// Creates a template from a JSON body, asserting `201`.
    pub fn post_template(&self, body: Value) -> Value {
        let reply = self.call("POST", "/api/onboarding/templates", Some(body));
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.json()
    }

    /// Opens the server's database through the library (WAL lets it run
    /// beside the server), e.g. to write backdated data through the store.
    pub fn open_db(&self) -> onboarding::db::Db {
        onboarding::db::Db::open(&self.db, 2, Duration::from_secs(5)).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A template with three stages: kickoff (2 milestones, the first completed
/// by `deal_won`), an empty stage, and launch (1 milestone).
pub fn small_template(id: &str) -> Value {
    serde_json::json!({
        "id": id,
        "name": "Standard",
        "stages": [
            {"id": "s_kickoff", "type": "kickoff", "name": "Kickoff", "milestones": [
                {"id": "m_contract", "name": "Contract signed", "auto_complete": "deal_won"},
                {"id": "m_call", "name": "Kickoff call"}
            ]},
            {"id": "s_empty", "type": "empty", "name": "Nothing here", "milestones": []},
            {"id": "s_launch", "type": "launch", "name": "Launch", "milestones": [
                {"id": "m_live", "name": "Live"}
            ]}
        ]
    })
}
