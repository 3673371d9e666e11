//! The web UI: one page with its script and style (`runner/ui/`) and the
//! uPlot chart library (copied from `runner/ui/node_modules` by `build.rs`),
//! all embedded in the binary, so the page fetches nothing from outside.
//!
//! The page calls the API with URLs relative to itself (`api/k6` by
//! default: its `k6-api-base` meta tag, overridable with `?api=<path>` on
//! the page's URL), so a host can mount [`routes`] and the API under any
//! prefix as long as the two stay in that relation.
//!
//! Caching: the page is revalidated on every load (`no-cache` with an
//! `ETag`) and names its assets with a content hash (`assets/app.js?v=…`),
//! so the assets can be cached for a year and a new build is picked up at
//! once.

use std::sync::LazyLock;

use sha2::{Digest, Sha256};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, HeaderValue, StatusCode, header};
use warp::reply::Response;

/// The page's security policy: only its own scripts, styles and API (the
/// WebSocket included: `'self'` covers `ws:`/`wss:` to the same host).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

/// Assets may be cached this long when asked for by their current hash.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Everything else is revalidated on every use (cheap: `ETag`, 304).
const REVALIDATE: &str = "no-cache";

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// Everything under `/assets/`.
const ASSETS: [Asset; 4] = [
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../ui/app.js"),
    },
    Asset {
        name: "style.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../ui/style.css"),
    },
    Asset {
        name: "uPlot.iife.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/uPlot.iife.min.js")),
    },
    Asset {
        name: "uPlot.min.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/uPlot.min.css")),
    },
];

const INDEX_HTML: &str = include_str!("../ui/index.html");

/// A short content hash: the assets' version in URLs, and every `ETag`.
fn digest(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..8])
}

/// The assets' hashes, in `ASSETS` order.
static VERSIONS: LazyLock<Vec<String>> =
    LazyLock::new(|| ASSETS.iter().map(|asset| digest(asset.bytes)).collect());

/// The page with each asset URL carrying its hash, and the page's own hash.
static INDEX: LazyLock<(String, String)> = LazyLock::new(|| {
    let mut html = INDEX_HTML.to_owned();
    for (asset, version) in ASSETS.iter().zip(VERSIONS.iter()) {
        let plain = format!("\"assets/{}\"", asset.name);
        html = html.replace(&plain, &format!("\"assets/{}?v={version}\"", asset.name));
    }
    let etag = digest(html.as_bytes());
    (html, etag)
});

/// The UI's routes, to mount next to the API: `GET /` serves the page and
/// `GET /assets/<name>` its script, style and uPlot, with their content
/// types, `ETag`s and cache headers. Anything else is rejected as not
/// found, so a host's own routes can still match.
///
/// The page at a prefix without a trailing slash (`/k6` when mounted under
/// `warp::path("k6")`) is redirected to `/k6/`, so that the page's relative
/// URLs resolve below the prefix.
pub fn routes() -> BoxedFilter<(Response,)> {
    let page = warp::path::end()
        .and(warp::get().or(warp::head()).unify())
        .and(warp::path::full())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .map(
            |full: warp::path::FullPath, query: String, headers: HeaderMap| {
                if !full.as_str().ends_with('/') {
                    return redirect_to_slash(full.as_str(), &query);
                }
                let (html, etag) = &*INDEX;
                let mut response = respond(
                    &headers,
                    html.as_bytes(),
                    "text/html; charset=utf-8",
                    etag,
                    REVALIDATE,
                );
                let page_headers = response.headers_mut();
                page_headers.insert(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(CONTENT_SECURITY_POLICY),
                );
                page_headers.insert(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("no-referrer"),
                );
                response
            },
        );
    let assets = warp::path("assets")
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .and(warp::get().or(warp::head()).unify())
        .and(
            warp::query::<AssetQuery>()
                .or(warp::any().map(AssetQuery::default))
                .unify(),
        )
        .and(warp::header::headers_cloned())
        .and_then(
            |name: String, query: AssetQuery, headers: HeaderMap| async move {
                let index = ASSETS
                    .iter()
                    .position(|asset| asset.name == name)
                    .ok_or_else(warp::reject::not_found)?;
                let (asset, version) = (&ASSETS[index], &VERSIONS[index]);
                // Only the URL of the current build may be cached for good: an
                // old or missing `v` must not pin today's bytes under it.
                let cache = if query.v.as_deref() == Some(version.as_str()) {
                    IMMUTABLE
                } else {
                    REVALIDATE
                };
                Ok::<_, warp::Rejection>(respond(
                    &headers,
                    asset.bytes,
                    asset.content_type,
                    version,
                    cache,
                ))
            },
        );
    page.or(assets).unify().boxed()
}

/// The query of an asset URL: `v` is the content hash the page asked for.
#[derive(Debug, Default, serde::Deserialize)]
struct AssetQuery {
    v: Option<String>,
}

