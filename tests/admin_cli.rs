//! `strata admin …` against a real server: the real `strata` binary manages users and policies
//! through the admin API (root's credentials from the environment, a user's secret from
//! stdin, a generated one printed once), and boto3 signs S3 calls as those users to show that
//! what the commands did is what the server enforces. Wrong credentials, a server that does
//! not serve a call yet, and wrong flags fail with a non-zero exit and a clear message.

use crate::s3_support::{bin, Server, SECRET, USER};
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};

/// `strata admin ARGS` against `s`, as root unless `env` says otherwise, `stdin` piped in
/// (or the null device).
fn admin_with(s: &Server, env: &[(&str, &str)], stdin: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.arg("admin")
        .args(args)
        .env("STRATA_ENDPOINT", &s.endpoint)
        .env("STRATA_ROOT_USER", USER)
        .env("STRATA_ROOT_PASSWORD", SECRET)
        .env_remove("STRATA_ACCESS_KEY")
        .env_remove("STRATA_SECRET_KEY")
        .env("NO_PROXY", "127.0.0.1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("cannot run strata admin");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

fn admin(s: &Server, args: &[&str]) -> Output {
    admin_with(s, &[], None, args)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Asserts success; returns stdout.
fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "strata admin {what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Asserts failure with exit code 1 (not clap's 2, not a crash); returns stderr.
fn fails(out: Output, what: &str) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "strata admin {what}: expected a failure:\nstdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stderr)
}

fn json(out: Output, what: &str) -> Value {
    let s = ok(out, what);
    serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {s}"))
}

/// `photos/cat.jpg` read with boto3 signed as `access`/`secret`: `Ok(body)` or `Err(code)`.
fn get_as(s: &Server, access: &str, secret: &str) -> Result<String, String> {
    let v = s.py_json("get_as.py", &[access, secret, "photos", "cat.jpg"]);
    match v["body"].as_str() {
        Some(b) => Ok(b.to_string()),
        None => Err(v["code"].as_str().unwrap_or("?").to_string()),
    }
}

const READ_PHOTOS: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::photos/*"]}]}"#;

#[test]
fn admin_cli_users_and_policies_decide_what_a_user_may_do() {
    let s = Server::start();
    s.aws_ok(&["s3api", "create-bucket", "--bucket", "photos"]);
    let cat = s.work().join("cat.jpg");
    std::fs::write(&cat, "meow").unwrap();
    s.aws_ok(&[
        "s3api",
        "put-object",
        "--bucket",
        "photos",
        "--key",
        "cat.jpg",
        "--body",
        cat.to_str().unwrap(),
    ]);

    // A user whose secret comes from stdin: listed, but allowed nothing yet.
    let alice_secret = "alice-secret-123";
    let out = ok(
        admin_with(
            &s,
            &[],
            Some(&format!("{alice_secret}\n")),
            &["user", "add", "alice"],
        ),
        "user add",
    );
    assert_eq!(out.trim(), "Added user alice.");
    let list = ok(admin(&s, &["user", "list"]), "user list");
    let row = list
        .lines()
        .find(|l| l.starts_with("alice "))
        .unwrap_or_else(|| panic!("alice not listed:\n{list}"));
    assert!(row.contains("enabled"), "{list}");
    assert!(list.starts_with("ACCESS KEY"), "{list}");
    assert!(!list.contains(alice_secret));
    let users = json(admin(&s, &["user", "list", "--json"]), "user list --json");
    assert_eq!(users["alice"]["status"], "enabled", "{users}");
    assert_eq!(
        get_as(&s, "alice", alice_secret),
        Err("AccessDenied".into())
    );

    // A policy from a file, attached: alice may read, with the secret she was given.
    let file = s.work().join("read-photos.json");
    std::fs::write(&file, READ_PHOTOS).unwrap();
    let out = ok(
        admin(
            &s,
            &["policy", "create", "read-photos", file.to_str().unwrap()],
        ),
        "policy create",
    );
    assert_eq!(out.trim(), "Created policy read-photos.");
    let out = ok(
        admin(&s, &["policy", "attach", "read-photos", "--user", "alice"]),
        "policy attach",
    );
    assert_eq!(out.trim(), "Attached read-photos to user alice.");
    assert_eq!(get_as(&s, "alice", alice_secret), Ok("meow".into()));
    assert_eq!(
        get_as(&s, "alice", "not-her-secret"),
        Err("SignatureDoesNotMatch".into())
    );
    let info = json(admin(&s, &["user", "info", "alice", "--json"]), "user info");
    assert_eq!(info["policyName"], "read-photos", "{info}");
    let info = ok(admin(&s, &["user", "info", "alice"]), "user info");
    assert!(info.contains("Policies:   read-photos"), "{info}");
    let policies = ok(admin(&s, &["policy", "list"]), "policy list");
    assert!(policies.lines().any(|l| l == "read-photos"), "{policies}");
    assert!(policies.lines().any(|l| l == "readwrite"), "{policies}");
    let doc = json(
        admin(&s, &["policy", "info", "read-photos", "--json"]),
        "policy info",
    );
    assert_eq!(doc["Statement"][0]["Action"][0], "s3:GetObject", "{doc}");

    // Disabled: her signed calls fail; enabled again: they work.
    ok(admin(&s, &["user", "disable", "alice"]), "user disable");
    assert_eq!(
        get_as(&s, "alice", alice_secret),
        Err("InvalidAccessKeyId".into())
    );
    let info = json(admin(&s, &["user", "info", "alice", "--json"]), "user info");
    assert_eq!(info["status"], "disabled", "{info}");
    let out = ok(
        admin(&s, &["user", "enable", "alice", "--json"]),
        "user enable",
    );
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["status"],
        "success"
    );
    assert_eq!(get_as(&s, "alice", alice_secret), Ok("meow".into()));

    // Detached: denied again.
    let out = ok(
        admin(&s, &["policy", "detach", "read-photos", "--user", "alice"]),
        "policy detach",
    );
    assert_eq!(out.trim(), "Detached read-photos from user alice.");
    assert_eq!(
        get_as(&s, "alice", alice_secret),
        Err("AccessDenied".into())
    );

    // No secret given: one is generated, printed once, and works.
    let carol = json(
        admin(&s, &["user", "add", "carol", "--json"]),
        "user add (generated)",
    );
    let carol_secret = carol["secretKey"]
        .as_str()
        .expect("a generated secret")
        .to_string();
    assert_eq!(carol_secret.len(), 40, "{carol}");
    ok(
        admin(&s, &["policy", "attach", "read-photos", "--user", "carol"]),
        "policy attach carol",
    );
    assert_eq!(get_as(&s, "carol", &carol_secret), Ok("meow".into()));
    let dave = ok(
        admin(&s, &["user", "add", "dave"]),
        "user add (generated, text)",
    );
    let dave_secret = dave
        .lines()
        .find_map(|l| l.strip_prefix("Secret key: "))
        .unwrap_or_else(|| panic!("no secret printed: {dave}"));
    assert_eq!(dave_secret.len(), 40, "{dave}");
    // --secret-stdin with nothing there: refused, nothing created.
    let err = fails(
        admin_with(
            &s,
            &[],
            Some(""),
            &["user", "add", "erin", "--secret-stdin"],
        ),
        "user add --secret-stdin",
    );
    assert!(err.contains("no secret key on stdin"), "{err}");
    let err = fails(admin(&s, &["user", "info", "erin"]), "user info erin");
    assert!(err.contains("XMinioAdminNoSuchUser"), "{err}");

    // Signed as carol (STRATA_ACCESS_KEY wins over root's): no admin rights.
    let as_carol = [
        ("STRATA_ACCESS_KEY", "carol"),
        ("STRATA_SECRET_KEY", carol_secret.as_str()),
    ];
    let err = fails(
        admin_with(&s, &as_carol, None, &["user", "list"]),
        "user list as carol",
    );
    assert!(err.contains("AccessDenied"), "{err}");

    // A policy from stdin; removals.
    ok(
        admin_with(
            &s,
            &[],
            Some(READ_PHOTOS),
            &["policy", "create", "from-stdin", "-"],
        ),
        "policy create -",
    );
    ok(
        admin(&s, &["policy", "remove", "from-stdin"]),
        "policy remove",
    );
    let err = fails(
        admin(&s, &["policy", "info", "from-stdin"]),
        "policy info removed",
    );
    assert!(err.contains("XMinioAdminNoSuchPolicy"), "{err}");
    let err = fails(
        admin_with(
            &s,
            &[],
            Some("{not json"),
            &["policy", "create", "broken", "-"],
        ),
        "policy create broken",
    );
    assert!(err.contains("not JSON"), "{err}");
    ok(admin(&s, &["user", "remove", "alice"]), "user remove");
    assert_eq!(
        get_as(&s, "alice", alice_secret),
        Err("InvalidAccessKeyId".into())
    );
    let err = fails(admin(&s, &["user", "info", "alice"]), "user info removed");
    assert!(
        err.contains("XMinioAdminNoSuchUser") && err.contains("HTTP 404"),
        "{err}"
    );

    // No secret reached the server's log.
    let log = s.log_text();
    for secret in [alice_secret, carol_secret.as_str(), dave_secret] {
        assert!(!log.contains(secret), "a secret in the server log");
    }
}

#[test]
fn admin_cli_refuses_wrong_credentials_and_wrong_flags() {
    let s = Server::start();
    let err = fails(
        admin_with(
            &s,
            &[("STRATA_ROOT_PASSWORD", "not-the-root-secret")],
            None,
            &["user", "list"],
        ),
        "wrong root secret",
    );
    assert!(err.contains("SignatureDoesNotMatch"), "{err}");
    assert!(
        err.contains("check STRATA_ACCESS_KEY/STRATA_SECRET_KEY"),
        "{err}"
    );
    assert!(!err.contains("not-the-root-secret"), "{err}");
    let err = fails(
        admin_with(
            &s,
            &[
                ("STRATA_ACCESS_KEY", "nobody"),
                ("STRATA_SECRET_KEY", "nobody-secret"),
            ],
            None,
            &["user", "list"],
        ),
        "unknown access key",
    );
    assert!(err.contains("InvalidAccessKeyId"), "{err}");
    let err = fails(
        admin_with(&s, &[("STRATA_ROOT_USER", "")], None, &["user", "list"]),
        "no credentials",
    );
    assert!(
        err.contains("set STRATA_ACCESS_KEY and STRATA_SECRET_KEY"),
        "{err}"
    );
    let err = fails(
        admin_with(
            &s,
            &[("STRATA_ENDPOINT", "http://127.0.0.1:1")],
            None,
            &["user", "list"],
        ),
        "no server",
    );
    assert!(err.contains("cannot reach the server"), "{err}");
    let err = fails(
        admin_with(
            &s,
            &[("STRATA_ENDPOINT", "https://127.0.0.1:1")],
            None,
            &["user", "list"],
        ),
        "https endpoint",
    );
    assert!(err.contains("--endpoint"), "{err}");

    // clap's errors: exit code 2 and its message, no request made.
    for (args, expected) in [
        (
            &["user", "frobnicate"][..],
            "unrecognized subcommand 'frobnicate'",
        ),
        (
            &["user", "list", "--bogus"][..],
            "unexpected argument '--bogus'",
        ),
        (
            &["user", "add", "bob", "bob-secret-key"][..],
            "unexpected argument 'bob-secret-key'",
        ),
        (
            &["policy", "attach", "readonly"][..],
            "--user <USER>|--group <GROUP>",
        ),
        (&["svcacct", "create"][..], "--user <USER>"),
    ] {
        let out = admin(&s, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let err = text(&out.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}
