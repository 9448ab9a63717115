//! Policy documents: the JSON grammar of AWS IAM ("IAM JSON policy elements reference"),
//! validated into a [`Policy`] whose patterns are compiled once, and written back as JSON
//! (the admin API returns stored policies).
//!
//! Read as AWS reads it: `Version` (`2012-10-17`, or `2008-10-17` / absent, where `${…}` is
//! literal text), `Id`, `Statement` (one object or an array), and in each statement `Sid`,
//! `Effect`, `Principal` / `NotPrincipal`, `Action` / `NotAction`, `Resource` / `NotResource`,
//! `Condition`; a string or an array wherever AWS takes either. Element names are
//! case-sensitive and an unknown element is refused rather than ignored: a misspelt
//! `Condtion` must not silently widen an Allow. So is a condition operator or key listed
//! twice (JSON would keep only the last).
//!
//! MinIO's extension is kept: a statement whose actions are all outside `s3:` (`admin:*`,
//! `kms:*`, `sts:…`) may omit `Resource`, and then applies whatever the resource.
//!
//! Written back, every list is an array and the elements come in AWS's usual order; parsing
//! what was written gives the same policy.

use crate::condition::{Condition, Scalar};
use crate::error::{PolicyError, StatementError};
use crate::pattern::{glob, matches, Tok};
use crate::request;
use crate::variable::Template;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

/// The policy language version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// `2012-10-17`: the current language, with policy variables.
    Current,
    /// `2008-10-17`: the original one; `${…}` is literal text.
    Legacy,
}

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Current => "2012-10-17",
            Version::Legacy => "2008-10-17",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// A validated policy document.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    version: Option<Version>,
    id: Option<String>,
    pub(crate) statements: Vec<Statement>,
}

/// One statement of a policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    sid: Option<String>,
    pub(crate) effect: Effect,
    pub(crate) principal: Option<PrincipalElement>,
    pub(crate) actions: Actions,
    pub(crate) resources: Resources,
    pub(crate) conditions: Vec<Condition>,
}

/// `Principal` or `NotPrincipal`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PrincipalElement {
    pub(crate) negated: bool,
    pub(crate) spec: PrincipalSpec,
}

/// What a `Principal` lists: `"*"`, or principal types (`AWS`, `Service`, …) to names.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum PrincipalSpec {
    Everyone,
    Typed(Vec<(String, Vec<String>)>),
}

/// The principal types AWS defines; only `AWS` names a Strata principal.
const PRINCIPAL_TYPES: [&str; 4] = ["AWS", "CanonicalUser", "Federated", "Service"];

/// `Action` or `NotAction`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Actions {
    pub(crate) negated: bool,
    pub(crate) items: Vec<Pattern>,
}

/// `Resource`, `NotResource`, or neither (a statement on non-S3 actions only).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Resources {
    Any,
    List {
        negated: bool,
        items: Vec<ResourcePattern>,
    },
}

/// An action as written and its compiled, lower-cased pattern (action names are
/// case-insensitive).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Pattern {
    source: String,
    pub(crate) tokens: Vec<Tok>,
}

/// A resource as written and its compiled template (wildcards and variables).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ResourcePattern {
    source: String,
    pub(crate) template: Template,
}

impl Policy {
    /// Parses and validates a policy of any kind (identity, bucket or session).
    pub fn parse(json: &str) -> Result<Policy, PolicyError> {
        let raw: RawPolicy = serde_json::from_str(json)?;
        Policy::from_raw(raw)
    }

    /// [`Policy::parse`], then [`Policy::validate_identity`]: a policy attached to a user or
    /// group, or a session / service-account policy.
    pub fn parse_identity(json: &str) -> Result<Policy, PolicyError> {
        let policy = Policy::parse(json)?;
        policy.validate_identity()?;
        Ok(policy)
    }

    /// [`Policy::parse`], then [`Policy::validate_bucket`]: the policy of bucket `bucket`.
    pub fn parse_bucket(json: &str, bucket: &str) -> Result<Policy, PolicyError> {
        let policy = Policy::parse(json)?;
        policy.validate_bucket(bucket)?;
        Ok(policy)
    }

