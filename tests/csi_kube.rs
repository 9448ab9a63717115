//! `--state kube`: the controller keeps drives and volumes as `Drive` and `Volume` custom
//! resources through kube-rs. No Kubernetes API server can run here, so this test serves the
//! few endpoints the driver uses (list, watch, get, create, replace, replace of the status
//! subresource, delete of strata.dev/v1alpha1 drives and volumes, with resourceVersion checks
//! and 409 conflicts as the API server answers them, and the status subresource's rules: a
//! write of the object keeps the stored status, a write of the status keeps the stored spec)
//! and runs the real `strata csi --mode controller` against it over HTTP.

use crate::common;
use crate::csi_support;

use bytes::Bytes;
use common::{Lab, LoopDevice};
use csi_support::{connect, create_request, mount_cap, topology};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use strata::csi::proto::controller_client::ControllerClient;
use strata::csi::proto::identity_client::IdentityClient;
use strata::csi::proto::node_client::NodeClient;
use strata::csi::proto::*;
use tonic::Code;

const MIB: u64 = 1 << 20;
const PREFIX: &str = "/apis/strata.dev/v1alpha1/";

type Body = BoxBody<Bytes, Infallible>;

/// The API server's side of optimistic concurrency for two cluster-scoped resources.
#[derive(Default)]
struct FakeApi {
    objects: Mutex<BTreeMap<(String, String), Value>>,
    version: AtomicU64,
    conflicts: AtomicU64,
    /// List requests served (the store lists at start, then watches).
    lists: AtomicU64,
    /// Every change, for watches: (resourceVersion, plural, event type, object).
    events: Mutex<Vec<(u64, String, &'static str, Value)>>,
    changed: tokio::sync::Notify,
}

fn status(code: StatusCode, reason: &str, message: &str) -> Response<Body> {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16(),
    });
    reply(code, body)
}

fn reply(code: StatusCode, body: Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())).boxed())
        .unwrap()
}

/// The query parameter `key` of a request.
fn param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

impl FakeApi {
    fn next_version(&self) -> String {
        (self.version.fetch_add(1, Ordering::SeqCst) + 1).to_string()
    }

    fn insert(&self, plural: &str, mut obj: Value) {
        let name = obj["metadata"]["name"].as_str().unwrap().to_string();
        // Under the lock, as every change: a list sees the object or a version before it.
        let mut objects = self.objects.lock().unwrap();
        obj["metadata"]["resourceVersion"] = self.next_version().into();
        self.record(plural, "ADDED", &obj);
        objects.insert((plural.to_string(), name), obj);
    }