/// The body with its type, `ETag` and cache policy, or a 304 when the
/// client already has these bytes.
fn respond(
    request: &HeaderMap,
    body: &'static [u8],
    content_type: &'static str,
    hash: &str,
    cache: &'static str,
) -> Response {
    let etag = format!("\"{hash}\"");
    let unchanged = request
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(',')
                .any(|tag| tag.trim().trim_start_matches("W/") == etag)
        });
    let mut response = if unchanged {
        let mut response = Response::new(Vec::new().into());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        let mut response = Response::new(body.into());
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    response
}

/// A permanent redirect from `<prefix>` to `<prefix>/`, query kept.
fn redirect_to_slash(path: &str, query: &str) -> Response {
    // One leading slash: `//host/k6` must not become a redirect to another host.
    let path = format!("/{}", path.trim_start_matches('/'));
    let location = if query.is_empty() {
        format!("{path}/")
    } else {
        format!("{path}/?{query}")
    };
    let mut response = Response::new(Vec::new().into());
    *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResponse = warp::http::Response<bytes::Bytes>;

    async fn get(path: &str, headers: &[(&str, &str)]) -> TestResponse {
        let mut request = warp::test::request().method("GET").path(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.reply(&routes()).await
    }

    fn header(response: &TestResponse, name: header::HeaderName) -> &str {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn page_is_html_with_a_strict_policy_and_revalidated() {
        let response = get("/", &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            header(&response, header::CONTENT_TYPE),
            "text/html; charset=utf-8"
        );
        assert_eq!(header(&response, header::CACHE_CONTROL), REVALIDATE);
        assert!(header(&response, header::CONTENT_SECURITY_POLICY).contains("default-src 'none'"));
        assert_eq!(header(&response, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    }

    /// Every asset the page names is served, under its current hash, with
    /// its type and a year of caching; nothing is fetched from elsewhere.
    #[tokio::test]
    async fn every_asset_the_page_names_is_served_and_cacheable() {
        let page = String::from_utf8(get("/", &[]).await.body().to_vec()).unwrap();
        let named: Vec<&str> = page
            .split('"')
            .filter(|part| part.starts_with("assets/"))
            .collect();
        assert_eq!(named.len(), ASSETS.len(), "{named:?}");
        assert!(
            !page.contains("http://") && !page.contains("https://"),
            "the page must not load anything from outside"
        );
        for url in named {
            let response = get(&format!("/{url}"), &[]).await;
            assert_eq!(response.status(), StatusCode::OK, "{url}");
            assert_eq!(header(&response, header::CACHE_CONTROL), IMMUTABLE, "{url}");
            let expected = if url.contains(".js?") {
                "text/javascript; charset=utf-8"
            } else {
                "text/css; charset=utf-8"
            };
            assert_eq!(header(&response, header::CONTENT_TYPE), expected, "{url}");
        }
    }

    #[tokio::test]
    async fn an_asset_without_its_current_hash_is_revalidated() {
        for path in ["/assets/app.js", "/assets/app.js?v=0000"] {
            let response = get(path, &[]).await;
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(
                header(&response, header::CACHE_CONTROL),
                REVALIDATE,
                "{path}"
            );
        }
    }

    #[tokio::test]
    async fn a_known_etag_gets_304_without_a_body() {
        let first = get("/assets/style.css", &[]).await;
        let etag = header(&first, header::ETAG).to_owned();
        let again = get("/assets/style.css", &[("if-none-match", &etag)]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert!(again.body().is_empty());
        let page_etag = header(&get("/", &[]).await, header::ETAG).to_owned();
        assert_eq!(
            get("/", &[("if-none-match", &page_etag)]).await.status(),
            StatusCode::NOT_MODIFIED
        );
    }

    #[tokio::test]
    async fn unknown_paths_are_left_to_other_routes() {
        for path in [
            "/assets/nope.js",
            "/assets/",
            "/index.html",
            "/assets/app.js/x",
        ] {
            let rejection = warp::test::request().path(path).filter(&routes()).await;
            assert!(rejection.is_err(), "{path} should not be served");
        }
    }

    /// Mounted under a prefix, `/k6` redirects to `/k6/` so that the page's
    /// relative URLs (`assets/…`, `api/k6/…`) resolve below the prefix.
    #[tokio::test]
    async fn under_a_prefix_the_bare_path_redirects_to_the_slash() {
        let mounted = warp::path("k6").and(routes());
        let response = warp::test::request()
            .path("/k6?api=x")
            .reply(&mounted)
            .await;
        assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(header(&response, header::LOCATION), "/k6/?api=x");
        let response = warp::test::request().path("/k6/").reply(&mounted).await;
        assert_eq!(response.status(), StatusCode::OK);
        let response = warp::test::request()
            .path("/k6/assets/app.js")
            .reply(&mounted)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
}
