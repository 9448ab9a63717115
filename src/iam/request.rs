//! What a policy is evaluated against: the request's action, resource, principal and the
//! condition context (`aws:SourceIp`, `s3:prefix`, …). The caller (the S3 and admin fronts)
//! fills these in; nothing here looks at HTTP.

use std::collections::BTreeMap;

/// Condition keys the fronts fill in; the names are AWS's (and MinIO's).
pub mod keys {
    pub const SOURCE_IP: &str = "aws:SourceIp";
    pub const SECURE_TRANSPORT: &str = "aws:SecureTransport";
    pub const USERNAME: &str = "aws:username";
    pub const USERID: &str = "aws:userid";
    pub const PRINCIPAL_TYPE: &str = "aws:principaltype";
    pub const CURRENT_TIME: &str = "aws:CurrentTime";
    pub const EPOCH_TIME: &str = "aws:EpochTime";
    pub const REFERER: &str = "aws:Referer";
    pub const USER_AGENT: &str = "aws:UserAgent";
    pub const PREFIX: &str = "s3:prefix";
    pub const DELIMITER: &str = "s3:delimiter";
    pub const MAX_KEYS: &str = "s3:max-keys";
    pub const ACL: &str = "s3:x-amz-acl";
    pub const SIGNATURE_VERSION: &str = "s3:signatureversion";
    pub const AUTH_TYPE: &str = "s3:authType";
    pub const VERSION_ID: &str = "s3:versionid";
    pub const COPY_SOURCE: &str = "s3:x-amz-copy-source";
    pub const METADATA_DIRECTIVE: &str = "s3:x-amz-metadata-directive";
    /// Prefix of `s3:ExistingObjectTag/<tag key>`: a tag the object has.
    pub const EXISTING_OBJECT_TAG: &str = "s3:ExistingObjectTag/";
    /// Prefix of `s3:RequestObjectTag/<tag key>`: a tag the request sets.
    pub const REQUEST_OBJECT_TAG: &str = "s3:RequestObjectTag/";
    /// `s3:RequestObjectTagKeys`: every tag key the request sets (multi-valued).
    pub const REQUEST_OBJECT_TAG_KEYS: &str = "s3:RequestObjectTagKeys";
}

/// The condition keys of a request and their values. Key names are case-insensitive, as in
/// IAM (stored lower-cased); values are kept as given. A key with no value is absent: that is
/// what `Null`, `…IfExists` and the negated operators look at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    values: BTreeMap<String, Vec<String>>,
}

impl Context {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to one value (replacing any).
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.values.insert(key.to_lowercase(), vec![value.into()]);
    }

    /// Sets `key` to several values (a multi-valued key, for `ForAnyValue` / `ForAllValues`);
    /// no value at all removes the key.
    pub fn set_all<I, S>(&mut self, key: &str, values: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let values: Vec<String> = values.into_iter().map(Into::into).collect();
        if values.is_empty() {
            self.values.remove(&key.to_lowercase());
        } else {
            self.values.insert(key.to_lowercase(), values);
        }
    }

    /// [`Context::set`] for building a context in one expression.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.set(key, value);
        self
    }

    /// The values of `key`, `None` when it is absent.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.values
            .get(&key.to_lowercase())
            .map(Vec::as_slice)
            .filter(|v| !v.is_empty())
    }

    /// The value a policy variable `${key}` takes: the key's only value. A multi-valued or
    /// empty key has none (IAM does not substitute a list, and an empty user name must not
    /// turn `home/${aws:username}/*` into `home//*`).
    pub fn variable(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            [one] if !one.is_empty() => Some(one),
            _ => None,
        }
    }
}

/// Who makes the request, as a bucket policy's `Principal` sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// An unsigned request: matched only by `"*"`.
    Anonymous,
    /// A signed request, known by each of these names: the access key, the user name, its ARN
    /// (`arn:aws:iam:::user/alice`), the parent user of a service account … A `Principal`
    /// value of a bucket policy names the requester when it equals one of them.
    Authenticated(Vec<String>),
}

impl Principal {
    /// An authenticated principal known by these names.
    pub fn named<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Principal::Authenticated(names.into_iter().map(Into::into).collect())
    }

    /// Whether one of the names is `name` (exact, case-sensitive: ARNs and user names are).
    pub(crate) fn is_named(&self, name: &str) -> bool {
        match self {
            Principal::Anonymous => false,
            Principal::Authenticated(names) => names.iter().any(|n| n == name),
        }
    }
}

/// One authorisation question: may `principal` do `action` on `resource`, in `context`?
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The IAM action, `s3:GetObject`, `admin:ServerInfo` (matched case-insensitively).
    pub action: &'a str,
    /// The resource's ARN (`arn:aws:s3:::bucket`, `arn:aws:s3:::bucket/key`; see
    /// [`crate::ResourceKind::arn`]), or `None` for an action on no resource (the admin and STS
    /// APIs): then `Resource` and `NotResource` are not consulted, as MinIO treats admin
    /// statements.
    pub resource: Option<&'a str>,
    pub principal: &'a Principal,
    pub context: &'a Context,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_insensitive_and_empty_is_absent() {
        let mut cx = Context::new().with("AWS:SourceIp", "10.0.0.1");
        assert_eq!(cx.get("aws:sourceip"), Some(&["10.0.0.1".to_string()][..]));
        cx.set_all("s3:prefix", Vec::<String>::new());
        assert_eq!(cx.get("s3:prefix"), None);
        cx.set_all("aws:TagKeys", ["a", "b"]);
        assert_eq!(cx.get("aws:tagkeys").map(<[String]>::len), Some(2));
    }

    #[test]
    fn variables_take_one_non_empty_value() {
        let mut cx = Context::new().with("aws:username", "alice");
        assert_eq!(cx.variable("AWS:UserName"), Some("alice"));
        cx.set("aws:username", "");
        assert_eq!(cx.variable("aws:username"), None);
        cx.set_all("aws:username", ["a", "b"]);
        assert_eq!(cx.variable("aws:username"), None);
        assert_eq!(cx.variable("aws:userid"), None);
    }

    #[test]
    fn principal_names_match_exactly() {
        let p = Principal::named(["alice", "arn:aws:iam:::user/alice"]);
        assert!(p.is_named("alice"));
        assert!(p.is_named("arn:aws:iam:::user/alice"));
        assert!(!p.is_named("Alice"));
        assert!(!Principal::Anonymous.is_named(""));
    }
}