    /// A change for the watches to send.
    fn record(&self, plural: &str, kind: &'static str, obj: &Value) {
        let version = obj["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap();
        self.events
            .lock()
            .unwrap()
            .push((version, plural.to_string(), kind, obj.clone()));
        self.changed.notify_waiters();
    }

    /// The changes to `plural` after `from`, as watch lines, waiting until there are some.
    async fn changes_after(&self, plural: &str, from: u64) -> (u64, String) {
        loop {
            // Created before looking: a change made meanwhile still wakes it.
            let changed = self.changed.notified();
            if let Some(found) = self.pending(plural, from) {
                return found;
            }
            changed.await;
        }
    }

    /// The changes to `plural` after `from`: the last version and the watch lines.
    fn pending(&self, plural: &str, from: u64) -> Option<(u64, String)> {
        let events = self.events.lock().unwrap();
        let new: Vec<_> = events
            .iter()
            .filter(|(v, p, _, _)| *v > from && p == plural)
            .collect();
        let last = new.last()?.0;
        let lines = new
            .iter()
            .map(|(_, _, kind, obj)| format!("{}\n", json!({"type": kind, "object": obj})))
            .collect();
        Some((last, lines))
    }

    /// A watch: the changes after `from`, as they come, for as long as the client listens.
    fn watch(self: Arc<Self>, plural: String, from: u64) -> Response<Body> {
        let changes = futures_util::stream::unfold((self, from), move |(api, from)| {
            let plural = plural.clone();
            async move {
                let (last, lines) = api.changes_after(&plural, from).await;
                let frame = Ok::<_, Infallible>(Frame::data(Bytes::from(lines)));
                Some((frame, (api, last)))
            }
        });
        Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json")
            .body(StreamBody::new(changes).boxed())
            .unwrap()
    }

    fn all(&self, plural: &str) -> Vec<Value> {
        let objects = self.objects.lock().unwrap();
        objects
            .iter()
            .filter(|((p, _), _)| p == plural)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn handle(
        self: &Arc<Self>,
        method: &Method,
        path: &str,
        query: &str,
        body: &[u8],
    ) -> Response<Body> {
        let Some(rest) = path.strip_prefix(PREFIX) else {
            return status(StatusCode::NOT_FOUND, "NotFound", path);
        };
        let mut parts = rest.split('/');
        let plural = parts.next().unwrap_or_default().to_string();
        let name = parts.next().map(str::to_string);
        let subresource = parts.next();
        if subresource.is_some_and(|s| s != "status") {
            return status(StatusCode::NOT_FOUND, "NotFound", path);
        }
        let kind = match plural.as_str() {
            "drives" => "Drive",
            "volumes" => "Volume",
            _ => return status(StatusCode::NOT_FOUND, "NotFound", &plural),
        };
        let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let mut objects = self.objects.lock().unwrap();
        match (method.clone(), name) {
            (Method::GET, None) if param(query, "watch") == Some("true") => {
                let from = param(query, "resourceVersion")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                drop(objects);
                self.clone().watch(plural, from)
            }
            (Method::GET, Some(name)) => match objects.get(&(plural, name.clone())) {
                Some(obj) => reply(StatusCode::OK, obj.clone()),
                None => status(StatusCode::NOT_FOUND, "NotFound", &name),
            },
            (Method::GET, None) => {
                self.lists.fetch_add(1, Ordering::SeqCst);
                let items: Vec<Value> = objects
                    .iter()
                    .filter(|((p, _), _)| *p == plural)
                    .map(|(_, v)| v.clone())
                    .collect();
                let version = self.version.load(Ordering::SeqCst).to_string();
                reply(
                    StatusCode::OK,
                    json!({"apiVersion": "strata.dev/v1alpha1", "kind": format!("{kind}List"),
                           "metadata": {"resourceVersion": version}, "items": items}),
                )
            }
            (Method::POST, None) => {
                let name = parsed["metadata"]["name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                let key = (plural, name.clone());
                if objects.contains_key(&key) {
                    self.conflicts.fetch_add(1, Ordering::SeqCst);
                    return status(StatusCode::CONFLICT, "AlreadyExists", &name);
                }
                // The status subresource: a new object has no status yet.
                let mut obj = parsed;
                if let Some(o) = obj.as_object_mut() {
                    o.remove("status");
                }
                obj["metadata"]["resourceVersion"] = self.next_version().into();
                self.record(&key.0, "ADDED", &obj);
                objects.insert(key, obj.clone());
                reply(StatusCode::CREATED, obj)
            }
            (Method::PUT, Some(name)) => {
                let key = (plural, name.clone());
                let Some(stored) = objects.get(&key) else {
                    return status(StatusCode::NOT_FOUND, "NotFound", &name);
                };
                if parsed["metadata"]["resourceVersion"] != stored["metadata"]["resourceVersion"] {
                    self.conflicts.fetch_add(1, Ordering::SeqCst);
                    return status(
                        StatusCode::CONFLICT,
                        "Conflict",
                        "the object has been modified",
                    );
                }
                // A write of the object keeps the stored status; a write of the status keeps
                // the stored object.
                let mut obj = stored.clone();
                match subresource {
                    None => {
                        obj["metadata"] = parsed["metadata"].clone();
                        obj["spec"] = parsed["spec"].clone();
                    }
                    Some(_) => obj["status"] = parsed["status"].clone(),
                }
                obj["metadata"]["resourceVersion"] = self.next_version().into();
                self.record(&key.0, "MODIFIED", &obj);
                objects.insert(key, obj.clone());
                reply(StatusCode::OK, obj)
            }
            (Method::DELETE, Some(name)) => {
                let key = (plural, name.clone());
                let Some(stored) = objects.get(&key) else {
                    return status(StatusCode::NOT_FOUND, "NotFound", &name);
                };
                let want = &parsed["preconditions"]["resourceVersion"];
                if !want.is_null() && *want != stored["metadata"]["resourceVersion"] {
                    self.conflicts.fetch_add(1, Ordering::SeqCst);
                    return status(StatusCode::CONFLICT, "Conflict", "precondition failed");
                }
                let mut obj = objects.remove(&key).unwrap();
                obj["metadata"]["resourceVersion"] = self.next_version().into();
                self.record(&key.0, "DELETED", &obj);
                reply(StatusCode::OK, obj)
            }
            _ => status(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", path),
        }
    }
}

/// Serves the fake API on 127.0.0.1 from a background runtime; returns its URL.
fn serve(api: Arc<FakeApi>, rt: &tokio::runtime::Runtime) -> String {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    rt.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let api = api.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let api = api.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body.collect().await?.to_bytes();
                            Ok::<_, hyper::Error>(api.handle(
                                &parts.method,
                                parts.uri.path(),
                                parts.uri.query().unwrap_or_default(),
                                &body,
                            ))
                        }
                    });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    url
}

fn drive(name: &str, node: &str, capacity: u64) -> Value {
    json!({
        "apiVersion": "strata.dev/v1alpha1", "kind": "Drive",
        "metadata": {"name": name},
        "spec": {"node": node, "tier": "hot", "capacityBytes": capacity, "nextProjectId": 1,
                 "projectQuota": true},
        "status": {"state": "Ready", "allocatedBytes": 0, "freeBytes": capacity},
    })
}

struct Plugin {
    child: Child,
    _dir: tempfile::TempDir,
    socket: std::path::PathBuf,
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `strata csi --mode controller --state kube` with a kubeconfig naming the fake API.
fn start_controller(url: &str, rt: &tokio::runtime::Runtime) -> Plugin {
    start_csi(
        url,
        rt,
        &["--mode", "controller", "--node-id", "controller"],
    )
}

/// `strata csi ARGS --state kube` with a kubeconfig naming the fake API, once its Probe says
/// ready.
fn start_csi(url: &str, rt: &tokio::runtime::Runtime, args: &[&str]) -> Plugin {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {url}\n\
             users:\n- name: test\n  user: {{}}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: test\n\
             current-context: fake\n"
        ),
    )
    .unwrap();
    let socket = dir.path().join("csi.sock");
    let child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("csi")
        .args(args)
        .args(["--state", "kube"])
        .arg("--endpoint")
        .arg(format!("unix://{}", socket.display()))
        .env("KUBECONFIG", &kubeconfig)
        .env("RUST_LOG", "strata=info")
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let plugin = Plugin {
        child,
        _dir: dir,
        socket,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = rt.block_on(async {
            let mut id = IdentityClient::new(connect(&plugin.socket).await.ok()?);
            id.probe(ProbeRequest {}).await.ok()?.into_inner().ready
        });
        if ready == Some(true) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "plugin {args:?} not ready in 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    plugin
}

#[test]
fn parallel_creates_reserve_through_resource_versions_and_never_overcommit() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let api = Arc::new(FakeApi::default());
    api.insert("drives", drive("drive-a", "n1", 100 * MIB));
    api.insert("drives", drive("drive-b", "n1", 100 * MIB));
    api.insert("drives", drive("drive-c", "n2", 100 * MIB));
    let url = serve(api.clone(), &rt);
    let ctl = start_controller(&url, &rt);
    let channel = rt.block_on(connect(&ctl.socket)).unwrap();
    let client = ControllerClient::new(channel);

