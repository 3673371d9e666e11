//! The web UI: one page, its native ES modules and style (`runner/ui/`) and
//! the uPlot chart library (copied from `runner/ui/node_modules` by
//! `build.rs`), all embedded in the binary, so the page fetches nothing
//! from outside. No bundler: the browser loads `app.js` with
//! `<script type="module">` and follows its relative `import`s.
//!
//! The page calls the API with URLs relative to itself (`api/k6` by
//! default: its `k6-api-base` meta tag, overridable with `?api=<path>` on
//! the page's URL), so a host can mount [`routes`] and the API under any
//! prefix as long as the two stay in that relation.
//!
//! # Caching
//!
//! The page is revalidated on every load (`no-cache` with an `ETag`) and
//! names each asset with its content hash (`assets/app.js?v=…`); an asset
//! asked for under its current hash is cached for a year (`immutable`),
//! under any other URL it is revalidated. A new build is thus picked up at
//! once and an unchanged asset is never fetched again.
//!
//! Modules need one more step. The browser resolves `import … from
//! './status.js'` against the importing module's URL and drops that URL's
//! query, so a plain import would ask for `assets/status.js`, which never
//! changes name. So each module is served with its imports rewritten to
//! carry the imported module's hash (`'./status.js?v=…'`), and its own hash
//! is taken *after* that rewrite: a change in any module changes the hash
//! of every module that imports it, up through `app.js` to the page (a
//! Merkle tree). Every module is therefore immutable-cacheable too, and a
//! reload with nothing changed costs the page's one revalidation. (Serving
//! the modules with `no-cache` instead would be correct as well, but would
//! cost a round trip per module on every load.) This needs:
//!
//! - an acyclic import graph: a cycle has no hash to start from. It is
//!   refused, naming the cycle, when [`routes`] are built (and by the tests),
//!   never at a request.
//! - every relative import, static or dynamic, to name a module of
//!   `ASSETS` side by side (`./x.js`), so that none is loaded under a
//!   second URL: two URLs would be two instances with two copies of the
//!   module's state.
//!
//! The page also preloads each module (`<link rel="modulepreload">`, under
//! the same versioned URL), so the browser fetches them at once instead of
//! one import level at a time.

use std::borrow::Cow;
use std::sync::LazyLock;

use sha2::{Digest, Sha256};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, HeaderValue, StatusCode, header};
use warp::reply::Response;

/// The page's security policy: only its own scripts (modules included),
/// styles and API (the WebSocket included: `'self'` covers `ws:`/`wss:` to
/// the same host).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

/// Assets may be cached this long when asked for by their current hash.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Everything else is revalidated on every use (cheap: `ETag`, 304).
const REVALIDATE: &str = "no-cache";

/// What an embedded file is: its content type, and whether its imports
/// are versioned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// One of the page's native ES modules: its relative imports are
    /// rewritten to carry the imported module's hash.
    Module,
    /// A classic script, served as it is (uPlot's browser build, which
    /// defines the `uPlot` global).
    Script,
    /// A style sheet.
    Style,
}

impl Kind {
    fn content_type(self) -> &'static str {
        match self {
            // The type browsers require of a module (with `nosniff`, of any script).
            Kind::Module | Kind::Script => "text/javascript; charset=utf-8",
            Kind::Style => "text/css; charset=utf-8",
        }
    }
}

/// One embedded file.
struct Asset {
    name: &'static str,
    kind: Kind,
    bytes: &'static [u8],
}

/// A file of `runner/ui/` of the given kind.
macro_rules! ui_file {
    ($kind:ident, $name:literal) => {
        Asset {
            name: $name,
            kind: Kind::$kind,
            bytes: include_bytes!(concat!("../ui/", $name)),
        }
    };
}

/// Everything under `/assets/`. Each module of `runner/ui/` is listed here
/// and preloaded by `index.html` (both checked by the tests).
const ASSETS: [Asset; 23] = [
    // The entry module (the page's `<script type="module">`) and what it imports.
    ui_file!(Module, "app.js"),
    ui_file!(Module, "api.js"),
    ui_file!(Module, "banner.js"),
    ui_file!(Module, "charts.js"),
    ui_file!(Module, "compare.js"),
    ui_file!(Module, "config-form.js"),
    ui_file!(Module, "controls.js"),
    ui_file!(Module, "dom.js"),
    ui_file!(Module, "format.js"),
    ui_file!(Module, "history.js"),
    ui_file!(Module, "links.js"),
    ui_file!(Module, "logs.js"),
    ui_file!(Module, "results.js"),
    ui_file!(Module, "run-state.js"),
    ui_file!(Module, "schedules.js"),
    ui_file!(Module, "script-preview.js"),
    ui_file!(Module, "socket.js"),
    ui_file!(Module, "sparkline.js"),
    ui_file!(Module, "status.js"),
    ui_file!(Module, "views.js"),
    ui_file!(Style, "style.css"),
    Asset {
        name: "uPlot.iife.min.js",
        kind: Kind::Script,
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/uPlot.iife.min.js")),
    },
    Asset {
        name: "uPlot.min.css",
        kind: Kind::Style,
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/uPlot.min.css")),
    },
];