    /// An identity policy names no principal: it is the principal's own.
    pub fn validate_identity(&self) -> Result<(), PolicyError> {
        self.check_each(|s| match s.principal {
            Some(_) => Err(StatementError::UnexpectedPrincipal),
            None => Ok(()),
        })
    }

    /// A bucket policy names its principals in every statement, and its resources are the
    /// bucket's (`arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/…`; a bucket part with
    /// wildcards must match `bucket`).
    pub fn validate_bucket(&self, bucket: &str) -> Result<(), PolicyError> {
        self.check_each(|s| {
            if s.principal.is_none() {
                return Err(StatementError::MissingPrincipal);
            }
            let Resources::List { items, .. } = &s.resources else {
                return Err(StatementError::MissingResource);
            };
            items.iter().try_for_each(|r| r.check_in_bucket(bucket))
        })
    }

    fn check_each(
        &self,
        check: impl Fn(&Statement) -> Result<(), StatementError>,
    ) -> Result<(), PolicyError> {
        for (index, s) in self.statements.iter().enumerate() {
            check(s).map_err(|error| PolicyError::Statement {
                index,
                sid: s.sid.clone(),
                error,
            })?;
        }
        Ok(())
    }

    pub fn version(&self) -> Option<Version> {
        self.version
    }

    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// Whether a condition of any statement reads a key starting with `prefix` (compared
    /// without case, as condition keys are): what a request must fill in before it is asked.
    pub fn reads_key(&self, prefix: &str) -> bool {
        let prefix = prefix.to_ascii_lowercase();
        self.statements.iter().any(|s| {
            s.conditions
                .iter()
                .any(|c| c.key().to_ascii_lowercase().starts_with(&prefix))
        })
    }

    /// The policy as JSON (compact), as the admin API returns it.
    pub fn to_json(&self) -> String {
        // Serializing these types cannot fail: every map key is a string.
        serde_json::to_string(self).unwrap_or_default()
    }

