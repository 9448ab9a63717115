//! AssumeRole: a user (or root) trades its signed request for temporary credentials acting as
//! itself, narrowed by the session policy. As MinIO (`checkAssumeRoleAuth`): the request must
//! be signed with SigV4 in its Authorization header, for the service `sts`, without a session
//! token; service accounts and temporary credentials may not assume a role. No IAM action is
//! required (any user may narrow its own permissions). Beyond MinIO, the body must be covered
//! by the signature: a request that declares `UNSIGNED-PAYLOAD` or a streaming body is
//! refused (MinIO hashes the body whatever the header says).

use super::{issue, session_policy, xml, Params, StsError, StsRoute, DEFAULT_DURATION};
use crate::iam::now;
use s3s::{Body, S3Request};
use strata_iam::store::NewTemporary;
use strata_iam::IdentityKind;

pub(super) async fn serve(
    route: &StsRoute,
    req: &S3Request<Body>,
    params: &Params,
    request_id: &str,
) -> Result<String, StsError> {
    let access_key = signer(req, params)?;
    let now = now();
    let id = route
        .iam
        .identity(access_key, now)
        .map_err(|e| StsError::access_denied(e.to_string()))?;
    match id.kind() {
        IdentityKind::Root | IdentityKind::User => {}
        IdentityKind::ServiceAccount { .. } | IdentityKind::Temporary { .. } => {
            return Err(StsError::access_denied(
                "service accounts and temporary credentials cannot assume a role",
            ))
        }
    }
    let policy = session_policy(params)?;
    let duration = route.duration(params)?.unwrap_or(DEFAULT_DURATION);
    let parent = id.username().to_string();
    let new = NewTemporary {
        parent: parent.clone(),
        policy,
        expiry: now + duration,
    };
    let creds = issue(route, move |iam| iam.add_temporary(new, now)).await?;
    tracing::info!(
        request_id,
        access_key = %creds.access_key,
        parent,
        expiry = creds.expiry,
        "AssumeRole: temporary credentials issued"
    );
    Ok(xml::credentials("AssumeRole", &creds, &[], request_id))
}

/// The access key that signed the request, if it was signed as AssumeRole must be.
fn signer<'a>(req: &'a S3Request<Body>, params: &Params) -> Result<&'a str, StsError> {
    let header_signed = crate::body::sigv4_in_header(&req.headers);
    let creds = req
        .credentials
        .as_ref()
        .filter(|_| header_signed)
        .ok_or_else(|| {
            StsError::access_denied(
                "AssumeRole must be signed with AWS Signature Version 4 in the Authorization \
                 header",
            )
        })?;
    if req.service.as_deref() != Some("sts") {
        return Err(StsError::access_denied(
            "Credential should be scoped to a valid Service, 'sts'.",
        ));
    }
    if req.headers.contains_key("x-amz-content-sha256")
        && crate::body::declared_sha256(&req.headers).is_none()
    {
        return Err(StsError::access_denied(
            crate::body::BodyError::Unsigned.to_string(),
        ));
    }
    if req.headers.contains_key("x-amz-security-token")
        || params.get("X-Amz-Security-Token").is_some()
    {
        return Err(StsError::access_denied(
            "temporary credentials cannot assume a role",
        ));
    }
    Ok(&creds.access_key)
}
