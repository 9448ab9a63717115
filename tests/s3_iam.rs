//! Users and policies with real clients: minio-py's `MinioAdmin` manages them (its encrypted
//! bodies included), boto3 signs as them; allowed calls succeed, denied ones are AccessDenied
//! and change nothing; a disabled or removed user is refused. No secret is stored in the clear.

use crate::s3_support::{run, FakeClock, Server, SECRET, USER};
use serde_json::Value;

fn status(v: &Value, step: &str) -> u64 {
    v[step]["status"]
        .as_u64()
        .unwrap_or_else(|| panic!("{step} did not fail: {v}"))
}

fn ok<'a>(v: &'a Value, step: &str) -> &'a Value {
    v[step]
        .get("ok")
        .unwrap_or_else(|| panic!("{step} failed: {}", v[step]))
}

#[test]
fn users_and_policies_through_the_admin_api_decide_what_s3_calls_may_do() {
    let mut s = Server::start();
    let v = s.py_json("admin_users.py", &[]);
    for step in ["add_user", "add_bob", "policy_add", "attach", "attach_bob"] {
        ok(&v, step);
    }
    assert_eq!(status(&v, "bad_secret"), 400, "{v}");
    assert_eq!(status(&v, "policy_bad"), 400, "{v}");
    assert_eq!(status(&v, "attach_again"), 400, "{v}");
    assert_eq!(status(&v, "attach_missing"), 404, "{v}");
    assert_eq!(
        ok(&v, "policy_info")["Statement"][0]["Action"][0],
        "s3:GetObject"
    );
    let policies = ok(&v, "policy_list").to_string();
    for name in [
        "read-photos",
        "readwrite",
        "readonly",
        "writeonly",
        "consoleAdmin",
    ] {
        assert!(policies.contains(name), "{name}: {policies}");
    }
    assert_eq!(ok(&v, "user_info")["policyName"], "read-photos", "{v}");
    assert_eq!(ok(&v, "user_info")["status"], "enabled", "{v}");
    assert_eq!(ok(&v, "user_list")["alice"]["status"], "enabled", "{v}");
    assert_eq!(ok(&v, "user_list")["bob"]["status"], "enabled", "{v}");

    // What read-photos allows, and nothing else.
    assert_eq!(ok(&v, "alice_get"), "meow");
    assert_eq!(ok(&v, "alice_list")[0], "cat.jpg");
    // ListBuckets shows the buckets she may list (MinIO's rule without s3:ListAllMyBuckets).
    assert_eq!(
        ok(&v, "alice_buckets"),
        &serde_json::json!(["photos"]),
        "{v}"
    );
    for step in ["alice_put", "alice_delete", "alice_create"] {
        assert_eq!(v[step]["code"], "AccessDenied", "{step}: {v}");
    }
    assert_eq!(status(&v, "alice_admin"), 403, "{v}");
    assert_eq!(
        v["alice_wrong_secret"]["code"], "SignatureDoesNotMatch",
        "{v}"
    );
    assert_eq!(v["bob_get"]["code"], "AccessDenied", "{v}");
    // With no bucket to show, ListBuckets is refused.
    assert_eq!(v["bob_buckets"]["code"], "AccessDenied", "{v}");
    assert_eq!(ok(&v, "bob_put"), 200);

    // Disabled: refused; enabled again: back; detached or removed: refused.
    assert_eq!(v["disabled_get"]["code"], "InvalidAccessKeyId", "{v}");
    assert_eq!(ok(&v, "enabled_get"), "meow");
    assert_eq!(v["detached_get"]["code"], "AccessDenied", "{v}");
    assert_eq!(v["removed_get"]["code"], "InvalidAccessKeyId", "{v}");
    assert_eq!(status(&v, "removed_info"), 404, "{v}");
    // Denied calls changed nothing: only root's and bob's objects are there.
    assert_eq!(
        ok(&v, "objects"),
        &serde_json::json!(["bob.txt", "cat.jpg"])
    );

    // The AWS CLI signed as bob (readwrite) and as a key that no longer exists.
    let as_user = |ak: &str, sk: &str, args: &[&str]| {
        let mut cmd = s.aws_cmd(args);
        cmd.env("AWS_ACCESS_KEY_ID", ak)
            .env("AWS_SECRET_ACCESS_KEY", sk);
        cmd.output().unwrap()
    };
    let listed = as_user("bob", "bob-secret-12", &["s3", "ls", "s3://photos"]);
    assert!(listed.status.success(), "{listed:?}");
    assert!(String::from_utf8_lossy(&listed.stdout).contains("bob.txt"));
    let refused = as_user("alice", "alice-secret-1", &["s3", "ls", "s3://photos"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("InvalidAccessKeyId"),
        "{refused:?}"
    );

    // The state is the deployment's: bob and his policy survive a restart.
    s.kill();
    s.launch(&[]);
    let out = s.py_ok(
        "boto3_as.py",
        &["bob", "bob-secret-12", "photos", "bob.txt"],
    );
    assert!(out.contains("\"hi\""), "{out}");

    // No secret in the clear on any drive, in the log or on the metrics page.
    let metrics = s.metrics_page("cluster") + &s.metrics_page("node");
    for secret in ["alice-secret-1", "bob-secret-12"] {
        let hits = std::process::Command::new("grep")
            .args(["-r", "-l", "-a", secret])
            .args(&s.drives)
            .output()
            .unwrap();
        assert!(hits.stdout.is_empty(), "{secret} on disk: {hits:?}");
        assert!(!s.log_text().contains(secret), "{secret} in the log");
        assert!(!metrics.contains(secret), "{secret} in the metrics");
    }
}

#[test]
fn groups_service_accounts_and_the_deployment_through_the_admin_api() {
    let s = Server::start();
    let v = s.py_json("admin_accounts.py", &[]);
    // Groups.
    ok(&v, "group_add");
    assert_eq!(status(&v, "group_add_unknown"), 404, "{v}");
    assert_eq!(ok(&v, "group_info")["members"][0], "dora", "{v}");
    assert_eq!(ok(&v, "group_info")["policy"], "readonly", "{v}");
    assert_eq!(ok(&v, "group_list")[0], "readers", "{v}");
    assert_eq!(ok(&v, "dora_get"), "aaa");
    assert_eq!(v["dora_put"]["code"], "AccessDenied", "{v}");
    assert_eq!(v["dora_get_disabled_group"]["code"], "AccessDenied", "{v}");
    assert_eq!(ok(&v, "dora_get_again"), "aaa");
    let entities = ok(&v, "entities");
    assert_eq!(entities["userMappings"][0]["user"], "dora", "{v}");
    assert_eq!(entities["policyMappings"][0]["groups"][0], "readers", "{v}");
    assert_eq!(status(&v, "group_remove_nonempty"), 400, "{v}");
    assert_eq!(v["dora_get_removed"]["code"], "AccessDenied", "{v}");
    ok(&v, "group_remove_empty");
    assert_eq!(status(&v, "group_info_gone"), 404, "{v}");

    // Service accounts.
    assert_eq!(ok(&v, "sa_add")["credentials"]["accessKey"], "erinapp1");
    let generated = &ok(&v, "sa_add_generated")["credentials"];
    assert_eq!(
        generated["accessKey"].as_str().map(str::len),
        Some(20),
        "{v}"
    );
    assert_eq!(
        generated["secretKey"].as_str().map(str::len),
        Some(40),
        "{v}"
    );
    // minio-py names no target user: a service account is the caller's own.
    assert_eq!(
        ok(&v, "root_sa")["credentials"]["accessKey"]
            .as_str()
            .map(str::len),
        Some(20)
    );
    let info = ok(&v, "sa_info");
    assert_eq!(info["parentUser"], "erin", "{v}");
    assert_eq!(info["impliedPolicy"], false, "{v}");
    assert_eq!(info["name"], "app1", "{v}");
    let listed = ok(&v, "sa_list")["accounts"].to_string();
    assert!(listed.contains("erinapp1"), "{listed}");
    // Narrowed by its own policy below erin's readwrite; a self-made one acts as erin.
    assert_eq!(ok(&v, "app_get"), "aaa");
    assert_eq!(v["app_put"]["code"], "AccessDenied", "{v}");
    assert_eq!(ok(&v, "selfapp_put"), 200);
    assert_eq!(status(&v, "fred_sa_info"), 403, "{v}");
    assert_eq!(status(&v, "fred_sa_delete"), 403, "{v}");
    assert_eq!(v["app_get_disabled"]["code"], "InvalidAccessKeyId", "{v}");
    assert_eq!(ok(&v, "app_get_enabled"), "aaa");
    // A service account cannot act on its parent's account as the parent may (MinIO's rule).
    for step in [
        "app_sets_parent_secret",
        "app_adds_service_account",
        "app_lists_service_accounts",
    ] {
        assert_eq!(status(&v, step), 403, "{step}: {v}");
    }
    assert_eq!(
        v["app_get_parent_disabled"]["code"], "InvalidAccessKeyId",
        "{v}"
    );
    assert_eq!(v["app_get_deleted"]["code"], "InvalidAccessKeyId", "{v}");

    // The deployment as `mc admin info` shows it.
    let info = ok(&v, "info");
    assert_eq!(info["mode"], "online", "{v}");
    assert_eq!(info["backend"]["backendType"], "Erasure", "{info}");
    assert_eq!(info["backend"]["onlineDisks"], 4, "{info}");
    assert_eq!(info["backend"]["offlineDisks"], 0, "{info}");
    assert_eq!(
        info["servers"][0]["drives"].as_array().map(Vec::len),
        Some(4),
        "{info}"
    );
    assert_eq!(info["buckets"]["count"], 1, "{info}");
    assert_eq!(ok(&v, "usage")["bucketsCount"], 1, "{v}");
    // accountinfo: erin (readwrite) reads and writes `data`; fred (no policy) sees nothing.
    let erin = &ok(&v, "account_erin")["Buckets"][0];
    assert_eq!(erin["name"], "data", "{v}");
    assert_eq!(erin["access"]["read"], true, "{v}");
    assert_eq!(erin["access"]["write"], true, "{v}");
    assert_eq!(
        ok(&v, "account_fred")["Buckets"],
        Value::Array(vec![]),
        "{v}"
    );
}

#[test]
fn a_bucket_quota_set_through_the_admin_api_refuses_writes_past_it() {
    let s = Server::start_with(4, &["--usage-interval", "1s"]);
    let v = s.py_json("admin_quota.py", &[]);
    assert_eq!(status(&v, "get_none"), 404, "{v}");
    ok(&v, "set");
    assert_eq!(status(&v, "set_missing"), 404, "{v}");
    assert_eq!(ok(&v, "get")["quota"], 100_000, "{v}");
    assert_eq!(ok(&v, "put1"), 200);
    // Past the quota by any route: PUT, copy, a part.
    for step in ["put2", "copy", "part"] {
        assert_eq!(
            v[step]["code"], "XMinioAdminBucketQuotaExceeded",
            "{step}: {v}"
        );
        assert_eq!(v[step]["status"], 400, "{step}: {v}");
    }
    assert_eq!(ok(&v, "small"), 200);
    assert_eq!(ok(&v, "other_bucket"), 200);
    assert_eq!(ok(&v, "after_delete"), 200, "{v}");
    ok(&v, "clear");
    assert_eq!(status(&v, "get_cleared"), 404, "{v}");
    assert_eq!(ok(&v, "unlimited"), 200);
}

#[test]
fn only_a_signed_payload_changes_anything_through_the_admin_api() {
    let s = Server::start();
    let v = s.py_json("admin_wire.py", &[]);
    let status = |step: &str| v[step]["status"].as_u64().unwrap_or(0);
    for refused in ["swapped", "unsigned_payload"] {
        assert_eq!(status(refused), 400, "{refused}: {v}");
    }
    assert!(
        v["swapped"]["body"]
            .as_str()
            .is_some_and(|b| b.contains("XAmzContentSHA256Mismatch")),
        "{v}"
    );
    assert_eq!(status("sigv2"), 403, "{v}");
    assert_eq!(status("anonymous"), 403, "{v}");
    assert_eq!(status("honest"), 200, "{v}");
    assert_eq!(status("unknown_call"), 501, "{v}");
    assert_eq!(status("v4"), 426, "{v}");
    // Only the honest call stored a policy.
    let policies = v["policies"].to_string();
    assert!(policies.contains("honest"), "{policies}");
    for name in ["swapped", "unsigned", "v2"] {
        assert!(
            !policies.contains(&format!("\"{name}\"")),
            "{name}: {policies}"
        );
    }
}

/// A service account stops working at its expiry: the server's clock (and the client's, so
/// that signatures stay in time) is moved past it with libfaketime; a past or too-near expiry
/// is refused when the account is made.
#[test]
fn an_expired_service_account_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new(dir.path());
    let env = clock.env();
    let s = Server::start_with_env(4, &[], &env);
    let mut cmd = s.py_cmd("admin_expiry.py", &[]);
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let out = run(&mut cmd);
    assert!(
        out.status.success(),
        "admin_expiry.py: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.log_text()
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(text.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("bad JSON: {e}: {text}"));
    for refused in ["past", "too_soon"] {
        assert_eq!(status(&v, refused), 400, "{refused}: {v}");
    }
    assert!(
        ok(&v, "info")["expiration"]
            .as_str()
            .is_some_and(|e| !e.starts_with("0001")),
        "{v}"
    );
    assert_eq!(ok(&v, "get_before"), "aaa");
    assert_eq!(ok(&v, "clock_moved"), true, "{v}");
    for refused in ["get_after", "put_after"] {
        assert_eq!(v[refused]["code"], "InvalidAccessKeyId", "{refused}: {v}");
    }
    // Only that account is refused: one without an expiry and root work on the moved clock.
    assert_eq!(ok(&v, "forever_after"), "aaa");
    assert_eq!(ok(&v, "root_after"), "aaa");
    assert_eq!(ok(&v, "keys"), &serde_json::json!(["a.txt"]), "{v}");
}

/// New root credentials: the users' and service accounts' secrets, sealed under the old ones,
/// do not open (the log says how to fix it) until the server is started once with the old
/// credentials too; then they work under the new ones alone.
#[test]
fn changed_root_credentials_keep_users_once_the_old_ones_are_given() {
    const NEW_USER: &str = "newroot";
    const NEW_SECRET: &str = "new-root-secret-key";
    let mut s = Server::start();
    let setup = s.py_json("admin_rotate.py", &["setup"]);
    for step in ["user", "attach", "sa"] {
        ok(&setup, step);
    }
    let use_as = |s: &Server, user: &str, secret: &str| -> Value {
        let mut cmd = s.py_cmd("admin_rotate.py", &["use"]);
        cmd.env("S3_ACCESS_KEY", user).env("S3_SECRET_KEY", secret);
        let out = run(&mut cmd);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        serde_json::from_str(text.lines().last().unwrap_or_default())
            .unwrap_or_else(|e| panic!("bad JSON: {e}: {text}"))
    };
    let all_work = |v: &Value| {
        for step in ["root", "user", "service_account"] {
            assert_eq!(ok(v, step), "kept", "{step}: {v}");
        }
        assert_eq!(ok(v, "users"), &serde_json::json!(["hank"]), "{v}");
    };
    all_work(&use_as(&s, USER, SECRET));

    // The root credentials change: the stored secrets do not open.
    s.kill();
    s.set_env(&[
        ("STRATA_ROOT_USER", NEW_USER),
        ("STRATA_ROOT_PASSWORD", NEW_SECRET),
    ]);
    s.launch(&[]);
    let stuck = use_as(&s, NEW_USER, NEW_SECRET);
    assert_eq!(ok(&stuck, "root"), "kept", "{stuck}");
    for step in ["user", "service_account"] {
        assert_eq!(stuck[step]["status"], 403, "{step}: {stuck}");
    }
    assert!(
        s.log_text().contains("STRATA_ROOT_USER_OLD"),
        "no hint in the log:\n{}",
        s.log_text()
    );

    // Started once with the old ones too: sealed again under the new credentials.
    s.kill();
    s.set_env(&[
        ("STRATA_ROOT_USER", NEW_USER),
        ("STRATA_ROOT_PASSWORD", NEW_SECRET),
        ("STRATA_ROOT_USER_OLD", USER),
        ("STRATA_ROOT_PASSWORD_OLD", SECRET),
    ]);
    s.launch(&[]);
    all_work(&use_as(&s, NEW_USER, NEW_SECRET));

    // ... for good: the new credentials alone.
    s.kill();
    s.set_env(&[
        ("STRATA_ROOT_USER", NEW_USER),
        ("STRATA_ROOT_PASSWORD", NEW_SECRET),
    ]);
    s.launch(&[]);
    all_work(&use_as(&s, NEW_USER, NEW_SECRET));
}
