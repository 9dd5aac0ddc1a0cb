//! The onboarding routes of SPEC §4: read a client's onboarding, assign a
//! template, toggle a milestone. The stuck list lives with the client routes.

use serde::Deserialize;
use serde_json::json;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use super::extract::{decode_id, json_body, with_app, Body, Caller};
use super::{get_or_head, guard, json, respond, wrong_method, App, UPDATE, VIEW};
use crate::input::{check_text, present};
use crate::store::progress::{self, Toggle};
use crate::timestamp::Timestamp;
use crate::{Error, Result};

pub fn routes(app: &App) -> BoxedFilter<(Response,)> {
    onboarding_route(app)
        .or(assign_route(app))
        .unify()
        .or(milestone_route(app))
        .unify()
        .boxed()
}

/// `GET /api/clients/:companyId/onboarding`
fn onboarding_route(app: &App) -> BoxedFilter<(Response,)> {
    let name = "/api/clients/:companyId/onboarding";
    let path = || warp::path!("api" / "clients" / String / "onboarding");
    let get = path()
        .and(guard(get_or_head(), name, VIEW))
        .and(with_app(app.clone()))
        .then(get)
        .map(respond);
    let other = path()
        .and(wrong_method(name, "GET, HEAD"))
        .map(|_: String, r: Response| r);
    get.or(other).unify().boxed()
}

/// `POST /api/clients/:companyId/onboarding/assign`
fn assign_route(app: &App) -> BoxedFilter<(Response,)> {
    let name = "/api/clients/:companyId/onboarding/assign";
    let path = || warp::path!("api" / "clients" / String / "onboarding" / "assign");
    let post = path()
        .and(guard(warp::post(), name, UPDATE))
        .and(json_body::<Assign>(app.settings.max_body_bytes))
        .and(with_app(app.clone()))
        .then(assign)
        .map(respond);
    let other = path()
        .and(wrong_method(name, "POST"))
        .map(|_: String, r: Response| r);
    post.or(other).unify().boxed()
}

/// `PATCH /api/clients/:companyId/onboarding/milestones/:milestoneId`
fn milestone_route(app: &App) -> BoxedFilter<(Response,)> {
    let name = "/api/clients/:companyId/onboarding/milestones/:milestoneId";
    let path = || warp::path!("api" / "clients" / String / "onboarding" / "milestones" / String);
    let patch = path()
        .and(guard(warp::patch(), name, UPDATE))
        .and(json_body::<PatchMilestone>(app.settings.max_body_bytes))
        .and(with_app(app.clone()))
        .then(toggle)
        .map(respond);
    let other = path()
        .and(wrong_method(name, "PATCH"))
        .map(|_: String, _: String, r: Response| r);
    patch.or(other).unify().boxed()
}

#[derive(Debug, Deserialize)]
struct Assign {
    template_id: String,
    /// Absent means `false`; `null` is refused like any other non-boolean.
    #[serde(default, deserialize_with = "present")]
    force: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct PatchMilestone {
    completed: bool,
    /// Absent (`None`) is told apart from `null` (`Some(None)`).
    #[serde(default, deserialize_with = "present")]
    notes: Option<Option<String>>,
}

async fn get(raw_id: String, caller: Caller, app: App) -> Result<Response> {
    let id = decode_id("companyId", &raw_id);

    let onboarding = app
        .db
        .read(move |conn| {
            caller.authenticate(conn)?;
            progress::read(conn, &id?)
        })
        .await?;

    Ok(match onboarding {
        Some(onboarding) => json(StatusCode::OK, &onboarding),
        None => json(
            StatusCode::OK,
            &json!({ "template": null, "stages": [], "current_stage_type": null }),
        ),
    })
}

async fn assign(raw_id: String, caller: Caller, body: Body<Assign>, app: App) -> Result<Response> {
    let input = body.and_then(|body| {
        let id = decode_id("companyId", &raw_id)?;
        if body.template_id.is_empty() {
            return Err(Error::invalid("template_id", "must not be empty"));
        }
        Ok((id, body.template_id, body.force.unwrap_or(false)))
    });

    app.db
        .write(move |tx| {
            let user = caller.authenticate(tx)?;
            let (id, template_id, force) = input?;
            progress::assign(tx, &id, &template_id, force, &user, Timestamp::now())
        })
        .await?;

    Ok(json(StatusCode::OK, &json!({ "ok": true })))
}

async fn toggle(
    raw_id: String,
    raw_milestone_id: String,
    caller: Caller,
    body: Body<PatchMilestone>,
    app: App,
) -> Result<Response> {
    let input = body.and_then(|body| {
        let id = decode_id("companyId", &raw_id)?;
        let milestone_id = decode_id("milestoneId", &raw_milestone_id)?;
        check_text("notes", body.notes.as_ref().and_then(|n| n.as_deref()))?;
        let toggle = Toggle {
            completed: body.completed,
            notes: body.notes,
        };
        Ok((id, milestone_id, toggle))
    });

    app.db
        .write(move |tx| {
            let user = caller.authenticate(tx)?;
            let (id, milestone_id, toggle) = input?;
            progress::toggle_milestone(tx, &id, &milestone_id, toggle, &user, Timestamp::now())
        })
        .await?;

    Ok(json(StatusCode::OK, &json!({ "ok": true })))
}
