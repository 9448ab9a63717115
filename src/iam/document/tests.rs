//! Parsing, validation errors and the JSON round trip.

use super::*;
use crate::canned::CANNED;

/// A statement with these elements (JSON object members) in a 2012-10-17 policy.
fn with_statement(members: &str) -> String {
    format!(r#"{{"Version": "2012-10-17", "Statement": {{{members}}}}}"#)
}

fn statement_error(json: &str) -> StatementError {
    match Policy::parse(json) {
        Err(PolicyError::Statement { error, .. }) => error,
        other => panic!("expected a statement error for {json}, got {other:?}"),
    }
}

#[test]
fn statement_errors_are_typed() {
    use StatementError as E;
    let get = r#""Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*""#;
    let cases: Vec<(String, E)> = vec![
        (r#""Action": "s3:*", "Resource": "*""#.into(), E::MissingEffect),
        (format!(r#""Effect": "allow", {get}"#), E::UnknownEffect("allow".into())),
        (format!(r#""Effect": "Permit", {get}"#), E::UnknownEffect("Permit".into())),
        (r#""Effect": "Allow", "Resource": "*""#.into(), E::MissingAction),
        (r#""Effect": "Allow", "Action": [], "Resource": "*""#.into(), E::MissingAction),
        (
            r#""Effect": "Allow", "Action": "s3:GetObject", "NotAction": "s3:PutObject", "Resource": "*""#.into(),
            E::ActionAndNotAction,
        ),
        (r#""Effect": "Allow", "Action": "GetObject", "Resource": "*""#.into(), E::InvalidAction("GetObject".into())),
        (r#""Effect": "Allow", "Action": "s3:", "Resource": "*""#.into(), E::InvalidAction("s3:".into())),
        (r#""Effect": "Allow", "Action": "s3:Get Object", "Resource": "*""#.into(), E::InvalidAction("s3:Get Object".into())),
        (r#""Effect": "Allow", "Action": "s3:GetObject""#.into(), E::MissingResource),
        (r#""Effect": "Allow", "Action": "*""#.into(), E::MissingResource),
        (r#""Effect": "Allow", "NotAction": "admin:*""#.into(), E::MissingResource),
        (r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": []"#.into(), E::MissingResource),
        (
            r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "NotResource": "arn:aws:s3:::b""#.into(),
            E::ResourceAndNotResource,
        ),
        (r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": "b/*""#.into(), E::InvalidResource("b/*".into())),
        (r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3""#.into(), E::InvalidResource("arn:aws:s3".into())),
        (r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn::s3:::b""#.into(), E::InvalidResource("arn::s3:::b".into())),
        (r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::""#.into(), E::InvalidResource("arn:aws:s3:::".into())),
        (
            r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${aws:username""#.into(),
            E::InvalidVariable("arn:aws:s3:::b/${aws:username".into()),
        ),
        (format!(r#""Effect": "Allow", "Principal": "*", "NotPrincipal": "*", {get}"#), E::PrincipalAndNotPrincipal),
        (format!(r#""Effect": "Allow", "Principal": "alice", {get}"#), E::InvalidPrincipal("\"alice\"".into())),
        (format!(r#""Effect": "Allow", "Principal": {{"Bogus": "*"}}, {get}"#), E::InvalidPrincipal("Bogus".into())),
        (format!(r#""Effect": "Allow", "Principal": {{"AWS": "ali*"}}, {get}"#), E::InvalidPrincipal("\"ali*\"".into())),
        (format!(r#""Effect": "Allow", "Principal": {{"AWS": []}}, {get}"#), E::InvalidPrincipal("[]".into())),
        (format!(r#""Effect": "Allow", "Principal": {{}}, {get}"#), E::InvalidPrincipal("{}".into())),
        (
            format!(r#""Effect": "Allow", {get}, "Condition": {{"StringEqual": {{"s3:prefix": "a"}}}}"#),
            E::UnknownOperator("StringEqual".into()),
        ),
        (
            format!(r#""Effect": "Allow", {get}, "Condition": {{"NullIfExists": {{"s3:prefix": "true"}}}}"#),
            E::UnknownOperator("NullIfExists".into()),
        ),
        (
            format!(r#""Effect": "Allow", {get}, "Condition": {{"StringEquals": {{"prefix": "a"}}}}"#),
            E::InvalidConditionKey("prefix".into()),
        ),
        (
            format!(r#""Effect": "Allow", {get}, "Condition": {{"StringEquals": {{"s3:prefix": []}}}}"#),
            E::EmptyCondition { operator: "StringEquals".into(), key: "s3:prefix".into() },
        ),
        (
            format!(r#""Effect": "Allow", {get}, "Condition": {{"StringEquals": {{"s3:prefix": "a", "S3:Prefix": "b"}}}}"#),
            E::DuplicateConditionKey { operator: "StringEquals".into(), key: "S3:Prefix".into() },
        ),
        (
            format!(r#""Effect": "Allow", {get}, "Condition": {{"Bool": {{"aws:SecureTransport": "true"}}, "Bool": {{"aws:SecureTransport": "false"}}}}"#),
            E::DuplicateOperator("Bool".into()),
        ),
        (
            format!(r#""Effect": "Allow", {get}, "Condition": {{"NumericLessThan": {{"s3:max-keys": "many"}}}}"#),
            E::InvalidConditionValue { operator: "NumericLessThan".into(), key: "s3:max-keys".into(), value: "many".into() },
        ),
    ];
    for (members, want) in cases {
        assert_eq!(
            statement_error(&with_statement(&members)),
            want,
            "{members}"
        );
    }
}

#[test]
fn document_errors_are_typed() {
    type Expected = fn(&PolicyError) -> bool;
    let cases: &[(&str, Expected)] = &[
        ("not json", |e| matches!(e, PolicyError::Json(_))),
        (
            r#"{"Version": "2020-01-01", "Statement": []}"#,
            |e| matches!(e, PolicyError::UnknownVersion(v) if v == "2020-01-01"),
        ),
        (r#"{"Version": "2012-10-17"}"#, |e| {
            matches!(e, PolicyError::MissingStatement)
        }),
        (r#"{"Version": "2012-10-17", "Statement": []}"#, |e| {
            matches!(e, PolicyError::MissingStatement)
        }),
        // Unknown elements are refused: a misspelt Condition must not widen an Allow.
        (
            r#"{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condtion": {}}}"#,
            |e| matches!(e, PolicyError::Json(j) if j.to_string().contains("Condtion")),
        ),
        (r#"{"Statement": [], "Extra": 1}"#, |e| {
            matches!(e, PolicyError::Json(_))
        }),
        // The same element twice in a statement (JSON would keep the last).
        (
            r#"{"Statement": {"Effect": "Deny", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}}"#,
            |e| matches!(e, PolicyError::Json(j) if j.to_string().contains("duplicate")),
        ),
        (
            r#"{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": {"s3:prefix": null}}}}"#,
            |e| matches!(e, PolicyError::Json(_)),
        ),
        (
            r#"{"Statement": {"Effect": "Allow", "Action": 3, "Resource": "*"}}"#,
            |e| matches!(e, PolicyError::Json(_)),
        ),
    ];
    for (json, is_expected) in cases {
        let err = Policy::parse(json).expect_err(json);
        assert!(is_expected(&err), "{json}: {err:?}");
    }
}

#[test]
fn statement_errors_say_which_statement() {
    let json = r#"{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
        {"Sid": "Second", "Effect": "Alow", "Action": "s3:GetObject", "Resource": "*"}
    ]}"#;
    let err = Policy::parse(json).expect_err("bad effect");
    assert!(
        matches!(&err, PolicyError::Statement { index: 1, sid: Some(s), error: StatementError::UnknownEffect(e) }
            if s == "Second" && e == "Alow"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "statement 1 (Second): unknown Effect \"Alow\" (expected \"Allow\" or \"Deny\")"
    );
}

#[test]
fn versions() {
    let statement = r#""Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}"#;
    let cases = [
        (r#""Version": "2012-10-17","#, Some(Version::Current)),
        (r#""Version": "2008-10-17","#, Some(Version::Legacy)),
        ("", None),
    ];
    for (version, want) in cases {
        let p = Policy::parse(&format!("{{{version} {statement}}}")).expect(version);
        assert_eq!(p.version(), want, "{version}");
    }
}

#[test]
fn non_s3_statements_may_omit_the_resource() {
    for action in [r#""admin:*""#, r#"["kms:*", "sts:AssumeRole"]"#] {
        let json = with_statement(&format!(r#""Effect": "Allow", "Action": {action}"#));
        let p = Policy::parse(&json).expect(action);
        assert_eq!(p.statements()[0].resources, Resources::Any, "{action}");
    }
    let mixed = with_statement(r#""Effect": "Allow", "Action": ["admin:*", "S3:GetObject"]"#);
    assert_eq!(statement_error(&mixed), StatementError::MissingResource);
}

#[test]
fn identity_and_bucket_policies_have_their_own_rules() {
    let with_principal = with_statement(
        r#""Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*""#,
    );
    let without = with_statement(
        r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*""#,
    );
    let in_statement = |r: Result<Policy, PolicyError>| match r {
        Err(PolicyError::Statement { error, .. }) => Some(error),
        Ok(_) => None,
        Err(other) => panic!("{other:?}"),
    };
    assert_eq!(
        in_statement(Policy::parse_identity(&with_principal)),
        Some(StatementError::UnexpectedPrincipal)
    );
    assert_eq!(in_statement(Policy::parse_identity(&without)), None);
    assert_eq!(
        in_statement(Policy::parse_bucket(&with_principal, "photos")),
        None
    );
    assert_eq!(
        in_statement(Policy::parse_bucket(&without, "photos")),
        Some(StatementError::MissingPrincipal)
    );
    let outside = |resource: &str| {
        with_statement(&format!(
            r#""Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "{resource}""#
        ))
    };
    let cases: &[(&str, bool)] = &[
        ("arn:aws:s3:::photos", true),
        ("arn:aws:s3:::photos/2024/*", true),
        ("arn:aws:s3:::photo*/x", true),
        ("arn:aws:s3:::*", true),
        ("arn:aws:s3:::videos/*", false),
        ("arn:aws:s3:::photos-old/*", false),
        ("*", false),
        ("arn:aws:iam:::user/alice", false),
    ];
    for (resource, ok) in cases {
        let got = in_statement(Policy::parse_bucket(&outside(resource), "photos"));
        let want = (!ok).then(|| StatementError::ResourceOutsideBucket {
            resource: resource.to_string(),
            bucket: "photos".into(),
        });
        assert_eq!(got, want, "{resource}");
    }
}

/// Documents whose JSON must survive a round trip.
const DOCUMENTS: [&str; 4] = [
    r#"{"Version": "2012-10-17", "Id": "home", "Statement": [
        {"Sid": "List", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b",
         "Condition": {"StringLike": {"s3:prefix": ["home/${aws:username}/*", "home/${aws:username}"]}}},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::b/home/${aws:username}/*"}
    ]}"#,
    r#"{"Statement": {"Effect": "Deny", "NotPrincipal": {"AWS": ["alice", "arn:aws:iam:::user/bob"]},
        "NotAction": "s3:GetObject", "NotResource": ["arn:aws:s3:::b/public/*"],
        "Condition": {"NumericLessThan": {"s3:max-keys": 10}, "Bool": {"aws:SecureTransport": false},
                      "ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": ["a", "b"]},
                      "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}}"#,
    r#"{"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${x}"}]}"#,
    r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*", "Service": "s3.amazonaws.com"}, "Action": "*", "Resource": "*"}]}"#,
];

#[test]
fn json_round_trips() {
    let canned = CANNED.iter().map(|(_, json)| *json);
    for json in DOCUMENTS.into_iter().chain(canned) {
        let policy = Policy::parse(json).unwrap_or_else(|e| panic!("{e}: {json}"));
        let written = policy.to_json();
        let again = Policy::parse(&written).unwrap_or_else(|e| panic!("{e}: {written}"));
        assert_eq!(again, policy, "{written}");
        assert_eq!(again.to_json(), written);
    }
}

#[test]
fn json_is_written_in_aws_form() {
    let policy = Policy::parse(DOCUMENTS[1]).expect("parses");
    let written: Value = serde_json::from_str(&policy.to_json()).expect("json");
    let want: Value = serde_json::from_str(
        r#"{"Statement": [{"Effect": "Deny", "NotPrincipal": {"AWS": ["alice", "arn:aws:iam:::user/bob"]},
            "NotAction": ["s3:GetObject"], "NotResource": ["arn:aws:s3:::b/public/*"],
            "Condition": {"NumericLessThan": {"s3:max-keys": [10]}, "Bool": {"aws:SecureTransport": [false]},
                          "ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": ["a", "b"]},
                          "IpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}}}]}"#,
    )
    .expect("json");
    assert_eq!(written, want);
    let text = Policy::parse(DOCUMENTS[0]).expect("parses").to_json();
    assert!(text.starts_with(r#"{"Version":"2012-10-17","Id":"home","Statement":[{"Sid":"List","Effect":"Allow","Action":"#), "{text}");
}

#[test]
fn serde_reads_and_writes_policies() {
    let policy: Policy = serde_json::from_str(DOCUMENTS[0]).expect("deserializes");
    assert_eq!(policy, Policy::parse(DOCUMENTS[0]).expect("parses"));
    assert_eq!(
        serde_json::to_string(&policy).expect("serializes"),
        policy.to_json()
    );
    let bad = serde_json::from_str::<Policy>(
        r#"{"Statement": {"Effect": "Maybe", "Action": "s3:*", "Resource": "*"}}"#,
    )
    .expect_err("bad effect");
    assert!(
        bad.to_string().contains("unknown Effect \"Maybe\""),
        "{bad}"
    );
    assert_eq!(
        "not json"
            .parse::<Policy>()
            .map(|_| ())
            .map_err(|e| matches!(e, PolicyError::Json(_))),
        Err(true)
    );
}
