//! Client routes: create, read, list, delete; the stuck list; facts; the
//! activity history.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Reply};

use super::extract::{decode_id, json_body, raw_query, with_app, Body, Caller, Paging};
use super::{get_or_head, guard, json, respond, wrong_method, App, UPDATE, VIEW};
use crate::input::{check_name, check_text, MAX_NAME_CHARS};
use crate::onboarding::{self, FactType};
use crate::store::activity;
use crate::store::clients::{self, ClientSummary, StuckClient};
use crate::store::facts::{self, Fact};
use crate::timestamp::Timestamp;
use crate::{Error, Result};

pub fn routes(app: &App) -> BoxedFilter<(Response,)> {
    list_route(app)
        .or(stuck_route(app))
        .unify()
        .or(client_route(app))
        .unify()
        .or(events_route(app))
        .unify()
        .or(activity_route(app))
        .unify()
        .boxed()
}

/// `GET /api/clients`
fn list_route(app: &App) -> BoxedFilter<(Response,)> {
    let name = "/api/clients";
    let path = || warp::path!("api" / "clients");
    let get = path()
        .and(guard(get_or_head(), name, VIEW))
        .and(raw_query())
        .and(with_app(app.clone()))
        .then(list)
        .map(respond);
    get.or(path().and(wrong_method(name, "GET, HEAD")))
        .unify()
        .boxed()
}

/// `GET /api/clients/onboarding/stuck`
fn stuck_route(app: &App) -> BoxedFilter<(Response,)> {
    let name = "/api/clients/onboarding/stuck";
    let path = || warp::path!("api" / "clients" / "onboarding" / "stuck");
    let get = path()
        .and(guard(get_or_head(), name, VIEW))
        .and(raw_query())
        .and(with_app(app.clone()))
        .then(stuck)
        .map(respond);
    get.or(path().and(wrong_method(name, "GET, HEAD")))
        .unify()
        .boxed()
}

/// `GET|PUT|DELETE /api/clients/:companyId`
fn client_route(app: &App) -> BoxedFilter<(Response,)> {
    let name = "/api/clients/:companyId";
    let path = || warp::path!("api" / "clients" / String);
    let limit = app.settings.max_body_bytes;
    let get = path()
        .and(guard(get_or_head(), name, VIEW))
        .and(with_app(app.clone()))
        .then(get)
        .map(respond);
    let put = path()
        .and(guard(warp::put(), name, UPDATE))
        .and(json_body::<PutClient>(limit))
        .and(with_app(app.clone()))
        .then(put)
        .map(respond);
    let delete = path()
        .and(guard(warp::delete(), name, UPDATE))
        .and(with_app(app.clone()))
        .then(delete)
        .map(respond);
    let other = path()
        .and(wrong_method(name, "GET, HEAD, PUT, DELETE"))
        .map(|_: String, r: Response| r);
    get.or(put)
        .unify()
        .or(delete)
        .unify()
        .or(other)
        .unify()
        .boxed()
}

/// `POST /api/clients/:companyId/events`
fn events_route(app: &App) -> BoxedFilter<(Response,)> {
    let name = "/api/clients/:companyId/events";
    let path = || warp::path!("api" / "clients" / String / "events");
    let post = path()
        .and(guard(warp::post(), name, UPDATE))
        .and(json_body::<PostEvent>(app.settings.max_body_bytes))
        .and(with_app(app.clone()))
        .then(record_event)
        .map(respond);
    let other = path()
        .and(wrong_method(name, "POST"))
        .map(|_: String, r: Response| r);
    post.or(other).unify().boxed()
}

/// `GET /api/clients/:companyId/onboarding/activity`
fn activity_route(app: &App) -> BoxedFilter<(Response,)> {
    let name = "/api/clients/:companyId/onboarding/activity";
    let path = || warp::path!("api" / "clients" / String / "onboarding" / "activity");
    let get = path()
        .and(guard(get_or_head(), name, VIEW))
        .and(raw_query())
        .and(with_app(app.clone()))
        .then(activity)
        .map(respond);
    let other = path()
        .and(wrong_method(name, "GET, HEAD"))
        .map(|_: String, r: Response| r);
    get.or(other).unify().boxed()
}

