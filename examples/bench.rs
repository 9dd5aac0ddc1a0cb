//! The service benchmark of issue 6.
//!
//! Seeds a temporary database with N clients on a realistic template, starts
//! the real `onboarding serve` binary on it beside a bare warp route that
//! touches no database (the floor of this stack, in a second process), and
//! drives each route over loopback with HTTP/1.1 keep-alive connections for
//! a fixed time. It prints one table (requests per second, p50 and p99
//! latency, errors, share of the floor's throughput), the server's peak RSS,
//! its start-up time on a fresh database, the query plan of the stuck list
//! and what the store calls cost in-process, without HTTP.
//!
//! ```text
//! cargo run --release --example bench [-- --clients N --duration SECS --connections C]
//! ```
//!
//! The load generator shares the machine with both servers, so the figures
//! are relative: read each route against the floor of the same run.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{params, Connection};
use warp::Filter;

use onboarding::auth::{Permission, Principal, Secret};
use onboarding::db::{self, Db};
use onboarding::onboarding::FactType;
use onboarding::store::progress::{self, Toggle};
use onboarding::store::templates::{self, MilestoneInput, StageInput, TemplateInput};
use onboarding::store::{clients, users};
use onboarding::timestamp::Timestamp;

const USAGE: &str = "usage: bench [--clients N] [--duration SECS] [--connections C]
             [--only TEXT] [--pool-size P]
  defaults: 10000 clients, 5 s per route, 64 connections, the server's default settings;
  --only measures the floor and the routes whose label contains TEXT (to profile one route);
  --pool-size sets the server's pool_size (to compare pool sizes)";

/// The argument that turns this executable into the floor server.
const SERVE_FLOOR: &str = "--serve-floor";

const DAY_MS: i64 = 86_400_000;
const TEMPLATE_ID: &str = "tpl_bench";
const MILESTONES_PER_STAGE: usize = 4;
const MILESTONE_COUNT: usize = 20;
const BENCH_USER: (&str, &str) = ("bench", "Bench Admin");
const STAFF: [(&str, &str); 3] = [
    ("ana", "Ana Pereira"),
    ("ben", "Ben Okafor"),
    ("chloe", "Chloe Martin"),
];

/// The benchmark template: (stage type, stage name, its milestones).
const STAGES: [(&str, &str, [&str; MILESTONES_PER_STAGE]); 5] = [
    (
        "kickoff",
        "Kickoff",
        [
            "Contract signed",
            "Kickoff call held",
            "Approvers named",
            "Welcome pack sent",
        ],
    ),
    (
        "discovery",
        "Discovery",
        [
            "Brand assets received",
            "Goals workshop",
            "Analytics access",
            "Discovery report",
        ],
    ),
    (
        "setup",
        "Setup",
        [
            "Project created",
            "Deposit invoice issued",
            "Deposit paid",
            "Tracking installed",
        ],
    ),
    (
        "launch",
        "Launch",
        [
            "First campaign live",
            "Launch review call",
            "Client sign-off",
            "Retrospective",
        ],
    ),
    (
        "handover",
        "Handover",
        [
            "Monthly reporting",
            "Success plan agreed",
            "Account manager met",
            "Handover call",
        ],
    ),
];

const NAME_FIRST: [&str; 12] = [
    "Amber", "Blue", "Cedar", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris", "Juniper",
    "Kestrel", "Lumen",
];
const NAME_SECOND: [&str; 10] = [
    "Analytics",
    "Bakery",
    "Clinic",
    "Dynamics",
    "Foods",
    "Group",
    "Labs",
    "Logistics",
    "Media",
    "Studio",
];

/// Days without activity after which a client is stuck (the default setting).
const STUCK_AFTER_DAYS: i64 = 14;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(SERVE_FLOOR) {
        serve_floor();
        return ExitCode::SUCCESS;
    }
    let options = match Options::parse(&args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bench: {message}");
            ExitCode::FAILURE
        }
    }
}

/// What the command line asks for.
struct Options {
    clients: usize,
    duration: Duration,
    connections: usize,
    only: Option<String>,
    pool_size: Option<usize>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options, String> {
        let mut options = Options {
            clients: 10_000,
            duration: Duration::from_secs(5),
            connections: 64,
            only: None,
            pool_size: None,
        };
        let mut rest = args.iter();
        while let Some(flag) = rest.next() {
            let value = rest.next().ok_or_else(|| format!("{flag} needs a value"))?;
            if flag == "--only" {
                options.only = Some(value.clone());
                continue;
            }
            let number: f64 = value
                .parse()
                .map_err(|_| format!("{flag}: {value:?} is not a number"))?;
            if !number.is_finite() || number <= 0.0 {
                return Err(format!("{flag} must be a number above 0"));
            }
            match flag.as_str() {
                "--clients" => options.clients = number as usize,
                "--duration" => options.duration = Duration::from_secs_f64(number),
                "--connections" => options.connections = number as usize,
                "--pool-size" => options.pool_size = Some(number as usize),
                _ => return Err(format!("unknown flag {flag}")),
            }
        }
        Ok(options)
    }
}

