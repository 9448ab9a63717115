//! `--state kube`: the controller keeps drives and volumes as `Drive` and `Volume` custom
//! resources through kube-rs. No Kubernetes API server can run here, so this test serves the
//! few endpoints the driver uses (list, create, replace, delete of strata.dev/v1alpha1
//! drives and volumes, with resourceVersion checks and 409 conflicts as the API server
//! answers them) and runs the real `strata csi --mode controller` against it over HTTP.

mod common;
mod csi_support;

use bytes::Bytes;
use common::{Lab, LoopDevice};
use csi_support::{connect, create_request, mount_cap, topology};
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;
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

/// The API server's side of optimistic concurrency for two cluster-scoped resources.
#[derive(Default)]
struct FakeApi {
    objects: Mutex<BTreeMap<(String, String), Value>>,
    version: AtomicU64,
    conflicts: AtomicU64,
}

fn status(code: StatusCode, reason: &str, message: &str) -> Response<Full<Bytes>> {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16(),
    });
    reply(code, body)
}

fn reply(code: StatusCode, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

impl FakeApi {
    fn next_version(&self) -> String {
        (self.version.fetch_add(1, Ordering::SeqCst) + 1).to_string()
    }

    fn insert(&self, plural: &str, mut obj: Value) {
        let name = obj["metadata"]["name"].as_str().unwrap().to_string();
        obj["metadata"]["resourceVersion"] = self.next_version().into();
        self.objects
            .lock()
            .unwrap()
            .insert((plural.to_string(), name), obj);
    }

    fn all(&self, plural: &str) -> Vec<Value> {
        let objects = self.objects.lock().unwrap();
        objects
            .iter()
            .filter(|((p, _), _)| p == plural)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn handle(&self, method: &Method, path: &str, body: &[u8]) -> Response<Full<Bytes>> {
        let Some(rest) = path.strip_prefix(PREFIX) else {
            return status(StatusCode::NOT_FOUND, "NotFound", path);
        };
        let (plural, name) = match rest.split_once('/') {
            Some((p, n)) => (p.to_string(), Some(n.to_string())),
            None => (rest.to_string(), None),
        };
        let kind = match plural.as_str() {
            "drives" => "Drive",
            "volumes" => "Volume",
            _ => return status(StatusCode::NOT_FOUND, "NotFound", &plural),
        };
        let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let mut objects = self.objects.lock().unwrap();
        match (method.clone(), name) {
            (Method::GET, None) => {
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
                let mut obj = parsed;
                obj["metadata"]["resourceVersion"] = self.next_version().into();
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
                let mut obj = parsed;
                obj["metadata"]["resourceVersion"] = self.next_version().into();
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
                let obj = objects.remove(&key).unwrap();
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
        "spec": {"node": node, "tier": "hot", "capacityBytes": capacity, "allocatedBytes": 0,
                 "state": "Ready", "nextProjectId": 1, "projectQuota": true},
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
        let allocated = d["spec"]["allocatedBytes"].as_u64().unwrap();
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
        .map(|v| v["spec"]["phase"].clone());
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
        volume(&api).unwrap()["spec"]["stagedAt"],
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
    assert_eq!(volume(&api).unwrap()["spec"]["phase"], "Ready");

    rt.block_on(n.node_unstage_volume(NodeUnstageVolumeRequest {
        volume_id: id.clone(),
        staging_target_path: staging.clone(),
    }))
    .unwrap();
    assert!(volume(&api).unwrap()["spec"].get("stagedAt").is_none());
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
