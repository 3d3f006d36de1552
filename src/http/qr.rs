//! `GET /_/qr.svg?data=TEXT`: a QR code drawn server-side as SVG, for the booth view's hook URL.

use qrcode::QrCode;
use qrcode::render::svg;

use hyper::{Response, StatusCode};

use super::error::ApiError;
use super::response::{Body, with_body};

/// The longest text encoded; a URL is far shorter, and the bound keeps a request from asking for a huge code.
const MAX_DATA: usize = 512;

/// Renders `data` from the query string as a QR code.
pub fn render(raw_query: Option<&str>) -> Result<Response<Body>, ApiError> {
    let data = form_urlencoded::parse(raw_query.unwrap_or_default().as_bytes())
        .find(|(name, _)| name == "data")
        .map(|(_, value)| value.into_owned())
        .filter(|data| !data.is_empty())
        .ok_or_else(|| ApiError::BadRequest("data=TEXT is required".into()))?;
    if data.len() > MAX_DATA {
        return Err(ApiError::BadRequest(format!("data is longer than {MAX_DATA} bytes")));
    }
    let code = QrCode::new(data.as_bytes()).map_err(|error| ApiError::BadRequest(format!("cannot encode: {error}")))?;
    let image = code
        .render::<svg::Color>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    Ok(with_body(StatusCode::OK, "image/svg+xml", image))
}
