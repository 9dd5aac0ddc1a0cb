//! The web dashboard: static files compiled into the binary and served at
//! `/` and `/assets/<name>`, under a Content-Security-Policy that allows
//! scripts and styles from this origin only.

use warp::filters::BoxedFilter;
use warp::http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use super::{get_or_head, route, wrong_method};
use crate::Error;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' https: data:; connect-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

/// Every file of `web/` but `index.html`: name, content type, content.
const ASSETS: &[(&str, &str, &str)] = &[
    ("api.js", JS, include_str!("../../web/api.js")),
    ("app.css", CSS, include_str!("../../web/app.css")),
    ("app.js", JS, include_str!("../../web/app.js")),
    ("confirm.js", JS, include_str!("../../web/confirm.js")),
    ("dom.js", JS, include_str!("../../web/dom.js")),
    ("format.js", JS, include_str!("../../web/format.js")),
    (
        "view-client.js",
        JS,
        include_str!("../../web/view-client.js"),
    ),
    (
        "view-dashboard.js",
        JS,
        include_str!("../../web/view-dashboard.js"),
    ),
    (
        "view-templates.js",
        JS,
        include_str!("../../web/view-templates.js"),
    ),
    ("widgets.js", JS, include_str!("../../web/widgets.js")),
];

const INDEX: &str = include_str!("../../web/index.html");
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";

pub fn routes() -> BoxedFilter<(Response,)> {
    let index_path = warp::path::end;
    let index = index_path()
        .and(get_or_head())
        .and(route("/"))
        .map(|| page(HTML, INDEX));

    let asset_path = || warp::path!("assets" / String);
    let asset = asset_path()
        .and(get_or_head())
        .and(route("/assets/:name"))
        .and_then(|name: String| async move {
            ASSETS
                .iter()
                .find(|(file, _, _)| *file == name)
                .map(|(_, content_type, body)| page(content_type, body))
                .ok_or_else(|| super::reject(Error::not_found(format!("no asset {name:?}"))))
        });

    index
        .or(index_path().and(wrong_method("/", "GET, HEAD")))
        .unify()
        .or(asset)
        .unify()
        .or(asset_path()
            .and(wrong_method("/assets/:name", "GET, HEAD"))
            .map(|_: String, r: Response| r))
        .unify()
        .boxed()
}

fn page(content_type: &'static str, body: &'static str) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert("content-security-policy", HeaderValue::from_static(CSP));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_web_folder_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/web");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| name != "index.html")
            .collect();
        on_disk.sort();
        let embedded: Vec<&str> = ASSETS.iter().map(|(name, _, _)| *name).collect();
        assert_eq!(on_disk, embedded);
    }
}