    let results: Vec<Result<Volume, tonic::Status>> = rt.block_on(async {
        let calls = (0..50).map(|i| {
            let mut c = client.clone();
            let req = create_request(&format!("pvc-k{i}"), (10 * MIB) as i64, &[], "n1");
            async move {
                c.create_volume(req)
                    .await
                    .map(|r| r.into_inner().volume.unwrap())
            }
        });
        futures_util::future::join_all(calls).await
    });
    let created = results.iter().filter(|r| r.is_ok()).count();
    for r in &results {
        if let Err(e) = r {
            assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
        }
    }
    assert_eq!(
        created, 20,
        "two 100 MiB drives on n1 hold twenty 10 MiB volumes"
    );

    // The custom resources say the same: twenty Volume objects on n1's drives, each drive's
    // allocatedBytes within its capacity, project ids unique per drive.
    let volumes = api.all("volumes");
    assert_eq!(volumes.len(), 20);
    let mut pids = std::collections::HashSet::new();
    for v in &volumes {
        assert_eq!(v["spec"]["node"], "n1");
        assert_eq!(v["status"]["phase"], "Ready", "{v}");
        assert!(v["spec"].get("phase").is_none(), "{v}");
        let key = (
            v["spec"]["driveId"].to_string(),
            v["spec"]["projectId"].as_u64().unwrap(),
        );
        assert!(
            pids.insert(key.clone()),
            "project id {key:?} handed out twice"
        );
    }
    for d in api.all("drives") {
        let allocated = d["status"]["allocatedBytes"].as_u64().unwrap();
        let expect = if d["spec"]["node"] == "n1" {
            100 * MIB
        } else {
            0
        };
        assert_eq!(allocated, expect, "{d}");
    }
    eprintln!(
        "the fake API server answered {} conflicts",
        api.conflicts.load(Ordering::SeqCst)
    );

