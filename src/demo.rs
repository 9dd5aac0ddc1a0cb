//! The built-in demo: a realistic agency template and a dozen clients at
//! every stage, some complete, some stalled for weeks.
//!
//! The data is written through the same store functions the API uses, with
//! backdated times, so the demo shows exactly what real use would produce.

use std::net::SocketAddr;

use rusqlite::Connection;

use crate::auth::{Permission, Principal, Secret};
use crate::onboarding::FactType;
use crate::store::facts::{self, Fact};
use crate::store::progress::{self, Toggle};
use crate::store::templates::{self, MilestoneInput, StageInput, TemplateInput};
use crate::store::{clients, users};
use crate::timestamp::Timestamp;
use crate::Result;

const TEMPLATE_ID: &str = "tpl_agency";

/// (stage id, type, name, milestones: (id, name, condition))
type StagePlan = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str, Option<FactType>)],
);

const STAGES: &[StagePlan] = &[
    (
        "stg_kickoff",
        "kickoff",
        "Kickoff",
        &[
            ("ms_contract", "Contract signed", Some(FactType::DealWon)),
            ("ms_kickoff_call", "Kickoff call held", None),
            ("ms_stakeholders", "Stakeholders and approvers named", None),
            ("ms_welcome", "Welcome pack sent", None),
        ],
    ),
    (
        "stg_discovery",
        "discovery",
        "Discovery",
        &[
            ("ms_brand_assets", "Brand assets received", None),
            ("ms_goals", "Goals workshop", None),
            ("ms_analytics", "Analytics access granted", None),
            ("ms_discovery_report", "Discovery report approved", None),
        ],
    ),
    (
        "stg_setup",
        "setup",
        "Setup",
        &[
            (
                "ms_project",
                "Project created in the delivery tool",
                Some(FactType::ProjectCreated),
            ),
            (
                "ms_deposit_invoice",
                "Deposit invoice issued",
                Some(FactType::InvoiceCreated),
            ),
            (
                "ms_deposit_paid",
                "Deposit paid",
                Some(FactType::InvoicePaid),
            ),
            ("ms_tracking", "Tracking installed", None),
            ("ms_accounts", "Ad accounts connected", None),
        ],
    ),
    (
        "stg_launch",
        "launch",
        "Launch",
        &[
            ("ms_first_campaign", "First campaign live", None),
            ("ms_launch_review", "Launch review call", None),
            ("ms_signoff", "Client sign-off", None),
        ],
    ),
    (
        "stg_handover",
        "handover",
        "Handover",
        &[
            ("ms_reporting", "Monthly reporting set up", None),
            ("ms_success_plan", "Success plan agreed", None),
        ],
    ),
];

/// (id, name, logo, days since assignment, milestones done, days since last completion);
/// `None` for days since assignment means no template.
type ClientPlan = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<u32>,
    usize,
    u32,
);

const CLIENTS: &[ClientPlan] = &[
    ("acme", "Acme Ltd", None, Some(75), 18, 6),
    ("cyberdyne", "Cyberdyne Systems", None, Some(80), 14, 45),
    ("globex", "Globex Corporation", None, Some(21), 0, 0),
    ("hooli", "Hooli", None, Some(40), 12, 1),
    ("initech", "Initech", None, Some(30), 9, 2),
    ("northwind", "Northwind Traders", None, Some(45), 2, 31),
    ("soylent", "Soylent Foods", None, None, 0, 0),
    ("stark", "Stark Industries", None, Some(55), 16, 3),
    ("tyrell", "Tyrell Corporation", None, Some(25), 7, 10),
    ("umbrella", "Umbrella Health", None, Some(38), 5, 16),
    ("wayne", "Wayne Enterprises", None, Some(50), 4, 25),
    ("wonka", "Wonka Confectionery", None, Some(2), 1, 1),
];

/// Seeds the demo data unless it is already there, and creates a fresh
/// all-permissions token for the demo user.
pub fn prepare(conn: &Connection, now: Timestamp) -> Result<Secret> {
    let now = Timestamp::from_millis(now.millis() - now.millis().rem_euclid(1000));
    users::put_user(conn, "demo", "Demo Admin", now)?;
    if !templates::exists(conn, TEMPLATE_ID)? {
        seed(conn, now)?;
    }
    let (_, secret) = users::create_token(conn, "demo", &[Permission::All], Some("demo"), now)?;
    Ok(secret)
}