fn run(options: &Options) -> Result<(), String> {
    let binary = build_server_binary()?;
    let dir = tempfile::tempdir().map_err(|err| format!("no temporary folder: {err}"))?;
    let db_path = dir.path().join("bench.db");
    let config_path = dir.path().join("onboarding.toml");
    let config = options
        .pool_size
        .map_or(String::new(), |size| format!("pool_size = {size}\n"));
    std::fs::write(&config_path, config).map_err(|err| format!("cannot write config: {err}"))?;

    let seeded = seed_database(&db_path, options.clients)?;
    print_stuck_plan(&db_path)?;
    measure_store_calls(&db_path, &seeded)?;

    let server = Process::spawn(
        Command::new(&binary)
            .arg("--config")
            .arg(&config_path)
            .arg("--db")
            .arg(&db_path)
            .args(["serve", "--listen", "127.0.0.1:0"]),
    )?;
    let current_exe = std::env::current_exe().map_err(|err| format!("no executable: {err}"))?;
    let floor = Process::spawn(Command::new(current_exe).arg(SERVE_FLOOR))?;
    println!(
        "\nserver pid {} on {}, floor pid {} on {}; {} connections, {:?} per route",
        server.child.id(),
        server.addr,
        floor.child.id(),
        floor.addr,
        options.connections,
        options.duration
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| format!("no runtime: {err}"))?;
    let mut results = Vec::new();
    let wanted = |kind: RouteKind| {
        kind == RouteKind::Floor
            || options
                .only
                .as_ref()
                .is_none_or(|t| kind.label().contains(t))
    };
    for kind in RouteKind::ALL.into_iter().filter(|&kind| wanted(kind)) {
        let target = if kind == RouteKind::Floor {
            &floor
        } else {
            &server
        };
        let load = Load {
            addr: target.addr,
            kind,
            seeded: Arc::clone(&seeded),
            connections: options.connections,
            duration: options.duration,
        };
        let before = ProcessCost::read(target.child.id());
        let mut measured = runtime.block_on(load.drive());
        measured.server_cost = ProcessCost::read(target.child.id()).since(before);
        eprintln!("  measured {}", kind.label());
        results.push((kind, measured));
    }
    let server_peak_kib = peak_rss_kib(server.child.id());
    let floor_peak_kib = peak_rss_kib(floor.child.id());
    drop(server);
    drop(floor);

    let startups = measure_startups(&binary, dir.path(), &config_path, 5)?;

    print_report(
        options,
        &results,
        server_peak_kib,
        floor_peak_kib,
        &startups,
    );
    Ok(())
}

/// Builds `onboarding` in the profile of this example and returns its path,
/// which is beside the `examples` folder this executable lives in.
fn build_server_binary() -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "--bin", "onboarding", "--manifest-path"]);
    build.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"));
    if !cfg!(debug_assertions) {
        build.arg("--release");
    } else {
        eprintln!("warning: a debug build; run with --release for meaningful figures");
    }
    let status = build
        .status()
        .map_err(|err| format!("cannot run cargo: {err}"))?;
    if !status.success() {
        return Err("building the onboarding binary failed".into());
    }

    let exe = std::env::current_exe().map_err(|err| format!("no executable: {err}"))?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("the example is not inside a target folder")?;
    let binary = profile_dir.join("onboarding");
    if !binary.exists() {
        return Err(format!("{} was not built", binary.display()));
    }
    Ok(binary)
}

// ---------------------------------------------------------------------------
// Seeding

/// What the seed gave one client: its template (or none) and how many of its
/// milestones are complete, always the first ones in template order.
#[derive(Clone, Copy, Debug)]
struct ClientPlan {
    assigned: bool,
    done: usize,
    stuck: bool,
}

/// The seeded database as the load generator needs it.
struct Seeded {
    token: String,
    plans: Vec<ClientPlan>,
    /// Indices of the clients that have the template.
    assigned: Vec<usize>,
}

fn client_id(index: usize) -> String {
    format!("c{index:06}")
}

fn milestone_id(index: usize) -> String {
    format!("ms{:02}", index + 1)
}

fn milestone_name(index: usize) -> &'static str {
    STAGES[index / MILESTONES_PER_STAGE].2[index % MILESTONES_PER_STAGE]
}

fn benchmark_template() -> TemplateInput {
    let stages = STAGES
        .iter()
        .enumerate()
        .map(|(s, (stage_type, name, milestones))| StageInput {
            id: Some(format!("stg_{stage_type}")),
            stage_type: (*stage_type).into(),
            name: (*name).into(),
            milestones: milestones
                .iter()
                .enumerate()
                .map(|(m, milestone)| {
                    let index = s * MILESTONES_PER_STAGE + m;
                    MilestoneInput {
                        id: Some(milestone_id(index)),
                        name: (*milestone).into(),
                        description: Some(format!("Step {} of the agency onboarding", index + 1)),
                        auto_complete: (index == 0).then_some(FactType::DealWon),
                    }
                })
                .collect(),
        })
        .collect();
    TemplateInput {
        id: Some(TEMPLATE_ID.into()),
        name: "Agency onboarding".into(),
        description: Some("Five stages from contract to handover".into()),
        active: Some(true),
        stages,
    }
}

