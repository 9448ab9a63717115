//! Each operator against present, absent, multi-valued and wrongly typed request values.

use super::*;

/// One condition: `operator`, `key`, its values as JSON (a scalar or an array).
fn condition(operator: &str, key: &str, values: &str) -> Condition {
    let values = scalars(values);
    Condition::new(operator, key, values, true).unwrap_or_else(|e| panic!("{operator} {key} {e}"))
}

fn scalars(json: &str) -> Vec<Scalar> {
    let values = match serde_json::from_str(json).expect("values json") {
        serde_json::Value::Array(items) => items,
        one => vec![one],
    };
    values
        .into_iter()
        .map(|v| serde_json::from_value(v).expect("scalar"))
        .collect()
}

/// (operator, listed values as JSON, the request's values of the key (none: absent), holds?)
type Case<'a> = (&'a str, &'a str, &'a [&'a str], bool);

/// Checks conditions on `key`, in a context that has `base` and the case's values of `key`.
fn check_in(base: &Context, key: &str, cases: &[Case]) {
    for (operator, listed, values, want) in cases {
        let mut cx = base.clone();
        cx.set_all(key, values.iter().copied());
        let c = condition(operator, key, listed);
        assert_eq!(
            c.holds(&cx),
            *want,
            "{operator} {{{key}: {listed}}} with {values:?}"
        );
    }
}

fn check(key: &str, cases: &[Case]) {
    check_in(&Context::new(), key, cases);
}

const ABSENT: &[&str] = &[];

#[test]
fn string_operators() {
    check(
        "s3:prefix",
        &[
            ("StringEquals", r#""home/""#, &["home/"], true),
            ("StringEquals", r#""home/""#, &["Home/"], false),
            ("StringEquals", r#""home/""#, &["home"], false),
            ("StringEquals", r#""home/""#, ABSENT, false),
            ("StringEquals", r#"["a", "b"]"#, &["b"], true),
            ("StringEquals", r#""a*""#, &["abc"], false),
            ("StringEquals", r#""a*""#, &["a*"], true),
            ("StringNotEquals", r#"["a", "b"]"#, &["c"], true),
            ("StringNotEquals", r#"["a", "b"]"#, &["a"], false),
            ("StringNotEquals", r#"["a", "b"]"#, ABSENT, true),
            ("StringLike", r#""home/*""#, &["home/alice/x"], true),
            ("StringLike", r#""home/*""#, &["other/"], false),
            ("StringLike", r#""home/?""#, &["home/ab"], false),
            ("StringLike", r#""home/*""#, ABSENT, false),
            ("StringNotLike", r#""home/*""#, &["other/"], true),
            ("StringNotLike", r#""home/*""#, &["home/a"], false),
            ("StringNotLike", r#""home/*""#, ABSENT, true),
        ],
    );
    check(
        "s3:x-amz-acl",
        &[
            ("StringEqualsIgnoreCase", r#""PRIVATE""#, &["private"], true),
            (
                "StringEqualsIgnoreCase",
                r#""PRIVATE""#,
                &["public-read"],
                false,
            ),
            ("StringEqualsIgnoreCase", r#""PRIVATE""#, ABSENT, false),
            (
                "StringNotEqualsIgnoreCase",
                r#""PRIVATE""#,
                &["Private"],
                false,
            ),
            (
                "StringNotEqualsIgnoreCase",
                r#""PRIVATE""#,
                &["public-read"],
                true,
            ),
            ("StringNotEqualsIgnoreCase", r#""PRIVATE""#, ABSENT, true),
            ("BinaryEquals", r#""QmluYXJ5""#, &["QmluYXJ5"], true),
            ("BinaryEquals", r#""QmluYXJ5""#, &["QmluYXJ6"], false),
        ],
    );
}

#[test]
fn condition_keys_are_case_insensitive() {
    let cx = Context::new().with("aws:username", "alice");
    assert!(condition("StringEquals", "AWS:UserName", r#""alice""#).holds(&cx));
    assert!(!condition("StringEquals", "AWS:UserName", r#""Alice""#).holds(&cx));
}

#[test]
fn numeric_operators() {
    check(
        "s3:max-keys",
        &[
            ("NumericEquals", "10", &["10"], true),
            ("NumericEquals", r#""10""#, &["10.0"], true),
            ("NumericEquals", "10", &["11"], false),
            ("NumericEquals", "10", &["ten"], false),
            ("NumericEquals", "10", ABSENT, false),
            ("NumericNotEquals", "10", &["11"], true),
            ("NumericNotEquals", "10", &["10"], false),
            ("NumericNotEquals", "10", ABSENT, true),
            // A value of the wrong type matches nothing: the negated operator holds.
            ("NumericNotEquals", "10", &["NaN"], true),
            ("NumericLessThan", "100", &["99"], true),
            ("NumericLessThan", "100", &["100"], false),
            ("NumericLessThanEquals", "100", &["100"], true),
            ("NumericLessThanEquals", "100", &["101"], false),
            ("NumericGreaterThan", "10", &["10.5"], true),
            ("NumericGreaterThan", "10", &["10"], false),
            ("NumericGreaterThanEquals", "10", &["10"], true),
            ("NumericGreaterThanEquals", "10", &["-3"], false),
            ("NumericGreaterThanEquals", "10", ABSENT, false),
        ],
    );
}

#[test]
fn date_operators() {
    let end = r#""2030-01-01T00:00:00Z""#;
    check(
        "aws:CurrentTime",
        &[
            ("DateLessThan", end, &["2024-06-01T12:00:00Z"], true),
            ("DateLessThan", end, &["2031-06-01T12:00:00Z"], false),
            ("DateLessThan", end, &["soon"], false),
            ("DateLessThan", end, ABSENT, false),
            (
                "DateLessThanEquals",
                r#""2024-01-01""#,
                &["2024-01-01T00:00:00Z"],
                true,
            ),
            (
                "DateLessThanEquals",
                r#""2024-01-01""#,
                &["2024-01-01T00:00:01Z"],
                false,
            ),
            (
                "DateGreaterThan",
                "1700000000",
                &["2024-01-01T00:00:00Z"],
                true,
            ),
            (
                "DateGreaterThan",
                "1700000000",
                &["2023-01-01T00:00:00Z"],
                false,
            ),
            (
                "DateGreaterThanEquals",
                r#""2024-01-01T01:00:00+01:00""#,
                &["2024-01-01T00:00:00Z"],
                true,
            ),
        ],
    );
    check(
        "aws:EpochTime",
        &[
            ("DateEquals", r#""2024-01-01""#, &["1704067200"], true),
            ("DateEquals", r#""2024-01-01""#, &["1704067201"], false),
            ("DateNotEquals", r#""2024-01-01""#, &["1704067201"], true),
            ("DateNotEquals", r#""2024-01-01""#, &["1704067200"], false),
            ("DateNotEquals", r#""2024-01-01""#, ABSENT, true),
        ],
    );
}

#[test]
fn bool_and_null_operators() {
    check(
        "aws:SecureTransport",
        &[
            ("Bool", r#""true""#, &["true"], true),
            ("Bool", r#""true""#, &["TRUE"], true),
            ("Bool", r#""true""#, &["false"], false),
            ("Bool", r#""true""#, &["yes"], false),
            ("Bool", "false", &["false"], true),
            ("Bool", "false", ABSENT, false),
            ("BoolIfExists", "false", ABSENT, true),
            ("BoolIfExists", "false", &["true"], false),
        ],
    );
    check(
        "s3:x-amz-acl",
        &[
            ("Null", r#""true""#, ABSENT, true),
            ("Null", r#""true""#, &["private"], false),
            ("Null", "false", &["private"], true),
            ("Null", "false", ABSENT, false),
        ],
    );
}

#[test]
fn ip_address_operators() {
    let nets = r#"["203.0.113.0/24", "2001:db8::/32"]"#;
    check(
        "aws:SourceIp",
        &[
            ("IpAddress", nets, &["203.0.113.9"], true),
            ("IpAddress", nets, &["2001:db8::5"], true),
            ("IpAddress", nets, &["::ffff:203.0.113.9"], true),
            ("IpAddress", nets, &["198.51.100.1"], false),
            ("IpAddress", nets, &["not-an-ip"], false),
            ("IpAddress", nets, ABSENT, false),
            ("IpAddress", r#""192.0.2.1""#, &["192.0.2.1"], true),
            ("NotIpAddress", nets, &["198.51.100.1"], true),
            ("NotIpAddress", nets, &["203.0.113.9"], false),
            ("NotIpAddress", nets, ABSENT, true),
        ],
    );
}

#[test]
fn arn_operators_match_field_by_field() {
    let alice = "arn:aws:iam::123456789012:user/alice";
    let any_alice = r#""arn:aws:iam::*:user/alice""#;
    let in_bucket = r#""arn:aws:s3:::bucket/*""#;
    check(
        "aws:SourceArn",
        &[
            ("ArnLike", any_alice, &[alice], true),
            ("ArnEquals", any_alice, &[alice], true),
            ("ArnLike", r#""arn:aws:iam::*:user/*""#, &[alice], true),
            ("ArnLike", r#""arn:aws:iam::*:user/bob""#, &[alice], false),
            // A `*` stays within its field: as a plain glob this would match.
            ("ArnLike", r#""arn:*:user/alice""#, &[alice], false),
            ("ArnLike", in_bucket, &["arn:aws:s3:::bucket/a/b"], true),
            ("ArnLike", in_bucket, &["not-an-arn"], false),
            ("ArnLike", in_bucket, ABSENT, false),
            ("ArnNotLike", r#""arn:aws:iam::*:user/bob""#, &[alice], true),
            ("ArnNotEquals", any_alice, &[alice], false),
            ("ArnNotLike", any_alice, ABSENT, true),
        ],
    );
}

#[test]
fn if_exists_passes_an_absent_key() {
    check(
        "s3:x-amz-acl",
        &[
            ("StringEqualsIfExists", r#""private""#, ABSENT, true),
            ("StringEqualsIfExists", r#""private""#, &["private"], true),
            (
                "StringEqualsIfExists",
                r#""private""#,
                &["public-read"],
                false,
            ),
            ("StringNotEqualsIfExists", r#""public-read""#, ABSENT, true),
            (
                "StringNotEqualsIfExists",
                r#""public-read""#,
                &["public-read"],
                false,
            ),
        ],
    );
    check(
        "s3:max-keys",
        &[
            ("NumericLessThanIfExists", "10", ABSENT, true),
            ("NumericLessThanIfExists", "10", &["20"], false),
        ],
    );
    check(
        "aws:SourceIp",
        &[("IpAddressIfExists", r#""10.0.0.0/8""#, ABSENT, true)],
    );
    check(
        "s3:RequestObjectTagKeys",
        &[
            ("ForAnyValue:StringLikeIfExists", r#""t*""#, ABSENT, true),
            ("ForAnyValue:StringLikeIfExists", r#""t*""#, &["x"], false),
        ],
    );
}

#[test]
fn set_qualifiers_follow_aws() {
    let listed = r#"["team", "project"]"#;
    check(
        "s3:RequestObjectTagKeys",
        &[
            // Without a qualifier: one matching value suffices; a negated operator wants none.
            ("StringEquals", listed, &["x", "team"], true),
            ("StringNotEquals", listed, &["x", "team"], false),
            ("StringNotEquals", listed, &["x", "y"], true),
            ("ForAnyValue:StringEquals", listed, &["team", "x"], true),
            ("ForAnyValue:StringEquals", listed, &["x", "y"], false),
            ("ForAnyValue:StringEquals", listed, ABSENT, false),
            (
                "ForAllValues:StringEquals",
                listed,
                &["team", "project"],
                true,
            ),
            ("ForAllValues:StringEquals", listed, &["team", "x"], false),
            ("ForAllValues:StringEquals", listed, ABSENT, true),
            // AWS's table for a Deny with ForAllValues:StringNotLike "key1*".
            (
                "ForAllValues:StringNotLike",
                r#""key1*""#,
                &["key1:legal"],
                false,
            ),
            (
                "ForAllValues:StringNotLike",
                r#""key1*""#,
                &["key1:hr", "key1:personnel"],
                false,
            ),
            (
                "ForAllValues:StringNotLike",
                r#""key1*""#,
                &["key2:audit"],
                true,
            ),
            ("ForAllValues:StringNotLike", r#""key1*""#, ABSENT, true),
            (
                "ForAllValues:StringNotLike",
                r#""key1*""#,
                &["key1:a", "key2:b"],
                false,
            ),
            ("ForAnyValue:StringNotEquals", r#""a""#, &["a", "b"], true),
            ("ForAnyValue:StringNotEquals", r#""a""#, &["a"], false),
            ("ForAnyValue:StringNotEquals", r#""a""#, ABSENT, false),
        ],
    );
    check(
        "s3:max-keys",
        &[
            ("ForAnyValue:NumericLessThan", "10", &["50", "5"], true),
            ("ForAllValues:NumericLessThan", "10", &["50", "5"], false),
            ("ForAllValues:NumericLessThan", "10", &["1", "5"], true),
        ],
    );
}

#[test]
fn variables_in_condition_values() {
    let alice = Context::new().with("aws:username", "alice");
    let home = r#""home/${aws:username}/*""#;
    check_in(
        &alice,
        "s3:prefix",
        &[
            ("StringLike", home, &["home/alice/docs"], true),
            ("StringLike", home, &["home/bob/docs"], false),
            (
                "StringEquals",
                r#""${aws:principaltype, 'User'}""#,
                &["User"],
                true,
            ),
            ("StringLike", r#""star${*}""#, &["star*"], true),
            ("StringLike", r#""star${*}""#, &["starlet"], false),
        ],
    );
    // No user name: the listed value is null and matches nothing.
    check(
        "s3:prefix",
        &[
            ("StringLike", home, &["home/alice/docs"], false),
            ("StringNotLike", home, &["home/alice/docs"], true),
        ],
    );
    let star = Context::new().with("aws:username", "a*");
    check_in(
        &star,
        "s3:prefix",
        &[
            ("StringEquals", r#""${aws:username}""#, &["a*"], true),
            ("StringLike", r#""${aws:username}""#, &["abc"], false),
        ],
    );
    let capital = Context::new().with("aws:username", "Alice");
    check_in(
        &capital,
        "s3:prefix",
        &[(
            "StringEqualsIgnoreCase",
            r#""${aws:username}""#,
            &["ALICE"],
            true,
        )],
    );
    check_in(
        &alice,
        "aws:SourceArn",
        &[
            (
                "ArnLike",
                r#""arn:aws:iam:::user/${aws:username}""#,
                &["arn:aws:iam:::user/alice"],
                true,
            ),
            (
                "ArnLike",
                r#""arn:aws:iam:::user/${aws:username}""#,
                &["arn:aws:iam:::user/bob"],
                false,
            ),
        ],
    );
}

#[test]
fn operator_names_parse_with_qualifiers_and_if_exists() {
    type Parsed = Option<(Option<Qualifier>, Operator, bool)>;
    let cases: &[(&str, Parsed)] = &[
        ("StringEquals", Some((None, Operator::StringEquals, false))),
        (
            "StringLikeIfExists",
            Some((None, Operator::StringLike, true)),
        ),
        (
            "ForAnyValue:StringLike",
            Some((Some(Qualifier::ForAnyValue), Operator::StringLike, false)),
        ),
        (
            "ForAllValues:ArnLikeIfExists",
            Some((Some(Qualifier::ForAllValues), Operator::ArnLike, true)),
        ),
        ("Null", Some((None, Operator::Null, false))),
        ("NullIfExists", None),
        ("ForAnyValue:Null", None),
        ("stringequals", None),
        ("ForSomeValues:StringEquals", None),
        ("StringEqual", None),
        ("IfExists", None),
    ];
    for (name, want) in cases {
        let got = ConditionOperator::parse(name).map(|o| (o.qualifier, o.operator, o.if_exists));
        assert_eq!(got, *want, "{name}");
    }
}

#[test]
fn listed_values_are_checked_for_their_operator() {
    let bad: &[(&str, &str, &str)] = &[
        ("NumericEquals", "s3:max-keys", r#""ten""#),
        ("NumericEquals", "s3:max-keys", r#""inf""#),
        ("DateLessThan", "aws:CurrentTime", r#""tomorrow""#),
        ("IpAddress", "aws:SourceIp", r#""10.0.0.0/33""#),
        ("Bool", "aws:SecureTransport", r#""yes""#),
        ("Null", "s3:x-amz-acl", r#""maybe""#),
        ("Null", "s3:x-amz-acl", r#"["true", "false"]"#),
        ("StringLike", "s3:prefix", r#""home/${aws:username""#),
    ];
    for (operator, key, values) in bad {
        let values = scalars(values);
        let err = Condition::new(operator, key, values, true).expect_err(operator);
        assert!(
            matches!(err, StatementError::InvalidConditionValue { .. }),
            "{operator}: {err}"
        );
    }
}
