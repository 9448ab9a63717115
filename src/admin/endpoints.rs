//! The admin endpoints Strata serves, as data the server routes from: path, method, query,
//! which bodies are encrypted, which IAM action authorises the call, and the success status
//! clients check. Derived from MinIO's `cmd/admin-router.go` and handlers
//! (`cmd/admin-handlers-users.go`: `validateAdminReq` and the `IsAllowed` calls) and checked
//! against what madmin-go and minio-py's `minioadmin.py` send and accept.

/// Where every admin path starts.
pub const PATH_PREFIX: &str = "/minio/admin/v3/";

/// The HTTP methods the admin API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Put,
    Post,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Put => "PUT",
            Self::Post => "POST",
            Self::Delete => "DELETE",
        }
    }

    /// The method of an HTTP method name (upper case, as on the wire).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "GET" => Some(Self::Get),
            "PUT" => Some(Self::Put),
            "POST" => Some(Self::Post),
            "DELETE" => Some(Self::Delete),
            _ => None,
        }
    }
}

/// Who may make a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authorization {
    /// Allowed if any one of these actions is (MinIO's `validateAdminReq` tries each).
    AnyOf(&'static [&'static str]),
    /// Allowed on others' accounts with this action; on the caller's own account unless this
    /// action is explicitly denied to it (MinIO's `DenyOnly` checks).
    SelfUnlessDenied(&'static str),
    /// Allowed on any service account with this action; on one whose parent is the caller
    /// (or the caller's parent, for a service account or STS credentials) always.
    OwnOr(&'static str),
    /// Any authenticated caller; the answer covers only what the caller may see.
    Authenticated,
}

/// One admin call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// MinIO's handler name, which its audit log and traces show.
    pub name: &'static str,
    pub method: Method,
    /// The path after [`PATH_PREFIX`].
    pub path: &'static str,
    /// Query parameters the call needs (MinIO's router refuses the call without them).
    pub required_query: &'static [&'static str],
    /// Query parameters the call reads when present (`user`, `group`, `policy` of
    /// `policy-entities` may repeat).
    pub optional_query: &'static [&'static str],
    /// The request body is madmin-encrypted with the caller's secret key.
    pub encrypted_request: bool,
    /// The response body is madmin-encrypted with the caller's secret key.
    pub encrypted_response: bool,
    pub action: Authorization,
    /// The status of success; madmin-go checks it exactly (204 for two service-account
    /// calls).
    pub success_status: u16,
}

impl Endpoint {
    /// The full path (`/minio/admin/v3/…`).
    pub fn full_path(&self) -> String {
        format!("{PATH_PREFIX}{}", self.path)
    }
}

/// The endpoint of a request, by method and full path; `None` for what is not served.
pub fn route(method: Method, full_path: &str) -> Option<&'static Endpoint> {
    let path = full_path.strip_prefix(PATH_PREFIX)?;
    ENDPOINTS
        .iter()
        .find(|e| e.method == method && e.path == path)
}

const fn endpoint(name: &'static str, method: Method, path: &'static str) -> Endpoint {
    Endpoint {
        name,
        method,
        path,
        required_query: &[],
        optional_query: &[],
        encrypted_request: false,
        encrypted_response: false,
        action: Authorization::Authenticated,
        success_status: 200,
    }
}

const fn any(actions: &'static [&'static str]) -> Authorization {
    Authorization::AnyOf(actions)
}

