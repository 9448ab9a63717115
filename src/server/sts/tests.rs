//! The STS front's routing and parameters.

use super::*;

fn req(method: Method, uri: &str, content_type: Option<&str>) -> bool {
    let mut headers = HeaderMap::new();
    if let Some(ct) = content_type {
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_str(ct).unwrap(),
        );
    }
    is_sts_request(&method, &uri.parse().unwrap(), &headers)
}

#[test]
fn sts_requests_are_posts_of_the_root_with_a_form_or_an_action() {
    let form = Some("application/x-www-form-urlencoded; charset=utf-8");
    assert!(req(Method::POST, "/", form));
    assert!(req(
        Method::POST,
        "/",
        Some("Application/X-WWW-Form-Urlencoded")
    ));
    assert!(req(
        Method::POST,
        "/?Action=AssumeRoleWithWebIdentity&Version=2011-06-15",
        None
    ));
    // Not STS: other methods and paths, a form with a query that names no action (a
    // virtual-hosted DeleteObjects, `POST /?delete`), a browser upload, no body type.
    assert!(!req(Method::GET, "/", form));
    assert!(!req(Method::POST, "/bucket", form));
    assert!(!req(Method::POST, "/?delete", form));
    assert!(!req(
        Method::POST,
        "/",
        Some("multipart/form-data; boundary=x")
    ));
    assert!(!req(Method::POST, "/", None));
    assert!(!req(Method::POST, "/", Some("application/xml")));
}

#[test]
fn body_parameters_win_over_the_query() {
    let p = Params::new(
        "Action=AssumeRole&Policy=%7B%22a%22%3A+1%7D&Version=2011-06-15",
        Some("Action=Other&DurationSeconds=900"),
    );
    assert_eq!(p.get("Action"), Some("AssumeRole"));
    assert_eq!(p.get("Policy"), Some("{\"a\": 1}"));
    assert_eq!(p.get("DurationSeconds"), Some("900"));
    assert_eq!(p.get("Missing"), None);
}

fn route(min: u64) -> StsRoute {
    let backend = Arc::new(strata_iam::MemoryBackend::new());
    let sealer = strata_iam::Sealer::from_root("rootadmin", "rootsecret-123").unwrap();
    let iam = Arc::new(Iam::load(backend, sealer).unwrap());
    StsRoute::new(
        iam,
        StsConfig {
            min_duration: Duration::from_secs(min),
            openid: None,
        },
    )
    .unwrap()
}

#[test]
fn durations_are_bounded() {
    let r = route(900);
    let d = |v: &str| r.duration(&Params::new(&format!("DurationSeconds={v}"), None));
    assert_eq!(r.duration(&Params::new("", None)).unwrap(), None);
    assert_eq!(d("").unwrap(), None);
    assert_eq!(d("900").unwrap(), Some(900));
    assert_eq!(d("31536000").unwrap(), Some(31_536_000));
    for bad in ["899", "31536001", "-1", "1h", "9e9"] {
        let e = d(bad).unwrap_err();
        assert_eq!(e.code, "InvalidParameterValue", "{bad}");
    }
    // Lowered for tests.
    let r = route(2);
    let d = |v: &str| r.duration(&Params::new(&format!("DurationSeconds={v}"), None));
    assert_eq!(d("2").unwrap(), Some(2));
    assert!(d("1").is_err());
}

#[test]
fn session_policies_need_a_version() {
    let p = |json: &str| {
        let form = format!(
            "Policy={}",
            percent_encoding::utf8_percent_encode(json, percent_encoding::NON_ALPHANUMERIC)
        );
        session_policy(&Params::new(&form, None))
    };
    let ok = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
    assert!(p(ok).unwrap().is_some());
    let no_version = r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
    assert_eq!(p(no_version).unwrap_err().code, "MalformedPolicyDocument");
    assert_eq!(p("{nope").unwrap_err().code, "MalformedPolicyDocument");
    assert!(session_policy(&Params::new("", None)).unwrap().is_none());
    // Its size is measured as sent: padding past 2048 bytes is refused, even though the
    // document written back would be small.
    let padded = ok.replacen('{', &format!("{{{}", " ".repeat(2100)), 1);
    assert_eq!(p(&padded).unwrap_err().code, "PackedPolicyTooLarge");
}

#[test]
fn parameters_that_would_narrow_credentials_are_refused_not_ignored() {
    let base = "Action=AssumeRole&Version=2011-06-15";
    assert_eq!(Params::new(base, None).unsupported(), None);
    let ignored_as_documented = "&RoleArn=arn:x&RoleSessionName=s&DurationSeconds=900";
    assert_eq!(
        Params::new(&format!("{base}{ignored_as_documented}"), None).unsupported(),
        None
    );
    for extra in [
        "PolicyArns.member.1.arn=arn:aws:iam::aws:policy/ReadOnly",
        "Tags.member.1.Key=team",
        "TransitiveTagKeys.member.1=team",
        "SerialNumber=arn:mfa",
        "TokenCode=123456",
        "ExternalId=x",
        "SourceIdentity=me",
    ] {
        let p = Params::new(&format!("{base}&{extra}"), None);
        let name = extra.split('=').next().unwrap();
        assert_eq!(p.unsupported(), Some(name), "{extra}");
    }
    // In the query too.
    let p = Params::new(base, Some("Tags.member.1.Key=team"));
    assert_eq!(p.unsupported(), Some("Tags.member.1.Key"));
}