const INDEX_HTML: &str = include_str!("../ui/index.html");

/// A short content hash: the assets' version in URLs, and every `ETag`.
fn digest(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..8])
}

/// An asset as served: its bytes (a module's with its imports versioned)
/// and its version, the hash of exactly those bytes.
struct Served {
    bytes: Cow<'static, [u8]>,
    version: String,
}

/// The assets as served, in `ASSETS` order.
static SERVED: LazyLock<Vec<Served>> = LazyLock::new(|| {
    versioned(&ASSETS)
        .unwrap_or_else(|error| panic!("the embedded web UI cannot be served: {error}"))
});

/// The page with each asset URL carrying its hash, and the page's own hash.
static INDEX: LazyLock<(String, String)> = LazyLock::new(|| {
    let mut html = INDEX_HTML.to_owned();
    for (asset, served) in ASSETS.iter().zip(SERVED.iter()) {
        let plain = format!("\"assets/{}\"", asset.name);
        let versioned = format!("\"assets/{}?v={}\"", asset.name, served.version);
        html = html.replace(&plain, &versioned);
    }
    let etag = digest(html.as_bytes());
    (html, etag)
});

/// Every asset as served, each module after the modules it imports (depth
/// first), so that their hashes are known when its imports are rewritten.
fn versioned(assets: &[Asset]) -> Result<Vec<Served>, String> {
    let mut served: Vec<Option<Served>> = assets.iter().map(|_| None).collect();
    for index in 0..assets.len() {
        serve(assets, index, &mut served, &mut Vec::new())?;
    }
    Ok(served.into_iter().flatten().collect())
}

/// Fills `served[index]`, first serving what it imports; `path` holds the
/// modules on the way here, to name a cycle.
fn serve(
    assets: &[Asset],
    index: usize,
    served: &mut [Option<Served>],
    path: &mut Vec<usize>,
) -> Result<(), String> {
    if served[index].is_some() {
        return Ok(());
    }
    let asset = &assets[index];
    if let Some(start) = path.iter().position(|&on_path| on_path == index) {
        let cycle: Vec<&str> = path[start..]
            .iter()
            .chain([&index])
            .map(|&i| assets[i].name)
            .collect();
        return Err(format!(
            "modules import each other in a cycle ({}): their content hashes need an acyclic import graph",
            cycle.join(" → ")
        ));
    }
    let bytes = if asset.kind == Kind::Module {
        let source =
            std::str::from_utf8(asset.bytes).map_err(|_| format!("{} is not UTF-8", asset.name))?;
        path.push(index);
        let mut rewritten = String::with_capacity(source.len() + 512);
        let mut copied = 0;
        for (end, name) in imports(asset.name, source)? {
            let imported = assets
                .iter()
                .position(|a| a.kind == Kind::Module && a.name == name)
                .ok_or_else(|| {
                    format!(
                        "{} imports ./{name}, which is not a module of ASSETS",
                        asset.name
                    )
                })?;
            serve(assets, imported, served, path)?;
            let version = &served[imported]
                .as_ref()
                .expect("served just above")
                .version;
            rewritten.push_str(&source[copied..end]);
            rewritten.push_str("?v=");
            rewritten.push_str(version);
            copied = end;
        }
        path.pop();
        rewritten.push_str(&source[copied..]);
        Cow::Owned(rewritten.into_bytes())
    } else {
        Cow::Borrowed(asset.bytes)
    };
    served[index] = Some(Served {
        version: digest(&bytes),
        bytes,
    });
    Ok(())
}

