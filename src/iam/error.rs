//! Why a policy document is refused: the document as a whole ([`PolicyError`]) or one of its
//! statements ([`StatementError`], with the statement's position and `Sid`). The admin API
//! returns these messages to whoever uploaded the policy, so each names what is wrong.

/// A policy document that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy is not a valid JSON policy document: {0}")]
    Json(#[from] serde_json::Error),
    #[error("unknown policy Version {0:?} (expected \"2012-10-17\" or \"2008-10-17\")")]
    UnknownVersion(String),
    #[error("policy has no Statement")]
    MissingStatement,
    #[error("statement {index}{}: {error}", sid.as_deref().map(|s| format!(" ({s})")).unwrap_or_default())]
    Statement {
        /// Position in `Statement`, from 0.
        index: usize,
        sid: Option<String>,
        #[source]
        error: StatementError,
    },
}

/// A statement that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    #[error("statement has no Effect")]
    MissingEffect,
    #[error("unknown Effect {0:?} (expected \"Allow\" or \"Deny\")")]
    UnknownEffect(String),
    #[error("statement has neither Action nor NotAction")]
    MissingAction,
    #[error("statement has both Action and NotAction")]
    ActionAndNotAction,
    #[error("invalid action {0:?} (expected \"*\" or \"service:Name\", e.g. \"s3:GetObject\")")]
    InvalidAction(String),
    #[error("statement has neither Resource nor NotResource")]
    MissingResource,
    #[error("statement has both Resource and NotResource")]
    ResourceAndNotResource,
    #[error("invalid resource {0:?} (expected \"*\" or an ARN, e.g. \"arn:aws:s3:::bucket/*\")")]
    InvalidResource(String),
    #[error("resource {resource:?} is not in bucket {bucket:?}")]
    ResourceOutsideBucket { resource: String, bucket: String },
    #[error("statement has both Principal and NotPrincipal")]
    PrincipalAndNotPrincipal,
    #[error("invalid principal {0:?}")]
    InvalidPrincipal(String),
    #[error("a bucket policy statement needs a Principal or NotPrincipal")]
    MissingPrincipal,
    #[error("an identity policy cannot name a Principal or NotPrincipal")]
    UnexpectedPrincipal,
    #[error("unknown condition operator {0:?}")]
    UnknownOperator(String),
    #[error("condition operator {0:?} appears twice")]
    DuplicateOperator(String),
    #[error("invalid condition key {0:?} (expected \"service:name\")")]
    InvalidConditionKey(String),
    #[error("condition key {key:?} appears twice under {operator}")]
    DuplicateConditionKey { operator: String, key: String },
    #[error("condition {operator} on {key:?} lists no value")]
    EmptyCondition { operator: String, key: String },
    #[error("invalid value {value:?} for condition {operator} on {key:?}")]
    InvalidConditionValue {
        operator: String,
        key: String,
        value: String,
    },
    #[error("invalid policy variable in {0:?}")]
    InvalidVariable(String),
}
