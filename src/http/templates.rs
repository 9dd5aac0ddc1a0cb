//! Template routes: list, read, create, replace, patch, delete.

use serde::Deserialize;
use serde_json::json;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Reply};

use super::extract::{decode_id, json_body, with_app, Body, Caller};
use super::{get_or_head, guard, json, respond, wrong_method, App, MANAGE, READ_TEMPLATES};
use crate::input::{check_name, check_text, present};
use crate::store::templates::{self, TemplateInput, TemplatePatch};
use crate::timestamp::Timestamp;
use crate::{Error, Result};

pub fn routes(app: &App) -> BoxedFilter<(Response,)> {
    collection_route(app)
        .or(template_route(app))
        .unify()
        .boxed()
}

/// `GET|POST /api/onboarding/templates`
fn collection_route(app: &App) -> BoxedFilter<(Response,)> {
    let name = "/api/onboarding/templates";
    let path = || warp::path!("api" / "onboarding" / "templates");
    let get = path()
        .and(guard(get_or_head(), name, READ_TEMPLATES))
        .and(with_app(app.clone()))
        .then(list)
        .map(respond);
    let post = path()
        .and(guard(warp::post(), name, MANAGE))
        .and(json_body::<TemplateInput>(app.settings.max_body_bytes))
        .and(with_app(app.clone()))
        .then(create)
        .map(respond);
    get.or(post)
        .unify()
        .or(path().and(wrong_method(name, "GET, HEAD, POST")))
        .unify()
        .boxed()
}

/// `GET|PUT|PATCH|DELETE /api/onboarding/templates/:id`
fn template_route(app: &App) -> BoxedFilter<(Response,)> {
    let name = "/api/onboarding/templates/:id";
    let path = || warp::path!("api" / "onboarding" / "templates" / String);
    let limit = app.settings.max_body_bytes;
    let get = path()
        .and(guard(get_or_head(), name, READ_TEMPLATES))
        .and(with_app(app.clone()))
        .then(get)
        .map(respond);
    let put = path()
        .and(guard(warp::put(), name, MANAGE))
        .and(json_body::<TemplateInput>(limit))
        .and(with_app(app.clone()))
        .then(replace)
        .map(respond);
    let patch = path()
        .and(guard(warp::patch(), name, MANAGE))
        .and(json_body::<PatchTemplate>(limit))
        .and(with_app(app.clone()))
        .then(patch)
        .map(respond);
    let delete = path()
        .and(guard(warp::delete(), name, MANAGE))
        .and(with_app(app.clone()))
        .then(delete)
        .map(respond);
    let other = path()
        .and(wrong_method(name, "GET, HEAD, PUT, PATCH, DELETE"))
        .map(|_: String, r: Response| r);
    get.or(put)
        .unify()
        .or(patch)
        .unify()
        .or(delete)
        .unify()
        .or(other)
        .unify()
        .boxed()
}

#[derive(Debug, Deserialize)]
struct PatchTemplate {
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    /// Absent leaves the description; `null` clears it.
    #[serde(default, deserialize_with = "present")]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    active: Option<bool>,
}

async fn list(caller: Caller, app: App) -> Result<Response> {
    let templates = app
        .db
        .read(move |conn| {
            caller.authenticate(conn)?;
            templates::list(conn)
        })
        .await?;

    Ok(json(StatusCode::OK, &json!({ "templates": templates })))
}

async fn get(raw_id: String, caller: Caller, app: App) -> Result<Response> {
    let id = decode_id("id", &raw_id);

    let template = app
        .db
        .read(move |conn| {
            caller.authenticate(conn)?;
            templates::get(conn, &id?)
        })
        .await?;

    Ok(json(StatusCode::OK, &template))
}

async fn create(caller: Caller, body: Body<TemplateInput>, app: App) -> Result<Response> {
    let input = body.and_then(|mut body| {
        body.validate("")?;
        Ok(body)
    });

    let template = app
        .db
        .write(move |tx| {
            caller.authenticate(tx)?;
            templates::create(tx, &input?, Timestamp::now())
        })
        .await?;

    Ok(json(StatusCode::CREATED, &template))
}

async fn replace(
    raw_id: String,
    caller: Caller,
    body: Body<TemplateInput>,
    app: App,
) -> Result<Response> {
    let input = body.and_then(|mut body| {
        let id = decode_id("id", &raw_id)?;
        if body.id.as_ref().is_some_and(|given| *given != id) {
            return Err(Error::invalid(
                "id",
                "differs from the template id in the path",
            ));
        }
        body.validate("")?;
        Ok((id, body))
    });

    let template = app
        .db
        .write(move |tx| {
            caller.authenticate(tx)?;
            let (id, body) = input?;
            templates::replace(tx, &id, &body, Timestamp::now())
        })
        .await?;

    Ok(json(StatusCode::OK, &template))
}

async fn patch(
    raw_id: String,
    caller: Caller,
    body: Body<PatchTemplate>,
    app: App,
) -> Result<Response> {
    let input = body.and_then(|body| {
        let id = decode_id("id", &raw_id)?;
        if let Some(name) = &body.name {
            check_name("name", name)?;
        }
        check_text(
            "description",
            body.description.as_ref().and_then(|d| d.as_deref()),
        )?;
        let patch = TemplatePatch {
            name: body.name,
            description: body.description,
            active: body.active,
        };
        Ok((id, patch))
    });

    let template = app
        .db
        .write(move |tx| {
            caller.authenticate(tx)?;
            let (id, patch) = input?;
            templates::patch(tx, &id, &patch, Timestamp::now())
        })
        .await?;

    Ok(json(StatusCode::OK, &template))
}

async fn delete(raw_id: String, caller: Caller, app: App) -> Result<Response> {
    let id = decode_id("id", &raw_id);

    app.db
        .write(move |tx| {
            caller.authenticate(tx)?;
            templates::delete(tx, &id?)
        })
        .await?;

    Ok(StatusCode::NO_CONTENT.into_response())
}