impl ClientPlan {
    /// 8% without a template, 12% complete, the rest part-way; a fifth of
    /// those part-way have been idle for 15 to 90 days.
    fn draw(rng: &mut StdRng) -> ClientPlan {
        let assigned = rng.random_bool(0.92);
        let done = match assigned {
            false => 0,
            true if rng.random_bool(0.12) => MILESTONE_COUNT,
            true => rng.random_range(0..MILESTONE_COUNT),
        };
        let stuck = assigned && done < MILESTONE_COUNT && rng.random_bool(0.2);
        ClientPlan {
            assigned,
            done,
            stuck,
        }
    }
}

/// Seeds users, a token, the template and `count` clients with their
/// progress and history in one transaction, through the library for users,
/// tokens, the template and the summaries, with plain SQL for the bulk rows.
fn seed_database(path: &Path, count: usize) -> Result<Arc<Seeded>, String> {
    let started = Instant::now();
    let db = db::open_migrated(path, 2, Duration::from_secs(10)).map_err(|e| e.to_string())?;
    let now = Timestamp::now().millis();

    let (token, plans) = db
        .write_now(|tx| {
            tx.pragma_update(None, "cache_size", -256_000)?;
            let at = Timestamp::from_millis(now - 400 * DAY_MS);
            users::add_user(tx, BENCH_USER.0, BENCH_USER.1, at)?;
            for (id, name) in STAFF {
                users::add_user(tx, id, name, at)?;
            }
            let (_, secret) =
                users::create_token(tx, BENCH_USER.0, &[Permission::All], Some("bench"), at)?;
            let mut template = benchmark_template();
            template.validate("")?;
            templates::create(tx, &template, at)?;

            let mut rng = StdRng::seed_from_u64(6);
            let mut writer = BulkWriter::new(tx)?;
            let plans: Vec<ClientPlan> = (0..count)
                .map(|index| {
                    let plan = ClientPlan::draw(&mut rng);
                    writer.client(&mut rng, index, plan, now).map(|()| plan)
                })
                .collect::<rusqlite::Result<_>>()?;
            drop(writer);

            for (index, plan) in plans.iter().enumerate() {
                if plan.assigned {
                    clients::refresh_summary(tx, &client_id(index))?;
                }
            }
            Ok((secret.expose().to_owned(), plans))
        })
        .map_err(|err| format!("seeding failed: {err}"))?;
    let seconds = started.elapsed().as_secs_f64();

    check_seed(&db, &plans, now)?;
    drop(db);
    // Write the seed back now, so that the first commits measured do not
    // wait behind hundreds of megabytes of dirty pages.
    let _ = Command::new("sync").status();
    let assigned = (0..plans.len()).filter(|&i| plans[i].assigned).collect();
    let size_mib = std::fs::metadata(path).map_or(0, |m| m.len()) >> 20;
    println!(
        "seeded {count} clients in {seconds:.1} s ({size_mib} MiB): {} without template, \
         {} complete, {} stuck",
        plans.iter().filter(|p| !p.assigned).count(),
        plans.iter().filter(|p| p.done == MILESTONE_COUNT).count(),
        plans.iter().filter(|p| p.stuck).count(),
    );
    Ok(Arc::new(Seeded {
        token,
        plans,
        assigned,
    }))
}

/// Prepared inserts for the bulk of the seed.
struct BulkWriter<'conn> {
    client: rusqlite::CachedStatement<'conn>,
    progress: rusqlite::CachedStatement<'conn>,
    activity: rusqlite::CachedStatement<'conn>,
}

impl<'conn> BulkWriter<'conn> {
    fn new(conn: &'conn Connection) -> rusqlite::Result<BulkWriter<'conn>> {
        Ok(BulkWriter {
            client: conn.prepare_cached(
                "INSERT INTO clients (id, name, logo_url, created_at, template_id, assigned_at,
                     assigned_by, activity_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?,
            progress: conn.prepare_cached(
                "INSERT INTO progress (client_id, template_id, milestone_id, completed_at,
                     completed_by, source)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?,
            activity: conn.prepare_cached(
                "INSERT INTO activity (client_id, at, kind, template_id, milestone_id,
                     milestone_name, user_id, user_name, source)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'manual')",
            )?,
        })
    }

