//! Users and policies with real clients: minio-py's `MinioAdmin` manages them (its encrypted
//! bodies included), boto3 signs as them; allowed calls succeed, denied ones are AccessDenied
//! and change nothing; a disabled or removed user is refused. No secret is stored in the clear.

use crate::s3_support::Server;
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
    for step in ["alice_put", "alice_delete", "alice_buckets", "alice_create"] {
        assert_eq!(v[step]["code"], "AccessDenied", "{step}: {v}");
    }
    assert_eq!(status(&v, "alice_admin"), 403, "{v}");
    assert_eq!(
        v["alice_wrong_secret"]["code"], "SignatureDoesNotMatch",
        "{v}"
    );
    assert_eq!(v["bob_get"]["code"], "AccessDenied", "{v}");
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

    // The state is the deployment's: bob and his policy survive a restart.
    s.kill();
    s.launch(&[]);
    let out = s.py_ok(
        "boto3_as.py",
        &["bob", "bob-secret-12", "photos", "bob.txt"],
    );
    assert!(out.contains("\"hi\""), "{out}");

    // No secret in the clear on any drive, nor in the log.
    for secret in ["alice-secret-1", "bob-secret-12"] {
        let hits = std::process::Command::new("grep")
            .args(["-r", "-l", "-a", secret])
            .args(&s.drives)
            .output()
            .unwrap();
        assert!(hits.stdout.is_empty(), "{secret} on disk: {hits:?}");
        assert!(!s.log_text().contains(secret), "{secret} in the log");
    }
}
