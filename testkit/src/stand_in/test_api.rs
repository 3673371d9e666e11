//! test-api.k6.io (`grafana/test-api.k6.io`, a Django REST Framework app):
//! public crocodiles, registration, JWT / session-cookie / Basic
//! authentication and the per-user crocodile CRUD.
//!
//! Like the real service (`APPEND_SLASH = False`) every route ends in `/`;
//! without it the answer is a 404 before any authentication. A pre-existing
//! account `user` / `test123!` (`user@example.com`) is there from the start.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use hyper::{Method, Response};
use serde_json::{Value, json};

use super::http::{self, Body, Req};
use super::rng;

struct User {
    id: u64,
    username: String,
    password: String,
    email: String,
    first_name: String,
    last_name: String,
}

struct Croc {
    id: u64,
    owner: String,
    name: String,
    sex: String,
    date_of_birth: String,
}

struct Inner {
    users: HashMap<String, User>,
    sessions: HashMap<String, String>,
    tokens: HashMap<String, String>,
    crocs: HashMap<u64, Croc>,
    next_user: u64,
    next_croc: u64,
}

/// The service's data, shared by all connections.
pub(crate) struct Db {
    inner: Mutex<Inner>,
}

const PUBLIC_CROCS: &[(u64, &str, &str, &str)] = &[
    (1, "Bert", "M", "2010-06-27"),
    (2, "Ed", "M", "1995-02-27"),
    (3, "Lyle the Crocodile", "M", "1985-03-03"),
    (4, "Solomon", "M", "1993-12-25"),
    (5, "Sang Buaya", "F", "2006-01-28"),
    (6, "Sobek", "F", "1854-09-02"),
    (7, "Curious George", "M", "1981-01-03"),
    (8, "Kaa", "F", "2004-12-30"),
];

const DATE_JOINED: &str = "2020-01-01T00:00:00Z";