    /// Writes one client as the API would have left it: assigned some days
    /// ago, its first `done` milestones completed a day or three apart, the
    /// last of them (or the assignment) `plan.stuck`-dependently long ago.
    fn client(
        &mut self,
        rng: &mut StdRng,
        index: usize,
        plan: ClientPlan,
        now: i64,
    ) -> rusqlite::Result<()> {
        let id = client_id(index);
        let name = format!(
            "{} {} {index}",
            NAME_FIRST[rng.random_range(0..NAME_FIRST.len())],
            NAME_SECOND[rng.random_range(0..NAME_SECOND.len())]
        );
        let logo_url = rng
            .random_bool(0.3)
            .then(|| format!("https://logos.example.com/{id}.png"));

        if !plan.assigned {
            let created_at = now - rng.random_range(0..60 * DAY_MS);
            self.client.execute(params![
                id,
                name,
                logo_url,
                created_at,
                None::<&str>,
                None::<i64>,
                None::<&str>,
                None::<i64>
            ])?;
            return Ok(());
        }

        let idle_days = match (plan.stuck, plan.done == MILESTONE_COUNT) {
            (true, _) => rng.random_range(STUCK_AFTER_DAYS + 1..=90),
            (false, false) => rng.random_range(0..STUCK_AFTER_DAYS),
            (false, true) => rng.random_range(0..=120),
        };
        let last_activity = now - idle_days * DAY_MS - rng.random_range(0..DAY_MS / 2);
        let step = rng.random_range(DAY_MS..3 * DAY_MS);
        let assigned_at = last_activity - plan.done as i64 * step;
        let created_at = assigned_at - rng.random_range(DAY_MS..30 * DAY_MS);
        let (assigned_by, _) = STAFF[index % STAFF.len()];
        self.client.execute(params![
            id,
            name,
            logo_url,
            created_at,
            TEMPLATE_ID,
            assigned_at,
            assigned_by,
            last_activity
        ])?;

        self.activity.execute(params![
            id,
            assigned_at,
            "assigned",
            TEMPLATE_ID,
            None::<&str>,
            None::<&str>,
            STAFF[index % STAFF.len()].0,
            STAFF[index % STAFF.len()].1
        ])?;
        for milestone in 0..MILESTONE_COUNT {
            let completed = milestone < plan.done;
            let completed_at = completed.then(|| assigned_at + (milestone as i64 + 1) * step);
            let (user_id, user_name) = STAFF[(index + milestone) % STAFF.len()];
            self.progress.execute(params![
                id,
                TEMPLATE_ID,
                milestone_id(milestone),
                completed_at,
                completed.then_some(user_id),
                completed.then_some("manual")
            ])?;
            if let Some(at) = completed_at {
                self.activity.execute(params![
                    id,
                    at,
                    "completed",
                    TEMPLATE_ID,
                    milestone_id(milestone),
                    milestone_name(milestone),
                    user_id,
                    user_name
                ])?;
            }
        }
        Ok(())
    }
}

