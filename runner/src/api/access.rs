//! Who is calling, and whether they may: the filter every route starts
//! with. Refused control attempts are audited here, where they are refused.

use std::collections::HashMap;
use std::sync::Arc;

use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::{Filter, Rejection};

use super::error::ApiError;
use crate::audit::{AuditEntry, AuditOutcome};
use crate::auth::{Identity, Role, Tokens};
use crate::service::Service;

/// How the API learns who calls it.
#[derive(Clone)]
pub enum Auth {
    /// No auth: every caller is `anonymous`, an operator. Only for a server
    /// bound to loopback, or behind a host that authenticates first.
    Open,
    /// Bearer tokens (`Authorization: Bearer <secret>`; the WebSocket also
    /// takes `?access_token=<secret>`, as browsers cannot set its headers).
    Tokens(Tokens),
    /// The host's own auth: a filter that yields the caller's identity or
    /// rejects the request.
    Host(BoxedFilter<(Identity,)>),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Open => f.write_str("Auth::Open"),
            Auth::Tokens(tokens) => write!(f, "Auth::Tokens({tokens:?})"),
            Auth::Host(_) => f.write_str("Auth::Host(..)"),
        }
    }
}

/// What a route needs from its caller.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Needs {
    /// The least role.
    pub role: Role,
    /// For control routes: the audited action a refusal is recorded as.
    pub action: Option<&'static str>,
    /// Whether `?access_token=` may carry the token (the WebSocket only:
    /// query strings end up in logs more easily than headers).
    pub query_token: bool,
}

/// The caller's identity, required to hold `needs.role`; for control
/// routes and the WebSocket, also a same-origin request (see
/// [`cross_origin`]).
pub(crate) fn require(
    service: Arc<Service>,
    auth: &Auth,
    needs: Needs,
) -> BoxedFilter<(Identity,)> {
    let Needs {
        role: needed,
        action,
        query_token,
    } = needs;
    let who: BoxedFilter<(Result<Identity, ApiError>,)> = match auth {
        Auth::Open => warp::any()
            .map(|| Ok(Identity::new("anonymous", Role::Operator)))
            .boxed(),
        Auth::Host(filter) => {
            // The host's filter refuses in its own words; a refused control
            // attempt is still audited here, as with the runner's tokens.
            let service = service.clone();
            filter
                .clone()
                .map(Ok)
                .or_else(move |rejection: Rejection| {
                    if let Some(action) = action {
                        service.audit(AuditEntry::new(
                            "unknown",
                            action,
                            AuditOutcome::Refused,
                            Some("refused by the host's auth".to_owned()),
                        ));
                    }
                    async move { Err::<(Result<Identity, ApiError>,), _>(rejection) }
                })
                .boxed()
        }
        Auth::Tokens(tokens) => {
            let tokens = tokens.clone();
            presented_token()
                .map(move |header: Option<String>, query: Option<String>| {
                    let query = if query_token { query } else { None };
                    identify(&tokens, header.as_deref(), query.as_deref())
                })
                .boxed()
        }
    };
    // Only what a foreign page could make a browser do matters here: send
    // a control request or open the WebSocket. Plain reads are safe, as the
    // browser does not let that page see the answer.
    let checks_origin = action.is_some() || query_token;
    let origin = warp::header::optional::<String>("origin")
        .and(warp::header::optional::<String>("host"))
        .map(move |origin: Option<String>, host: Option<String>| {
            checks_origin
                .then(|| cross_origin(origin.as_deref(), host.as_deref()))
                .flatten()
        });
    who.and(origin)
        .and_then(
            move |who: Result<Identity, ApiError>, foreign: Option<String>| {
                let service = service.clone();
                async move {
                    let refusal = match who {
                        Ok(identity) if identity.may(needed) && foreign.is_none() => {
                            return Ok::<_, Rejection>(identity);
                        }
                        Ok(identity) if identity.may(needed) => {
                            let message = foreign.unwrap_or_default();
                            (identity.name, ApiError::new(StatusCode::FORBIDDEN, message))
                        }
                        Ok(identity) => {
                            let message = format!(
                                "{} is a {}; this needs the {} role",
                                identity.name,
                                identity.role.name(),
                                needed.name()
                            );
                            (identity.name, ApiError::new(StatusCode::FORBIDDEN, message))
                        }
                        Err(error) => ("unknown".to_owned(), error),
                    };
                    if let Some(action) = action {
                        service.audit(AuditEntry::new(
                            &refusal.0,
                            action,
                            AuditOutcome::Refused,
                            Some(refusal.1.body.error.clone()),
                        ));
                    }
                    Err(warp::reject::custom(refusal.1))
                }
            },
        )
        .boxed()
}

/// Bearer-token auth for a host's own routes: the check the runner makes
/// with [`Auth::Tokens`], as a filter yielding the caller's identity or
/// rejecting with the runner's 401 (`WWW-Authenticate: Bearer`). As there,
/// `?access_token=` is taken only where browsers cannot set headers: on a
/// WebSocket upgrade. A host's rejection handler turns the rejection into
/// its response with [`ApiError`]'s `Reply`.
pub fn bearer_auth(tokens: Tokens) -> BoxedFilter<(Identity,)> {
    warp::header::optional::<String>("upgrade")
        .and(presented_token())
        .and_then(
            move |upgrade: Option<String>, header: Option<String>, query: Option<String>| {
                let websocket =
                    upgrade.is_some_and(|value| value.eq_ignore_ascii_case("websocket"));
                let query = if websocket { query } else { None };
                let who = identify(&tokens, header.as_deref(), query.as_deref());
                async move { who.map_err(warp::reject::custom) }
            },
        )
        .boxed()
}

