//! What the server crate promises outside its modules.

use super::*;

/// A config (or its scrape access) printed with `{:?}`, as a log line would, shows the access
/// key and never the secret.
#[test]
fn debug_prints_never_show_the_root_secret() {
    let root = Credentials {
        access_key: "rootuser".into(),
        secret_key: "s3cr3t-never-shown".into(),
    };
    let cfg = ServerConfig {
        address: "127.0.0.1:9000".parse().expect("address"),
        drives: vec![],
        engine: Config::default(),
        root: root.clone(),
        old_root: Some(Credentials {
            access_key: "olduser".into(),
            secret_key: "old-s3cr3t-never-shown".into(),
        }),
        show_credentials: false,
        region: "us-east-1".into(),
        domains: vec![],
        usage_interval: None,
        post_max_size: 1,
        limits: Limits {
            header: Duration::from_secs(1),
            idle: Duration::from_secs(1),
            body: Duration::from_secs(1),
            min_body_rate: 0,
        },
        max_requests: 1,
        requests_deadline: Duration::from_secs(1),
        max_connections: 1,
        scrape: ScrapeAccess::Token {
            access_key: root.access_key.clone(),
            secret_key: root.secret_key.clone(),
        },
        sts: StsConfig::default(),
    };
    let shown = format!("{cfg:?} {cfg:#?}");
    assert!(shown.contains("rootuser"), "{shown}");
    assert!(shown.contains("olduser"), "{shown}");
    assert!(!shown.contains("s3cr3t-never-shown"), "{shown}");
}