/// Checks the derived columns against the plan: the partial index of the
/// stuck list must hold exactly the clients planned stuck, and the counts
/// must match.
fn check_seed(db: &Db, plans: &[ClientPlan], now: i64) -> Result<(), String> {
    let cutoff = now - STUCK_AFTER_DAYS * DAY_MS;
    let (stuck, completed, unfinished) = db
        .read_now(|conn| {
            Ok(conn.query_row(
                "SELECT
                     (SELECT count(*) FROM clients INDEXED BY clients_unfinished_by_activity
                      WHERE template_id IS NOT NULL AND completed_count < total_count
                          AND activity_at <= ?1),
                     (SELECT total(completed_count) FROM clients),
                     (SELECT count(*) FROM clients WHERE current_stage_type IS NOT NULL
                          AND completed_count < total_count)",
                [cutoff],
                |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, f64>(1)?,
                        row.get::<_, i64>(2)?,
                    ))
                },
            )?)
        })
        .map_err(|err| format!("checking the seed: {err}"))?;

    let planned_stuck = plans.iter().filter(|p| p.stuck).count() as i64;
    let planned_done: usize = plans.iter().map(|p| p.done).sum();
    let planned_unfinished = plans
        .iter()
        .filter(|p| p.assigned && p.done < MILESTONE_COUNT)
        .count() as i64;
    if (stuck, completed as usize, unfinished) != (planned_stuck, planned_done, planned_unfinished)
    {
        return Err(format!(
            "seed summaries are off: stuck {stuck} (planned {planned_stuck}), completed \
             {completed} ({planned_done}), unfinished {unfinished} ({planned_unfinished})"
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// In-process measurements

/// The stuck list's query as `store::clients::stuck` runs it.
const STUCK_SQL: &str = onboarding::store::clients::STUCK_QUERY;

/// Prints how SQLite runs the stuck query, with its index hint and without.
fn print_stuck_plan(path: &Path) -> Result<(), String> {
    let conn = Connection::open(path).map_err(|err| err.to_string())?;
    let unhinted = STUCK_SQL.replace(" INDEXED BY clients_unfinished_by_activity", "");
    for (label, sql) in [("as stored", STUCK_SQL), ("without INDEXED BY", &unhinted)] {
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .map_err(|err| err.to_string())?;
        let details: Vec<String> = stmt
            .query_map(params![0_i64, 5_i64], |row| row.get(3))
            .and_then(|rows| rows.collect())
            .map_err(|err| err.to_string())?;
        println!("EXPLAIN QUERY PLAN of the stuck query ({label}):");
        for detail in details {
            println!("  {detail}");
        }
    }
    Ok(())
}

/// Times the store calls behind each route on one connection, without HTTP,
/// so that the HTTP figures can be split into database and the rest.
fn measure_store_calls(path: &Path, seeded: &Seeded) -> Result<(), String> {
    let db = db::open_migrated(path, 2, Duration::from_secs(10)).map_err(|e| e.to_string())?;
    let conn = db.connection().map_err(|e| e.to_string())?;
    let mut rng = StdRng::seed_from_u64(7);
    let secret = Secret::new(seeded.token.clone());
    let now = Timestamp::now();
    let cutoff = Timestamp::from_millis(now.millis() - STUCK_AFTER_DAYS * DAY_MS);
    let random_client = |rng: &mut StdRng| client_id(rng.random_range(0..seeded.plans.len()));

    println!("\nstore calls in-process, one connection, no HTTP (mean per call):");
    let budget = Duration::from_millis(400);
    time_call("users::authenticate (every request)", budget, || {
        users::authenticate(&conn, &secret).map(drop)
    })?;
    time_call("progress::read (GET onboarding)", budget, || {
        progress::read(&conn, &random_client(&mut rng)).map(drop)
    })?;
    time_call("progress::read + serde_json::to_vec", budget, || {
        let onboarding = progress::read(&conn, &random_client(&mut rng))?;
        serde_json::to_vec(&onboarding)
            .map(drop)
            .map_err(|err| onboarding::Error::Internal(err.to_string()))
    })?;
    conn.pragma_update(None, "mmap_size", 1_i64 << 30)
        .map_err(|err| err.to_string())?;
    time_call("progress::read with mmap_size=1GiB", budget, || {
        progress::read(&conn, &random_client(&mut rng)).map(drop)
    })?;
    conn.pragma_update(None, "mmap_size", 0)
        .map_err(|err| err.to_string())?;
    time_call("clients::stuck, limit 5", budget, || {
        clients::stuck(&conn, cutoff, 5, now).map(drop)
    })?;
    time_call("clients::list, limit 50", budget, || {
        clients::list(&conn, None, 50).map(drop)
    })?;
    time_call(
        "clients::list, limit 50 + serde_json::to_vec",
        budget,
        || {
            let (page, _) = clients::list(&conn, None, 50)?;
            serde_json::to_vec(&page)
                .map(drop)
                .map_err(|err| onboarding::Error::Internal(err.to_string()))
        },
    )?;
    time_call("the same through a serde_json::json! Value", budget, || {
        let (page, _) = clients::list(&conn, None, 50)?;
        let body = serde_json::json!({ "clients": page, "next_cursor": null });
        serde_json::to_vec(&body)
            .map(drop)
            .map_err(|err| onboarding::Error::Internal(err.to_string()))
    })?;
    let mut progress_rows = conn
        .prepare(
            "SELECT milestone_id, completed_at, completed_by, source, notes
             FROM progress WHERE client_id = ?1",
        )
        .map_err(|err| err.to_string())?;
    time_call("progress rows of one client alone", budget, || {
        let rows = progress_rows.query_map([random_client(&mut rng)], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Option<i64>>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, Option<String>>(3)?,
                row.get::<_, Option<String>>(4)?,
            ))
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(())
    })?;
    drop(progress_rows);
    drop(conn);

    let principal = Principal {
        user_id: BENCH_USER.0.into(),
        user_name: BENCH_USER.1.into(),
        permissions: vec![Permission::All],
    };
    let mut pairs = TogglePairs::new(StdRng::seed_from_u64(8));
    time_call("toggle_milestone in write_now (sync=FULL)", budget, || {
        let (client, milestone, completed) = pairs.next(seeded);
        db.write_now(|tx| {
            let toggle = Toggle {
                completed,
                notes: None,
            };
            progress::toggle_milestone(tx, &client, &milestone, toggle, &principal, now)
        })
        .map(drop)
    })?;

    let mut conn = Connection::open(path).map_err(|err| err.to_string())?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(|err| err.to_string())?;
    time_call("the same toggle with synchronous=NORMAL", budget, || {
        let (client, milestone, completed) = pairs.next(seeded);
        let tx = conn.transaction()?;
        let toggle = Toggle {
            completed,
            notes: None,
        };
        progress::toggle_milestone(&tx, &client, &milestone, toggle, &principal, now)?;
        tx.commit()?;
        Ok(())
    })
}

fn time_call(
    label: &str,
    budget: Duration,
    mut call: impl FnMut() -> onboarding::Result<()>,
) -> Result<(), String> {
    let started = Instant::now();
    let mut calls = 0_u32;
    while started.elapsed() < budget {
        call().map_err(|err| format!("{label}: {err}"))?;
        calls += 1;
    }
    let mean = started.elapsed() / calls;
    println!(
        "  {label:<44} {:>8.1} µs  ({calls} calls)",
        mean.as_secs_f64() * 1e6
    );
    Ok(())
}

/// Milestone toggles that each change something and come in pairs, so that
/// every client is back to its seeded state after the second: a complete
/// milestone is un-completed then completed, an open one the other way.
struct TogglePairs {
    rng: StdRng,
    pending: Option<(String, String, bool)>,
}

impl TogglePairs {
    fn new(rng: StdRng) -> TogglePairs {
        TogglePairs { rng, pending: None }
    }

    /// (client id, milestone id, `completed` to send)
    fn next(&mut self, seeded: &Seeded) -> (String, String, bool) {
        if let Some(second) = self.pending.take() {
            return second;
        }
        let index = seeded.assigned[self.rng.random_range(0..seeded.assigned.len())];
        let milestone = self.rng.random_range(0..MILESTONE_COUNT);
        let was_completed = milestone < seeded.plans[index].done;
        let (client, milestone) = (client_id(index), milestone_id(milestone));
        self.pending = Some((client.clone(), milestone.clone(), was_completed));
        (client, milestone, !was_completed)
    }
}

// ---------------------------------------------------------------------------
// Processes

/// A server process that printed `listening on http://ADDR`; killed on drop.
struct Process {
    child: Child,
    addr: SocketAddr,
}

impl Process {
    fn spawn(command: &mut Command) -> Result<Process, String> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|err| format!("cannot start {command:?}: {err}"))?;
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout is piped");
        let _ = BufReader::new(stdout).read_line(&mut line);
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|addr| addr.parse().ok());
        match addr {
            Some(addr) => Ok(Process { child, addr }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!("{command:?} printed {line:?}, not its address"))
            }
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Peak resident set size (`VmHWM`) of a live process, in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The floor: warp on a tokio runtime like the server's, one route, no
/// database, no token, no logging. Serves until killed.
fn serve_floor() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let addr = listener.local_addr().expect("an address");
        println!("listening on http://{addr}");
        let floor = warp::path!("floor").map(|| "ok");
        warp::serve(floor).incoming(listener).run().await;
    });
}

