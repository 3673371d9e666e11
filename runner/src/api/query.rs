//! Query strings read into typed structs, with errors that name the
//! parameter and the reason (warp's own `query()` only says "Invalid query
//! string").

use serde::de::DeserializeOwned;
use warp::http::StatusCode;
use warp::{Filter, Rejection};

use super::error::ApiError;

/// The request's query string as a `T` (no query string reads as an empty
/// one); a query `T` does not accept is a 400 naming the parameter.
pub fn query<T>() -> impl Filter<Extract = (T,), Error = Rejection> + Clone
where
    T: DeserializeOwned + Send + 'static,
{
    warp::query::raw()
        .or(warp::any().map(String::new))
        .unify()
        .and_then(|raw: String| async move { parse::<T>(&raw).map_err(warp::reject::custom) })
}

/// Reads `raw` (without the `?`) into a `T`.
fn parse<T: DeserializeOwned>(raw: &str) -> Result<T, ApiError> {
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(raw.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let message = match error.path().to_string().as_str() {
            "." => format!("invalid query string: {}", error.inner()),
            parameter => format!("invalid query parameter `{parameter}`: {}", error.inner()),
        };
        ApiError::new(StatusCode::BAD_REQUEST, message)
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Example {
        limit: Option<usize>,
        level: Option<String>,
    }

    fn error_of(raw: &str) -> String {
        parse::<Example>(raw).unwrap_err().body.error
    }

    #[test]
    fn reads_the_parameters() {
        assert_eq!(parse::<Example>("").unwrap(), Example::default());
        assert_eq!(
            parse::<Example>("limit=5&level=warning%2Cerror").unwrap(),
            Example {
                limit: Some(5),
                level: Some("warning,error".into())
            }
        );
    }

    #[test]
    fn errors_name_the_parameter_and_the_reason() {
        let bad_number = error_of("limit=abc");
        assert!(
            bad_number.contains("`limit`") && bad_number.contains("invalid digit"),
            "{bad_number}"
        );
        let unknown = error_of("script=a.js");
        assert!(
            unknown.contains("unknown field `script`") && unknown.contains("`limit`"),
            "{unknown}"
        );
        let twice = error_of("level=a&level=b");
        assert!(twice.contains("duplicate field `level`"), "{twice}");
    }
}
