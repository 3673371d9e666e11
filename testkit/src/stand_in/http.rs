//! Request/response helpers shared by the services.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue, SET_COOKIE};
use hyper::{Method, Request, Response, StatusCode};

/// Every response body.
pub(crate) type Body = Full<Bytes>;

/// Request bodies above this are refused (the corpus sends a few hundred bytes).
const MAX_BODY: usize = 4 << 20;

/// A request with its body read.
pub(crate) struct Req {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) host: String,
    pub(crate) tls: bool,
}

impl Req {
    pub(crate) async fn read(
        req: Request<Incoming>,
        host: String,
        tls: bool,
    ) -> Result<Req, Response<Body>> {
        let (parts, body) = req.into_parts();
        let body = match Limited::new(body, MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return Err(text(413, "text/plain", "request body too large\n")),
        };
        Ok(Req {
            method: parts.method,
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().unwrap_or_default().to_owned(),
            headers: parts.headers,
            body,
            host,
            tls,
        })
    }

    /// The first value of a header, if it is text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Query parameters, decoded, in order.
    pub(crate) fn query_pairs(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }

    /// `application/x-www-form-urlencoded` body fields, decoded.
    pub(crate) fn form(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(&self.body).into_owned().collect()
    }

    /// One form field.
    pub(crate) fn form_field(&self, name: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The body as JSON, if it is JSON.
    pub(crate) fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// Request cookies from every `Cookie` header (HTTP/2 may split them).
    pub(crate) fn cookies(&self) -> Vec<(String, String)> {
        self.headers
            .get_all(hyper::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| {
                let kv = kv.trim();
                let (k, v) = kv.split_once('=')?;
                Some((k.trim().to_owned(), v.trim().to_owned()))
            })
            .collect()
    }

    /// One request cookie (the first of that name).
    pub(crate) fn cookie(&self, name: &str) -> Option<String> {
        self.cookies()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// `scheme://host/path?query` as the client asked for it.
    pub(crate) fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        let q = if self.query.is_empty() {
            String::new()
        } else {
            format!("?{}", self.query)
        };
        format!("{scheme}://{}{}{q}", self.host, self.path)
    }
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A response with a body and a content type.
pub(crate) fn text(code: u16, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status(code);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    r
}

/// `text/html; charset=UTF-8`.
pub(crate) fn html(code: u16, body: impl Into<Bytes>) -> Response<Body> {
    text(code, "text/html; charset=UTF-8", body)
}

/// `application/json`.
pub(crate) fn json(code: u16, value: &serde_json::Value) -> Response<Body> {
    text(code, "application/json", value.to_string())
}

/// No body.
pub(crate) fn empty(code: u16) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status(code);
    r
}

/// A redirect to `location`.
pub(crate) fn redirect(code: u16, location: &str) -> Response<Body> {
    let mut r = html(code, format!("<a href=\"{location}\">Found</a>\n"));
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(hyper::header::LOCATION, v);
    }
    r
}

/// Adds a `Set-Cookie` header.
pub(crate) fn set_cookie(resp: &mut Response<Body>, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        resp.headers_mut().append(SET_COOKIE, v);
    }
}

/// A plain 404.
pub(crate) fn not_found() -> Response<Body> {
    html(
        404,
        "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\
         <body><h1>Not Found</h1></body></html>\n",
    )
}

/// `x-test` → `X-Test`, as Go and httpbin show header names.
pub(crate) fn canonical_header(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_names() {
        assert_eq!(canonical_header("x-test"), "X-Test");
        assert_eq!(canonical_header("user-agent"), "User-Agent");
        assert_eq!(canonical_header("cookie"), "Cookie");
    }
}