/// Refuses (403, an [`ApiError`]) a request that another site's page made
/// a browser send (its `Origin` is not the `Host` it was sent to): for a
/// host's own control routes and WebSocket, which need the guard the
/// runner's have.
pub fn same_origin() -> BoxedFilter<()> {
    warp::header::optional::<String>("origin")
        .and(warp::header::optional::<String>("host"))
        .and_then(|origin: Option<String>, host: Option<String>| async move {
            match cross_origin(origin.as_deref(), host.as_deref()) {
                None => Ok(()),
                Some(refusal) => Err(warp::reject::custom(ApiError::new(
                    StatusCode::FORBIDDEN,
                    refusal,
                ))),
            }
        })
        .untuple_one()
        .boxed()
}

/// The `Authorization` header and the `access_token` query parameter, as
/// sent; which of them counts is the caller's decision.
fn presented_token() -> BoxedFilter<(Option<String>, Option<String>)> {
    let query = warp::query::<HashMap<String, String>>()
        .map(|mut query: HashMap<String, String>| query.remove("access_token"))
        .or(warp::any().map(|| None))
        .unify();
    warp::header::optional::<String>("authorization")
        .and(query)
        .boxed()
}

/// Who the presented secret names: the header's bearer token, else the
/// query's (when the caller allowed it).
fn identify(
    tokens: &Tokens,
    header: Option<&str>,
    query: Option<&str>,
) -> Result<Identity, ApiError> {
    let presented = match header {
        Some(value) => bearer(value)?,
        None => query,
    };
    match presented {
        None => Err(ApiError::unauthorized(
            "this API needs a bearer token: Authorization: Bearer <token>",
        )),
        Some(secret) => tokens
            .identify(secret)
            .ok_or_else(|| ApiError::unauthorized("the bearer token is not valid")),
    }
}

/// The secret of an `Authorization` header's `Bearer` credentials (the
/// scheme is case-insensitive, RFC 9110 §11.1), or why there is none.
pub fn bearer(header: &str) -> Result<Option<&str>, ApiError> {
    let (scheme, credentials) = header
        .trim()
        .split_once(char::is_whitespace)
        .unwrap_or((header.trim(), ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        // A scheme is a short word; anything else may be a bare secret,
        // which is not echoed.
        let named = if scheme.len() <= 20 && scheme.bytes().all(|b| b.is_ascii_alphabetic()) {
            format!("the {scheme} scheme")
        } else {
            "no scheme".to_owned()
        };
        return Err(ApiError::unauthorized(format!(
            "this API takes only bearer tokens: Authorization: Bearer <token> (got {named})"
        )));
    }
    let secret = credentials.trim();
    Ok((!secret.is_empty()).then_some(secret))
}

/// Why a request is refused as coming from another site's page, if it is.
/// Browsers send `Origin` with every request a page makes to another origin
/// (and with same-origin writes); a page on another origin must not drive
/// the runner through a browser that can reach it, least of all when no
/// tokens are needed (cross-site request forgery, WebSocket hijacking).
/// Clients that are not browsers send no `Origin` and are not affected.
pub fn cross_origin(origin: Option<&str>, host: Option<&str>) -> Option<String> {
    let origin = origin?;
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    let same = matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h.trim()));
    (!same).then(|| {
        format!(
            "cross-origin request refused: a page from {origin} may not control this runner (it is {})",
            host.unwrap_or("addressed without a Host header")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_other_schemes_are_named() {
        assert_eq!(bearer("Bearer abc").unwrap(), Some("abc"));
        assert_eq!(bearer("bearer  abc ").unwrap(), Some("abc"));
        assert_eq!(bearer("BEARER abc").unwrap(), Some("abc"));
        assert_eq!(bearer("Bearer").unwrap(), None);
        let basic = bearer("Basic YWxpY2U6c2VjcmV0").unwrap_err();
        assert_eq!(basic.status, StatusCode::UNAUTHORIZED);
        assert!(
            basic.body.error.contains("Basic scheme"),
            "{}",
            basic.body.error
        );
        let bare = bearer("0123456789abcdef0123456789abcdef").unwrap_err();
        assert!(
            !bare.body.error.contains("0123456789abcdef"),
            "a bare secret is not echoed"
        );
    }

    #[test]
    fn only_a_page_of_this_origin_passes() {
        let host = Some("127.0.0.1:8080");
        assert_eq!(cross_origin(None, host), None, "not a browser");
        assert_eq!(cross_origin(Some("http://127.0.0.1:8080"), host), None);
        assert_eq!(
            cross_origin(Some("https://LOCALHOST:8443"), Some("localhost:8443")),
            None
        );
        for foreign in [
            "http://127.0.0.1:8081",
            "http://evil.example",
            "http://127.0.0.1:8080.evil.example",
            "null",
            "file://",
        ] {
            let refusal = cross_origin(Some(foreign), host).expect(foreign);
            assert!(refusal.contains(foreign), "{refusal}");
        }
        assert!(cross_origin(Some("http://127.0.0.1:8080"), None).is_some());
    }
}
