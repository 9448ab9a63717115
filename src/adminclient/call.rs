//! Admin calls built but not sent: which endpoint of `strata_admin::ENDPOINTS`, which query,
//! which body (in the clear; [`crate::AdminClient`] encrypts it when the endpoint says so).

use crate::{Error, Secret};
use strata_admin::types::{
    AccountStatus, AddOrUpdateUserReq, AddServiceAccountReq, GroupAddRemove, GroupStatus,
    PolicyAssociationReq, UpdateServiceAccountReq,
};
use strata_admin::{Endpoint, Method, PATH_PREFIX};

/// One admin call. `Debug` leaves out the body of calls whose body is encrypted on the wire
/// (new secret keys, service accounts).
#[derive(Clone, PartialEq, Eq)]
pub struct Call {
    pub endpoint: &'static Endpoint,
    /// Query pairs, not yet percent-encoded.
    pub query: Vec<(&'static str, String)>,
    /// The body in the clear (JSON, or nothing).
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body = if self.endpoint.encrypted_request {
            format!("<{} bytes, sent encrypted>", self.body.len())
        } else {
            String::from_utf8_lossy(&self.body).into_owned()
        };
        f.debug_struct("Call")
            .field("method", &self.endpoint.method.as_str())
            .field("path", &self.endpoint.path)
            .field("query", &self.query)
            .field("body", &body)
            .finish()
    }
}

/// The endpoint of the table at `method path`. The paths below are the table's: a test
/// builds every call, so a path missing from the table fails there, not in use.
fn endpoint(method: Method, path: &str) -> &'static Endpoint {
    strata_admin::route(method, &format!("{PATH_PREFIX}{path}")).unwrap_or_else(|| {
        panic!(
            "{} {path} is not in strata_admin::ENDPOINTS",
            method.as_str()
        )
    })
}

fn json(value: &impl serde::Serialize) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|e| Error::Invalid(e.to_string()))
}

fn nonempty(what: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::Invalid(format!("the {what} is empty")));
    }
    Ok(())
}

impl Call {
    fn new(method: Method, path: &str) -> Call {
        Call {
            endpoint: endpoint(method, path),
            query: Vec::new(),
            body: Vec::new(),
        }
    }

    fn query(mut self, name: &'static str, value: &str) -> Call {
        self.query.push((name, value.to_string()));
        self
    }

    fn body(mut self, body: Vec<u8>) -> Call {
        self.body = body;
        self
    }

    /// Creates a user (enabled) with this secret key, or sets the secret key of an existing
    /// one.
    pub fn add_user(name: &str, secret: &Secret) -> Result<Call, Error> {
        nonempty("user name", name)?;
        nonempty("secret key", secret.expose())?;
        let body = json(&AddOrUpdateUserReq {
            secret_key: Some(secret.expose().to_string()),
            policy: None,
            status: Some(AccountStatus::Enabled),
        })?;
        Ok(Call::new(Method::Put, "add-user")
            .query("accessKey", name)
            .body(body))
    }

    pub fn remove_user(name: &str) -> Call {
        Call::new(Method::Delete, "remove-user").query("accessKey", name)
    }

    pub fn user_info(name: &str) -> Call {
        Call::new(Method::Get, "user-info").query("accessKey", name)
    }

    pub fn list_users() -> Call {
        Call::new(Method::Get, "list-users")
    }

    pub fn set_user_status(name: &str, status: AccountStatus) -> Call {
        Call::new(Method::Put, "set-user-status")
            .query("accessKey", name)
            .query("status", status.as_str())
    }

    /// Adds (or replaces) a canned policy; `document` must be JSON (the server checks the
    /// rest).
    pub fn add_policy(name: &str, document: &[u8]) -> Result<Call, Error> {
        nonempty("policy name", name)?;
        serde_json::from_slice::<serde_json::Value>(document)
            .map_err(|e| Error::Invalid(format!("the policy document is not JSON: {e}")))?;
        Ok(Call::new(Method::Put, "add-canned-policy")
            .query("name", name)
            .body(document.to_vec()))
    }

    pub fn remove_policy(name: &str) -> Call {
        Call::new(Method::Delete, "remove-canned-policy").query("name", name)
    }