/// Start-up to first answer on a fresh database: spawn, then poll
/// `/healthz` until it answers 200. Returns one time per round.
fn measure_startups(
    binary: &Path,
    dir: &Path,
    config: &Path,
    rounds: usize,
) -> Result<Vec<Duration>, String> {
    (0..rounds)
        .map(|round| {
            let started = Instant::now();
            let server = Process::spawn(
                Command::new(binary)
                    .arg("--config")
                    .arg(config)
                    .arg("--db")
                    .arg(dir.join(format!("fresh-{round}.db")))
                    .args(["serve", "--listen", "127.0.0.1:0"]),
            )?;
            while !answers_health_check(server.addr) {
                if started.elapsed() > Duration::from_secs(10) {
                    return Err("the fresh server never answered /healthz".into());
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(started.elapsed())
        })
        .collect()
}

fn answers_health_check(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return false;
    };
    let request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let mut answer = String::new();
    stream.write_all(request).is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.1 200")
}

// ---------------------------------------------------------------------------
// Load

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RouteKind {
    Floor,
    Health,
    ReadOnboarding,
    ToggleMilestone,
    Stuck,
    ListClients,
}

impl RouteKind {
    const ALL: [RouteKind; 6] = [
        RouteKind::Floor,
        RouteKind::Health,
        RouteKind::ReadOnboarding,
        RouteKind::ToggleMilestone,
        RouteKind::Stuck,
        RouteKind::ListClients,
    ];

    fn label(self) -> &'static str {
        match self {
            RouteKind::Floor => "floor: bare warp route, no database",
            RouteKind::Health => "GET /healthz",
            RouteKind::ReadOnboarding => "GET /api/clients/:id/onboarding",
            RouteKind::ToggleMilestone => "PATCH /api/clients/:id/onboarding/milestones/:mid",
            RouteKind::Stuck => "GET /api/clients/onboarding/stuck",
            RouteKind::ListClients => "GET /api/clients?limit=50",
        }
    }
}

/// Builds the requests of one route for one connection.
struct RequestMaker {
    kind: RouteKind,
    seeded: Arc<Seeded>,
    bearer: String,
    rng: StdRng,
    pairs: TogglePairs,
}

impl RequestMaker {
    fn new(kind: RouteKind, seeded: Arc<Seeded>, seed: u64) -> RequestMaker {
        RequestMaker {
            kind,
            bearer: format!("Bearer {}", seeded.token),
            seeded,
            rng: StdRng::seed_from_u64(seed),
            pairs: TogglePairs::new(StdRng::seed_from_u64(seed ^ 0x5eed)),
        }
    }

    fn next(&mut self) -> Request<Full<Bytes>> {
        let get = |path: String| (Method::GET, path, Bytes::new());
        let (method, path, body) = match self.kind {
            RouteKind::Floor => get("/floor".into()),
            RouteKind::Health => get("/healthz".into()),
            RouteKind::ReadOnboarding => {
                let index = self.rng.random_range(0..self.seeded.plans.len());
                get(format!("/api/clients/{}/onboarding", client_id(index)))
            }
            RouteKind::ToggleMilestone => {
                let (client, milestone, completed) = self.pairs.next(&self.seeded);
                (
                    Method::PATCH,
                    format!("/api/clients/{client}/onboarding/milestones/{milestone}"),
                    Bytes::from(format!("{{\"completed\":{completed}}}")),
                )
            }
            RouteKind::Stuck => get("/api/clients/onboarding/stuck".into()),
            RouteKind::ListClients => get("/api/clients?limit=50".into()),
        };

        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, "127.0.0.1");
        if self.kind != RouteKind::Floor && self.kind != RouteKind::Health {
            request = request.header(AUTHORIZATION, &self.bearer);
        }
        if !body.is_empty() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        request.body(Full::new(body)).expect("a valid request")
    }
}