impl Db {
    pub(crate) fn new() -> Db {
        let mut users = HashMap::new();
        users.insert(
            "user".to_owned(),
            User {
                id: 1,
                username: "user".to_owned(),
                password: "test123!".to_owned(),
                email: "user@example.com".to_owned(),
                first_name: "Test".to_owned(),
                last_name: "User".to_owned(),
            },
        );
        Db {
            inner: Mutex::new(Inner {
                users,
                sessions: HashMap::new(),
                tokens: HashMap::new(),
                crocs: HashMap::new(),
                next_user: 2,
                next_croc: 1000,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn this_year() -> i64 {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0) as i64;
    1970 + (days * 400) / 146_097
}

fn age(date_of_birth: &str) -> i64 {
    let year: i64 = date_of_birth
        .get(..4)
        .and_then(|y| y.parse().ok())
        .unwrap_or(this_year());
    (this_year() - year).max(0)
}

fn croc_json(id: u64, name: &str, sex: &str, date_of_birth: &str) -> Value {
    json!({
        "id": id,
        "name": name,
        "sex": sex,
        "date_of_birth": date_of_birth,
        "age": age(date_of_birth),
    })
}

fn valid_date(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && d.split('-').all(|p| p.bytes().all(|c| c.is_ascii_digit()))
        && d[5..7].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
        && d[8..10].parse::<u32>().is_ok_and(|m| (1..=31).contains(&m))
}

fn detail(code: u16, text: &str) -> Response<Body> {
    http::json(code, &json!({ "detail": text }))
}

fn unauthenticated() -> Response<Body> {
    let mut r = detail(401, "Authentication credentials were not provided.");
    r.headers_mut().insert(
        hyper::header::WWW_AUTHENTICATE,
        hyper::header::HeaderValue::from_static("Basic realm=\"api\""),
    );
    r
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// The authenticated user: Basic, then Bearer (JWT), then the session cookie.
fn user_of(req: &Req, db: &Inner) -> Option<String> {
    if let Some(auth) = req.header("authorization") {
        if let Some(b) = strip_prefix_ci(auth, "basic ") {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()?;
            let raw = String::from_utf8(raw).ok()?;
            let (user, password) = raw.split_once(':')?;
            return db
                .users
                .get(user)
                .filter(|u| u.password == password)
                .map(|u| u.username.clone());
        }
        if let Some(t) = strip_prefix_ci(auth, "bearer ") {
            return db.tokens.get(t.trim()).cloned();
        }
    }
    let sid = req.cookie("sessionid")?;
    db.sessions.get(&sid).cloned()
}

fn segments(path: &str) -> Option<Vec<&str>> {
    // Routes all end in '/'.
    let inner = path.strip_prefix('/')?.strip_suffix('/')?;
    Some(inner.split('/').collect())
}

pub(crate) fn handle(req: &Req, db: &Db) -> Response<Body> {
    if req.path == "/" {
        return http::html(
            200,
            "<!DOCTYPE html>\n<html><head><title>test-api.k6.io</title></head><body>\
             <h1>Test API</h1><p>Public APIs: <a href=\"/public/crocodiles/\">crocodiles</a>.</p>\
             </body></html>\n",
        );
    }
    let Some(seg) = segments(&req.path) else {
        return http::not_found();
    };
    let m = &req.method;
    match seg.as_slice() {
        ["public", "crocodiles"] if m == Method::GET => {
            let list: Vec<Value> = PUBLIC_CROCS
                .iter()
                .map(|&(id, n, s, d)| croc_json(id, n, s, d))
                .collect();
            http::json(200, &Value::Array(list))
        }
        ["public", "crocodiles", id] if m == Method::GET => {
            match PUBLIC_CROCS
                .iter()
                .find(|c| id.parse::<u64>().is_ok_and(|i| i == c.0))
            {
                Some(&(id, n, s, d)) => http::json(200, &croc_json(id, n, s, d)),
                None => detail(404, "Not found."),
            }
        }
        ["user", "register"] if m == Method::POST => register(req, db),
        ["auth", "token", "login"] if m == Method::POST => token_login(req, db),
        ["auth", "cookie", "login"] if m == Method::POST => cookie_login(req, db),
        ["auth", "cookie", "logout"] if m == Method::POST => cookie_logout(req, db),
        ["my", "crocodiles"] => my_crocs(req, db, None),
        ["my", "crocodiles", id] => match id.parse::<u64>() {
            Ok(id) => my_crocs(req, db, Some(id)),
            Err(_) => http::not_found(),
        },
        _ => http::not_found(),
    }
}

fn user_json(u: &User) -> Value {
    json!({
        "id": u.id,
        "username": u.username,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "email": u.email,
        "date_joined": DATE_JOINED,
    })
}

fn register(req: &Req, db: &Db) -> Response<Body> {
    let f = |k: &str| req.form_field(k).unwrap_or_default();
    let (username, password, email) = (f("username"), f("password"), f("email"));
    let mut errors = serde_json::Map::new();
    if username.is_empty() {
        errors.insert("username".into(), json!(["This field is required."]));
    }
    if password.is_empty() {
        errors.insert("password".into(), json!(["This field is required."]));
    }
    let mut db = db.lock();
    if db.users.contains_key(&username) {
        errors.insert(
            "username".into(),
            json!(["A user with that username already exists."]),
        );
    }
    if !email.is_empty() && db.users.values().any(|u| u.email == email) {
        errors.insert(
            "email".into(),
            json!(["User with this email already exists."]),
        );
    }
    if !errors.is_empty() {
        return http::json(400, &Value::Object(errors));
    }
    let id = db.next_user;
    db.next_user += 1;
    let user = User {
        id,
        username: username.clone(),
        password,
        email,
        first_name: f("first_name"),
        last_name: f("last_name"),
    };
    let body = json!({
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
    });
    db.users.insert(username, user);
    http::json(201, &body)
}

fn check_credentials(req: &Req, db: &Inner) -> Option<String> {
    let username = req.form_field("username")?;
    let password = req.form_field("password")?;
    db.users
        .get(&username)
        .filter(|u| u.password == password)
        .map(|u| u.username.clone())
}

fn token_login(req: &Req, db: &Db) -> Response<Body> {
    let mut db = db.lock();
    let Some(user) = check_credentials(req, &db) else {
        return detail(401, "No active account found with the given credentials");
    };
    let access = format!(
        "eyJ{}.{}.{}",
        rng::alnum(20),
        rng::alnum(40),
        rng::alnum(43)
    );
    let refresh = format!(
        "eyJ{}.{}.{}",
        rng::alnum(20),
        rng::alnum(40),
        rng::alnum(43)
    );
    db.tokens.insert(access.clone(), user);
    http::json(200, &json!({ "refresh": refresh, "access": access }))
}

fn cookie_login(req: &Req, db: &Db) -> Response<Body> {
    let mut db = db.lock();
    let Some(user) = check_credentials(req, &db) else {
        return http::json(
            400,
            &json!({ "non_field_errors": ["Unable to log in with provided credentials."] }),
        );
    };
    let sid = rng::alnum(32).to_ascii_lowercase();
    let body = db.users.get(&user).map(user_json).unwrap_or(Value::Null);
    db.sessions.insert(sid.clone(), user);
    let mut resp = http::json(200, &body);
    http::set_cookie(
        &mut resp,
        &format!("sessionid={sid}; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax"),
    );
    resp
}

fn cookie_logout(req: &Req, db: &Db) -> Response<Body> {
    if let Some(sid) = req.cookie("sessionid") {
        db.lock().sessions.remove(&sid);
    }
    let mut resp = http::json(200, &json!({}));
    http::set_cookie(
        &mut resp,
        "sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax",
    );
    resp
}

fn my_crocs(req: &Req, db: &Db, id: Option<u64>) -> Response<Body> {
    let mut db = db.lock();
    let Some(user) = user_of(req, &db) else {
        return unauthenticated();
    };
    let m = &req.method;
    let Some(id) = id else {
        if m == Method::GET {
            let mut mine: Vec<&Croc> = db.crocs.values().filter(|c| c.owner == user).collect();
            mine.sort_by_key(|c| c.id);
            let list: Vec<Value> = mine
                .iter()
                .map(|c| croc_json(c.id, &c.name, &c.sex, &c.date_of_birth))
                .collect();
            return http::json(200, &Value::Array(list));
        }
        if m == Method::POST {
            return create(req, &mut db, user);
        }
        return detail(405, &format!("Method \"{m}\" not allowed."));
    };
    let owned = db.crocs.get(&id).is_some_and(|c| c.owner == user);
    if !owned {
        return detail(404, "Not found.");
    }
    match *m {
        Method::GET => {
            let c = &db.crocs[&id];
            http::json(200, &croc_json(c.id, &c.name, &c.sex, &c.date_of_birth))
        }
        Method::PATCH | Method::PUT => {
            let name = req.form_field("name");
            let sex = req.form_field("sex");
            let dob = req.form_field("date_of_birth");
            if sex.as_deref().is_some_and(|s| s != "M" && s != "F")
                || dob.as_deref().is_some_and(|d| !valid_date(d))
                || name.as_deref().is_some_and(str::is_empty)
            {
                return http::json(400, &json!({ "detail": "Invalid data." }));
            }
            let Some(c) = db.crocs.get_mut(&id) else {
                return detail(404, "Not found.");
            };
            if let Some(n) = name {
                c.name = n;
            }
            if let Some(s) = sex {
                c.sex = s;
            }
            if let Some(d) = dob {
                c.date_of_birth = d;
            }
            http::json(200, &croc_json(c.id, &c.name, &c.sex, &c.date_of_birth))
        }
        Method::DELETE => {
            db.crocs.remove(&id);
            http::empty(204)
        }
        _ => detail(405, &format!("Method \"{m}\" not allowed.")),
    }
}

fn create(req: &Req, db: &mut Inner, user: String) -> Response<Body> {
    let name = req.form_field("name").unwrap_or_default();
    let sex = req.form_field("sex").unwrap_or_default();
    let dob = req.form_field("date_of_birth").unwrap_or_default();
    let mut errors = serde_json::Map::new();
    if name.is_empty() {
        errors.insert("name".into(), json!(["This field is required."]));
    }
    if sex != "M" && sex != "F" {
        errors.insert(
            "sex".into(),
            json!([format!("\"{sex}\" is not a valid choice.")]),
        );
    }
    if !valid_date(&dob) {
        errors.insert(
            "date_of_birth".into(),
            json!(["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]),
        );
    }
    if db.crocs.values().filter(|c| c.owner == user).count() >= 100 {
        errors.insert(
            "non_field_errors".into(),
            json!(["You can't have more than 100 crocodiles."]),
        );
    }
    if !errors.is_empty() {
        return http::json(400, &Value::Object(errors));
    }
    let id = db.next_croc;
    db.next_croc += 1;
    let body = croc_json(id, &name, &sex, &dob);
    db.crocs.insert(
        id,
        Croc {
            id,
            owner: user,
            name,
            sex,
            date_of_birth: dob,
        },
    );
    http::json(201, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_routes() {
        assert!(valid_date("1982-03-03"));
        assert!(!valid_date("1982-13-03"));
        assert!(!valid_date("82-03-03"));
        assert_eq!(
            segments("/my/crocodiles/5/"),
            Some(vec!["my", "crocodiles", "5"])
        );
        assert_eq!(segments("/my/crocodiles/5"), None);
        assert!(this_year() >= 2024);
        assert_eq!(strip_prefix_ci("Bearer abc", "bearer "), Some("abc"));
    }
}