    pub fn policy_info(name: &str) -> Call {
        Call::new(Method::Get, "info-canned-policy").query("name", name)
    }

    pub fn list_policies() -> Call {
        Call::new(Method::Get, "list-canned-policies")
    }

    /// Attaches policies to one user or one group.
    pub fn attach_policies(req: &PolicyAssociationReq) -> Result<Call, Error> {
        req.validate().map_err(|e| Error::Invalid(e.to_string()))?;
        Ok(Call::new(Method::Post, "idp/builtin/policy/attach").body(json(req)?))
    }

    /// Detaches policies from one user or one group.
    pub fn detach_policies(req: &PolicyAssociationReq) -> Result<Call, Error> {
        req.validate().map_err(|e| Error::Invalid(e.to_string()))?;
        Ok(Call::new(Method::Post, "idp/builtin/policy/detach").body(json(req)?))
    }

    /// Adds members to a group (creating it), or removes them (`is_remove`; the group itself
    /// when no members are named).
    pub fn update_group_members(req: &GroupAddRemove) -> Result<Call, Error> {
        nonempty("group name", &req.group)?;
        if !req.is_remove && req.members.is_empty() {
            return Err(Error::Invalid("no members to add were given".into()));
        }
        Ok(Call::new(Method::Put, "update-group-members").body(json(req)?))
    }

    pub fn group_info(name: &str) -> Call {
        Call::new(Method::Get, "group").query("group", name)
    }

    pub fn list_groups() -> Call {
        Call::new(Method::Get, "groups")
    }

    pub fn set_group_status(name: &str, status: GroupStatus) -> Call {
        Call::new(Method::Put, "set-group-status")
            .query("group", name)
            .query("status", status.as_str())
    }

    /// Creates a service account; the server chooses its keys unless the request names them.
    pub fn add_service_account(req: &AddServiceAccountReq) -> Result<Call, Error> {
        req.validate().map_err(|e| Error::Invalid(e.to_string()))?;
        Ok(Call::new(Method::Put, "add-service-account").body(json(req)?))
    }

    /// The service accounts of `user` (the caller's own when `None`).
    pub fn list_service_accounts(user: Option<&str>) -> Call {
        let call = Call::new(Method::Get, "list-service-accounts");
        match user {
            Some(u) => call.query("user", u),
            None => call,
        }
    }

    pub fn service_account_info(access_key: &str) -> Call {
        Call::new(Method::Get, "info-service-account").query("accessKey", access_key)
    }

    pub fn remove_service_account(access_key: &str) -> Call {
        Call::new(Method::Delete, "delete-service-account").query("accessKey", access_key)
    }

    pub fn update_service_account(
        access_key: &str,
        req: &UpdateServiceAccountReq,
    ) -> Result<Call, Error> {
        req.validate().map_err(|e| Error::Invalid(e.to_string()))?;
        Ok(Call::new(Method::Post, "update-service-account")
            .query("accessKey", access_key)
            .body(json(req)?))
    }