/// One route driven by `connections` keep-alive connections.
struct Load {
    addr: SocketAddr,
    kind: RouteKind,
    seeded: Arc<Seeded>,
    connections: usize,
    duration: Duration,
}

/// What the connections of one route saw in the measured window.
#[derive(Default)]
struct Measured {
    latencies_us: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
    window: Duration,
    /// Every answer, those of the warm-up included.
    answers: u64,
    /// What the serving process spent on all of them.
    server_cost: ProcessCost,
}

/// CPU time and context switches of a process, all its threads together.
#[derive(Clone, Copy, Debug, Default)]
struct ProcessCost {
    cpu: Duration,
    context_switches: u64,
}

impl ProcessCost {
    /// Reads `/proc`: utime + stime (in USER_HZ, 100 per second on Linux)
    /// and the context switches of the live threads.
    fn read(pid: u32) -> ProcessCost {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks = |index: usize| fields.get(index).and_then(|f| f.parse::<u64>().ok());
        let cpu_ticks = ticks(11).unwrap_or(0) + ticks(12).unwrap_or(0);

        let tasks = std::fs::read_dir(format!("/proc/{pid}/task"));
        let context_switches = tasks
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|task| std::fs::read_to_string(task.path().join("status")).ok())
            .flat_map(|status| {
                status
                    .lines()
                    .filter_map(|line| {
                        let (key, value) = line.split_once(':')?;
                        key.ends_with("ctxt_switches")
                            .then(|| value.trim().parse().ok())?
                    })
                    .collect::<Vec<u64>>()
            })
            .sum();
        ProcessCost {
            cpu: Duration::from_millis(cpu_ticks * 10),
            context_switches,
        }
    }

    fn since(self, earlier: ProcessCost) -> ProcessCost {
        ProcessCost {
            cpu: self.cpu.saturating_sub(earlier.cpu),
            context_switches: self
                .context_switches
                .saturating_sub(earlier.context_switches),
        }
    }
}

impl Load {
    /// Warms up for a fifth of the duration (at most a second), then
    /// measures every request started within `duration`.
    async fn drive(self) -> Measured {
        let warmup = (self.duration / 5).min(Duration::from_secs(1));
        let measure_from = Instant::now() + warmup;
        let until = measure_from + self.duration;

        let tasks: Vec<_> = (0..self.connections)
            .map(|n| {
                let maker = RequestMaker::new(self.kind, Arc::clone(&self.seeded), n as u64 + 1);
                tokio::spawn(run_connection(self.addr, maker, measure_from, until))
            })
            .collect();
        let mut total = Measured {
            window: self.duration,
            ..Measured::default()
        };
        for task in tasks {
            let part = task.await.expect("a connection task does not panic");
            total.latencies_us.extend(part.latencies_us);
            total.answers += part.answers;
            total.errors += part.errors;
            total.first_error = total.first_error.or(part.first_error);
        }
        total.latencies_us.sort_unstable();
        total
    }
}

/// Sends requests one after another on one connection (reconnecting after
/// a transport error) until `until`.
async fn run_connection(
    addr: SocketAddr,
    mut maker: RequestMaker,
    measure_from: Instant,
    until: Instant,
) -> Measured {
    let mut seen = Measured::default();
    while Instant::now() < until {
        let mut sender = match connect(addr).await {
            Ok(sender) => sender,
            Err(err) => {
                seen.record_error(format!("connect: {err}"));
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        while Instant::now() < until {
            let request = maker.next();
            let started = Instant::now();
            let answer = exchange(&mut sender, request).await;
            seen.answers += 1;
            let counted = started >= measure_from;
            if counted {
                let micros = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
                seen.latencies_us.push(micros);
            }
            match answer {
                Ok(None) => {}
                Ok(Some(problem)) => {
                    if counted {
                        seen.record_error(problem);
                    }
                }
                Err(err) => {
                    if counted {
                        seen.record_error(format!("transport: {err}"));
                    }
                    break;
                }
            }
        }
    }
    seen
}

impl Measured {
    fn record_error(&mut self, problem: String) {
        self.errors += 1;
        self.first_error.get_or_insert(problem);
    }
}

async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|err| err.to_string())?;
    stream.set_nodelay(true).map_err(|err| err.to_string())?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|err| err.to_string())?;
    tokio::spawn(connection);
    Ok(sender)
}

/// Sends one request and reads the whole answer. `Ok(Some(..))` describes a
/// non-2xx answer.
async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    request: Request<Full<Bytes>>,
) -> Result<Option<String>, hyper::Error> {
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    if status.is_success() {
        Ok(None)
    } else {
        Ok(Some(format!(
            "{status}: {}",
            String::from_utf8_lossy(&body)
        )))
    }
}

