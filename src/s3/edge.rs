//! What the HTTP front corrects around s3s, where s3s decides before or after our code runs:
//! the status of a partial HEAD.

use http::{Method, Response, StatusCode};

/// A HEAD of a part or a range answers 206 as its GET does: s3s answers every HEAD with 200,
/// whatever the operation returned (it sets 206 from Content-Range for GET only).
pub fn after(method: &Method, resp: &mut Response<s3s::Body>) {
    if method == Method::HEAD
        && resp.status() == StatusCode::OK
        && resp.headers().contains_key(http::header::CONTENT_RANGE)
    {
        *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
}