    fn from_raw(raw: RawPolicy) -> Result<Policy, PolicyError> {
        let version = match raw.version.as_deref() {
            None => None,
            Some("2012-10-17") => Some(Version::Current),
            Some("2008-10-17") => Some(Version::Legacy),
            Some(other) => return Err(PolicyError::UnknownVersion(other.to_string())),
        };
        let raws = raw.statement.map(OneOrMany::into_vec).unwrap_or_default();
        if raws.is_empty() {
            return Err(PolicyError::MissingStatement);
        }
        let variables = version == Some(Version::Current);
        let statements = raws
            .into_iter()
            .enumerate()
            .map(|(index, raw)| {
                let sid = raw.sid.clone();
                Statement::from_raw(raw, variables).map_err(|error| PolicyError::Statement {
                    index,
                    sid,
                    error,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Policy {
            version,
            id: raw.id,
            statements,
        })
    }
}

impl FromStr for Policy {
    type Err = PolicyError;

    fn from_str(json: &str) -> Result<Policy, PolicyError> {
        Policy::parse(json)
    }
}

impl Statement {
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    pub fn effect(&self) -> Effect {
        self.effect
    }

    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }

    fn from_raw(raw: RawStatement, variables: bool) -> Result<Statement, StatementError> {
        let effect = match raw.effect.as_deref() {
            None => return Err(StatementError::MissingEffect),
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            Some(other) => return Err(StatementError::UnknownEffect(other.to_string())),
        };
        let principal = principal_element(raw.principal, raw.not_principal)?;
        let actions = actions(raw.action, raw.not_action)?;
        let resources = resources(raw.resource, raw.not_resource, &actions, variables)?;
        let conditions = conditions(raw.condition.unwrap_or_default(), variables)?;
        Ok(Statement {
            sid: raw.sid,
            effect,
            principal,
            actions,
            resources,
            conditions,
        })
    }
}

fn principal_element(
    principal: Option<Value>,
    not_principal: Option<Value>,
) -> Result<Option<PrincipalElement>, StatementError> {
    let (value, negated) = match (principal, not_principal) {
        (Some(_), Some(_)) => return Err(StatementError::PrincipalAndNotPrincipal),
        (Some(p), None) => (p, false),
        (None, Some(p)) => (p, true),
        (None, None) => return Ok(None),
    };
    Ok(Some(PrincipalElement {
        negated,
        spec: PrincipalSpec::parse(value)?,
    }))
}

impl PrincipalSpec {
    fn parse(value: Value) -> Result<PrincipalSpec, StatementError> {
        let invalid = |v: &Value| StatementError::InvalidPrincipal(v.to_string());
        match &value {
            Value::String(s) if s == "*" => Ok(PrincipalSpec::Everyone),
            Value::Object(map) if !map.is_empty() => map
                .iter()
                .map(|(kind, names)| {
                    if !PRINCIPAL_TYPES.contains(&kind.as_str()) {
                        return Err(StatementError::InvalidPrincipal(kind.clone()));
                    }
                    Ok((
                        kind.clone(),
                        principal_names(names).ok_or_else(|| invalid(names))?,
                    ))
                })
                .collect::<Result<_, _>>()
                .map(PrincipalSpec::Typed),
            other => Err(invalid(other)),
        }
    }

    /// Whether it names `who`: `"*"` (alone or as an `AWS` name) names everyone, the anonymous
    /// included; another `AWS` name names a principal known by it. The other types name no
    /// Strata principal.
    pub(crate) fn names(&self, who: &request::Principal) -> bool {
        match self {
            PrincipalSpec::Everyone => true,
            PrincipalSpec::Typed(kinds) => kinds.iter().any(|(kind, names)| {
                kind == "AWS" && names.iter().any(|n| n == "*" || who.is_named(n))
            }),
        }
    }
}

/// The names of one principal type: a string or a non-empty array of them, with no wildcard
/// but a lone `*` (IAM matches principals exactly).
fn principal_names(value: &Value) -> Option<Vec<String>> {
    let names: Vec<String> = match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<_>>()?,
        _ => return None,
    };
    let good = |n: &String| !n.is_empty() && (n == "*" || !n.contains(['*', '?']));
    (!names.is_empty() && names.iter().all(good)).then_some(names)
}

fn actions(
    action: Option<OneOrMany<String>>,
    not_action: Option<OneOrMany<String>>,
) -> Result<Actions, StatementError> {
    let (list, negated) = match (action, not_action) {
        (Some(_), Some(_)) => return Err(StatementError::ActionAndNotAction),
        (Some(a), None) => (a.into_vec(), false),
        (None, Some(a)) => (a.into_vec(), true),
        (None, None) => return Err(StatementError::MissingAction),
    };
    if list.is_empty() {
        return Err(StatementError::MissingAction);
    }
    let items = list
        .into_iter()
        .map(|source| {
            if !valid_action(&source) {
                return Err(StatementError::InvalidAction(source));
            }
            let tokens = glob(&source.to_lowercase());
            Ok(Pattern { source, tokens })
        })
        .collect::<Result<_, _>>()?;
    Ok(Actions { negated, items })
}

/// `*`, or `service:Name` where the service is letters, digits and `-` and the name may hold
/// wildcards.
fn valid_action(action: &str) -> bool {
    if action == "*" {
        return true;
    }
    action.split_once(':').is_some_and(|(service, name)| {
        !service.is_empty()
            && !name.is_empty()
            && service
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | '?' | '-' | '_' | '.'))
    })
}

impl Actions {
    /// Whether every listed action is outside `s3:` (a namespace without resources, in MinIO).
    fn all_without_resources(&self) -> bool {
        !self.negated
            && self.items.iter().all(|a| {
                a.source
                    .split_once(':')
                    .is_some_and(|(service, _)| !service.eq_ignore_ascii_case("s3"))
            })
    }
}

