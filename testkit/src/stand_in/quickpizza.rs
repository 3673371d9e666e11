//! QuickPizza (`grafana/quickpizza`): the API the `k6/foundations` scripts
//! call through `BASE_URL`.
//!
//! Authentication for `/api/pizza` and `/api/ratings` accepts what the real
//! server accepted over time: `Authorization: token|bearer <16 chars>`
//! (prefix case-insensitive), the `qp_user_token` cookie (16 chars), and the
//! legacy `X-User-ID` header that the older foundations scripts in the corpus
//! send. Anything else is a 401.

use serde_json::{Value, json};

use super::http::{self, Body, Req};
use super::rng;
use hyper::{Method, Response};

const ADJECTIVES: &[&str] = &[
    "Hearty", "Bold", "Crispy", "Fiery", "Golden", "Rustic", "Zesty", "Smoky", "Savory", "Classic",
];
const NAMES: &[&str] = &[
    "Margherita",
    "Bite",
    "Feast",
    "Delight",
    "Special",
    "Supreme",
    "Treat",
    "Slice",
    "Pie",
];
const DOUGHS: &[(&str, u64)] = &[("Thin", 100), ("Napolitana", 150), ("Thick", 200)];
const TOPPINGS: &[(&str, u64, bool)] = &[
    ("Basil", 5, true),
    ("Mushrooms", 20, true),
    ("Olives", 25, true),
    ("Red onions", 15, true),
    ("Bell peppers", 15, true),
    ("Artichokes", 30, true),
    ("Ham", 60, false),
    ("Bacon", 90, false),
    ("Anchovies", 40, false),
    ("Pineapple", 30, true),
];
const TOOLS: &[&str] = &["Knife", "Pizza cutter", "Scissors", "Fork"];

pub(crate) fn handle(req: &Req) -> Response<Body> {
    match (&req.method, req.path.as_str()) {
        (&Method::GET, "/") => front_page(),
        (&Method::POST, "/api/pizza") => pizza(req),
        (&Method::POST, "/api/csrf-token") => csrf_token(),
        (&Method::POST, "/api/users/token/login") => login(req),
        (&Method::POST, "/api/ratings") => rating(req),
        (&Method::GET, "/api/config") => http::json(200, &json!({})),
        _ => http::not_found(),
    }
}

fn front_page() -> Response<Body> {
    http::html(
        200,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>QuickPizza</title></head><body><div id=\"app\">\
         <h1>QuickPizza</h1><p>Looking to break out of your pizza routine?</p>\
         </div></body></html>\n",
    )
}

/// Whether the request carries credentials the real server would take.
fn authorized(req: &Req) -> bool {
    if req.header("x-user-id").is_some() {
        return true;
    }
    if req.cookie("qp_user_token").is_some_and(|t| t.len() == 16) {
        return true;
    }
    let Some(auth) = req.header("authorization") else {
        return false;
    };
    let Some((prefix, token)) = auth.trim().split_once(' ') else {
        return false;
    };
    let prefix = prefix.to_ascii_lowercase();
    (prefix == "token" || prefix == "bearer") && token.trim().len() == 16
}

fn unauthorized() -> Response<Body> {
    http::json(401, &json!({ "error": "authentication failed" }))
}

fn pizza(req: &Req) -> Response<Body> {
    if !authorized(req) {
        return unauthorized();
    }
    let (dough, dough_cal) = *rng::pick(DOUGHS);
    let mut ingredients = vec![
        json!({"name": "Olive oil", "caloriesPerSlice": 100, "vegetarian": true}),
        json!({"name": "Roma tomatoes", "caloriesPerSlice": 50, "vegetarian": true}),
        json!({"name": "Mozzarella", "caloriesPerSlice": 100, "vegetarian": true}),
    ];
    let mut calories = dough_cal + 250;
    let mut vegetarian = true;
    // Two to four distinct toppings: 5 to 7 ingredients, well under the
    // `quickpizza_ingredients avg<8` threshold of the scripts.
    let wanted = rng::between(2, 4) as usize;
    let mut chosen: Vec<usize> = Vec::new();
    while chosen.len() < wanted {
        let i = (rng::next_u64() % TOPPINGS.len() as u64) as usize;
        if !chosen.contains(&i) {
            chosen.push(i);
        }
    }
    for i in chosen {
        let (name, cal, veg) = TOPPINGS[i];
        calories += cal;
        vegetarian &= veg;
        ingredients.push(json!({"name": name, "caloriesPerSlice": cal, "vegetarian": veg}));
    }
    let body = json!({
        "pizza": {
            "id": rng::between(1, 99_999),
            "name": format!("The {} {}", rng::pick(ADJECTIVES), rng::pick(NAMES)),
            "dough": {"name": dough, "caloriesPerSlice": dough_cal},
            "ingredients": ingredients,
            "tool": rng::pick(TOOLS),
        },
        "calories": calories,
        "vegetarian": vegetarian,
    });
    http::json(200, &body)
}

fn csrf_token() -> Response<Body> {
    let mut resp = http::empty(200);
    http::set_cookie(
        &mut resp,
        &format!("csrf_token={}; Path=/; SameSite=Strict", rng::alnum(32)),
    );
    resp
}

/// Known accounts: `default` (any password) and `user1`…`userN` with the
/// password `quickpizza` (what `data/users.json` of the login script holds).
fn valid_login(username: &str, password: &str) -> bool {
    if username == "default" {
        return true;
    }
    let numbered = username
        .strip_prefix("user")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    numbered && password == "quickpizza"
}

fn login(req: &Req) -> Response<Body> {
    let body = req.json().unwrap_or(Value::Null);
    let username = body["username"].as_str().unwrap_or_default();
    let password = body["password"].as_str().unwrap_or_default();
    let set_cookie = req.query_pairs().iter().any(|(k, _)| k == "set_cookie");
    if set_cookie {
        // The browser flow: the csrf field must match the csrf_token cookie.
        let csrf = body["csrf"].as_str().unwrap_or_default();
        if csrf.is_empty() || req.cookie("csrf_token").as_deref() != Some(csrf) {
            return http::json(401, &json!({ "error": "invalid csrf token" }));
        }
    }
    if !valid_login(username, password) {
        return unauthorized();
    }
    let token = rng::alnum(16);
    let mut resp = http::json(200, &json!({ "token": token }));
    if set_cookie {
        http::set_cookie(
            &mut resp,
            &format!("qp_user_token={token}; Path=/; SameSite=Strict"),
        );
    }
    resp
}

fn rating(req: &Req) -> Response<Body> {
    if !authorized(req) {
        return unauthorized();
    }
    let body = req.json().unwrap_or(Value::Null);
    let stars = body["stars"].as_i64().unwrap_or(0);
    let Some(pizza_id) = body["pizza_id"].as_i64() else {
        return http::json(400, &json!({ "error": "pizza_id is required" }));
    };
    if !(1..=5).contains(&stars) {
        return http::json(400, &json!({ "error": "stars must be between 1 and 5" }));
    }
    http::json(
        201,
        &json!({ "id": rng::between(1, 999_999), "stars": stars, "pizza_id": pizza_id }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins() {
        assert!(valid_login("default", "x"));
        assert!(valid_login("user42", "quickpizza"));
        assert!(!valid_login("user42", "nope"));
        assert!(!valid_login("user", "quickpizza"));
        assert!(!valid_login("admin", "quickpizza"));
    }
}
