//! The wire formats of MinIO's admin API (`/minio/admin/v3/…`), so that `mc admin`,
//! madmin-go and minio-py can manage Strata's users, groups, policies and service accounts.
//! Pure: no I/O, no HTTP, no clock; the server routes, authenticates (SigV4, service `s3`),
//! authorises and stores. Depends on nothing of ours.
//!
//! The formats:
//! - [`crypto`]: madmin's encryption of secret bodies (`EncryptData` / `DecryptData`):
//!   `salt(32) | cipher id | nonce(8) | packages`, a secure-io/sio-go stream of 16 KiB
//!   AES-256-GCM or ChaCha20-Poly1305 packages keyed by Argon2id (or, FIPS, PBKDF2) of the
//!   caller's secret key. Byte-exact with madmin-go and minio-py.
//! - [`types`]: the JSON bodies with madmin-go's field names and Go's conventions (`omitempty`,
//!   `null` slices, RFC 3339 times), reading what minio-py sends too.
//! - [`endpoints`]: the calls below as a table ([`ENDPOINTS`]) the server routes from.
//!
//! | path (after `/minio/admin/v3/`) | method | query | encrypted | authorised by |
//! |---|---|---|---|---|
//! | `info` | GET | (`metrics`) | — | `admin:ServerInfo` |
//! | `add-user` | PUT | `accessKey` | request | `admin:CreateUser`; own password: unless denied |
//! | `remove-user` | DELETE | `accessKey` | — | `admin:DeleteUser` |
//! | `user-info` | GET | `accessKey` | — | `admin:GetUser`; oneself: unless denied |
//! | `list-users` | GET | (`bucket`) | response | `admin:ListUsers` |
//! | `set-user-status` | PUT | `accessKey`, `status` | — | `admin:EnableUser` (both ways) |
//! | `update-group-members` | PUT | — | — | `admin:AddUserToGroup` (removals too) |
//! | `group` | GET | `group` | — | `admin:GetGroup` |
//! | `groups` | GET | — | — | `admin:ListGroups` |
//! | `set-group-status` | PUT | `group`, `status` | — | `admin:EnableGroup` (both ways) |
//! | `add-canned-policy` | PUT | `name` | — | `admin:CreatePolicy` |
//! | `remove-canned-policy` | DELETE | `name` | — | `admin:DeletePolicy` |
//! | `info-canned-policy` | GET | `name` (`v`) | — | `admin:GetPolicy` |
//! | `list-canned-policies` | GET | (`bucket`) | — | `admin:ListUserPolicies` |
//! | `idp/builtin/policy/attach` | POST | — | both | `admin:UpdatePolicyAssociation` or `admin:AttachUserOrGroupPolicy` |
//! | `idp/builtin/policy/detach` | POST | — | both | the same |
//! | `idp/builtin/policy-entities` | GET | (`user`, `group`, `policy`: repeated) | response | any of `admin:ListGroups`, `admin:ListUsers`, `admin:ListUserPolicies` |
//! | `add-service-account` | PUT | — | both | `admin:CreateServiceAccount`; for oneself: unless denied |
//! | `update-service-account` | POST | `accessKey` | request | `admin:UpdateServiceAccount`; one's own: always; 204 |
//! | `info-service-account` | GET | `accessKey` | response | `admin:ListServiceAccounts`; one's own: always |
//! | `list-service-accounts` | GET | (`user`) | response | `admin:ListServiceAccounts`; one's own: always |
//! | `delete-service-account` | DELETE | `accessKey` | — | `admin:RemoveServiceAccount`; one's own: always; 204 |
//! | `accountinfo` | GET | (`prefix-usage`) | — | any caller, about itself |
//! | `set-bucket-quota` | PUT | `bucket` | — | `admin:SetBucketQuota` |
//! | `get-bucket-quota` | GET | `bucket` | — | `admin:GetBucketQuota` |
//! | `datausageinfo` | GET | (`capacity`) | — | `admin:DataUsageInfo` |
//!
//! Sources: MinIO's `cmd/admin-router.go` (paths, methods, required query), its handlers in
//! `cmd/admin-handlers-users.go`, `cmd/admin-handlers.go` and `cmd/admin-bucket-handlers.go`
//! (actions, encryption, 204s); madmin-go (bodies, optional query); minio-py 7.2.20's
//! `minioadmin.py` (what it sends and decrypts, checked by
//! `endpoints::tests::agrees_with_minio_py`). A 200 is the success status unless noted;
//! errors are an [`ErrorResponse`].
//!
//! Bodies (request → response; none where not named): `info` → [`InfoMessage`]; `add-user`
//! [`AddOrUpdateUserReq`]; `user-info` → [`UserInfo`]; `list-users` → [`ListUsersResp`];
//! `update-group-members` [`GroupAddRemove`]; `group` → [`GroupDesc`]; `groups` →
//! [`ListGroupsResp`]; `add-canned-policy` a policy document; `info-canned-policy` → the
//! document, or [`PolicyInfo`] with `v=2`; `list-canned-policies` →
//! [`ListCannedPoliciesResp`]; attach/detach [`PolicyAssociationReq`] →
//! [`PolicyAssociationResp`]; `policy-entities` → [`PolicyEntitiesResult`];
//! `add-service-account` [`AddServiceAccountReq`] → [`AddServiceAccountResp`];
//! `update-service-account` [`UpdateServiceAccountReq`]; `info-service-account` →
//! [`InfoServiceAccountResp`]; `list-service-accounts` → [`ListServiceAccountsResp`];
//! `accountinfo` → [`AccountInfo`]; `set-bucket-quota` [`BucketQuota`]; `get-bucket-quota` →
//! [`BucketQuota`]; `datausageinfo` → [`DataUsageInfo`]. minio-py sends `Content-Type:
//! application/octet-stream` on every call, which MinIO requires for attach/detach. "Unless
//! denied": the caller may act on itself without the action, unless the action is explicitly
//! denied to it; "one's own: always": a service account whose parent is the caller (or the
//! caller's parent) needs no action ([`endpoints::Authorization`]).

pub mod crypto;
pub mod endpoints;
pub mod types;

pub use crypto::{decrypt, decrypt_limited, encrypt, is_encrypted, Cipher, CryptoError};
pub use endpoints::{route, Authorization, Endpoint, Method, ENDPOINTS, PATH_PREFIX};
pub use types::*;
