//! AWS IAM policy documents and their evaluation, and the IAM state they apply to: users,
//! groups, named policies, service accounts and STS credentials (issue 13). Pure: no I/O, no
//! clock, no HTTP; the state is persisted through a [`Backend`] the server implements, time
//! is passed in, and the fronts look an access key up into an [`Identity`] and ask it about a
//! request (or build a [`Request`] and ask a [`PolicySet`]). Depends on nothing of ours.
//!
//! What it implements:
//! - **Documents** ([`Policy`]): AWS's JSON grammar, validated with typed errors
//!   ([`PolicyError`], [`StatementError`]) and written back as JSON; identity and bucket
//!   policies checked for their own rules ([`Policy::parse_identity`],
//!   [`Policy::parse_bucket`]). Unknown elements are refused, not ignored.
//! - **Matching**: actions case-insensitively with `*` and `?`; resources (ARNs) with `*`,
//!   `?` and policy variables (`${aws:username}`, defaults `${key, 'x'}`, the escapes `${*}`,
//!   `${?}`, `${$}`); principals of bucket policies (`"*"`, `{"AWS": …}`), `NotPrincipal`,
//!   `NotAction`, `NotResource`. Matching is linear-time (no backtracking blow-up).
//! - **Conditions** ([`Condition`]): the String, Numeric, Date, Bool, BinaryEquals, IpAddress
//!   (IPv4, IPv6), Arn and Null operators, `…IfExists`, `ForAnyValue:` / `ForAllValues:`;
//!   AWS's rules for absent keys and multiple values, written down in `condition.rs`.
//! - **Evaluation** ([`PolicySet::is_allowed`]): explicit Deny wins, then an Allow from an
//!   identity or the bucket policy, narrowed by a session policy; default deny.
//! - **Canned policies** ([`canned`]): MinIO's `readwrite`, `readonly`, `writeonly`,
//!   `diagnostics`, `consoleAdmin`.
//! - **S3 actions** ([`s3_operation`]): the IAM action and resource each S3 operation needs.
//! - **The IAM state** ([`store`]): [`Iam`] keeps users, groups, named policies (the canned
//!   ones from the start), service accounts and temporary credentials, with MinIO's admin API
//!   semantics, one document per entity through a [`Backend`] ([`MemoryBackend`] for tests),
//!   secrets sealed with a key derived from the root credentials ([`Sealer`]); and
//!   [`Iam::identity`] turns an access key into an [`Identity`] (its secret, who it acts as,
//!   its policies narrowed by an inline or session policy) that decides requests.
//!
//! Not (yet): checking action names against a list of known ones (any well-formed
//! `service:Name` is accepted, as IAM does), which condition keys an action supports,
//! permission boundaries and SCPs, cross-account rules, `Principal` types other than `AWS`
//! (they parse but name no Strata principal), wildcards inside principal names, variables in
//! Numeric, Date, Bool and IpAddress values (IAM supports none but Bool), ACLs (the S3 front
//! weighs those); in the store: LDAP identities (OpenID ones get temporary credentials from
//! the server's STS front, as federated subjects), JWT session tokens (Strata's are opaque
//! and looked up), MinIO's `policydb` and `format.json` documents (no import of a MinIO deployment's
//! IAM data), watching the backend for another node's changes (the state is read at load),
//! and wiping secrets from memory when dropped.

mod actions;
mod canned;
mod cidr;
mod condition;
pub mod date;
mod document;
mod error;
mod evaluate;
mod pattern;
mod public;
mod request;
pub mod store;
mod variable;

pub use actions::{bucket_arn, object_arn, s3_operation, OperationActions, ResourceKind, S3Action};
pub use canned::{canned, CANNED};
pub use condition::{Condition, ConditionOperator, Operator, Qualifier};
pub use document::{Effect, Policy, Statement, Version};
pub use error::{PolicyError, StatementError};
pub use evaluate::{Decision, PolicySet};
pub use request::{keys, Context, Principal, Request};
pub use store::{
    Backend, BackendError, BackendErrorKind, Iam, IamError, Identity, IdentityKind, LookupError,
    MemoryBackend, Resealed, Sealer, Secret, Status, MAX_SESSION_POLICY,
};
