//! What the deployment is and holds: `info` (what `mc admin info` prints), `datausageinfo`
//! and `accountinfo` (the buckets the caller can see and whether it may read and write them).
//! Object counts and sizes come from the usage counter's latest crawl (as MinIO's come from
//! its scanner): as old as that crawl, zero before the first.

use super::{AdminError, Call, Reply};
use std::collections::BTreeMap;
use strata_admin::types::{
    AccountAccess, AccountInfo, BackendInfo, BucketAccessInfo, BucketUsageInfo, Buckets,
    DataUsageInfo, Disk, ErasureBackend, ErasureSetInfo, InfoMessage, ServerProperties, Usage,
};
use strata_engine::DriveState;
use strata_iam::date::rfc3339;
use strata_iam::{Context, ResourceKind};

/// What the server knows of itself, for `info`.
#[derive(Clone, Debug)]
pub struct ServerFacts {
    /// `host:port` as clients reach it.
    pub endpoint: String,
    pub region: String,
    pub started: std::time::Instant,
}

pub(super) fn handle(call: &Call<'_>, path: &str) -> Result<Reply, AdminError> {
    match path {
        "info" => Reply::json(&info(call)?),
        "datausageinfo" => Reply::json(&data_usage(call)?),
        "accountinfo" => Reply::json(&account(call)?),
        _ => Err(super::not_implemented(path)),
    }
}

fn engine_error(e: strata_engine::EngineError) -> AdminError {
    AdminError::new(
        http::StatusCode::SERVICE_UNAVAILABLE,
        "XMinioServerNotInitialized",
        e.to_string(),
    )
}

fn info(call: &Call<'_>) -> Result<InfoMessage, AdminError> {
    let e = call.engine;
    let drives = e.drives();
    let online = drives.iter().filter(|d| d.online).count() as i64;
    let usage = call.usage.latest().map(|s| s.total()).unwrap_or_default();
    let geometries = e.set_geometries(false);
    let mut pools: BTreeMap<u32, ErasureSetInfo> = BTreeMap::new();
    for d in &drives {
        let set = pools.entry(d.set as u32).or_insert_with(|| ErasureSetInfo {
            id: d.set as i64,
            ..Default::default()
        });
        if let Some(c) = d.capacity {
            set.raw_capacity += c.total;
            set.raw_usage += c.total.saturating_sub(c.free);
        }
        set.heal_disks += i64::from(d.healing);
    }
    Ok(InfoMessage {
        mode: "online".into(),
        region: call.facts.region.clone(),
        deployment_id: e.deployment_id().to_string(),
        buckets: Buckets {
            count: e.list_buckets().map_err(engine_error)?.len() as u64,
            error: String::new(),
        },
        objects: Buckets {
            count: usage.objects,
            error: String::new(),
        },
        usage: Usage {
            size: usage.bytes,
            error: String::new(),
        },
        backend: ErasureBackend {
            backend_type: "Erasure".into(),
            online_disks: online,
            offline_disks: drives.len() as i64 - online,
            standard_sc_parity: geometries.first().map_or(0, |g| g.parity as i64),
            rr_sc_parity: e
                .set_geometries(true)
                .first()
                .map_or(0, |g| g.parity as i64),
            total_sets: vec![e.set_count() as i64],
            drives_per_set: vec![geometries.first().map_or(0, |g| g.drives() as i64)],
        },
        servers: vec![ServerProperties {
            state: "online".into(),
            endpoint: call.facts.endpoint.clone(),
            scheme: "http".into(),
            uptime: call.facts.started.elapsed().as_secs() as i64,
            version: env!("CARGO_PKG_VERSION").into(),
            disks: drives.iter().map(|d| disk(call, d)).collect(),
            pool_number: 1,
            num_cpu: std::thread::available_parallelism().map_or(1, |n| n.get() as i64),
            ..Default::default()
        }],
        pools: BTreeMap::from([(0, pools)]),
        ..Default::default()
    })
}

