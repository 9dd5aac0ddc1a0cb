//! Browser tests of the web dashboard: the real binary serves the page, headless
//! Chromium shows it, and the test drives Chromium through chromedriver with the
//! W3C WebDriver protocol (a small blocking JSON client over HTTP, below).
//!
//! Chromium is a system package, not a crate. When `/usr/bin/chromium` or
//! `/usr/bin/chromedriver` is missing, each test prints "skipped: chromium not
//! installed" to stderr and returns, so `cargo test` passes on a bare laptop;
//! when the environment variable `CI` is set it fails instead, so CI can never
//! pass without having run these tests.
//!
//! With `UPDATE_SCREENSHOTS=1` the tests also write the screenshots in
//! `docs/screenshots/`; without it they write nothing into the tree.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use common::{small_template, Server};
use onboarding::auth::Principal;
use onboarding::store::progress;
use onboarding::timestamp::Timestamp;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long any wait for the page may take before the test fails.
const WAIT_LIMIT: Duration = Duration::from_secs(10);

/// The key WebDriver sends for a key without a character (W3C "keys" table).
const ENTER: &str = "\u{E007}";
const ESCAPE: &str = "\u{E00C}";

/// The name of a client that would run script if the page parsed names as HTML.
const XSS_NAME: &str = "<img src=x onerror=alert(1)>";

/// Whether the browser is installed; when it is not, fails under CI and
/// otherwise says the test is skipped (see the module documentation).
fn chromium_installed() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|path| !Path::new(path).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }

    let missing = missing.join(" and ");
    let install = "apt-get install -y chromium chromium-driver";
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but {missing} not found: run `{install}`");
    }
    // Straight to stderr: the test harness would swallow `eprintln!` of a passing test.
    let _ = writeln!(
        std::io::stderr(),
        "skipped: chromium not installed ({missing} not found; `{install}`)"
    );
    false
}

/// A chromedriver process on a free loopback port, killed when dropped
/// (also when a test panics).
struct Chromedriver {
    child: Child,
    url: String,
}

impl Chromedriver {
    fn start(agent: &ureq::Agent) -> Chromedriver {
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Chromedriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };

        let status_url = format!("{}/status", driver.url);
        wait_for("chromedriver to be ready", || {
            let mut reply = agent.get(&status_url).call().ok()?;
            let body: Value =
                serde_json::from_str(&reply.body_mut().read_to_string().ok()?).ok()?;
            body["value"]["ready"].as_bool().filter(|ready| *ready)
        });
        driver
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port that was free a moment ago: bound to port 0, then released.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().unwrap().port()
}

/// Polls `check` until it gives a value, failing after [`WAIT_LIMIT`].
fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT_LIMIT;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A WebDriver answer that is not a success.
#[derive(Debug)]
struct WebDriverError {
    status: u16,
    error: String,
    message: String,
}

impl std::fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {} {}: {}", self.status, self.error, self.message)
    }
}