fn resources(
    resource: Option<OneOrMany<String>>,
    not_resource: Option<OneOrMany<String>>,
    actions: &Actions,
    variables: bool,
) -> Result<Resources, StatementError> {
    let (list, negated) = match (resource, not_resource) {
        (Some(_), Some(_)) => return Err(StatementError::ResourceAndNotResource),
        (Some(r), None) => (r.into_vec(), false),
        (None, Some(r)) => (r.into_vec(), true),
        (None, None) if actions.all_without_resources() => return Ok(Resources::Any),
        (None, None) => return Err(StatementError::MissingResource),
    };
    if list.is_empty() {
        return Err(StatementError::MissingResource);
    }
    let items = list
        .into_iter()
        .map(|source| ResourcePattern::parse(source, variables))
        .collect::<Result<_, _>>()?;
    Ok(Resources::List { negated, items })
}

impl ResourcePattern {
    /// `*`, or an ARN: `arn:partition:service:region:account:resource` with partition, service
    /// and resource not empty.
    fn parse(source: String, variables: bool) -> Result<ResourcePattern, StatementError> {
        let fields: Vec<&str> = source.splitn(6, ':').collect();
        let arn = fields.len() == 6
            && fields[0] == "arn"
            && !fields[1].is_empty()
            && !fields[2].is_empty()
            && !fields[5].is_empty();
        if source != "*" && !arn {
            return Err(StatementError::InvalidResource(source));
        }
        let template = Template::parse(&source, true, variables)
            .map_err(|_| StatementError::InvalidVariable(source.clone()))?;
        Ok(ResourcePattern { source, template })
    }

    fn check_in_bucket(&self, bucket: &str) -> Result<(), StatementError> {
        let outside = || StatementError::ResourceOutsideBucket {
            resource: self.source.clone(),
            bucket: bucket.to_string(),
        };
        let path = self
            .source
            .strip_prefix(S3_ARN_PREFIX)
            .ok_or_else(outside)?;
        let bucket_part = path.split('/').next().unwrap_or_default();
        if matches(&glob(bucket_part), bucket) {
            Ok(())
        } else {
            Err(outside())
        }
    }
}

/// What every S3 resource ARN starts with (no region, no account).
pub(crate) const S3_ARN_PREFIX: &str = "arn:aws:s3:::";

/// Flattens `{operator: {key: values}}` into one [`Condition`] per key, refusing an operator
/// listed twice, or a key listed twice under one operator (key names are case-insensitive).
fn conditions(
    block: Ordered<Ordered<OneOrMany<Scalar>>>,
    variables: bool,
) -> Result<Vec<Condition>, StatementError> {
    let mut out: Vec<Condition> = Vec::new();
    let mut operators: Vec<&str> = Vec::new();
    for (operator, keys) in &block.0 {
        if operators.contains(&operator.as_str()) {
            return Err(StatementError::DuplicateOperator(operator.clone()));
        }
        operators.push(operator);
        let first = out.len();
        for (key, values) in &keys.0 {
            if out[first..]
                .iter()
                .any(|c| c.key().eq_ignore_ascii_case(key))
            {
                return Err(StatementError::DuplicateConditionKey {
                    operator: operator.clone(),
                    key: key.clone(),
                });
            }
            out.push(Condition::new(
                operator,
                key,
                values.clone().into_vec(),
                variables,
            )?);
        }
    }
    Ok(out)
}

// ---- JSON shapes ----------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(rename = "Version")]
    version: Option<String>,
    #[serde(rename = "Id")]
    id: Option<String>,
    #[serde(rename = "Statement")]
    statement: Option<OneOrMany<RawStatement>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStatement {
    #[serde(rename = "Sid")]
    sid: Option<String>,
    #[serde(rename = "Effect")]
    effect: Option<String>,
    #[serde(rename = "Principal")]
    principal: Option<Value>,
    #[serde(rename = "NotPrincipal")]
    not_principal: Option<Value>,
    #[serde(rename = "Action")]
    action: Option<OneOrMany<String>>,
    #[serde(rename = "NotAction")]
    not_action: Option<OneOrMany<String>>,
    #[serde(rename = "Resource")]
    resource: Option<OneOrMany<String>>,
    #[serde(rename = "NotResource")]
    not_resource: Option<OneOrMany<String>>,
    #[serde(rename = "Condition")]
    condition: Option<Ordered<Ordered<OneOrMany<Scalar>>>>,
}

