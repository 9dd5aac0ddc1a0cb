//! The shortest path through the product, end to end over HTTP.

mod common;

use common::{small_template, Server};
use serde_json::json;

#[test]
fn a_client_moves_through_its_onboarding() {
    let server = Server::start();
    server.post_template(small_template("tpl_std"));
    server.put_client("acme", "Acme Ltd");

    let reply = server.call(
        "POST",
        "/api/clients/acme/onboarding/assign",
        Some(json!({ "template_id": "tpl_std" })),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json(), json!({ "ok": true }));

    let onboarding = server.get_json("/api/clients/acme/onboarding");
    assert_eq!(onboarding["current_stage_type"], "kickoff");
    assert_eq!(onboarding["total_milestones"], 3);
    assert_eq!(onboarding["completed_milestones"], 0);

    let reply = server.call(
        "POST",
        "/api/clients/acme/events",
        Some(json!({ "type": "deal_won", "reference": "D-1" })),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.json()["auto_completed"], json!(["m_contract"]));

    let reply = server.call(
        "PATCH",
        "/api/clients/acme/onboarding/milestones/m_call",
        Some(json!({ "completed": true })),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);

    let onboarding = server.get_json("/api/clients/acme/onboarding");
    assert_eq!(onboarding["current_stage_type"], "launch");
    assert_eq!(onboarding["completed_milestones"], 2);
    assert_eq!(onboarding["completion_percentage"], 67);
    let call = &onboarding["stages"][0]["milestones"][1];
    assert_eq!(call["completed_by"], "admin");
    assert_eq!(call["completed_by_name"], "Admin");
    assert_eq!(call["source"], "manual");
}
