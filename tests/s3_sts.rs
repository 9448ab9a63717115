//! STS with real clients: boto3's `assume_role` for a user (narrowed by a session policy) and
//! `assume_role_with_web_identity` for a Kubernetes-style service account token, signed by a
//! stand-in OpenID provider (`tests/clients/oidc_provider.py`) whose key set the server
//! fetches over loopback; then S3 calls with the credentials got. Allowed calls work, denied
//! ones are AccessDenied; no or another session token, and expiry, refuse them; a token with a
//! wrong issuer, audience, signature or expiry buys nothing.

use crate::s3_support::{client_script, venv_python, Server};
use serde_json::Value;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The stand-in OpenID provider's process, killed when dropped.
struct Provider {
    child: Child,
    issuer: String,
    dir: tempfile::TempDir,
}

impl Provider {
    fn start() -> Provider {
        Provider::start_with(&[], "http")
    }

    /// With oidc_provider.py's options (`--tls CERT KEY`, `--token T`); `scheme` is what it
    /// then serves.
    fn start_with(args: &[&str], scheme: &str) -> Provider {
        let dir = tempfile::Builder::new()
            .prefix("strata-oidc-")
            .tempdir()
            .unwrap();
        let mut child = Command::new(venv_python())
            .arg(client_script("oidc_provider.py"))
            .arg(dir.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("cannot start oidc_provider.py");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = line.strip_prefix("PORT ") {
                    let _ = tx.send(port.trim().to_string());
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the OpenID provider printed no port within 60 s");
        Provider {
            child,
            issuer: format!("{scheme}://127.0.0.1:{port}"),
            dir,
        }
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ok<'a>(v: &'a Value, step: &str) -> &'a Value {
    v[step]
        .get("ok")
        .unwrap_or_else(|| panic!("{step} failed: {}", v[step]))
}

/// The error code and HTTP status a step failed with.
fn err(v: &Value, step: &str) -> (String, u64) {
    let code = v[step]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{step} did not fail: {}", v[step]));
    (code.to_string(), v[step]["status"].as_u64().unwrap_or(0))
}

#[test]
fn users_and_service_account_tokens_get_temporary_credentials_that_expire() {
    let idp = Provider::start();
    let mut s = Server::start_with(
        4,
        &[
            "--oidc-issuer",
            &idp.issuer,
            "--oidc-audience",
            "strata",
            "--oidc-claim-name",
            "sub",
            "--sts-min-duration",
            "1s",
        ],
    );
    let workdir = idp.dir.path().to_str().unwrap();
    let v = s.py_json("sts.py", &[workdir]);

    // AssumeRole: alice's readwrite narrowed to reading `shared` by the session policy.
    let ar = ok(&v, "ar");
    assert!(ar["token"].as_str().is_some_and(|t| !t.is_empty()), "{v}");
    let lifetime = ar["expires_in"].as_i64().unwrap();
    assert!((3500..=3600).contains(&lifetime), "default 1 h: {v}");
    assert_eq!(ok(&v, "ar_get"), "hello");
    assert_eq!(ok(&v, "ar_list")[0], "hello.txt");
    for step in ["ar_put", "ar_private"] {
        assert_eq!(err(&v, step), ("AccessDenied".into(), 403), "{step}: {v}");
    }
    // The temporary key without its session token, or with another's.
    for step in ["ar_no_token", "ar_wrong_token"] {
        assert_eq!(err(&v, step).0, "InvalidToken", "{step}: {v}");
    }
    assert_eq!(err(&v, "ar_chain"), ("AccessDenied".into(), 403), "{v}");
    // The admin calls a user may make on itself are not the session's to make.
    for step in [
        "ar_admin_password",
        "ar_admin_svcacct",
        "ar_admin_svcacct_list",
    ] {
        assert_eq!(v[step]["status"], 403, "{step}: {v}");
    }
    let own = ok(&v, "alice_own_svcacct").to_string();
    assert!(
        own.contains("\"accessKey\"") && own.contains("\"secretKey\""),
        "{v}"
    );
    // Without a session policy: alice's own permissions.
    assert_eq!(ok(&v, "ar_plain_put"), 200, "{v}");
    assert_eq!(err(&v, "ar_wrong_secret").0, "SignatureDoesNotMatch", "{v}");
    // Root's temporary credentials on the admin API: with their token only.
    assert_eq!(ok(&v, "root_ar_admin")[0], "alice", "{v}");
    for step in ["root_ar_admin_no_token", "root_ar_admin_wrong_token"] {
        assert_eq!(v[step]["status"], 403, "{step}: {v}");
        let body = v[step]["body"].as_str().unwrap_or_default();
        assert!(body.contains("InvalidToken"), "{step}: {v}");
    }
    // A narrowed session's service account: the session's policy, ending with the session.
    let sa_info = ok(&v, "narrow_sa_info");
    assert_eq!(sa_info["impliedPolicy"], false, "{v}");
    assert!(
        sa_info["policy"]
            .as_str()
            .is_some_and(|p| p.contains("shared/*") && !p.contains("s3:*")),
        "{v}"
    );
    let sa_end = sa_info["expiration"].as_str().unwrap_or_default();
    assert!(
        !sa_end.is_empty() && !sa_end.starts_with("0001") && !sa_end.starts_with("9999"),
        "the service account must end with the session: {v}"
    );
    assert_eq!(ok(&v, "narrow_sa_get"), "hello");
    for step in ["narrow_sa_put", "narrow_sa_private"] {
        assert_eq!(err(&v, step), ("AccessDenied".into(), 403), "{step}: {v}");
    }
    assert_eq!(v["narrow_sa_wider_policy"]["status"], 403, "{v}");
    assert_eq!(v["narrow_widens_sa"]["status"], 403, "{v}");
    // Made by that service account: its policy, and no later end than its own.
    ok(&v, "sa_made_by_sa");
    let grandchild = ok(&v, "sa_made_by_sa_info");
    assert_eq!(grandchild["impliedPolicy"], false, "{v}");
    assert_eq!(grandchild["expiration"], sa_info["expiration"], "{v}");
    assert_eq!(
        err(&v, "ar_bad_policy"),
        ("MalformedPolicyDocument".into(), 400),
        "{v}"
    );
    assert_eq!(
        err(&v, "ar_too_short"),
        ("InvalidParameterValue".into(), 400),
        "{v}"
    );
    assert_eq!(ok(&v, "ar_short_get"), "hello");

    // AssumeRoleWithWebIdentity: the service account's policy (named by its `sub`).
    let wi = ok(&v, "wi");
    assert_eq!(wi["subject"], "system:serviceaccount:apps:uploader", "{v}");
    assert_eq!(wi["audience"], "strata", "{v}");
    assert_eq!(wi["provider"], idp.issuer.as_str(), "{v}");
    let lifetime = wi["expires_in"].as_i64().unwrap();
    assert!((500..=600).contains(&lifetime), "as long as the token: {v}");
    assert_eq!(ok(&v, "wi_put"), 200, "{v}");
    assert_eq!(ok(&v, "wi_get"), "from pod");
    for step in ["wi_get_outside", "wi_private", "wi_buckets"] {
        assert_eq!(err(&v, step), ("AccessDenied".into(), 403), "{step}: {v}");
    }
    for step in ["wi_no_token", "wi_wrong_token"] {
        assert_eq!(err(&v, step).0, "InvalidToken", "{step}: {v}");
    }
    let lifetime = ok(&v, "wi_token_lifetime").as_i64().unwrap();
    assert!((100..=120).contains(&lifetime), "not past the token: {v}");

    // Tokens refused, as AWS's STS names why.
    for step in [
        "wi_wrong_issuer",
        "wi_wrong_audience",
        "wi_wrong_signature",
        "wi_alg_none",
        "wi_alg_hs256",
        "wi_garbage",
        "wi_unknown_kid",
    ] {
        assert_eq!(
            err(&v, step),
            ("InvalidIdentityToken".into(), 400),
            "{step}: {v}"
        );
    }
    assert_eq!(
        err(&v, "wi_expired"),
        ("ExpiredTokenException".into(), 400),
        "{v}"
    );
    // A subject no policy is named after gets nothing.
    assert_eq!(
        err(&v, "wi_no_policy"),
        ("InvalidParameterValue".into(), 400),
        "{v}"
    );
    for step in ["saml", "session_token", "caller_identity"] {
        assert_eq!(err(&v, step), ("NotImplemented".into(), 501), "{step}: {v}");
    }

    // Expiry: the 2 s credentials are refused afterwards, the hour-long ones are not.
    for step in ["ar_short_expired", "wi_short_expired"] {
        assert_eq!(err(&v, step).0, "ExpiredToken", "{step}: {v}");
    }
    assert_eq!(ok(&v, "ar_still_valid"), "hello");

    // Keys: an unknown kid refetches once, made-up ones right after fetch nothing more; a key
    // the provider published since is found after the refetch interval.
    for i in 0..5 {
        let step = format!("wi_made_up_kid_{i}");
        assert_eq!(err(&v, &step).0, "InvalidIdentityToken", "{step}: {v}");
    }
    // (0 when the start-up fetch was under 10 s before.)
    let initial = v["fetches_for_unknown_kids"].as_u64().unwrap();
    assert!(initial <= 1, "one refetch at most: {v}");
    assert_eq!(
        ok(&v, "wi_rotated_kid"),
        "system:serviceaccount:apps:uploader"
    );
    assert_eq!(v["fetches_total"].as_u64().unwrap(), initial + 1, "{v}");
    assert!(v["discovery_fetches"].as_u64().unwrap() >= 1, "{v}");

    // The SDK's own web identity provider, as in a pod.
    assert_eq!(v["pod_credentials_method"], "assume-role-with-web-identity");
    assert_eq!(ok(&v, "pod_put"), 200, "{v}");
    assert_eq!(err(&v, "pod_get_outside").0, "AccessDenied", "{v}");

    // The AWS CLI exchanges the projected token file too.
    let token = std::fs::read_to_string(idp.dir.path().join("sa-token")).unwrap();
    let out = s.aws_ok(&[
        "sts",
        "assume-role-with-web-identity",
        "--role-arn",
        "arn:aws:iam::000000000000:role/uploader",
        "--role-session-name",
        "cli",
        "--web-identity-token",
        &token,
    ]);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert!(
        doc["Credentials"]["SessionToken"].as_str().is_some(),
        "{out}"
    );

    // No secret, session token or web identity token in the log.
    let log = s.log_text();
    for secret in [&ar["secret"], &ar["token"], &wi["secret"], &wi["token"]] {
        assert!(!log.contains(secret.as_str().unwrap()), "secret in the log");
    }
    assert!(!log.contains(token.trim()), "token in the log");
    s.kill();
}

/// A CA and a certificate it signed for 127.0.0.1, made with openssl in `dir`: (CA, cert, key).
fn test_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let p = |name: &str| dir.join(name);
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=strata test CA",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    fs::write(p("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    ]);
    (p("ca.pem"), p("leaf.pem"), p("leaf.key"))
}

