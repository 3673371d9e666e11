//! The httpbin endpoints the corpus uses (`httpbin.org`, `httpbin.test.k6.io`).

use hyper::Response;
use serde_json::{Map, Value, json};

use super::http::{self, Body, Req, canonical_header};
use super::rng;

pub(crate) fn handle(req: &Req) -> Response<Body> {
    // `${base}/post` with a base ending in "/" gives "//post": collapse.
    let mut path = req.path.as_str();
    while path.starts_with("//") {
        path = &path[1..];
    }
    if let Some(codes) = path.strip_prefix("/status/") {
        return status(codes);
    }
    match path {
        "/" => http::html(
            200,
            "<!DOCTYPE html>\n<html><head><title>httpbin.org</title></head><body>\
             <h2>httpbin.org</h2><p>A simple HTTP Request &amp; Response Service.</p>\
             </body></html>\n",
        ),
        "/get" | "/anything" => http::json(200, &echo(req, false)),
        "/post" | "/put" | "/patch" | "/delete" => http::json(200, &echo(req, true)),
        "/cookies" => http::json(200, &json!({ "cookies": cookies(req) })),
        "/cookies/set" => {
            let mut resp = http::redirect(302, "/cookies");
            for (k, v) in req.query_pairs() {
                http::set_cookie(&mut resp, &format!("{k}={v}; Path=/"));
            }
            resp
        }
        "/headers" => http::json(200, &json!({ "headers": headers(req) })),
        _ => http::not_found(),
    }
}

fn headers(req: &Req) -> Value {
    let mut out = Map::new();
    for name in req.headers.keys() {
        let values: Vec<&str> = req
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        out.insert(canonical_header(name.as_str()), values.join(",").into());
    }
    if !out.contains_key("Host") {
        out.insert("Host".to_owned(), req.host.clone().into());
    }
    Value::Object(out)
}

fn cookies(req: &Req) -> Value {
    let mut out = Map::new();
    for (k, v) in req.cookies() {
        out.insert(k, v.into());
    }
    Value::Object(out)
}

fn echo(req: &Req, with_body: bool) -> Value {
    let mut args = Map::new();
    for (k, v) in req.query_pairs() {
        args.insert(k, v.into());
    }
    let mut body = json!({
        "args": args,
        "headers": headers(req),
        "origin": "127.0.0.1",
        "url": req.url(),
    });
    if with_body {
        let form_type = req
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        let mut form = Map::new();
        if form_type {
            for (k, v) in req.form() {
                form.insert(k, v.into());
            }
        }
        body["data"] = if form_type {
            "".into()
        } else {
            String::from_utf8_lossy(&req.body).into_owned().into()
        };
        body["files"] = json!({});
        body["form"] = Value::Object(form);
        body["json"] = req.json().unwrap_or(Value::Null);
    }
    body
}

/// `/status/200,200,404`: one of the listed codes at random (httpbin picks
/// uniformly when no weights are given).
fn status(codes: &str) -> Response<Body> {
    let list: Vec<u16> = codes
        .split(',')
        .filter_map(|c| c.split(':').next()?.trim().parse().ok())
        .filter(|c| (100..=599).contains(c))
        .collect();
    if list.is_empty() {
        return http::text(400, "text/plain", "Invalid status code\n");
    }
    let code = *rng::pick(&list);
    match code {
        301 | 302 | 303 | 305 | 307 => http::redirect(code, "/redirect/1"),
        _ => http::empty(code),
    }
}