fn seed(conn: &Connection, now: Timestamp) -> Result<()> {
    let staff = [
        Principal {
            user_id: "ana".into(),
            user_name: "Ana Pereira".into(),
            permissions: vec![Permission::All],
        },
        Principal {
            user_id: "ben".into(),
            user_name: "Ben Okafor".into(),
            permissions: vec![Permission::All],
        },
    ];
    for user in &staff {
        users::put_user(conn, &user.user_id, &user.user_name, now.days_before(90))?;
    }

    let mut template = demo_template();
    template.validate("")?;
    templates::create(conn, &template, now.days_before(90))?;
    let milestones: Vec<(&str, Option<FactType>)> = STAGES
        .iter()
        .flat_map(|(_, _, _, ms)| ms.iter().map(|(id, _, fact)| (*id, *fact)))
        .collect();

    for (i, &(id, name, logo, assigned_days, done, last_days)) in CLIENTS.iter().enumerate() {
        let created = now.days_before(assigned_days.unwrap_or(5) + 2);
        clients::put(conn, id, name, logo, created)?;
        let Some(assigned_days) = assigned_days else {
            continue;
        };
        let assigned_at = now.days_before(assigned_days);
        let user = &staff[i % staff.len()];
        progress::assign(conn, id, TEMPLATE_ID, false, user, assigned_at)?;

        let last_at = now.days_before(last_days);
        for (step, &(milestone_id, fact)) in milestones.iter().take(done).enumerate() {
            let at = between(assigned_at, last_at, step + 1, done);
            match fact {
                Some(fact_type) => {
                    let fact = Fact {
                        fact_type,
                        reference: Some(format!("{}-{}", fact_type.as_str(), id)),
                        occurred_at: Some(at),
                    };
                    facts::record(conn, id, &fact, at)?;
                }
                None => {
                    let toggle = Toggle {
                        completed: true,
                        notes: None,
                    };
                    progress::toggle_milestone(conn, id, milestone_id, toggle, user, at)?;
                }
            }
        }
    }
    Ok(())
}

/// The `step`-th of `steps` evenly spaced instants after `from`, ending at `to`.
fn between(from: Timestamp, to: Timestamp, step: usize, steps: usize) -> Timestamp {
    let span = to.millis() - from.millis();
    Timestamp::from_millis(from.millis() + span * step as i64 / steps.max(1) as i64)
}

fn demo_template() -> TemplateInput {
    TemplateInput {
        id: Some(TEMPLATE_ID.into()),
        name: "Agency onboarding".into(),
        description: Some("From signed contract to the first monthly report.".into()),
        active: Some(true),
        stages: STAGES
            .iter()
            .map(|(id, stage_type, name, milestones)| StageInput {
                id: Some((*id).into()),
                stage_type: (*stage_type).into(),
                name: (*name).into(),
                milestones: milestones
                    .iter()
                    .map(|(id, name, fact)| MilestoneInput {
                        id: Some((*id).into()),
                        name: (*name).into(),
                        description: None,
                        auto_complete: *fact,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// Prints the token and ready-to-paste requests for the four onboarding routes.
pub fn print_welcome(addr: SocketAddr, secret: &Secret) {
    let base = format!("http://{addr}");
    let token = secret.expose();
    let auth = format!("-H 'Authorization: Bearer {token}'");
    let json = "-H 'Content-Type: application/json'";
    println!(
        "\nDemo data is ready. Dashboard: {base}/  (sign in with the token below)\n\
         \nToken (all permissions, shown once):\n{token}\n\
         \nTry the API:\n\
         \n# clients whose onboarding has stalled\
         \ncurl -s {auth} {base}/api/clients/onboarding/stuck\
         \n\n# one client's onboarding: stages, milestones, progress\
         \ncurl -s {auth} {base}/api/clients/northwind/onboarding\
         \n\n# tick a milestone off\
         \ncurl -s -X PATCH {auth} {json} -d '{{\"completed\": true, \"notes\": \"Signed by the CFO\"}}' \
         {base}/api/clients/northwind/onboarding/milestones/ms_stakeholders\
         \n\n# assign the template to a client that has none\
         \ncurl -s -X POST {auth} {json} -d '{{\"template_id\": \"{TEMPLATE_ID}\"}}' \
         {base}/api/clients/soylent/onboarding/assign\n"
    );
}
