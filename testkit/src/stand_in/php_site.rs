//! The old test.k6.io PHP site (`grafana/test.k6.io`), served for
//! `test.k6.io`, `test.staging.k6.io` and `test-k6-io-temp.k6.io`, and the
//! QuickPizza "legacy" replacement page under
//! `https://quickpizza.grafana.com/test.k6.io/`.
//!
//! The pages are written here, not copied: they only have the properties the
//! scripts read (sizes, marker strings, the CSRF login).

use hyper::{Method, Response};

use super::http::{self, Body, Req};
use super::rng;

/// The home page is exactly this many bytes (all ASCII, so also this many
/// UTF-16 units): k6-benchmarks' website.js checks `r.body.length === 11278`,
/// the size of the real page from 2022.
pub(crate) const INDEX_LEN: usize = 11278;
/// `site.css` size checked by k6-benchmarks' website.js.
pub(crate) const CSS_LEN: usize = 4859;

const ADMIN: (&str, &str, &str, &str) = (
    "admin",
    "123",
    "3221",
    "39b77ac6-39c4-4c43-98b3-6b2816682036",
);
const TEST_USER: (&str, &str, &str, &str) = (
    "test_user",
    "1234",
    "2233",
    "45b77ac6-39c4-4c43-98b3-6b2816682036",
);

/// Pages built once at start.
pub(crate) struct Pages {
    index: String,
    css: String,
}

impl Pages {
    pub(crate) fn new() -> Pages {
        Pages {
            index: padded(INDEX_PAGE_HEAD, INDEX_PAGE_TAIL, INDEX_LEN),
            css: padded(CSS_HEAD, "*/\n", CSS_LEN),
        }
    }
}

/// `head`, filler, `tail`, exactly `len` bytes.
fn padded(head: &str, tail: &str, len: usize) -> String {
    let fill = len - head.len() - tail.len();
    let line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\n";
    let mut s = String::with_capacity(len);
    s.push_str(head);
    while s.len() + line.len() <= head.len() + fill {
        s.push_str(line);
    }
    while s.len() < head.len() + fill {
        s.push(' ');
    }
    s.push_str(tail);
    debug_assert_eq!(s.len(), len);
    s
}

const INDEX_PAGE_HEAD: &str = "<!DOCTYPE html>
<html>
<head>
  <meta charset=\"utf-8\">
  <title>Demo website for load testing</title>
  <link rel=\"stylesheet\" href=\"/static/css/site.css\">
  <link rel=\"shortcut icon\" href=\"/static/favicon.ico\">
</head>
<body>
  <header>
    <h1 class=\"title\">Welcome to the k6.io demo site!</h1>
    <p class=\"description\">Collection of simple web-pages suitable for load testing.</p>
  </header>
  <ul>
    <li><a href=\"/contacts.php\">A static page</a></li>
    <li><a href=\"/news.php\">A page with a slow response</a></li>
    <li><a href=\"/pi.php?decimals=3\">Calculate Pi</a></li>
    <li><a href=\"/flip_coin.php\">Flip a coin</a></li>
    <li><a href=\"/my_messages.php\">Login form</a></li>
  </ul>
  <!--
";
const INDEX_PAGE_TAIL: &str = "  -->
  <script src=\"/static/js/prisms.js\"></script>
</body>
</html>
";

const CSS_HEAD: &str = "body { font-family: sans-serif; margin: 0; padding: 0; color: #333; }
header { background: #7d64ff; color: #fff; padding: 2em; }
h1.title { font-size: 2em; margin: 0; }
p.description { font-size: 1.2em; }
ul { list-style: square; }
form input { display: block; margin: 0.5em 0; }
/*
";

const PRISMS_JS: &str = "/* prisms.js (stand-in) */\n(function () { 'use strict'; })();\n";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html>\n<head>\n  <meta charset=\"utf-8\">\n  <title>{title}</title>\n  \
         <link rel=\"stylesheet\" href=\"/static/css/site.css\">\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
}

pub(crate) fn handle(req: &Req, pages: &Pages) -> Response<Body> {
    match (&req.method, req.path.as_str()) {
        (&Method::GET | &Method::HEAD, "/" | "/index.php") => http::html(200, pages.index.clone()),
        (&Method::GET | &Method::HEAD, "/static/css/site.css") => {
            http::text(200, "text/css", pages.css.clone())
        }
        (&Method::GET | &Method::HEAD, "/static/js/prisms.js") => {
            http::text(200, "application/javascript", PRISMS_JS)
        }
        (&Method::GET | &Method::HEAD, "/static/favicon.ico") => {
            http::text(200, "image/x-icon", vec![0u8; 318])
        }
        (&Method::GET, "/contacts.php") => http::html(
            200,
            page(
                "Contacts",
                "<h1>Contact us</h1>\n<p>This is a static page.</p>",
            ),
        ),
        (&Method::GET, "/news.php") => {
            http::html(200, page("News", "<h1>News</h1>\n<p>No news today.</p>"))
        }
        (&Method::GET, "/flip_coin.php") => {
            let side = if rng::next_u64().is_multiple_of(2) {
                "heads"
            } else {
                "tails"
            };
            http::html(200, page("Flip a coin", &format!("<h1>It is {side}!</h1>")))
        }
        (&Method::GET, "/my_messages.php") => my_messages(req),
        (&Method::POST, "/login.php") => login(req),
        _ => http::not_found(),
    }
}