/// The imports of module `name`: for each `from './x.js'`, `import
/// './x.js'` or `import('./x.js')` (either quote), where the specifier
/// ends in `source` and the file it names. A specifier is a path (starts
/// with `.` or `/`) after one of those keywords; any path but `./<file>`
/// (`../x.js`, `/x.js`, `./dir/x.js`) is refused: the modules sit side by
/// side and are loaded by their versioned URLs only. Bare specifiers
/// (`'x'`) are no paths and are left alone (the page has no import map, so
/// a browser refuses them anyway); the tests check the modules use none.
fn imports<'a>(name: &str, source: &'a str) -> Result<Vec<(usize, &'a str)>, String> {
    let mut found = Vec::new();
    for (quote_at, quote) in source.match_indices(['\'', '"']) {
        let start = quote_at + 1;
        if !source[start..].starts_with(['.', '/']) {
            continue;
        }
        let before = source[..quote_at].trim_end();
        let before = before.strip_suffix('(').map_or(before, str::trim_end);
        let after_keyword = ["from", "import"].into_iter().any(|keyword| {
            before.strip_suffix(keyword).is_some_and(|rest| {
                !rest.ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$' || c == '.')
            })
        });
        if !after_keyword {
            continue;
        }
        let Some(length) = source[start..].find(quote) else {
            return Err(format!("{name}: an import's specifier is not closed"));
        };
        let specifier = &source[start..start + length];
        match specifier.strip_prefix("./") {
            Some(file) if !file.is_empty() && !file.contains(['/', '\\', '?', '#']) => {
                found.push((start + length, file));
            }
            _ => {
                return Err(format!(
                    "{name} imports {specifier:?}: only a module side by side (\"./x.js\") can be versioned"
                ));
            }
        }
    }
    Ok(found)
}

