//! The inspector page at `/`.

use hyper::{Response, StatusCode};

use super::AppState;
use super::response::{Body, with_body};

/// `GET /`: a placeholder until the live inspector lands.
pub fn index(_state: &AppState) -> Response<Body> {
    with_body(
        StatusCode::OK,
        "text/html; charset=utf-8",
        "<!doctype html><meta charset=utf-8><title>hookscope</title><h1>hookscope</h1>\
         <p>Requests are listed at <a href=\"/_/api/requests\">/_/api/requests</a>.</p>",
    )
}