    let mut c = client.clone();
    let cap = rt
        .block_on(c.get_capacity(GetCapacityRequest {
            accessible_topology: Some(topology("n2")),
            ..Default::default()
        }))
        .unwrap()
        .into_inner();
    assert_eq!(cap.available_capacity, (100 * MIB) as i64);

    // Pages of seven cover every volume once.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = rt
            .block_on(c.list_volumes(ListVolumesRequest {
                max_entries: 7,
                starting_token: token.clone(),
            }))
            .unwrap()
            .into_inner();
        seen.extend(
            page.entries
                .into_iter()
                .map(|e| e.volume.unwrap().volume_id),
        );
        if page.next_token.is_empty() {
            break;
        }
        token = page.next_token;
    }
    assert_eq!(seen.len(), 20);

    // A controller alone marks the volume deleting; the node plugin that owns the drive
    // removes the data and then the object, which frees the capacity.
    let victim = results
        .iter()
        .find_map(|r| r.as_ref().ok())
        .unwrap()
        .volume_id
        .clone();
    rt.block_on(c.delete_volume(DeleteVolumeRequest {
        volume_id: victim.clone(),
        ..Default::default()
    }))
    .unwrap();
    let phase = api
        .all("volumes")
        .into_iter()
        .find(|v| v["metadata"]["name"] == victim.as_str())
        .map(|v| v["status"]["phase"].clone());
    assert_eq!(phase, Some(json!("Deleting")));
}

#[test]
fn an_unreachable_api_server_is_an_error_not_a_ready_plugin() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    // Nothing listens on port 9 (discard) of 127.0.0.1 here.
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: x\n  cluster:\n    server: http://127.0.0.1:9\n\
         users:\n- name: u\n  user: {}\ncontexts:\n- name: x\n  context:\n    cluster: x\n    user: u\n\
         current-context: x\n",
    )
    .unwrap();
    let socket = dir.path().join("csi.sock");
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "csi",
            "--mode",
            "controller",
            "--node-id",
            "c",
            "--state",
            "kube",
        ])
        .arg("--endpoint")
        .arg(format!("unix://{}", socket.display()))
        .env("KUBECONFIG", &kubeconfig)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let answer = loop {
        let r = rt.block_on(async {
            let ch = connect(&socket).await.ok()?;
            let ready = IdentityClient::new(ch.clone())
                .probe(ProbeRequest {})
                .await
                .ok()?
                .into_inner()
                .ready;
            let create = ControllerClient::new(ch)
                .create_volume(create_request("pvc-x", MIB as i64, &[], "n1"))
                .await;
            Some((ready, create.map(|_| ()).map_err(|e| e.code())))
        });
        if let Some(a) = r {
            break a;
        }
        assert!(Instant::now() < deadline, "no socket in 20 s");
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(answer.0, Some(false), "Probe must not say ready");
    assert_eq!(answer.1, Err(Code::Unavailable));
}

