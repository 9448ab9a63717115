//! The `Condition` element: operator → key → values, each compiled once when the policy is
//! parsed and tested against the request's [`Context`].
//!
//! Semantics implemented (AWS's, "IAM JSON policy elements: Condition operators" and
//! "Conditions with multiple context keys or values"):
//! - Every operator block and every key within it must hold (AND); the values listed for one
//!   key are alternatives (OR): a request value *matches* when it matches one of them.
//! - A negated operator (`StringNotEquals`, `StringNotLike`, `StringNotEqualsIgnoreCase`,
//!   `NumericNotEquals`, `DateNotEquals`, `NotIpAddress`, `ArnNotEquals`, `ArnNotLike`) holds
//!   for a request value that matches *none* of the listed values (NOR).
//! - Without a set qualifier, a positive operator holds when one request value matches; a
//!   negated one when no request value matches. A key absent from the request (or with no
//!   value) fails a positive operator and satisfies a negated one.
//! - `ForAnyValue:` holds when at least one request value passes the (positive or negated)
//!   test, and fails when the key is absent. `ForAllValues:` holds when every request value
//!   passes, and holds when the key is absent (AWS's documented trap: pair it with `Null`).
//! - `…IfExists` holds when the key is absent, and otherwise is the operator without it.
//! - `Null`: `true` holds when the key is absent, `false` when it is present. It takes neither
//!   a qualifier nor `IfExists` (IAM refuses both).
//! - A request value of the wrong type (not a number, a date, an IP address, a boolean or an
//!   ARN) matches no listed value, so it fails a positive operator and passes a negated one.
//! - Policy variables (`${aws:username}`) are read in the values of the String, Arn operators;
//!   a variable with no value makes that one listed value match nothing.
//! - `BinaryEquals` compares the base64 text as given (no decoding).

use crate::cidr::Cidr;
use crate::date;
use crate::error::StatementError;
use crate::pattern::{matches, Tok};
use crate::request::Context;
use crate::variable::{valid_key, Template};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// The base operators, by AWS's names (case-sensitive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

use Operator as O;

const NAMES: [(&str, Operator); 27] = [
    ("StringEquals", O::StringEquals),
    ("StringNotEquals", O::StringNotEquals),
    ("StringEqualsIgnoreCase", O::StringEqualsIgnoreCase),
    ("StringNotEqualsIgnoreCase", O::StringNotEqualsIgnoreCase),
    ("StringLike", O::StringLike),
    ("StringNotLike", O::StringNotLike),
    ("NumericEquals", O::NumericEquals),
    ("NumericNotEquals", O::NumericNotEquals),
    ("NumericLessThan", O::NumericLessThan),
    ("NumericLessThanEquals", O::NumericLessThanEquals),
    ("NumericGreaterThan", O::NumericGreaterThan),
    ("NumericGreaterThanEquals", O::NumericGreaterThanEquals),
    ("DateEquals", O::DateEquals),
    ("DateNotEquals", O::DateNotEquals),
    ("DateLessThan", O::DateLessThan),
    ("DateLessThanEquals", O::DateLessThanEquals),
    ("DateGreaterThan", O::DateGreaterThan),
    ("DateGreaterThanEquals", O::DateGreaterThanEquals),
    ("Bool", O::Bool),
    ("BinaryEquals", O::BinaryEquals),
    ("IpAddress", O::IpAddress),
    ("NotIpAddress", O::NotIpAddress),
    ("ArnEquals", O::ArnEquals),
    ("ArnLike", O::ArnLike),
    ("ArnNotEquals", O::ArnNotEquals),
    ("ArnNotLike", O::ArnNotLike),
    ("Null", O::Null),
];

impl Operator {
    /// The operator of this exact name (no qualifier, no `IfExists`).
    pub fn from_name(name: &str) -> Option<Operator> {
        NAMES.iter().find(|(n, _)| *n == name).map(|(_, o)| *o)
    }

    /// Whether it holds for a value that matches none of the listed ones.
    pub fn is_negated(self) -> bool {
        matches!(
            self,
            O::StringNotEquals
                | O::StringNotEqualsIgnoreCase
                | O::StringNotLike
                | O::NumericNotEquals
                | O::DateNotEquals
                | O::NotIpAddress
                | O::ArnNotEquals
                | O::ArnNotLike
        )
    }
}

/// `ForAnyValue:` / `ForAllValues:`, for keys with several values in one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Qualifier {
    ForAnyValue,
    ForAllValues,
}

/// A full operator as written: qualifier, base operator, `IfExists`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConditionOperator {
    pub qualifier: Option<Qualifier>,
    pub operator: Operator,
    pub if_exists: bool,
}