/// A value IAM takes either alone or in an array.
#[derive(Clone, Debug)]
struct OneOrMany<T>(Vec<T>);

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        self.0
    }
}

/// Read without going through `serde_json::Value`, which would keep only the last of two
/// equal keys of a statement (and lose the error's position).
impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Items<T>(PhantomData<T>);
        impl<T> Items<T> {
            fn one<'de, D: Deserializer<'de>>(d: D) -> Result<OneOrMany<T>, D::Error>
            where
                T: Deserialize<'de>,
            {
                T::deserialize(d).map(|one| OneOrMany(vec![one]))
            }
        }
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Items<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value or an array of values")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(OneOrMany(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                Self::one(MapAccessDeserializer::new(map))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Self::one(v.into_deserializer())
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Self::one(v.into_deserializer())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Self::one(v.into_deserializer())
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Self::one(v.into_deserializer())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Self::one(v.into_deserializer())
            }
        }
        d.deserialize_any(Items(PhantomData))
    }
}

/// A JSON object read in document order with every key kept, duplicates included (a map
/// would keep only the last; the caller refuses duplicates by name).
#[derive(Clone, Debug)]
struct Ordered<T>(Vec<(String, T)>);

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Entries<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered<T>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Ordered(entries))
            }
        }
        d.deserialize_map(Entries(PhantomData))
    }
}

impl<'de> Deserialize<'de> for Policy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Policy::from_raw(RawPolicy::deserialize(d)?).map_err(de::Error::custom)
    }
}

impl Serialize for Policy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        if let Some(v) = self.version {
            map.serialize_entry("Version", v.as_str())?;
        }
        if let Some(id) = &self.id {
            map.serialize_entry("Id", id)?;
        }
        map.serialize_entry("Statement", &self.statements)?;
        map.end()
    }
}

impl Serialize for Statement {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        if let Some(sid) = &self.sid {
            map.serialize_entry("Sid", sid)?;
        }
        map.serialize_entry("Effect", self.effect.as_str())?;
        if let Some(p) = &self.principal {
            let name = if p.negated {
                "NotPrincipal"
            } else {
                "Principal"
            };
            map.serialize_entry(name, &p.spec)?;
        }
        let name = if self.actions.negated {
            "NotAction"
        } else {
            "Action"
        };
        let actions: Vec<&str> = self
            .actions
            .items
            .iter()
            .map(|a| a.source.as_str())
            .collect();
        map.serialize_entry(name, &actions)?;
        if let Resources::List { negated, items } = &self.resources {
            let name = if *negated { "NotResource" } else { "Resource" };
            let list: Vec<&str> = items.iter().map(|r| r.source.as_str()).collect();
            map.serialize_entry(name, &list)?;
        }
        if !self.conditions.is_empty() {
            map.serialize_entry("Condition", &ConditionBlock(&self.conditions))?;
        }
        map.end()
    }
}

impl Serialize for PrincipalSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PrincipalSpec::Everyone => s.serialize_str("*"),
            PrincipalSpec::Typed(kinds) => {
                let mut map = s.serialize_map(Some(kinds.len()))?;
                for (kind, names) in kinds {
                    map.serialize_entry(kind, names)?;
                }
                map.end()
            }
        }
    }
}

/// Conditions regrouped by operator, in the order they were read.
struct ConditionBlock<'a>(&'a [Condition]);

impl Serialize for ConditionBlock<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        let mut rest = self.0;
        while let Some(first) = rest.first() {
            let same = rest
                .iter()
                .take_while(|c| c.operator_name() == first.operator_name())
                .count();
            map.serialize_entry(first.operator_name(), &KeyBlock(&rest[..same]))?;
            rest = &rest[same..];
        }
        map.end()
    }
}

struct KeyBlock<'a>(&'a [Condition]);

impl Serialize for KeyBlock<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for c in self.0 {
            map.serialize_entry(c.key(), c.values())?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests;