// ---------------------------------------------------------------------------
// Report

fn percentile_ms(sorted_us: &[u32], percent: usize) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let index = (sorted_us.len() * percent / 100).min(sorted_us.len() - 1);
    f64::from(sorted_us[index]) / 1000.0
}

/// KiB as decimal megabytes, the unit of the RSS target.
fn megabytes(kib: Option<u64>) -> f64 {
    kib.map_or(f64::NAN, |kib| kib as f64 * 1024.0 / 1e6)
}

fn requests_per_second(measured: &Measured) -> f64 {
    measured.latencies_us.len() as f64 / measured.window.as_secs_f64()
}

fn print_report(
    options: &Options,
    results: &[(RouteKind, Measured)],
    server_peak_kib: Option<u64>,
    floor_peak_kib: Option<u64>,
    startups: &[Duration],
) {
    let floor_rate = results
        .iter()
        .find(|(kind, _)| *kind == RouteKind::Floor)
        .map_or(f64::NAN, |(_, measured)| requests_per_second(measured));

    println!(
        "\n{} clients, {} connections, {:?} per route, HTTP/1.1 keep-alive over loopback\n",
        options.clients, options.connections, options.duration
    );
    println!(
        "{:<50} {:>8} {:>7} {:>7} {:>6} {:>8} {:>8} {:>6}",
        "route", "req/s", "p50 ms", "p99 ms", "errors", "of floor", "CPU µs", "cs"
    );
    for (kind, measured) in results {
        let rate = requests_per_second(measured);
        let answers = measured.answers.max(1) as f64;
        println!(
            "{:<50} {:>8.0} {:>7.2} {:>7.2} {:>6} {:>7.1}% {:>8.1} {:>6.2}",
            kind.label(),
            rate,
            percentile_ms(&measured.latencies_us, 50),
            percentile_ms(&measured.latencies_us, 99),
            measured.errors,
            rate / floor_rate * 100.0,
            measured.server_cost.cpu.as_secs_f64() * 1e6 / answers,
            measured.server_cost.context_switches as f64 / answers
        );
    }
    println!("(CPU µs and cs: the serving process's CPU time and context switches per request)");
    for (kind, measured) in results {
        if let Some(problem) = &measured.first_error {
            println!("  first error on {}: {problem}", kind.label());
        }
    }

    println!(
        "\npeak RSS (VmHWM): server {:.1} MB, floor {:.1} MB",
        megabytes(server_peak_kib),
        megabytes(floor_peak_kib)
    );
    let mut sorted = startups.to_vec();
    sorted.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "start-up to first /healthz answer on a fresh database: median {:.1} ms \
         (min {:.1}, max {:.1}, {} runs)",
        ms(sorted[sorted.len() / 2]),
        ms(sorted[0]),
        ms(sorted[sorted.len() - 1]),
        sorted.len()
    );

    if results.len() == RouteKind::ALL.len() {
        print_targets(
            results,
            floor_rate,
            server_peak_kib,
            ms(sorted[sorted.len() / 2]),
        );
    }
}

/// The targets of issue 6, each with what this run saw.
fn print_targets(
    results: &[(RouteKind, Measured)],
    floor_rate: f64,
    server_peak_kib: Option<u64>,
    startup_ms: f64,
) {
    let of = |wanted: RouteKind| {
        &results
            .iter()
            .find(|(kind, _)| *kind == wanted)
            .expect("every route is measured")
            .1
    };
    let read = of(RouteKind::ReadOnboarding);
    let toggle = of(RouteKind::ToggleMilestone);
    let stuck = of(RouteKind::Stuck);
    let read_share = requests_per_second(read) / floor_rate * 100.0;
    let read_p99 = percentile_ms(&read.latencies_us, 99);
    let toggle_rate = requests_per_second(toggle);
    let stuck_p50 = percentile_ms(&stuck.latencies_us, 50);
    let rss_mb = megabytes(server_peak_kib);

    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    println!("\ntargets (issue 6):");
    let lines = [
        (
            read_share >= 50.0,
            format!("GET onboarding >= 50% of floor: {read_share:.1}%"),
        ),
        (
            read_p99 < 10.0,
            format!("GET onboarding p99 < 10 ms: {read_p99:.2} ms"),
        ),
        (
            toggle_rate >= 2000.0,
            format!("PATCH >= 2000 writes/s: {toggle_rate:.0}/s"),
        ),
        (
            toggle.errors == 0,
            format!("PATCH errors = 0: {}", toggle.errors),
        ),
        (
            stuck_p50 < 5.0,
            format!("stuck p50 < 5 ms: {stuck_p50:.2} ms"),
        ),
        (rss_mb < 64.0, format!("server RSS < 64 MB: {rss_mb:.1} MB")),
        (
            startup_ms < 200.0,
            format!("start-up < 200 ms: {startup_ms:.1} ms"),
        ),
    ];
    for (met, line) in lines {
        println!("  {:<7} {line}", verdict(met));
    }
}
