//! The protocol layer's one custom route (s3s takes one): what the server answers itself
//! beside the S3 operations, once s3s has checked the request's signature — MinIO's admin API
//! (`/minio/admin/…`), STS (`POST /` with a form, or with an STS `Action` in the query), and
//! the browser-POST refusals the front decided. `is_match` marks the request in its
//! extensions; `check_access` and `call` dispatch on the mark.

use crate::admin::AdminRoute;
use crate::sts::StsRoute;
use http::{HeaderMap, Method, Uri};
use s3s::route::S3Route;
use s3s::{Body, S3Request, S3Response, S3Result};

pub struct Routes {
    pub admin: AdminRoute,
    pub sts: StsRoute,
    pub post: strata_s3::post::PostRoute,
}

/// Which of the routes took a request.
#[derive(Clone, Copy)]
enum Taken {
    Admin,
    Sts,
}

#[async_trait::async_trait]
impl S3Route for Routes {
    fn is_match(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        extensions: &mut http::Extensions,
    ) -> bool {
        if uri.path().starts_with("/minio/admin/") {
            extensions.insert(Taken::Admin);
            return true;
        }
        if crate::sts::is_sts_request(method, uri, headers) {
            extensions.insert(Taken::Sts);
            return true;
        }
        self.post.is_match(method, uri, headers, extensions)
    }

    async fn check_access(&self, req: &mut S3Request<Body>) -> S3Result<()> {
        match req.extensions.get::<Taken>() {
            // Authorised per endpoint in `call` (an admin action, not an S3 one); a request
            // must be signed.
            Some(Taken::Admin) => match req.credentials {
                Some(_) => Ok(()),
                None => Err(s3s::s3_error!(AccessDenied, "Signature is required")),
            },
            // Each action decides (AssumeRole must be signed, AssumeRoleWithWebIdentity is
            // not), and answers with STS's error documents.
            Some(Taken::Sts) => Ok(()),
            None => self.post.check_access(req).await,
        }
    }

    async fn call(&self, req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        match req.extensions.get::<Taken>() {
            Some(Taken::Admin) => Ok(self.admin.call(req).await),
            Some(Taken::Sts) => Ok(self.sts.call(req).await),
            None => self.post.call(req).await,
        }
    }
}
