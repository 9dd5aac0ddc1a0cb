//! Template routes: list, read, create, replace, patch, delete.

use serde::Deserialize;
use serde_json::json;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Reply};

use super::extract::{decode_id, json_body, with_app};
use super::{get_or_head, guard, json, respond, wrong_method, App, MANAGE, READ_TEMPLATES};
use crate::auth::Principal;
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
        .and(guard(get_or_head(), name, app, READ_TEMPLATES))
        .and(with_app(app.clone()))
        .then(list)
        .map(respond);
    let post = path()
        .and(guard(warp::post(), name, app, MANAGE))
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
        .and(guard(get_or_head(), name, app, READ_TEMPLATES))
        .and(with_app(app.clone()))
        .then(get)
        .map(respond);
    let put = path()
        .and(guard(warp::put(), name, app, MANAGE))
        .and(json_body::<TemplateInput>(limit))
        .and(with_app(app.clone()))
        .then(replace)
        .map(respond);
    let patch = path()
        .and(guard(warp::patch(), name, app, MANAGE))
        .and(json_body::<PatchTemplate>(limit))
        .and(with_app(app.clone()))
        .then(patch)
        .map(respond);
    let delete = path()
        .and(guard(warp::delete(), name, app, MANAGE))
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

async fn list(_user: Principal, app: App) -> Result<Response> {
    let templates = app.db.read(templates::list).await?;

    Ok(json(StatusCode::OK, &json!({ "templates": templates })))
}

async fn get(raw_id: String, _user: Principal, app: App) -> Result<Response> {
    let id = decode_id("id", &raw_id)?;

    let template = app.db.read(move |conn| templates::get(conn, &id)).await?;

    Ok(json(StatusCode::OK, &template))
}

async fn create(_user: Principal, mut body: TemplateInput, app: App) -> Result<Response> {
    body.validate("")?;

    let template = app
        .db
        .write(move |tx| templates::create(tx, &body, Timestamp::now()))
        .await?;

    Ok(json(StatusCode::CREATED, &template))
}

async fn replace(
    raw_id: String,
    _user: Principal,
    mut body: TemplateInput,
    app: App,
) -> Result<Response> {
    let id = decode_id("id", &raw_id)?;
    if body.id.as_ref().is_some_and(|given| *given != id) {
        return Err(Error::invalid(
            "id",
            "differs from the template id in the path",
        ));
    }
    body.validate("")?;

    let template = app
        .db
        .write(move |tx| templates::replace(tx, &id, &body, Timestamp::now()))
        .await?;

    Ok(json(StatusCode::OK, &template))
}

async fn patch(
    raw_id: String,
    _user: Principal,
    body: PatchTemplate,
    app: App,
) -> Result<Response> {
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

    let template = app
        .db
        .write(move |tx| templates::patch(tx, &id, &patch, Timestamp::now()))
        .await?;

    Ok(json(StatusCode::OK, &template))
}

async fn delete(raw_id: String, _user: Principal, app: App) -> Result<Response> {
    let id = decode_id("id", &raw_id)?;

    app.db.write(move |tx| templates::delete(tx, &id)).await?;

    Ok(StatusCode::NO_CONTENT.into_response())
}
