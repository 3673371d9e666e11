//! The web UI (placeholder until the UI lands).

use warp::Filter;

/// The UI's routes: the page at `/` and its assets.
pub fn routes() -> warp::filters::BoxedFilter<(warp::reply::Response,)> {
    use warp::Reply;
    warp::path::end().and(warp::get()).map(|| warp::reply::html("k6 control plane").into_response()).boxed()
}
