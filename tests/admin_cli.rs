//! `strata admin …` against a real server: the real `strata` binary manages users and policies
//! through the admin API (root's credentials from the environment, a user's secret from
//! stdin, a generated one printed once), and boto3 signs S3 calls as those users to show that
//! what the commands did is what the server enforces: users and policies, groups, service
//! accounts. Wrong credentials and wrong flags fail with a non-zero exit and a clear message.
//! (What a call the server does not serve yet prints is `strata-adminclient`'s unit tests':
//! this server serves every call the commands make.)

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
    photos(&s);

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

/// Root makes `photos/cat.jpg` (body `meow`).
fn photos(s: &Server) {
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
}

#[test]
fn admin_cli_groups_and_service_accounts_decide_what_their_keys_may_do() {
    let s = Server::start();
    photos(&s);
    let secret = "gina-secret-1234";
    ok(
        admin_with(&s, &[], Some(secret), &["user", "add", "gina"]),
        "user add",
    );
    ok(
        admin_with(
            &s,
            &[],
            Some(READ_PHOTOS),
            &["policy", "create", "read-photos", "-"],
        ),
        "policy create",
    );

    // A group's policy applies to its members while the group is enabled.
    let out = ok(admin(&s, &["group", "add", "viewers", "gina"]), "group add");
    assert_eq!(out.trim(), "Added gina to group viewers.");
    assert_eq!(get_as(&s, "gina", secret), Err("AccessDenied".into()));
    let out = ok(
        admin(
            &s,
            &["policy", "attach", "read-photos", "--group", "viewers"],
        ),
        "policy attach --group",
    );
    assert_eq!(out.trim(), "Attached read-photos to group viewers.");
    assert_eq!(get_as(&s, "gina", secret), Ok("meow".into()));
    let groups = ok(admin(&s, &["group", "list"]), "group list");
    assert_eq!(groups.lines().collect::<Vec<_>>(), ["viewers"], "{groups}");
    let info = json(
        admin(&s, &["group", "info", "viewers", "--json"]),
        "group info",
    );
    assert_eq!(info["members"], serde_json::json!(["gina"]), "{info}");
    assert_eq!(info["policy"], "read-photos", "{info}");
    assert_eq!(info["status"], "enabled", "{info}");
    let info = ok(admin(&s, &["group", "info", "viewers"]), "group info");
    assert!(info.contains("Members:  gina"), "{info}");
    let user = json(admin(&s, &["user", "info", "gina", "--json"]), "user info");
    assert_eq!(user["memberOf"], serde_json::json!(["viewers"]), "{user}");
    ok(admin(&s, &["group", "disable", "viewers"]), "group disable");
    assert_eq!(get_as(&s, "gina", secret), Err("AccessDenied".into()));
    let info = json(
        admin(&s, &["group", "info", "viewers", "--json"]),
        "group info",
    );
    assert_eq!(info["status"], "disabled", "{info}");
    ok(admin(&s, &["group", "enable", "viewers"]), "group enable");
    assert_eq!(get_as(&s, "gina", secret), Ok("meow".into()));
    let out = ok(
        admin(&s, &["group", "remove", "viewers", "gina"]),
        "group remove member",
    );
    assert_eq!(out.trim(), "Removed gina from group viewers.");
    assert_eq!(get_as(&s, "gina", secret), Err("AccessDenied".into()));
    let out = ok(admin(&s, &["group", "remove", "viewers"]), "group remove");
    assert_eq!(out.trim(), "Removed group viewers.");
    let err = fails(
        admin(&s, &["group", "info", "viewers"]),
        "group info removed",
    );
    assert!(err.contains("XMinioAdminNoSuchGroup"), "{err}");
    assert_eq!(ok(admin(&s, &["group", "list"]), "group list").trim(), "");

    // A service account has its parent's permissions, shown once, until disabled or removed.
    ok(
        admin(&s, &["policy", "attach", "read-photos", "--user", "gina"]),
        "policy attach",
    );
    let sa = json(
        admin(
            &s,
            &[
                "svcacct",
                "create",
                "--user",
                "gina",
                "--name",
                "backup",
                "--description",
                "nightly",
                "--expiry",
                "30d",
                "--json",
            ],
        ),
        "svcacct create",
    );
    let key = sa["accessKey"].as_str().expect("access key").to_string();
    let sa_secret = sa["secretKey"].as_str().expect("secret key").to_string();
    assert!(
        sa["expiration"]
            .as_str()
            .is_some_and(|e| e.starts_with("20")),
        "{sa}"
    );
    assert_eq!(get_as(&s, &key, &sa_secret), Ok("meow".into()));
    let list = ok(
        admin(&s, &["svcacct", "list", "--user", "gina"]),
        "svcacct list",
    );
    let row = list
        .lines()
        .find(|l| l.starts_with(&key))
        .unwrap_or_else(|| panic!("{key} not listed:\n{list}"));
    assert!(
        row.contains("gina") && row.contains("enabled") && row.contains("backup"),
        "{list}"
    );
    let info = json(
        admin(&s, &["svcacct", "info", &key, "--json"]),
        "svcacct info",
    );
    assert_eq!(info["parentUser"], "gina", "{info}");
    assert_eq!(info["accountStatus"], "on", "{info}");
    assert_eq!(info["description"], "nightly", "{info}");
    assert_eq!(info["impliedPolicy"], true, "{info}");
    let info = ok(admin(&s, &["svcacct", "info", &key]), "svcacct info");
    assert!(info.contains("Policy:      the parent's"), "{info}");
    assert!(!info.contains(&sa_secret), "{info}");
    // Gina lists her own without any admin action.
    let as_gina = [("STRATA_ACCESS_KEY", "gina"), ("STRATA_SECRET_KEY", secret)];
    let own = ok(
        admin_with(&s, &as_gina, None, &["svcacct", "list"]),
        "svcacct list as gina",
    );
    assert!(own.contains(&key), "{own}");
    let out = ok(admin(&s, &["svcacct", "disable", &key]), "svcacct disable");
    assert_eq!(out.trim(), format!("Service account {key} is disabled."));
    assert!(get_as(&s, &key, &sa_secret).is_err());
    assert_eq!(
        json(
            admin(&s, &["svcacct", "info", &key, "--json"]),
            "svcacct info"
        )["accountStatus"],
        "off"
    );
    ok(admin(&s, &["svcacct", "enable", &key]), "svcacct enable");
    assert_eq!(get_as(&s, &key, &sa_secret), Ok("meow".into()));

    // Narrowed by its own policy: less than its parent may.
    let narrow = s.work().join("narrow.json");
    std::fs::write(
        &narrow,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::photos/dogs/*"]}]}"#,
    )
    .unwrap();
    let out = ok(
        admin(
            &s,
            &[
                "svcacct",
                "create",
                "--user",
                "gina",
                "--policy",
                narrow.to_str().unwrap(),
            ],
        ),
        "svcacct create --policy",
    );
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {out}"))
            .trim()
            .to_string()
    };
    let (narrow_key, narrow_secret) = (field("Access key:"), field("Secret key:"));
    assert_eq!(
        get_as(&s, &narrow_key, &narrow_secret),
        Err("AccessDenied".into())
    );
    let info = json(
        admin(&s, &["svcacct", "info", &narrow_key, "--json"]),
        "svcacct info",
    );
    assert_eq!(info["impliedPolicy"], false, "{info}");
    let err = fails(
        admin(
            &s,
            &[
                "svcacct",
                "create",
                "--user",
                "gina",
                "--expiry",
                "2001-01-01T00:00:00Z",
            ],
        ),
        "svcacct create past expiry",
    );
    assert!(err.contains("in the past"), "{err}");

    let out = ok(admin(&s, &["svcacct", "remove", &key]), "svcacct remove");
    assert_eq!(out.trim(), format!("Removed service account {key}."));
    assert_eq!(
        get_as(&s, &key, &sa_secret),
        Err("InvalidAccessKeyId".into())
    );
    let err = fails(
        admin(&s, &["svcacct", "info", &key]),
        "svcacct info removed",
    );
    assert!(err.contains("XMinioAdminServiceAccountNotFound"), "{err}");
    let log = s.log_text();
    assert!(!log.contains(&sa_secret) && !log.contains(&narrow_secret) && !log.contains(secret));
}