/// One headless Chromium session; the session (and so the browser) is closed
/// when dropped.
struct Browser {
    agent: ureq::Agent,
    session_url: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn open(driver: &Chromedriver, agent: ureq::Agent) -> Browser {
        let profile = tempfile::tempdir().expect("a profile folder");
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
        ]
        .map(String::from)
        .into_iter()
        .chain([format!("--user-data-dir={}", profile.path().display())])
        .collect::<Vec<_>>();
        // "ignore" leaves an unexpected alert open, so the test can see it.
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "unhandledPromptBehavior": "ignore",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
        }}});

        let answer = send(
            &agent,
            "POST",
            &format!("{}/session", driver.url),
            Some(capabilities),
        )
        .unwrap_or_else(|e| panic!("new WebDriver session: {e}"));
        let session_id = answer["sessionId"].as_str().expect("a session id");
        Browser {
            session_url: format!("{}/session/{session_id}", driver.url),
            agent,
            _profile: profile,
        }
    }

    /// Sends a command of this session; the answer's `value`.
    fn command(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, WebDriverError> {
        send(
            &self.agent,
            method,
            &format!("{}{path}", self.session_url),
            body,
        )
    }

    fn expect(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.command(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
    }

    fn goto(&self, url: &str) {
        self.expect("POST", "/url", Some(json!({ "url": url })));
    }

    /// Runs `script` in the page (`arguments` holds `args`) and returns its value.
    fn script(&self, script: &str, args: Value) -> Value {
        self.expect(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// The element matching `css`, if there is one now.
    fn find(&self, css: &str) -> Option<String> {
        let body = json!({"using": "css selector", "value": css});
        let found = self.command("POST", "/element", Some(body)).ok()?;
        found
            .as_object()?
            .values()
            .next()?
            .as_str()
            .map(String::from)
    }

    /// Waits for an element matching `css` that is displayed.
    fn wait_visible(&self, css: &str) -> String {
        wait_for(&format!("{css} to be shown"), || {
            let element = self.find(css)?;
            let shown = self.command("GET", &format!("/element/{element}/displayed"), None);
            shown.ok()?.as_bool().filter(|shown| *shown)?;
            Some(element)
        })
    }

    /// Waits until the page shows `view` with its data loaded.
    fn wait_view(&self, view: &str) {
        self.wait_visible(&format!(
            "#view[data-view=\"{view}\"][data-loaded=\"true\"]"
        ));
    }

    /// The `textContent` of the element matching `css`, if there is one.
    fn text_content(&self, css: &str) -> Option<String> {
        let script = "const node = document.querySelector(arguments[0]);\n\
                      return node ? node.textContent : null;";
        self.script(script, json!([css])).as_str().map(String::from)
    }

    /// Waits until the text of `css` satisfies `good`; returns that text.
    fn wait_text(&self, css: &str, what: &str, good: impl Fn(&str) -> bool) -> String {
        wait_for(&format!("{css} to read {what}"), || {
            self.text_content(css).filter(|text| good(text.trim()))
        })
    }

    fn click(&self, css: &str) {
        let element = self.wait_visible(css);
        self.expect(
            "POST",
            &format!("/element/{element}/click"),
            Some(json!({})),
        );
    }

    /// Types `text` into the element matching `css` (keys such as [`ENTER`] included).
    fn type_into(&self, css: &str, text: &str) {
        let element = self.wait_visible(css);
        self.expect(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn clear_field(&self, css: &str) {
        let element = self.wait_visible(css);
        self.expect(
            "POST",
            &format!("/element/{element}/clear"),
            Some(json!({})),
        );
    }

    /// The id of the focused element ("" when it has none).
    fn focused_id(&self) -> String {
        let id = self.script("return document.activeElement?.id ?? '';", json!([]));
        id.as_str().unwrap_or_default().to_string()
    }

    /// The class of the focused element.
    fn focused_class(&self) -> String {
        let class = self.script("return document.activeElement?.className ?? '';", json!([]));
        class.as_str().unwrap_or_default().to_string()
    }

    /// Asserts that no alert, confirm or prompt is open.
    fn assert_no_alert(&self) {
        let error = self
            .command("GET", "/alert/text", None)
            .expect_err("no alert should be open");
        assert_eq!(error.error, "no such alert", "{error}");
    }

    fn set_window_size(&self, width: u32, height: u32) {
        let size = json!({"width": width, "height": height});
        self.expect("POST", "/window/rect", Some(size));
    }

    /// Saves a PNG of the viewport into `docs/screenshots/` when
    /// `UPDATE_SCREENSHOTS=1`; otherwise only checks that one can be taken.
    fn screenshot(&self, name: &str) {
        let encoded = self.expect("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().expect("base64 text"))
            .expect("valid base64");
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");

        if std::env::var("UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(name), png).unwrap();
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = send(&self.agent, "DELETE", &self.session_url, None);
    }
}

/// One WebDriver request; the `value` of a success, the error of a failure.
fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    body: Option<Value>,
) -> Result<Value, WebDriverError> {
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("Content-Type", "application/json")
        .body(body.map(|b| b.to_string()).unwrap_or_default())
        .unwrap();
    let mut response = agent.run(request).expect("chromedriver answers");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let answer: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("WebDriver answer is not JSON ({e}): {text:?}"));

    let value = answer.get("value").cloned().unwrap_or(Value::Null);
    if status == 200 {
        return Ok(value);
    }
    Err(WebDriverError {
        status,
        error: value["error"].as_str().unwrap_or_default().to_string(),
        message: value["message"].as_str().unwrap_or_default().to_string(),
    })
}

fn webdriver_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// A second template, for switching to.
fn enterprise_template() -> Value {
    json!({
        "id": "enterprise",
        "name": "Enterprise",
        "stages": [
            {"id": "e_security", "type": "security_review", "name": "Security review",
             "milestones": [{"id": "e_questionnaire", "name": "Questionnaire returned"}]},
            {"id": "e_rollout", "type": "rollout", "name": "Rollout",
             "milestones": [{"id": "e_pilot", "name": "Pilot team live"}]}
        ]
    })
}

/// Seeds two templates and four clients: `acme` on the standard template,
/// `initech` and `xss` assigned long ago (so stuck), `globex` with none.
fn seed(server: &Server) {
    server.post_template(small_template("standard"));
    server.post_template(enterprise_template());
    server.put_client("acme", "Acme Ltd");
    server.put_client("globex", "Globex");
    server.put_client("initech", "Initech");
    server.put_client("xss", XSS_NAME);

    let assign = server.call(
        "POST",
        "/api/clients/acme/onboarding/assign",
        Some(json!({"template_id": "standard"})),
    );
    assert_eq!(assign.status, 200, "{}", assign.body);

    let admin = Principal {
        user_id: "admin".into(),
        user_name: "Admin".into(),
        permissions: Vec::new(),
    };
    let db = server.open_db();
    db.write_now(|tx| {
        let now = Timestamp::now();
        progress::assign(
            tx,
            "initech",
            "standard",
            false,
            &admin,
            now.days_before(30),
        )?;
        progress::assign(tx, "xss", "standard", false, &admin, now.days_before(20))
    })
    .expect("backdated assignments");
}

#[test]
fn dashboard_flows_in_a_real_browser() {
    if !chromium_installed() {
        return;
    }
    let server = Server::start();
    seed(&server);
    let agent = webdriver_agent();
    let driver = Chromedriver::start(&agent);
    let browser = Browser::open(&driver, agent);

    assert_csp_served(&server);
    sign_in(&browser, &server);
    find_stuck_clients(&browser);
    tick_milestones(&browser, &server);
    switch_template(&browser, &server);
    hostile_name_is_text(&browser);
    sign_out(&browser, &server);
}

/// A wrong token is refused with a reason; the right one, sent with Enter, opens
/// the dashboard.
fn sign_in(browser: &Browser, server: &Server) {
    browser.goto(&format!("{}/", server.base));
    browser.wait_visible("#signin-view");
    assert_eq!(browser.focused_id(), "token-input");
    record_csp_violations(browser);

    browser.type_into("#token-input", "onb_not_a_real_token");
    browser.click("#sign-in");
    browser.wait_visible("#signin-error");
    let said = browser.wait_text("#signin-error", "the refusal", |t| !t.is_empty());
    assert!(said.contains("not accepted"), "{said}");
    let nav_hidden = browser.script("return document.getElementById('nav').hidden;", json!([]));
    assert_eq!(nav_hidden, true, "no navigation before signing in");
    assert!(
        browser.find("#view[data-view]").is_none(),
        "no page is shown"
    );

    browser.clear_field("#token-input");
    browser.type_into("#token-input", &format!("{}{ENTER}", server.token));
    browser.wait_view("dashboard");
    browser.wait_visible("#nav");
    let signin_hidden = browser.script(
        "return document.getElementById('signin-view').hidden;",
        json!([]),
    );
    assert_eq!(signin_hidden, true);
}

/// The stuck widget lists the backdated clients, longest stalled first.
fn find_stuck_clients(browser: &Browser) {
    let stuck: Vec<String> = browser
        .script(
            "return [...document.querySelectorAll('#stuck-list > li')]\n\
             .map((li) => li.dataset.clientId);",
            json!([]),
        )
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_string())
        .collect();
    assert_eq!(stuck, ["initech", "xss"]);

    let initech = "#stuck-list li[data-client-id=\"initech\"]";
    assert_eq!(
        browser
            .text_content(&format!("{initech} .client-name"))
            .unwrap(),
        "Initech"
    );
    assert_eq!(
        browser
            .text_content(&format!("{initech} .client-stage"))
            .unwrap(),
        "kickoff"
    );
    assert_eq!(
        browser
            .text_content(&format!("{initech} .progress-text"))
            .unwrap(),
        "0 / 3"
    );
    assert!(browser.find("#stuck-empty:not([hidden])").is_none());

    let acme = "#client-list li[data-client-id=\"acme\"]";
    let acme_bar = browser.script(
        "return document.querySelector(arguments[0]).getAttribute('aria-valuenow');",
        json!([format!("{acme} [role=progressbar]")]),
    );
    assert_eq!(acme_bar, "0");
    let globex = "#client-list li[data-client-id=\"globex\"] .client-stage";
    assert_eq!(browser.text_content(globex).unwrap(), "no template");
    assert_eq!(browser.text_content("#clients-page").unwrap(), "Page 1");
}

/// Ticking milestones moves the current stage, shows who, when and how, and
/// leaves focus on the checkbox; the API agrees.
fn tick_milestones(browser: &Browser, server: &Server) {
    browser.click("#client-list li[data-client-id=\"acme\"] .client-name");
    browser.wait_view("client");
    assert_eq!(browser.text_content("#client-name").unwrap(), "Acme Ltd");
    assert_eq!(browser.text_content("#current-stage").unwrap(), "kickoff");
    assert_eq!(
        browser.text_content("#completion-percentage").unwrap(),
        "0%"
    );

    let contract = "li.milestone[data-milestone=\"m_contract\"]";
    browser.click(&format!("{contract} input[type=checkbox]"));
    browser.wait_text(&format!("{contract} .completed-by"), "the user", |t| {
        t == "by Admin"
    });
    assert_eq!(browser.text_content("#current-stage").unwrap(), "kickoff");

    // The second one with the keyboard: focus the checkbox, press Space.
    let call = "li.milestone[data-milestone=\"m_call\"]";
    browser.type_into(&format!("{call} input[type=checkbox]"), " ");
    browser.wait_text("#current-stage", "the next stage", |t| t == "launch");
    assert_eq!(
        browser.text_content("#completion-percentage").unwrap(),
        "67%"
    );

    let checked = browser.script(
        "const box = document.querySelector(arguments[0]);\n\
         return [box.checked, document.activeElement === box];",
        json!([format!("{call} input[type=checkbox]")]),
    );
    assert_eq!(
        checked,
        json!([true, true]),
        "ticked, and focus came back to it"
    );
    assert_eq!(
        browser
            .text_content(&format!("{call} .completed-by"))
            .unwrap(),
        "by Admin"
    );
    assert_eq!(
        browser
            .text_content(&format!("{call} .completed-source"))
            .unwrap(),
        "manual"
    );
    let stored = server.get_json("/api/clients/acme/onboarding");
    let call_stored = &stored["stages"][0]["milestones"][1];
    assert_eq!(call_stored["completed_by"], "admin");
    let shown_at = browser.script(
        "return document.querySelector(arguments[0]).getAttribute('datetime');",
        json!([format!("{call} .completed-at time")]),
    );
    assert_eq!(shown_at, call_stored["completed_at"]);
    assert_eq!(stored["current_stage_type"], "launch");
    let stage_current = "li.stage[data-stage-id=\"s_launch\"][data-current=\"true\"]";
    assert!(browser.find(stage_current).is_some());
}

/// Choosing another template asks first: Escape keeps the current one, the
/// confirm button switches and the page shows the new template.
fn switch_template(browser: &Browser, server: &Server) {
    browser.wait_visible("#assign-template option[value=\"enterprise\"]");
    browser.click("#assign-template option[value=\"enterprise\"]");
    browser.click("#assign-button");
    browser.wait_visible("#confirm-dialog[open]");
    assert_eq!(
        browser.focused_id(),
        "confirm-no",
        "the safe answer has focus"
    );
    let message = browser.text_content("#confirm-message").unwrap();
    assert!(
        message.contains("“Standard”") && message.contains("“Enterprise”"),
        "{message}"
    );

    browser.type_into("#confirm-no", ESCAPE);
    browser.wait_text("#assign-status", "nothing changed", |t| {
        t == "Nothing changed."
    });
    assert!(browser.find("#confirm-dialog[open]").is_none());
    assert_eq!(browser.focused_id(), "assign-button");
    assert_eq!(
        server.get_json("/api/clients/acme")["template_id"],
        "standard"
    );

    browser.click("#assign-button");
    browser.wait_visible("#confirm-dialog[open]");
    browser.click("#confirm-yes");
    browser.wait_text("#client-template", "the new template", |t| {
        t == "Enterprise"
    });
    browser.wait_text("#current-stage", "the new first stage", |t| {
        t == "security_review"
    });
    let status = browser.text_content("#assign-status").unwrap();
    assert_eq!(status, "Template “Enterprise” assigned.");
    assert_eq!(
        browser.text_content("#completion-percentage").unwrap(),
        "0%"
    );
    let activity = "#activity-list li[data-kind=\"reassigned\"] .activity-text";
    browser.wait_text(activity, "the switch", |t| {
        t == "Admin switched to template “Enterprise”"
    });
    assert_eq!(
        server.get_json("/api/clients/acme")["template_id"],
        "enterprise"
    );
}

/// A name made of HTML is shown as its literal text on both pages and runs nothing.
fn hostile_name_is_text(browser: &Browser) {
    browser.click("#nav-dashboard");
    browser.wait_view("dashboard");
    for list in ["#stuck-list", "#client-list"] {
        let link = format!("{list} li[data-client-id=\"xss\"] .client-name");
        assert_eq!(
            browser.text_content(&link).as_deref(),
            Some(XSS_NAME),
            "{list}"
        );
    }

    browser.click("#client-list li[data-client-id=\"xss\"] .client-name");
    browser.wait_view("client");
    assert_eq!(
        browser.text_content("#client-name").as_deref(),
        Some(XSS_NAME)
    );
    // The page's CSP would block the inline handler anyway, so also check that
    // no element was made from the name.
    assert_no_csp_violations(browser);
    let injected = browser.script(
        "return document.querySelectorAll('img[src=\"x\"]').length;",
        json!([]),
    );
    assert_eq!(injected, 0);
    browser.assert_no_alert();
}

/// The page and its files come with the Content-Security-Policy that allows
/// scripts and styles from this origin only.
fn assert_csp_served(server: &Server) {
    for path in ["/", "/assets/app.js", "/assets/app.css"] {
        let reply = server.request("GET", path, None, None, None);
        assert_eq!(reply.status, 200, "{path}");
        let csp = reply.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("script-src 'self';"), "{path}: {csp:?}");
        assert!(csp.contains("style-src 'self';"), "{path}: {csp:?}");
    }
}

/// From now on, collects what the page's CSP blocks (the page is a single
/// document, so the listener stays until the next navigation).
fn record_csp_violations(browser: &Browser) {
    browser.script(
        "window.cspViolations = [];\n\
         document.addEventListener('securitypolicyviolation', (event) => {\n\
           window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);\n\
         });",
        json!([]),
    );
}

/// Nothing was blocked by the CSP, and the style sheet is in use.
fn assert_no_csp_violations(browser: &Browser) {
    let blocked = browser.script("return window.cspViolations;", json!([]));
    assert_eq!(blocked, json!([]), "the page works within its CSP");
    let styled = browser.script(
        "return getComputedStyle(document.querySelector('.card')).borderStyle;",
        json!([]),
    );
    assert_eq!(styled, "solid", "app.css is applied");
}

/// Signing out forgets the token: the sign-in card is back, also after a reload.
fn sign_out(browser: &Browser, server: &Server) {
    browser.click("#sign-out");
    browser.wait_visible("#signin-view");
    let state = browser.script(
        "return [document.getElementById('nav').hidden,\n\
         sessionStorage.getItem('onboarding.apiToken'),\n\
         document.getElementById('view').childElementCount];",
        json!([]),
    );
    assert_eq!(state, json!([true, null, 0]));

    browser.goto(&format!("{}/#/clients/acme", server.base));
    browser.wait_visible("#signin-view");
    assert!(browser.find("#view[data-view]").is_none());
}

/// A newcomer's first run: `onboarding demo` prints a token; with it, by
/// keyboard and under the CSP the binary serves, the four onboarding routes
/// can all be used (stuck list, client page, ticking with notes, assigning),
/// and the client page fits a 360 px wide screen.
#[test]
fn demo_newcomer_uses_every_onboarding_route() {
    if !chromium_installed() {
        return;
    }
    let demo = Demo::start();
    let agent = webdriver_agent();
    let driver = Chromedriver::start(&agent);
    let browser = Browser::open(&driver, agent);

    browser.goto(&format!("{}/", demo.base));
    browser.type_into("#token-input", &format!("{}{ENTER}", demo.token));
    browser.wait_view("dashboard");
    let stuck_count = "return document.querySelectorAll('#stuck-list > li').length;";
    let stuck = browser.script(stuck_count, json!([]));
    assert!(stuck.as_u64().unwrap() > 0, "the demo has stuck clients");
    browser.screenshot("dashboard.png");

    add_notes_by_keyboard(&browser);
    browser.script("window.scrollTo(0, 0);", json!([]));
    browser.screenshot("client.png");
    assign_first_template(&browser, &demo);

    browser.set_window_size(360, 780);
    browser.goto(&format!("{}/#/clients/northwind", demo.base));
    browser.wait_view("client");
    let widths = browser.script(
        "const root = document.documentElement;\n\
         return [root.scrollWidth, root.clientWidth];",
        json!([]),
    );
    assert_eq!(
        widths[0], widths[1],
        "nothing sticks out sideways at 360 px: {widths}"
    );
    browser.screenshot("client-narrow.png");
}

/// Ticks a milestone with Space and writes its notes without the mouse.
fn add_notes_by_keyboard(browser: &Browser) {
    browser.click("#client-list li[data-client-id=\"northwind\"] .client-name");
    browser.wait_view("client");
    let stakeholders = "li.milestone[data-milestone=\"ms_stakeholders\"]";
    let checkbox = format!("{stakeholders} input[type=checkbox]");
    browser.type_into(&checkbox, " ");
    let by = format!("{stakeholders} .completed-by");
    browser.wait_text(&by, "the demo user", |t| t.starts_with("by "));

    browser.type_into(&format!("{stakeholders} .notes-edit"), ENTER);
    browser.wait_visible(&format!("{stakeholders} textarea.notes-input"));
    assert!(browser.focused_class().contains("notes-input"));
    let tab = "\u{E004}";
    browser.type_into(
        &format!("{stakeholders} textarea.notes-input"),
        &format!("Signed by the CFO{tab}"),
    );
    assert!(
        browser.focused_class().contains("notes-save"),
        "Tab reaches Save"
    );
    browser.type_into(&format!("{stakeholders} .notes-save"), ENTER);

    let notes = format!("{stakeholders} .milestone-notes");
    browser.wait_text(&notes, "the notes", |t| t == "Signed by the CFO");
    wait_for("focus back on the notes button", || {
        browser.focused_class().contains("notes-edit").then_some(())
    });
    let activity = "#activity-list li[data-kind=\"notes_changed\"]";
    browser.wait_visible(activity);
}

/// Assigns the demo template to the client that has none: no question asked.
fn assign_first_template(browser: &Browser, demo: &Demo) {
    browser.goto(&format!("{}/#/clients/soylent", demo.base));
    browser.wait_view("client");
    assert_eq!(
        browser.text_content("#client-template").unwrap(),
        "None assigned"
    );
    assert_eq!(browser.text_content("#current-stage").unwrap(), "—");

    browser.click("#assign-template option[value=\"tpl_agency\"]");
    browser.click("#assign-button");
    browser.wait_text("#client-template", "the demo template", |t| {
        t == "Agency onboarding"
    });
    assert!(browser.find("#confirm-dialog[open]").is_none());
    assert_eq!(browser.text_content("#current-stage").unwrap(), "kickoff");
}

/// `onboarding demo` on a free port with its own database.
struct Demo {
    child: Child,
    base: String,
    token: String,
    _dir: tempfile::TempDir,
}

impl Demo {
    fn start() -> Demo {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(common::BIN)
            .args(["demo", "--listen", "127.0.0.1:0", "--db"])
            .arg(dir.path().join("demo.db"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the demo starts");

        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut base = None;
        let mut token = None;
        while token.is_none() {
            let line = lines.next().expect("the demo prints a token").unwrap();
            if let Some(addr) = line.strip_prefix("listening on ") {
                base = Some(addr.trim().to_string());
            }
            if line.trim().starts_with("onb_") {
                token = Some(line.trim().to_string());
            }
        }
        // Keep reading what the demo prints, so its writes never fail.
        std::thread::spawn(move || lines.for_each(drop));
        Demo {
            child,
            base: base.expect("the demo prints its address"),
            token: token.unwrap(),
            _dir: dir,
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
