//! Who is calling, and whether they may: the filter every route starts
//! with. Refused control attempts are audited here, where they are refused.

use std::collections::HashMap;
use std::sync::Arc;

use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::{Filter, Rejection};

use super::error::ApiError;
use crate::audit::AuditEntry;
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
pub(super) struct Needs {
    /// The least role.
    pub role: Role,
    /// For control routes: the audited action a refusal is recorded as.
    pub action: Option<&'static str>,
    /// Whether `?access_token=` may carry the token (the WebSocket only:
    /// query strings end up in logs more easily than headers).
    pub query_token: bool,
}

/// The caller's identity, required to hold `needs.role`.
pub(super) fn require(
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
        Auth::Host(filter) => filter.clone().map(Ok).boxed(),
        Auth::Tokens(tokens) => {
            let tokens = tokens.clone();
            let query = warp::query::<HashMap<String, String>>()
                .or(warp::any().map(HashMap::new))
                .unify();
            warp::header::optional::<String>("authorization")
                .and(query)
                .map(
                    move |header: Option<String>, query: HashMap<String, String>| {
                        let presented = match &header {
                            Some(value) => value.strip_prefix("Bearer ").map(str::trim),
                            None if query_token => query.get("access_token").map(String::as_str),
                            None => None,
                        };
                        match presented {
                            None => Err(ApiError::unauthorized(
                                "this API needs a bearer token: Authorization: Bearer <token>",
                            )),
                            Some(secret) => tokens.identify(secret).ok_or_else(|| {
                                ApiError::unauthorized("the bearer token is not valid")
                            }),
                        }
                    },
                )
                .boxed()
        }
    };
    who.and_then(move |who: Result<Identity, ApiError>| {
        let service = service.clone();
        async move {
            let refusal = match who {
                Ok(identity) if identity.may(needed) => return Ok::<_, Rejection>(identity),
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
                    "refused",
                    Some(refusal.1.body.error.clone()),
                ));
            }
            Err(warp::reject::custom(refusal.1))
        }
    })
    .boxed()
}