/// The admin endpoints, in the order of lib.rs's table.
pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        optional_query: &["metrics"],
        action: any(&["admin:ServerInfo"]),
        ..endpoint("ServerInfo", Method::Get, "info")
    },
    Endpoint {
        required_query: &["accessKey"],
        encrypted_request: true,
        action: Authorization::SelfUnlessDenied("admin:CreateUser"),
        ..endpoint("AddUser", Method::Put, "add-user")
    },
    Endpoint {
        required_query: &["accessKey"],
        action: any(&["admin:DeleteUser"]),
        ..endpoint("RemoveUser", Method::Delete, "remove-user")
    },
    Endpoint {
        required_query: &["accessKey"],
        action: Authorization::SelfUnlessDenied("admin:GetUser"),
        ..endpoint("GetUserInfo", Method::Get, "user-info")
    },
    Endpoint {
        optional_query: &["bucket"],
        encrypted_response: true,
        action: any(&["admin:ListUsers"]),
        ..endpoint("ListUsers", Method::Get, "list-users")
    },
    Endpoint {
        required_query: &["accessKey", "status"],
        // MinIO checks admin:EnableUser for both directions (admin:DisableUser is unused).
        action: any(&["admin:EnableUser"]),
        ..endpoint("SetUserStatus", Method::Put, "set-user-status")
    },
    Endpoint {
        // MinIO checks admin:AddUserToGroup for removals too.
        action: any(&["admin:AddUserToGroup"]),
        ..endpoint("UpdateGroupMembers", Method::Put, "update-group-members")
    },
    Endpoint {
        required_query: &["group"],
        action: any(&["admin:GetGroup"]),
        ..endpoint("GetGroup", Method::Get, "group")
    },
    Endpoint {
        action: any(&["admin:ListGroups"]),
        ..endpoint("ListGroups", Method::Get, "groups")
    },
    Endpoint {
        required_query: &["group", "status"],
        // Likewise admin:EnableGroup for both directions.
        action: any(&["admin:EnableGroup"]),
        ..endpoint("SetGroupStatus", Method::Put, "set-group-status")
    },
    Endpoint {
        required_query: &["name"],
        action: any(&["admin:CreatePolicy"]),
        ..endpoint("AddCannedPolicy", Method::Put, "add-canned-policy")
    },
    Endpoint {
        required_query: &["name"],
        action: any(&["admin:DeletePolicy"]),
        ..endpoint("RemoveCannedPolicy", Method::Delete, "remove-canned-policy")
    },
    Endpoint {
        required_query: &["name"],
        optional_query: &["v"],
        action: any(&["admin:GetPolicy"]),
        ..endpoint("InfoCannedPolicy", Method::Get, "info-canned-policy")
    },
    Endpoint {
        optional_query: &["bucket"],
        action: any(&["admin:ListUserPolicies"]),
        ..endpoint("ListCannedPolicies", Method::Get, "list-canned-policies")
    },
    Endpoint {
        encrypted_request: true,
        encrypted_response: true,
        action: any(&[
            "admin:UpdatePolicyAssociation",
            "admin:AttachUserOrGroupPolicy",
        ]),
        ..endpoint(
            "AttachDetachPolicyBuiltin",
            Method::Post,
            "idp/builtin/policy/attach",
        )
    },
    Endpoint {
        encrypted_request: true,
        encrypted_response: true,
        action: any(&[
            "admin:UpdatePolicyAssociation",
            "admin:AttachUserOrGroupPolicy",
        ]),
        ..endpoint(
            "AttachDetachPolicyBuiltin",
            Method::Post,
            "idp/builtin/policy/detach",
        )
    },
    Endpoint {
        optional_query: &["user", "group", "policy"],
        encrypted_response: true,
        action: any(&[
            "admin:ListGroups",
            "admin:ListUsers",
            "admin:ListUserPolicies",
        ]),
        ..endpoint(
            "ListPolicyMappingEntities",
            Method::Get,
            "idp/builtin/policy-entities",
        )
    },
    Endpoint {
        encrypted_request: true,
        encrypted_response: true,
        action: Authorization::SelfUnlessDenied("admin:CreateServiceAccount"),
        ..endpoint("AddServiceAccount", Method::Put, "add-service-account")
    },
    Endpoint {
        required_query: &["accessKey"],
        encrypted_request: true,
        action: Authorization::OwnOr("admin:UpdateServiceAccount"),
        success_status: 204,
        ..endpoint(
            "UpdateServiceAccount",
            Method::Post,
            "update-service-account",
        )
    },
    Endpoint {
        required_query: &["accessKey"],
        encrypted_response: true,
        action: Authorization::OwnOr("admin:ListServiceAccounts"),
        ..endpoint("InfoServiceAccount", Method::Get, "info-service-account")
    },
    Endpoint {
        optional_query: &["user"],
        encrypted_response: true,
        action: Authorization::OwnOr("admin:ListServiceAccounts"),
        ..endpoint("ListServiceAccounts", Method::Get, "list-service-accounts")
    },
    Endpoint {
        required_query: &["accessKey"],
        action: Authorization::OwnOr("admin:RemoveServiceAccount"),
        success_status: 204,
        ..endpoint(
            "DeleteServiceAccount",
            Method::Delete,
            "delete-service-account",
        )
    },
    Endpoint {
        optional_query: &["prefix-usage"],
        ..endpoint("AccountInfo", Method::Get, "accountinfo")
    },
    Endpoint {
        required_query: &["bucket"],
        action: any(&["admin:SetBucketQuota"]),
        ..endpoint("PutBucketQuotaConfig", Method::Put, "set-bucket-quota")
    },
    Endpoint {
        required_query: &["bucket"],
        action: any(&["admin:GetBucketQuota"]),
        ..endpoint("GetBucketQuotaConfig", Method::Get, "get-bucket-quota")
    },
    Endpoint {
        optional_query: &["capacity"],
        action: any(&["admin:DataUsageInfo"]),
        ..endpoint("DataUsageInfo", Method::Get, "datausageinfo")
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn routes_are_unique_and_found() {
        let mut seen = HashSet::new();
        for e in ENDPOINTS {
            assert!(
                seen.insert((e.method, e.path)),
                "twice: {} {}",
                e.method.as_str(),
                e.path
            );
            assert_eq!(route(e.method, &e.full_path()), Some(e));
            assert!(
                !e.path.starts_with('/') && !e.path.ends_with('/'),
                "{}",
                e.path
            );
        }
        assert_eq!(ENDPOINTS.len(), 26);
        assert_eq!(route(Method::Get, "/minio/admin/v3/add-user"), None);
        assert_eq!(route(Method::Put, "/minio/admin/v2/add-user"), None);
        assert_eq!(route(Method::Get, "/minio/admin/v3/nope"), None);
    }

    #[test]
    fn actions_are_admin_actions() {
        for e in ENDPOINTS {
            let actions: &[&str] = match &e.action {
                Authorization::AnyOf(a) => a,
                Authorization::SelfUnlessDenied(a) | Authorization::OwnOr(a) => {
                    std::slice::from_ref(a)
                }
                Authorization::Authenticated => &[],
            };
            for a in actions {
                let name = a.strip_prefix("admin:").expect("admin: prefix");
                assert!(name.chars().all(|c| c.is_ascii_alphanumeric()), "{a}");
            }
        }
    }

    /// What minio-py's minioadmin.py sends for each call it makes, and whether it encrypts the
    /// body or decrypts the answer.
    #[test]
    fn agrees_with_minio_py() {
        // (command, method, query keys sent, encrypts request, decrypts response)
        let calls: &[(&str, Method, &[&str], bool, bool)] = &[
            ("info", Method::Get, &[], false, false),
            ("accountinfo", Method::Get, &["prefix-usage"], false, false),
            ("add-user", Method::Put, &["accessKey"], true, false),
            (
                "set-user-status",
                Method::Put,
                &["accessKey", "status"],
                false,
                false,
            ),
            ("remove-user", Method::Delete, &["accessKey"], false, false),
            ("user-info", Method::Get, &["accessKey"], false, false),
            ("list-users", Method::Get, &[], false, true),
            ("update-group-members", Method::Put, &[], false, false),
            (
                "set-group-status",
                Method::Put,
                &["group", "status"],
                false,
                false,
            ),
            ("group", Method::Get, &["group"], false, false),
            ("groups", Method::Get, &[], false, false),
            ("add-canned-policy", Method::Put, &["name"], false, false),
            (
                "remove-canned-policy",
                Method::Delete,
                &["name"],
                false,
                false,
            ),
            ("info-canned-policy", Method::Get, &["name"], false, false),
            ("list-canned-policies", Method::Get, &[], false, false),
            ("set-bucket-quota", Method::Put, &["bucket"], false, false),
            ("get-bucket-quota", Method::Get, &["bucket"], false, false),
            ("datausageinfo", Method::Get, &[], false, false),
            (
                "info-service-account",
                Method::Get,
                &["accessKey"],
                false,
                true,
            ),
            ("list-service-accounts", Method::Get, &["user"], false, true),
            ("add-service-account", Method::Put, &[], true, true),
            (
                "update-service-account",
                Method::Post,
                &["accessKey"],
                true,
                false,
            ),
            (
                "delete-service-account",
                Method::Delete,
                &["accessKey"],
                false,
                false,
            ),
            ("idp/builtin/policy/attach", Method::Post, &[], true, true),
            ("idp/builtin/policy/detach", Method::Post, &[], true, true),
            (
                "idp/builtin/policy-entities",
                Method::Get,
                &["user", "group", "policy"],
                false,
                true,
            ),
        ];
        assert_eq!(calls.len(), ENDPOINTS.len());
        for &(path, method, query, enc_req, enc_resp) in calls {
            let e = route(method, &format!("{PATH_PREFIX}{path}")).expect(path);
            assert_eq!(
                (e.encrypted_request, e.encrypted_response),
                (enc_req, enc_resp),
                "{path}"
            );
            for q in e.required_query {
                assert!(query.contains(q), "{path}: minio-py does not send {q}");
            }
            for q in query {
                assert!(
                    e.required_query.contains(q) || e.optional_query.contains(q),
                    "{path}: {q} unknown"
                );
            }
        }
    }
}