#[derive(Debug, Deserialize)]
struct PutClient {
    name: String,
    #[serde(default)]
    logo_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PostEvent {
    #[serde(rename = "type")]
    fact_type: String,
    #[serde(default)]
    reference: Option<String>,
    #[serde(default)]
    occurred_at: Option<String>,
}

/// Largest page of the client list and the activity history.
const MAX_PAGE: u32 = 200;
const DEFAULT_PAGE: u32 = 50;
const MAX_STUCK_LIMIT: u32 = 50;

/// A page of the client list.
#[derive(Serialize)]
struct ClientPage {
    clients: Vec<ClientSummary>,
    next_cursor: Option<String>,
}

/// A page of a client's history.
#[derive(Serialize)]
struct ActivityPage {
    entries: Vec<activity::Entry>,
    next_cursor: Option<String>,
}

#[derive(Serialize)]
struct StuckList {
    clients: Vec<StuckClient>,
}

#[derive(Serialize)]
struct EventRecorded {
    ok: bool,
    auto_completed: Vec<String>,
}

async fn list(caller: Caller, query: String, app: App) -> Result<Response> {
    let paging = Paging::parse(&query, MAX_PAGE).and_then(|paging| {
        let after = paging.cursor.as_deref().map(decode_cursor).transpose()?;
        Ok((after, paging.limit.unwrap_or(DEFAULT_PAGE)))
    });

    let (clients, next) = app
        .db
        .read(move |conn| {
            caller.authenticate(conn)?;
            let (after, limit) = paging?;
            clients::list(conn, after.as_ref(), limit)
        })
        .await?;

    let next_cursor = next.as_ref().map(encode_cursor);
    Ok(json(
        StatusCode::OK,
        &ClientPage {
            clients,
            next_cursor,
        },
    ))
}

async fn stuck(caller: Caller, query: String, app: App) -> Result<Response> {
    let limit = Paging::parse(&query, MAX_STUCK_LIMIT)
        .map(|paging| paging.limit.unwrap_or(app.settings.stuck_limit));
    let now = Timestamp::now();
    let cutoff = onboarding::stuck_cutoff(now, app.settings.stuck_after_days);

    let clients = app
        .db
        .read(move |conn| {
            caller.authenticate(conn)?;
            clients::stuck(conn, cutoff, limit?, now)
        })
        .await?;

    Ok(json(StatusCode::OK, &StuckList { clients }))
}

async fn get(raw_id: String, caller: Caller, app: App) -> Result<Response> {
    let id = decode_id("companyId", &raw_id);

    let client = app
        .db
        .read(move |conn| {
            caller.authenticate(conn)?;
            clients::summary(conn, &id?)
        })
        .await?;

    Ok(json(StatusCode::OK, &client))
}

async fn put(raw_id: String, caller: Caller, body: Body<PutClient>, app: App) -> Result<Response> {
    let input = body.and_then(|body| {
        let id = decode_id("companyId", &raw_id)?;
        check_name("name", &body.name)?;
        check_text("logo_url", body.logo_url.as_deref())?;
        Ok((id, body))
    });

    let (client, created) = app
        .db
        .write(move |tx| {
            caller.authenticate(tx)?;
            let (id, body) = input?;
            clients::put(
                tx,
                &id,
                &body.name,
                body.logo_url.as_deref(),
                Timestamp::now(),
            )
        })
        .await?;

    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json(status, &client))
}

async fn delete(raw_id: String, caller: Caller, app: App) -> Result<Response> {
    let id = decode_id("companyId", &raw_id);

    app.db
        .write(move |tx| {
            caller.authenticate(tx)?;
            clients::delete(tx, &id?)
        })
        .await?;

    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn record_event(
    raw_id: String,
    caller: Caller,
    body: Body<PostEvent>,
    app: App,
) -> Result<Response> {
    let input = body.and_then(|body| {
        let id = decode_id("companyId", &raw_id)?;
        Ok((id, body.into_fact()?))
    });

    let recorded = app
        .db
        .write(move |tx| {
            caller.authenticate(tx)?;
            let (id, fact) = input?;
            facts::record(tx, &id, &fact, Timestamp::now())
        })
        .await?;

    let status = if recorded.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json(
        status,
        &EventRecorded {
            ok: true,
            auto_completed: recorded.auto_completed,
        },
    ))
}

impl PostEvent {
    /// The fact this body describes, with every field checked.
    fn into_fact(self) -> Result<Fact> {
        let fact_type: FactType = self.fact_type.parse().map_err(|_| {
            Error::invalid("type", format!("must be one of {}", FactType::allowed()))
        })?;
        if let Some(reference) = &self.reference {
            if reference.is_empty() || reference.chars().count() > MAX_NAME_CHARS {
                return Err(Error::invalid("reference", "must be 1 to 200 characters"));
            }
        }
        let occurred_at = self
            .occurred_at
            .as_deref()
            .map(Timestamp::parse)
            .transpose()
            .map_err(|msg| Error::invalid("occurred_at", msg))?;
        Ok(Fact {
            fact_type,
            reference: self.reference,
            occurred_at,
        })
    }
}

async fn activity(raw_id: String, caller: Caller, query: String, app: App) -> Result<Response> {
    let input = decode_id("companyId", &raw_id).and_then(|id| {
        let paging = Paging::parse(&query, MAX_PAGE)?;
        let before = paging.cursor.as_deref().map(decode_cursor).transpose()?;
        Ok((id, before, paging.limit.unwrap_or(DEFAULT_PAGE)))
    });

    let (entries, next) = app
        .db
        .read(move |conn| {
            caller.authenticate(conn)?;
            let (id, before, limit) = input?;
            clients::ensure_exists(conn, &id)?;
            activity::list(conn, &id, before, limit)
        })
        .await?;

    let next_cursor = next.as_ref().map(encode_cursor);
    Ok(json(
        StatusCode::OK,
        &ActivityPage {
            entries,
            next_cursor,
        },
    ))
}

/// Cursors are the position of the last item of a page, as base64url JSON.
fn encode_cursor<T: Serialize>(cursor: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(cursor).expect("cursor serialises"))
}

fn decode_cursor<T: DeserializeOwned>(text: &str) -> Result<T> {
    URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| Error::invalid("cursor", "is not a cursor this API gave out"))
}