/// The UI's routes, to mount next to the API: `GET /` serves the page and
/// `GET /assets/<name>` its modules, style and uPlot, with their content
/// types, `ETag`s and cache headers. Anything else is rejected as not
/// found, so a host's own routes can still match.
///
/// The page at a prefix without a trailing slash (`/k6` when mounted under
/// `warp::path("k6")`) is redirected to `/k6/`, so that the page's relative
/// URLs resolve below the prefix.
///
/// # Panics
///
/// If the embedded modules cannot be versioned (an import cycle, an import
/// of a file that is not embedded): checked here, at start-up, rather than
/// at the first request. The tests check the embedded files.
pub fn routes() -> BoxedFilter<(Response,)> {
    LazyLock::force(&INDEX);
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
                let (asset, served) = (&ASSETS[index], &SERVED[index]);
                // Only the URL of the current build may be cached for good: an
                // old or missing `v` must not pin today's bytes under it.
                let cache = if query.v.as_deref() == Some(served.version.as_str()) {
                    IMMUTABLE
                } else {
                    REVALIDATE
                };
                Ok::<_, warp::Rejection>(respond(
                    &headers,
                    &served.bytes,
                    asset.kind.content_type(),
                    &served.version,
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
    /// Each module's imports carry the imported module's current hash, and
    /// that URL is the one cached for good: a module is loaded under one
    /// URL only, and a changed module is never taken from the cache.
    #[tokio::test]
    async fn module_imports_carry_the_imported_modules_hash() {
        let mut imports_seen = 0;
        for (asset, served) in ASSETS.iter().zip(SERVED.iter()) {
            if asset.kind != Kind::Module {
                continue;
            }
            let source = std::str::from_utf8(&served.bytes).unwrap();
            assert_eq!(
                source.matches("from '").count(),
                source.matches("from './").count(),
                "{}: a bare import",
                asset.name
            );
            assert!(
                !source.contains("from \"") && !source.contains("import("),
                "{}: imports are written `from './x.js'` (static, single quotes)",
                asset.name
            );
            for (at, keyword) in source.match_indices("from './") {
                let rest = &source[at + keyword.len()..];
                let specifier = &rest[..rest.find('\'').unwrap()];
                let (file, version) = specifier
                    .split_once("?v=")
                    .unwrap_or_else(|| panic!("{}: unversioned import ./{specifier}", asset.name));
                let imported = ASSETS.iter().position(|a| a.name == file).unwrap();
                assert_eq!(version, SERVED[imported].version, "{} → {file}", asset.name);
                let response = get(&format!("/assets/{specifier}"), &[]).await;
                assert_eq!(response.status(), StatusCode::OK, "{specifier}");
                assert_eq!(
                    header(&response, header::CACHE_CONTROL),
                    IMMUTABLE,
                    "{specifier}"
                );
                assert_eq!(
                    header(&response, header::CONTENT_TYPE),
                    "text/javascript; charset=utf-8"
                );
                assert_eq!(response.body().as_ref(), SERVED[imported].bytes.as_ref());
                imports_seen += 1;
            }
        }
        assert!(imports_seen > 20, "only {imports_seen} imports found");
    }

    fn module(name: &'static str, source: &'static str) -> Asset {
        Asset {
            name,
            kind: Kind::Module,
            bytes: source.as_bytes(),
        }
    }

    /// A module's hash covers what it imports: changing a module changes
    /// the hash of every module importing it, directly or not, and of
    /// nothing else, so the page's URL for the entry changes with any of them.
    #[test]
    fn a_changed_module_changes_the_hash_of_each_module_importing_it() {
        let top = "import { mid } from './mid.js';\nexport const top = mid;";
        let mid = "export { leaf as mid } from \"./leaf.js\";";
        let other = "export const other = 1;";
        let before = versioned(&[
            module("top.js", top),
            module("mid.js", mid),
            module("leaf.js", "export const leaf = 1;"),
            module("other.js", other),
        ])
        .unwrap();
        let after = versioned(&[
            module("top.js", top),
            module("mid.js", mid),
            module("leaf.js", "export const leaf = 2;"),
            module("other.js", other),
        ])
        .unwrap();
        let changed: Vec<bool> = before
            .iter()
            .zip(&after)
            .map(|(a, b)| a.version != b.version)
            .collect();
        assert_eq!(changed, [true, true, true, false]);
        let served_top = std::str::from_utf8(&after[0].bytes).unwrap();
        assert_eq!(
            served_top,
            format!(
                "import {{ mid }} from './mid.js?v={}';\nexport const top = mid;",
                after[1].version
            )
        );
        assert_eq!(after[0].version, digest(served_top.as_bytes()));
    }

    /// What cannot be versioned is refused with the reason: a cycle (named),
    /// an import of a file that is not an embedded module, a specifier that
    /// does not name a module side by side.
    #[test]
    fn an_import_cycle_or_an_import_of_no_module_is_refused() {
        let error = versioned(&[
            module("a.js", "import './b.js';"),
            module("b.js", "import { a } from './a.js';"),
        ])
        .err()
        .unwrap();
        assert!(error.contains("a.js → b.js → a.js"), "{error}");
        for (source, expected) in [
            (
                "import { x } from './missing.js';",
                "not a module of ASSETS",
            ),
            ("import { x } from '../up.js';", "side by side"),
            ("import { x } from '/abs.js';", "side by side"),
            ("const later = import(\"./dir/x.js\");", "side by side"),
        ] {
            let error = versioned(&[module("m.js", source)]).err().unwrap();
            assert!(error.contains(expected), "{source}: {error}");
        }
        // Words and strings that only look like imports are left alone.
        let fine = versioned(&[module(
            "m.js",
            "// imports nothing; 'from' and \"import\" are words here\nconst from = './x';\nimport { x } from 'bare';",
        )])
        .unwrap();
        assert!(!std::str::from_utf8(&fine[0].bytes).unwrap().contains("?v="));
    }

    /// Every script and style of `runner/ui/` is embedded and every module
    /// is used: imported by another one or the entry itself, and preloaded
    /// by the page. A module left out would be missing from the binary, or
    /// fetched one import level late.
    #[test]
    fn every_file_of_the_ui_folder_is_embedded_and_every_module_preloaded() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
        for entry in std::fs::read_dir(&folder).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let kind = match name.rsplit_once('.') {
                Some((_, "js")) => Kind::Module,
                Some((_, "css")) => Kind::Style,
                _ => continue,
            };
            assert!(
                ASSETS.iter().any(|a| a.name == name && a.kind == kind),
                "runner/ui/{name} is not in ASSETS as a {kind:?}"
            );
        }
        let imported: Vec<&str> = ASSETS
            .iter()
            .filter(|a| a.kind == Kind::Module)
            .flat_map(|a| imports(a.name, std::str::from_utf8(a.bytes).unwrap()).unwrap())
            .map(|(_, name)| name)
            .collect();
        assert!(INDEX_HTML.contains(r#"<script type="module" src="assets/app.js"></script>"#));
        for module in ASSETS
            .iter()
            .filter(|a| a.kind == Kind::Module && a.name != "app.js")
        {
            assert!(
                imported.contains(&module.name),
                "{} is imported by no module",
                module.name
            );
            let preload = format!(
                r#"<link rel="modulepreload" href="assets/{}">"#,
                module.name
            );
            assert!(INDEX_HTML.contains(&preload), "index.html lacks {preload}");
        }
    }
}