/// Unmounts (lazily) whatever is still mounted at a path when the test ends.
struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_volume_the_node_plugin_has_staged_is_not_deleted_by_a_separate_controller() {
    // The Kubernetes layout: the node plugin (DaemonSet) and the controller (Deployment) in
    // two processes that share only the custom resources.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let lab = Lab::new();
    let disk = LoopDevice::new(512 * MIB);
    let mut format = vec!["format", disk.dev.as_str(), "--dangerous"];
    if !common::quota_supported() {
        format.push("--allow-no-quota");
    }
    lab.ok(&format);
    let api = Arc::new(FakeApi::default());
    let url = serve(api.clone(), &rt);
    let state_dir = lab.state().display().to_string();
    let node = start_csi(
        &url,
        &rt,
        &[
            "--mode",
            "node",
            "--node-id",
            &lab.node,
            "--state-dir",
            &state_dir,
            "--resync",
            "1s",
        ],
    );
    let ctl = start_controller(&url, &rt);
    let mut c = ControllerClient::new(rt.block_on(connect(&ctl.socket)).unwrap());
    let mut n = NodeClient::new(rt.block_on(connect(&node.socket)).unwrap());
    assert_eq!(
        api.all("drives").len(),
        1,
        "the node plugin publishes its drive"
    );

    let req = create_request("pvc-kube", (8 * MIB) as i64, &[], &lab.node);
    let id = rt
        .block_on(c.create_volume(req))
        .unwrap()
        .into_inner()
        .volume
        .unwrap()
        .volume_id;
    let dir = tempfile::tempdir().unwrap();
    let staging = dir.path().join("globalmount");
    let _unmount = Unmount(staging.clone());
    let staging = staging.display().to_string();
    rt.block_on(n.node_stage_volume(NodeStageVolumeRequest {
        volume_id: id.clone(),
        staging_target_path: staging.clone(),
        volume_capability: Some(mount_cap()),
        ..Default::default()
    }))
    .unwrap();
    let volume = |api: &FakeApi| {
        api.all("volumes")
            .into_iter()
            .find(|v| v["metadata"]["name"] == id.as_str())
    };
    assert_eq!(
        volume(&api).unwrap()["status"]["stagedAt"],
        json!([staging]),
        "the Volume object records where it is staged"
    );
    let delete = DeleteVolumeRequest {
        volume_id: id.clone(),
        ..Default::default()
    };
    let err = rt.block_on(c.delete_volume(delete.clone())).unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(err.message().contains(&staging), "{}", err.message());
    assert_eq!(volume(&api).unwrap()["status"]["phase"], "Ready");

    rt.block_on(n.node_unstage_volume(NodeUnstageVolumeRequest {
        volume_id: id.clone(),
        staging_target_path: staging.clone(),
    }))
    .unwrap();
    assert!(volume(&api).unwrap()["status"].get("stagedAt").is_none());
    rt.block_on(c.delete_volume(delete)).unwrap();
    // The node plugin removes the data, then the object.
    let deadline = Instant::now() + Duration::from_secs(15);
    while volume(&api).is_some() {
        assert!(
            Instant::now() < deadline,
            "the node plugin did not finish the delete"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn reads_come_from_a_watch_not_a_list_per_call() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let api = Arc::new(FakeApi::default());
    api.insert("drives", drive("drive-a", "n1", 100 * MIB));
    let url = serve(api.clone(), &rt);
    let ctl = start_controller(&url, &rt);
    let mut c = ControllerClient::new(rt.block_on(connect(&ctl.socket)).unwrap());
    let capacity = |c: &mut ControllerClient<_>| {
        rt.block_on(c.get_capacity(GetCapacityRequest::default()))
            .unwrap()
            .into_inner()
            .available_capacity
    };
    // Until its first lists have landed the store may read directly; from then on a read
    // lists nothing.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut lists = api.lists.load(Ordering::SeqCst);
    loop {
        assert_eq!(capacity(&mut c), (100 * MIB) as i64);
        let now = api.lists.load(Ordering::SeqCst);
        if now == lists {
            break;
        }
        assert!(Instant::now() < deadline, "every read lists ({now} lists)");
        lists = now;
        std::thread::sleep(Duration::from_millis(50));
    }
    for i in 0..10 {
        let req = create_request(&format!("pvc-w{i}"), (5 * MIB) as i64, &[], "n1");
        rt.block_on(c.create_volume(req)).unwrap();
        assert_eq!(
            capacity(&mut c),
            ((95 - 5 * i) * MIB) as i64,
            "reads its own writes"
        );
    }
    // A change by another writer reaches the cache through the watch.
    api.insert("drives", drive("drive-b", "n1", 50 * MIB));
    let deadline = Instant::now() + Duration::from_secs(10);
    while capacity(&mut c) != (100 * MIB) as i64 {
        assert!(Instant::now() < deadline, "the new drive never showed");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        api.lists.load(Ordering::SeqCst),
        lists,
        "thirty calls and a change listed nothing"
    );
}