impl ConditionOperator {
    /// Reads `[ForAnyValue:|ForAllValues:]Operator[IfExists]`.
    pub fn parse(name: &str) -> Option<ConditionOperator> {
        let (qualifier, rest) = if let Some(r) = name.strip_prefix("ForAnyValue:") {
            (Some(Qualifier::ForAnyValue), r)
        } else if let Some(r) = name.strip_prefix("ForAllValues:") {
            (Some(Qualifier::ForAllValues), r)
        } else {
            (None, name)
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        let operator = Operator::from_name(base)?;
        if operator == O::Null && (if_exists || qualifier.is_some()) {
            return None;
        }
        Some(ConditionOperator {
            qualifier,
            operator,
            if_exists,
        })
    }
}

/// A value as written in the policy: IAM takes strings, numbers and booleans alike.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum Scalar {
    Bool(bool),
    Number(serde_json::Number),
    String(String),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Bool(b) => b.to_string(),
            Scalar::Number(n) => n.to_string(),
            Scalar::String(s) => s.clone(),
        }
    }
}

/// The listed values, compiled for their operator's family.
#[derive(Clone, Debug, PartialEq)]
enum Listed {
    /// String and Arn operators (patterns, with variables); `ignore_case` lower-cases both
    /// sides; `arn` matches the six colon-separated fields of an ARN one by one.
    Text {
        templates: Vec<Template>,
        ignore_case: bool,
        arn: bool,
    },
    Numbers(Vec<f64>),
    Dates(Vec<i64>),
    Bools(Vec<bool>),
    Ranges(Vec<Cidr>),
    /// `Null`: whether the key must be absent.
    Null(bool),
}

/// One `operator: { key: values }` entry of a statement's `Condition`.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    operator_name: String,
    operator: ConditionOperator,
    key: String,
    values: Vec<Scalar>,
    listed: Listed,
}

impl Condition {
    /// Compiles one entry. `variables`: the policy's version reads `${…}`.
    pub(crate) fn new(
        operator_name: &str,
        key: &str,
        values: Vec<Scalar>,
        variables: bool,
    ) -> Result<Condition, StatementError> {
        let operator = ConditionOperator::parse(operator_name)
            .ok_or_else(|| StatementError::UnknownOperator(operator_name.to_string()))?;
        if !valid_key(key) {
            return Err(StatementError::InvalidConditionKey(key.to_string()));
        }
        if values.is_empty() {
            return Err(StatementError::EmptyCondition {
                operator: operator_name.to_string(),
                key: key.to_string(),
            });
        }
        let texts: Vec<String> = values.iter().map(Scalar::text).collect();
        let listed = compile(operator.operator, &texts, variables).map_err(|value| {
            StatementError::InvalidConditionValue {
                operator: operator_name.to_string(),
                key: key.to_string(),
                value,
            }
        })?;
        Ok(Condition {
            operator_name: operator_name.to_string(),
            operator,
            key: key.to_string(),
            values,
            listed,
        })
    }

    pub fn operator(&self) -> ConditionOperator {
        self.operator
    }