/// A provider that serves its keys over https, and only to bearers of a token (as a
/// Kubernetes API server serves its service account issuer's): reached with --oidc-ca-file and
/// --oidc-token-file; without the CA (the system's roots do not know it) or without the token,
/// the keys cannot be fetched and the exchange answers IDPCommunicationError.
#[test]
fn a_provider_behind_tls_and_a_token_is_reached_with_its_ca_and_token_files() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_ca(certs.path());
    let token = certs.path().join("token");
    fs::write(&token, "pod-token-123\n").unwrap();
    let (ca, cert, key, token) = (
        ca.to_str().unwrap(),
        cert.to_str().unwrap(),
        key.to_str().unwrap(),
        token.to_str().unwrap(),
    );
    let idp = Provider::start_with(&["--tls", cert, key, "--token", "pod-token-123"], "https");
    let workdir = idp.dir.path().to_str().unwrap();
    let exchange = |files: &[&str]| -> Value {
        let mut args = vec![
            "--oidc-issuer",
            &idp.issuer,
            "--oidc-audience",
            "strata",
            "--oidc-claim-name",
            "sub",
        ];
        args.extend_from_slice(files);
        let s = Server::start_with(4, &args);
        s.py_json("sts_tls.py", &[workdir])
    };
    let v = exchange(&["--oidc-ca-file", ca, "--oidc-token-file", token]);
    assert_eq!(ok(&v, "exchange"), "over tls", "{v}");
    for (files, why) in [
        (vec!["--oidc-ca-file", ca], "no token"),
        (vec!["--oidc-token-file", token], "the CA unknown"),
    ] {
        let v = exchange(&files);
        assert_eq!(err(&v, "exchange").0, "IDPCommunicationError", "{why}: {v}");
    }
}