    /// Enables or disables a service account (`on` / `off`, as `mc` sends it).
    pub fn set_service_account_status(
        access_key: &str,
        status: AccountStatus,
    ) -> Result<Call, Error> {
        let new_status = match status {
            AccountStatus::Enabled => "on",
            AccountStatus::Disabled => "off",
        };
        Call::update_service_account(
            access_key,
            &UpdateServiceAccountReq {
                new_status: Some(new_status.into()),
                ..Default::default()
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    use std::collections::BTreeSet;

    fn body(call: &Call) -> Value {
        serde_json::from_slice(&call.body).unwrap()
    }

    /// Every call a command builds, with what it must be on the wire: method, path, query,
    /// whether its body is encrypted and its answer too. The expectations are written out
    /// here (from madmin-go and `mc`), not read from the table, so a builder pointing at
    /// the wrong endpoint, or a table entry changing under it, fails.
    #[test]
    fn every_call_matches_the_endpoint_table() {
        let secret = Secret::new("s3cr3t-key-123");
        let assoc = PolicyAssociationReq {
            policies: vec!["readonly".into()],
            user: Some("alice".into()),
            ..Default::default()
        };
        let members = GroupAddRemove {
            group: "devs".into(),
            members: vec!["alice".into()],
            ..Default::default()
        };
        let sa = AddServiceAccountReq {
            target_user: Some("alice".into()),
            ..Default::default()
        };
        type Row = (
            Call,
            &'static str,
            &'static str,
            &'static [(&'static str, &'static str)],
            bool,
            bool,
        );
        let rows: Vec<Row> = vec![
            (
                Call::add_user("alice", &secret).unwrap(),
                "PUT",
                "add-user",
                &[("accessKey", "alice")],
                true,
                false,
            ),
            (
                Call::remove_user("alice"),
                "DELETE",
                "remove-user",
                &[("accessKey", "alice")],
                false,
                false,
            ),
            (
                Call::user_info("alice"),
                "GET",
                "user-info",
                &[("accessKey", "alice")],
                false,
                false,
            ),
            (Call::list_users(), "GET", "list-users", &[], false, true),
            (
                Call::set_user_status("alice", AccountStatus::Disabled),
                "PUT",
                "set-user-status",
                &[("accessKey", "alice"), ("status", "disabled")],
                false,
                false,
            ),
            (
                Call::add_policy("p", b"{}").unwrap(),
                "PUT",
                "add-canned-policy",
                &[("name", "p")],
                false,
                false,
            ),
            (
                Call::remove_policy("p"),
                "DELETE",
                "remove-canned-policy",
                &[("name", "p")],
                false,
                false,
            ),
            (
                Call::policy_info("p"),
                "GET",
                "info-canned-policy",
                &[("name", "p")],
                false,
                false,
            ),
            (
                Call::list_policies(),
                "GET",
                "list-canned-policies",
                &[],
                false,
                false,
            ),
            (
                Call::attach_policies(&assoc).unwrap(),
                "POST",
                "idp/builtin/policy/attach",
                &[],
                true,
                true,
            ),
            (
                Call::detach_policies(&assoc).unwrap(),
                "POST",
                "idp/builtin/policy/detach",
                &[],
                true,
                true,
            ),
            (
                Call::update_group_members(&members).unwrap(),
                "PUT",
                "update-group-members",
                &[],
                false,
                false,
            ),
            (
                Call::group_info("devs"),
                "GET",
                "group",
                &[("group", "devs")],
                false,
                false,
            ),
            (Call::list_groups(), "GET", "groups", &[], false, false),
            (
                Call::set_group_status("devs", AccountStatus::Enabled),
                "PUT",
                "set-group-status",
                &[("group", "devs"), ("status", "enabled")],
                false,
                false,
            ),
            (
                Call::add_service_account(&sa).unwrap(),
                "PUT",
                "add-service-account",
                &[],
                true,
                true,
            ),
            (
                Call::list_service_accounts(Some("alice")),
                "GET",
                "list-service-accounts",
                &[("user", "alice")],
                false,
                true,
            ),
            (
                Call::list_service_accounts(None),
                "GET",
                "list-service-accounts",
                &[],
                false,
                true,
            ),
            (
                Call::service_account_info("SA1"),
                "GET",
                "info-service-account",
                &[("accessKey", "SA1")],
                false,
                true,
            ),
            (
                Call::remove_service_account("SA1"),
                "DELETE",
                "delete-service-account",
                &[("accessKey", "SA1")],
                false,
                false,
            ),
            (
                Call::set_service_account_status("SA1", AccountStatus::Disabled).unwrap(),
                "POST",
                "update-service-account",
                &[("accessKey", "SA1")],
                true,
                false,
            ),
        ];
        let mut served = BTreeSet::new();
        for (call, method, path, query, enc_req, enc_resp) in &rows {
            let e = call.endpoint;
            assert_eq!((e.method.as_str(), e.path), (*method, *path), "{call:?}");
            let got: Vec<(&str, &str)> = call.query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            assert_eq!(&got, query, "{path}");
            assert_eq!(
                (e.encrypted_request, e.encrypted_response),
                (*enc_req, *enc_resp),
                "{path}"
            );
            // The table's rules: every required parameter sent, none it does not know.
            for q in e.required_query {
                assert!(got.iter().any(|(k, _)| k == q), "{path}: {q} missing");
            }
            for (k, _) in &got {
                assert!(
                    e.required_query.contains(k) || e.optional_query.contains(k),
                    "{path}: {k}"
                );
            }
            assert_eq!(
                call.body.is_empty(),
                !matches!(*method, "PUT" | "POST") || path.ends_with("status"),
                "{path}: body"
            );
            served.insert(e.path);
        }
        // Every user, policy, group and service-account endpoint has a command.
        for e in strata_admin::ENDPOINTS {
            let covered = served.contains(e.path)
                || [
                    "info",
                    "accountinfo",
                    "set-bucket-quota",
                    "get-bucket-quota",
                    "datausageinfo",
                    "idp/builtin/policy-entities",
                ]
                .contains(&e.path);
            assert!(covered, "no call for {}", e.path);
        }
    }

    /// The bodies, field by field, with madmin's names.
    #[test]
    fn bodies_carry_madmin_fields() {
        let secret = Secret::new("s3cr3t-key-123");
        assert_eq!(
            body(&Call::add_user("alice", &secret).unwrap()),
            json!({"secretKey": "s3cr3t-key-123", "status": "enabled"})
        );
        let doc = br#"{"Version":"2012-10-17","Statement":[]}"#;
        assert_eq!(Call::add_policy("p", doc).unwrap().body, doc.to_vec());
        let assoc = PolicyAssociationReq {
            policies: vec!["a".into(), "b".into()],
            group: Some("devs".into()),
            ..Default::default()
        };
        assert_eq!(
            body(&Call::attach_policies(&assoc).unwrap()),
            json!({"policies": ["a", "b"], "group": "devs"})
        );
        let remove = GroupAddRemove {
            group: "devs".into(),
            members: vec![],
            status: None,
            is_remove: true,
        };
        assert_eq!(
            body(&Call::update_group_members(&remove).unwrap()),
            json!({"group": "devs", "members": [], "isRemove": true})
        );
        let sa = AddServiceAccountReq {
            target_user: Some("alice".into()),
            policy: Some(json!({"Version": "2012-10-17"})),
            name: Some("backup".into()),
            description: Some("nightly".into()),
            expiration: Some("2030-01-01T00:00:00Z".into()),
            ..Default::default()
        };
        assert_eq!(
            body(&Call::add_service_account(&sa).unwrap()),
            json!({"targetUser": "alice", "policy": {"Version": "2012-10-17"}, "name": "backup",
                   "description": "nightly", "expiration": "2030-01-01T00:00:00Z"})
        );
        assert_eq!(
            body(&Call::set_service_account_status("SA1", AccountStatus::Enabled).unwrap()),
            json!({"newStatus": "on"})
        );
        assert_eq!(
            body(&Call::set_service_account_status("SA1", AccountStatus::Disabled).unwrap()),
            json!({"newStatus": "off"})
        );
    }

    #[test]
    fn invalid_requests_are_refused_before_sending() {
        let secret = Secret::new("s3cr3t-key-123");
        assert!(Call::add_user("", &secret).is_err());
        assert!(Call::add_user("alice", &Secret::new("")).is_err());
        assert!(Call::add_policy("p", b"not json").is_err());
        assert!(Call::add_policy("", b"{}").is_err());
        let both = PolicyAssociationReq {
            policies: vec!["a".into()],
            user: Some("u".into()),
            group: Some("g".into()),
            ..Default::default()
        };
        assert!(Call::attach_policies(&both).is_err());
        let none = PolicyAssociationReq {
            policies: vec![],
            user: Some("u".into()),
            ..Default::default()
        };
        assert!(Call::detach_policies(&none).is_err());
        let empty_add = GroupAddRemove {
            group: "devs".into(),
            ..Default::default()
        };
        assert!(Call::update_group_members(&empty_add).is_err());
        let bad_name = AddServiceAccountReq {
            name: Some("1bad".into()),
            ..Default::default()
        };
        assert!(Call::add_service_account(&bad_name).is_err());
    }

    #[test]
    fn debug_leaves_out_encrypted_bodies() {
        let call = Call::add_user("alice", &Secret::new("s3cr3t-key-123")).unwrap();
        let shown = format!("{call:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("add-user"), "{shown}");
        let plain = format!("{:?}", Call::add_policy("p", b"{}").unwrap());
        assert!(plain.contains("{}"), "{plain}");
    }
}