    /// The operator as written (`ForAnyValue:StringLike`).
    pub fn operator_name(&self) -> &str {
        &self.operator_name
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub(crate) fn values(&self) -> &[Scalar] {
        &self.values
    }

    /// Whether the condition holds for a request with this context.
    pub fn holds(&self, context: &Context) -> bool {
        let present = context.get(&self.key);
        if let Listed::Null(must_be_absent) = self.listed {
            return present.is_none() == must_be_absent;
        }
        let negated = self.operator.operator.is_negated();
        let Some(request_values) = present else {
            return self.operator.if_exists
                || match self.operator.qualifier {
                    Some(Qualifier::ForAllValues) => true,
                    Some(Qualifier::ForAnyValue) => false,
                    None => negated,
                };
        };
        let passes = |v: &String| self.matches_any(v, context) != negated;
        // Unqualified: a positive operator wants one match, a negated one wants none, which
        // is "every value passes the negated test".
        let every = match self.operator.qualifier {
            Some(Qualifier::ForAllValues) => true,
            Some(Qualifier::ForAnyValue) => false,
            None => negated,
        };
        if every {
            request_values.iter().all(passes)
        } else {
            request_values.iter().any(passes)
        }
    }

    /// Whether the request value matches one of the listed values, by the base operator's
    /// positive form (`StringNotLike` asks `StringLike`, `NotIpAddress` asks `IpAddress`).
    fn matches_any(&self, value: &str, context: &Context) -> bool {
        let op = self.operator.operator;
        match &self.listed {
            Listed::Text {
                templates,
                ignore_case,
                arn,
            } => templates
                .iter()
                .filter_map(|t| t.resolve(context))
                .any(|p| text_matches(&p, value, *ignore_case, *arn)),
            Listed::Numbers(listed) => parse_number(value).is_some_and(|v| {
                listed
                    .iter()
                    .any(|l| v.partial_cmp(l).is_some_and(|o| compare(op, o)))
            }),
            Listed::Dates(listed) => {
                date::parse(value).is_some_and(|v| listed.iter().any(|l| compare(op, v.cmp(l))))
            }
            Listed::Bools(listed) => parse_bool(value).is_some_and(|v| listed.contains(&v)),
            Listed::Ranges(listed) => value
                .trim()
                .parse::<IpAddr>()
                .is_ok_and(|ip| listed.iter().any(|r| r.contains(ip))),
            Listed::Null(_) => false,
        }
    }
}

/// Compiles the listed values for `op`; the offending value on error.
fn compile(op: Operator, texts: &[String], variables: bool) -> Result<Listed, String> {
    Ok(match op {
        O::StringEquals | O::StringNotEquals => text(texts, false, variables, false, false)?,
        O::StringEqualsIgnoreCase | O::StringNotEqualsIgnoreCase => {
            text(texts, false, variables, true, false)?
        }
        O::StringLike | O::StringNotLike => text(texts, true, variables, false, false)?,
        O::ArnEquals | O::ArnLike | O::ArnNotEquals | O::ArnNotLike => {
            text(texts, true, variables, false, true)?
        }
        O::BinaryEquals => text(texts, false, false, false, false)?,
        O::NumericEquals
        | O::NumericNotEquals
        | O::NumericLessThan
        | O::NumericLessThanEquals
        | O::NumericGreaterThan
        | O::NumericGreaterThanEquals => Listed::Numbers(each(texts, parse_number)?),
        O::DateEquals
        | O::DateNotEquals
        | O::DateLessThan
        | O::DateLessThanEquals
        | O::DateGreaterThan
        | O::DateGreaterThanEquals => Listed::Dates(each(texts, date::parse)?),
        O::Bool => Listed::Bools(each(texts, parse_bool)?),
        O::IpAddress | O::NotIpAddress => Listed::Ranges(each(texts, Cidr::parse)?),
        O::Null => match each(texts, parse_bool)?.as_slice() {
            [one] => Listed::Null(*one),
            _ => return Err(texts.join(",")),
        },
    })
}

/// Parses every text with `parse`; the first that does not parse on error.
fn each<T>(texts: &[String], parse: impl Fn(&str) -> Option<T>) -> Result<Vec<T>, String> {
    texts
        .iter()
        .map(|t| parse(t).ok_or_else(|| t.clone()))
        .collect()
}

fn text(
    texts: &[String],
    wildcards: bool,
    variables: bool,
    ignore_case: bool,
    arn: bool,
) -> Result<Listed, String> {
    let templates = each(texts, |t| Template::parse(t, wildcards, variables).ok())?;
    Ok(Listed::Text {
        templates,
        ignore_case,
        arn,
    })
}

/// A finite decimal number (`10`, `-2.5`, `1e3`); not `NaN` nor `inf`.
fn parse_number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Whether `request ⋄ listed` for the comparison operator `op` (Equals / NotEquals ask
/// equality: the negation is applied by the caller).
fn compare(op: Operator, ordering: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    match op {
        O::NumericLessThan | O::DateLessThan => ordering == Less,
        O::NumericLessThanEquals | O::DateLessThanEquals => ordering != Greater,
        O::NumericGreaterThan | O::DateGreaterThan => ordering == Greater,
        O::NumericGreaterThanEquals | O::DateGreaterThanEquals => ordering != Less,
        _ => ordering == Equal,
    }
}

/// Matches a resolved listed value against a request value; `ignore_case` lower-cases both
/// (a substituted variable included).
fn text_matches(pattern: &[Tok], value: &str, ignore_case: bool, arn: bool) -> bool {
    let (pattern, value) = if ignore_case {
        (lower(pattern), value.to_lowercase())
    } else {
        (pattern.to_vec(), value.to_string())
    };
    if arn {
        arn_matches(&pattern, &value)
    } else {
        matches(&pattern, &value)
    }
}

fn lower(pattern: &[Tok]) -> Vec<Tok> {
    let mut out = Vec::with_capacity(pattern.len());
    for tok in pattern {
        match tok {
            Tok::Lit(c) => out.extend(c.to_lowercase().map(Tok::Lit)),
            other => out.push(*other),
        }
    }
    out
}

/// ARN operators match each of the six fields (`arn:partition:service:region:account:rest`)
/// separately, so a `*` in the account field cannot swallow the region's colon.
fn arn_matches(pattern: &[Tok], value: &str) -> bool {
    let fields: Vec<&str> = value.splitn(6, ':').collect();
    let mut pattern_fields: Vec<&[Tok]> = Vec::with_capacity(6);
    let mut rest = pattern;
    while pattern_fields.len() < 5 {
        let Some(colon) = rest.iter().position(|t| *t == Tok::Lit(':')) else {
            break;
        };
        pattern_fields.push(&rest[..colon]);
        rest = &rest[colon + 1..];
    }
    pattern_fields.push(rest);
    fields.len() == 6
        && pattern_fields.len() == 6
        && fields
            .iter()
            .zip(&pattern_fields)
            .all(|(f, p)| matches(p, f))
}

#[cfg(test)]
mod tests;