fn disk(call: &Call<'_>, d: &DriveState) -> Disk {
    let path = d
        .path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let (total, free) = d.capacity.map_or((0, 0), |c| (c.total, c.free));
    Disk {
        endpoint: format!("{}{path}", call.facts.endpoint),
        drive_path: path,
        state: if d.online { "ok" } else { "offline" }.into(),
        healing: d.healing,
        uuid: d.drive_id.clone(),
        total_space: total,
        available_space: free,
        used_space: total.saturating_sub(free),
        local: true,
        set_index: d.set as i64,
        disk_index: d.position as i64,
        ..Default::default()
    }
}

fn data_usage(call: &Call<'_>) -> Result<DataUsageInfo, AdminError> {
    let latest = call.usage.latest();
    let drives = call.engine.drives();
    let (total, free) = drives
        .iter()
        .filter_map(|d| d.capacity)
        .fold((0, 0), |(t, f), c| (t + c.total, f + c.free));
    let mut out = DataUsageInfo {
        buckets_count: call.engine.list_buckets().map_err(engine_error)?.len() as u64,
        total_capacity: total,
        total_free_capacity: free,
        total_used_capacity: total.saturating_sub(free),
        ..Default::default()
    };
    if let Some(s) = latest {
        let t = s.total();
        out.objects_total_count = t.objects;
        out.objects_total_size = t.bytes;
        out.last_update = Some(rfc3339(s.taken_unix));
        for (name, u) in &s.buckets {
            out.bucket_sizes.insert(name.clone(), u.bytes);
            out.buckets_usage.insert(
                name.clone(),
                BucketUsageInfo {
                    size: u.bytes,
                    objects_count: u.objects,
                    versions_count: u.objects,
                    ..Default::default()
                },
            );
        }
    }
    Ok(out)
}

/// The caller's view: its policies, and each bucket it may list or write.
fn account(call: &Call<'_>) -> Result<AccountInfo, AdminError> {
    let id = call.caller;
    let cx = Context::new();
    let latest = call.usage.latest();
    let mut buckets = Vec::new();
    for b in call.engine.list_buckets().map_err(engine_error)? {
        let bucket_arn = ResourceKind::Bucket.arn(&b.name, "");
        let objects_arn = ResourceKind::Object.arn(&b.name, "*");
        let access = AccountAccess {
            read: id.is_allowed("s3:ListBucket", Some(&bucket_arn), &cx, None),
            write: id.is_allowed("s3:PutObject", Some(&objects_arn), &cx, None),
        };
        if !access.read && !access.write {
            continue;
        }
        let u = latest
            .as_ref()
            .and_then(|s| s.buckets.get(&b.name).copied())
            .unwrap_or_default();
        buckets.push(BucketAccessInfo {
            name: b.name,
            size: u.bytes,
            objects: u.objects,
            versions: u.objects,
            created: rfc3339(b.created_ns / 1_000_000_000),
            access,
            ..Default::default()
        });
    }
    Ok(AccountInfo {
        account_name: id.username().to_string(),
        server: BackendInfo {
            kind: BackendInfo::ERASURE,
            ..Default::default()
        },
        policy: policy_of(id),
        buckets,
    })
}

/// The caller's identity policies as one document (their statements together).
fn policy_of(id: &strata_iam::Identity) -> serde_json::Value {
    let statements: Vec<serde_json::Value> = if id.acts_as_root() {
        vec![
            serde_json::json!({"Effect": "Allow", "Action": ["admin:*", "s3:*"], "Resource": ["arn:aws:s3:::*"]}),
        ]
    } else {
        id.policies()
            .iter()
            .filter_map(|p| serde_json::from_str::<serde_json::Value>(&p.to_json()).ok())
            .filter_map(|v| v.get("Statement").cloned())
            .flat_map(|s| match s {
                serde_json::Value::Array(items) => items,
                one => vec![one],
            })
            .collect()
    };
    serde_json::json!({"Version": "2012-10-17", "Statement": statements})
}