fn logged_in_as(req: &Req) -> Option<&'static str> {
    let uid = req.cookie("uid")?;
    let sid = req.cookie("sid")?;
    [ADMIN, TEST_USER]
        .into_iter()
        .find(|(_, _, u, s)| *u == uid && *s == sid)
        .map(|(name, ..)| name)
}

fn my_messages(req: &Req) -> Response<Body> {
    if let Some(user) = logged_in_as(req) {
        return http::html(
            200,
            page(
                "My messages",
                &format!("<h2>Welcome, {user}!</h2>\n<p>You have no new messages.</p>"),
            ),
        );
    }
    // The real site: base64 of a random nine-digit number, also as a cookie.
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD
        .encode(rng::between(100_000_000, 999_999_999).to_string());
    let form = format!(
        "<h2>Unauthorized</h2>\n<p>You need to log in to see your messages.</p>\n\
         <form method=\"post\" action=\"/login.php\">\n  \
         <input type=\"hidden\" name=\"csrftoken\" value=\"{token}\">\n  \
         <input type=\"text\" name=\"login\">\n  \
         <input type=\"password\" name=\"password\">\n  \
         <input type=\"hidden\" name=\"redir\" value=\"1\">\n  \
         <input type=\"submit\" value=\"Go!\">\n</form>"
    );
    let mut resp = http::html(200, page("My messages", &form));
    // Host-only (no Domain=): k6 reaches this under several names.
    http::set_cookie(
        &mut resp,
        &format!("csrf={token}; Max-Age=3600; Path=/; HttpOnly"),
    );
    resp
}

fn login(req: &Req) -> Response<Body> {
    let token = req.form_field("csrftoken").unwrap_or_default();
    if token.is_empty() || req.cookie("csrf").as_deref() != Some(token.as_str()) {
        return http::text(403, "text/plain", "error: invalid csrf token\n");
    }
    let login = req.form_field("login").unwrap_or_default();
    let password = req.form_field("password").unwrap_or_default();
    let (uid, sid) = [ADMIN, TEST_USER]
        .into_iter()
        .find(|(l, p, ..)| *l == login && *p == password)
        .map(|(_, _, u, s)| (u, s))
        .unwrap_or(("bad", "bad"));
    let redir = req.form_field("redir").is_some_and(|r| r == "1");
    let mut resp = if redir {
        http::redirect(302, "/my_messages.php")
    } else {
        http::html(200, page("Login", "<p>Logged in.</p>"))
    };
    http::set_cookie(&mut resp, &format!("uid={uid}; Max-Age=3600; Path=/"));
    http::set_cookie(&mut resp, &format!("sid={sid}; Max-Age=3600; Path=/"));
    resp
}

const LEGACY_HOME: &str = "<!DOCTYPE html>
<html>
<head>
  <meta charset=\"utf-8\">
  <title>QuickPizza Legacy</title>
  <link rel=\"stylesheet\" href=\"/test.k6.io/static/css/site.css\">
</head>
<body>
  <header>
    <h1 class=\"title\">QuickPizza Legacy</h1>
    <p class=\"description\">This is a replacement of the service test.k6.io, which was deprecated.</p>
  </header>
  <ul>
    <li><a href=\"/test.k6.io/contacts.php\">A static page</a></li>
    <li><a href=\"/test.k6.io/news.php\">A page with a slow response</a></li>
    <li><a href=\"/test.k6.io/my_messages.php\">Login form</a></li>
  </ul>
</body>
</html>
";

/// `https://quickpizza.grafana.com/test.k6.io/…`.
pub(crate) fn legacy(req: &Req) -> Response<Body> {
    let Some(rest) = req.path.strip_prefix("/test.k6.io") else {
        return http::not_found();
    };
    match rest {
        "" | "/" | "/index.php" => http::html(200, LEGACY_HOME),
        "/static/css/site.css" => http::text(200, "text/css", CSS_HEAD.to_owned() + "*/\n"),
        "/static/favicon.ico" => http::text(200, "image/x-icon", vec![0u8; 318]),
        "/contacts.php" | "/news.php" | "/my_messages.php" => http::html(
            200,
            page(
                "QuickPizza Legacy",
                "<p>A static page of QuickPizza Legacy.</p>",
            ),
        ),
        // The real replacement has no prisms.js.
        _ => http::not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        let p = Pages::new();
        assert_eq!(p.index.len(), INDEX_LEN);
        assert!(p.index.is_ascii());
        assert!(p.index.contains("Welcome to the k6.io demo site!"));
        assert_eq!(p.css.len(), CSS_LEN);
        assert!(p.css.is_ascii());
    }
}
