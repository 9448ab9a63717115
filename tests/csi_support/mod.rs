//! A `strata csi` process on loop drives formatted by drivectl, with CSI clients over its
//! real unix socket. The plugin is killed when the harness is dropped; the drives' mounts
//! and loop devices go with the `Lab` and `LoopDevice` guards of tests/common.
#![allow(dead_code)]

use crate::common::{Lab, LoopDevice};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use strata::csi::proto::controller_client::ControllerClient;
use strata::csi::proto::identity_client::IdentityClient;
use strata::csi::proto::node_client::NodeClient;
use strata::csi::proto::volume_capability::{
    access_mode::Mode, AccessMode, AccessType, MountVolume,
};
use strata::csi::proto::*;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

pub const TOPOLOGY_KEY: &str = "topology.strata.dev/node";

pub struct Csi {
    pub lab: Lab,
    pub drives: Vec<LoopDevice>,
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub state_file: PathBuf,
    child: Option<Child>,
    pub rt: tokio::runtime::Runtime,
    channel: Option<Channel>,
    /// `all`, or `node` beside a separate [`Controller`] (the Kubernetes layout).
    mode: &'static str,
}

impl Csi {
    /// `n` loop drives of `size` bytes formatted by drivectl, and the plugin in `all` mode.
    pub fn start(n: usize, size: u64) -> Csi {
        Csi::start_mode(n, size, "all")
    }

    /// The same with the plugin in the given mode (`all` or `node`).
    pub fn start_mode(n: usize, size: u64, mode: &'static str) -> Csi {
        let mut csi = Csi::formatted(n, size, mode, None);
        csi.launch();
        csi
    }

    /// `n` loop drives formatted by drivectl for this lab's node, or for `node_name` when
    /// given (drives that name another node than the plugin's); the plugin not started.
    pub fn formatted(n: usize, size: u64, mode: &'static str, node_name: Option<&str>) -> Csi {
        let lab = Lab::new();
        let drives: Vec<LoopDevice> = (0..n).map(|_| LoopDevice::new(size)).collect();
        for d in &drives {
            let mut args = vec!["format", d.dev.as_str(), "--dangerous"];
            if !crate::common::quota_supported() {
                args.push("--allow-no-quota");
            }
            match node_name {
                None => {
                    lab.ok(&args);
                }
                Some(node) => {
                    let out = Command::new(env!("CARGO_BIN_EXE_drivectl"))
                        .arg("--state-dir")
                        .arg(lab.state())
                        .args(["--node", node])
                        .args(&args)
                        .output()
                        .expect("run drivectl");
                    assert!(out.status.success(), "{out:?}");
                }
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("strata-csi-")
            .tempdir()
            .unwrap();
        Csi {
            socket: dir.path().join("csi.sock"),
            state_file: dir.path().join("state.json"),
            lab,
            drives,
            dir,
            child: None,
            rt: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
            channel: None,
            mode,
        }
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("csi.log")
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Starts the plugin and waits until its Probe says ready.
    pub fn launch(&mut self) {
        self.spawn();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.probe() != Some(true) {
            assert!(
                Instant::now() < deadline,
                "plugin not ready within 30 s; log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Probe's answer, None while the plugin does not answer yet (it must not have exited).
    pub fn probe(&mut self) -> Option<bool> {
        if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
            panic!("strata csi exited with {status}; log:\n{}", self.log_text());
        }
        if !self.socket.exists() {
            return None;
        }
        self.rt.block_on(async {
            let mut id = self.identity_async().await.ok()?;
            id.probe(ProbeRequest {}).await.ok()?.into_inner().ready
        })
    }

    /// Starts the plugin without waiting for it.
    pub fn spawn(&mut self) {
        assert!(self.child.is_none(), "plugin already running");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["csi", "--mode", self.mode, "--endpoint"])
            .arg(format!("unix://{}", self.socket.display()))
            .args(["--node-id", &self.lab.node, "--state"])
            .arg(format!("file:{}", self.state_file.display()))
            .arg("--state-dir")
            .arg(self.lab.state())
            .args(["--max-volumes", "100", "--resync", "1s"])
            .env("RUST_LOG", "strata=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start strata csi");
        self.child = Some(child);
        self.channel = None;
    }

    /// Waits (up to 20 s) until `done` holds, polling.
    pub fn wait_for(&self, what: &str, mut done: impl FnMut(&Csi) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "{what}: not within 20 s; state: {}\nlog:\n{}",
                fs::read_to_string(&self.state_file).unwrap_or_default(),
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills the plugin (SIGKILL: no chance to tidy up, as in a crash).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.channel = None;
    }

    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    async fn channel(&self) -> Result<Channel, tonic::transport::Error> {
        connect(&self.socket).await
    }

    async fn identity_async(&self) -> Result<IdentityClient<Channel>, tonic::transport::Error> {
        Ok(IdentityClient::new(self.channel().await?))
    }

    fn connected(&mut self) -> Channel {
        if self.channel.is_none() {
            let ch = self
                .rt
                .block_on(self.channel())
                .expect("connect to the CSI socket");
            self.channel = Some(ch);
        }
        self.channel.clone().unwrap()
    }

    pub fn identity(&mut self) -> IdentityClient<Channel> {
        IdentityClient::new(self.connected())
    }

    pub fn controller(&mut self) -> ControllerClient<Channel> {
        ControllerClient::new(self.connected())
    }

    pub fn node(&mut self) -> NodeClient<Channel> {
        NodeClient::new(self.connected())
    }

    /// Runs one RPC future on the harness runtime.
    pub fn call<T>(
        &self,
        f: impl std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, tonic::Status> {
        self.rt.block_on(f).map(tonic::Response::into_inner)
    }

    /// The drive ids (filesystem UUIDs) drivectl gave the loop devices, in device order.
    pub fn drive_ids(&self) -> Vec<String> {
        self.drives
            .iter()
            .map(|d| {
                self.lab.device(&d.name())["drive_id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    pub fn state(&self) -> serde_json::Value {
        serde_json::from_slice(&fs::read(&self.state_file).unwrap()).unwrap()
    }

    pub fn mount_point(&self, drive_id: &str) -> PathBuf {
        self.lab.state().join("mnt").join(drive_id)
    }

    /// A staging and a target path for a volume, under this harness's directory.
    pub fn paths(&self, name: &str) -> (String, String) {
        let base = self.dir.path().join("kubelet").join(name);
        (
            base.join("globalmount").display().to_string(),
            base.join("mount").display().to_string(),
        )
    }

    pub fn create(
        &mut self,
        name: &str,
        bytes: i64,
        params: &[(&str, &str)],
    ) -> Result<Volume, tonic::Status> {
        let req = create_request(name, bytes, params, &self.lab.node.clone());
        let mut c = self.controller();
        self.call(c.create_volume(req)).map(|r| r.volume.unwrap())
    }

    pub fn stage(&mut self, id: &str, staging: &str) -> Result<(), tonic::Status> {
        let mut n = self.node();
        self.call(n.node_stage_volume(NodeStageVolumeRequest {
            volume_id: id.into(),
            staging_target_path: staging.into(),
            volume_capability: Some(mount_cap()),
            ..Default::default()
        }))
        .map(|_| ())
    }

    pub fn publish(
        &mut self,
        id: &str,
        staging: &str,
        target: &str,
        readonly: bool,
    ) -> Result<(), tonic::Status> {
        let mut n = self.node();
        self.call(n.node_publish_volume(NodePublishVolumeRequest {
            volume_id: id.into(),
            staging_target_path: staging.into(),
            target_path: target.into(),
            volume_capability: Some(mount_cap()),
            readonly,
            ..Default::default()
        }))
        .map(|_| ())
    }

    pub fn unpublish(&mut self, id: &str, target: &str) -> Result<(), tonic::Status> {
        let mut n = self.node();
        self.call(n.node_unpublish_volume(NodeUnpublishVolumeRequest {
            volume_id: id.into(),
            target_path: target.into(),
        }))
        .map(|_| ())
    }

    pub fn unstage(&mut self, id: &str, staging: &str) -> Result<(), tonic::Status> {
        let mut n = self.node();
        self.call(n.node_unstage_volume(NodeUnstageVolumeRequest {
            volume_id: id.into(),
            staging_target_path: staging.into(),
        }))
        .map(|_| ())
    }

    pub fn delete(&mut self, id: &str) -> Result<(), tonic::Status> {
        let mut c = self.controller();
        self.call(c.delete_volume(DeleteVolumeRequest {
            volume_id: id.into(),
            ..Default::default()
        }))
        .map(|_| ())
    }

    pub fn stats(
        &mut self,
        id: &str,
        path: &str,
    ) -> Result<NodeGetVolumeStatsResponse, tonic::Status> {
        let mut n = self.node();
        self.call(n.node_get_volume_stats(NodeGetVolumeStatsRequest {
            volume_id: id.into(),
            volume_path: path.into(),
            staging_target_path: String::new(),
        }))
    }

    /// GetCapacity on this node: (available, maximum volume size).
    pub fn capacity(&mut self, tier: Option<&str>) -> (i64, i64) {
        let mut c = self.controller();
        self.capacity_of(&mut c, tier)
    }

    /// GetCapacity on this node through another controller (a [`Controller`] process).
    pub fn capacity_from(&self, c: &mut ControllerClient<Channel>) -> (i64, i64) {
        self.capacity_of(c, None)
    }

    fn capacity_of(&self, c: &mut ControllerClient<Channel>, tier: Option<&str>) -> (i64, i64) {
        let mut params = HashMap::new();
        if let Some(t) = tier {
            params.insert("tier".to_string(), t.to_string());
        }
        let node = self.lab.node.clone();
        let r = self
            .call(c.get_capacity(GetCapacityRequest {
                volume_capabilities: vec![mount_cap()],
                parameters: params,
                accessible_topology: Some(topology(&node)),
            }))
            .unwrap();
        (r.available_capacity, r.maximum_volume_size.unwrap_or(-1))
    }
}

impl Drop for Csi {
    fn drop(&mut self) {
        self.kill();
        // Publish and staging bind mounts first, so that the drives can be unmounted.
        let kubelet = self.dir.path().join("kubelet");
        if let Ok(text) = fs::read_to_string("/proc/self/mountinfo") {
            let mut points: Vec<String> = text
                .lines()
                .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
                .filter(|p| Path::new(p).starts_with(&kubelet))
                .collect();
            points.sort_by_key(|p| std::cmp::Reverse(p.len()));
            for p in points {
                let _ = Command::new("umount").arg("-l").arg(&p).status();
            }
        }
    }
}

/// A controller-only `strata csi` beside a harness's plugin, on the same state file: the
/// controller Deployment and the node DaemonSet of Kubernetes, as two processes. Killed
/// when dropped.
pub struct Controller {
    child: Child,
    pub client: ControllerClient<Channel>,
}

impl Controller {
    pub fn start(csi: &Csi) -> Controller {
        let socket = csi.dir.path().join("controller.sock");
        let child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["csi", "--mode", "controller", "--node-id", "controller"])
            .arg("--endpoint")
            .arg(format!("unix://{}", socket.display()))
            .arg("--state")
            .arg(format!("file:{}", csi.state_file.display()))
            .stdin(Stdio::null())
            .spawn()
            .expect("start the controller");
        let deadline = Instant::now() + Duration::from_secs(20);
        let channel = loop {
            match csi.rt.block_on(connect(&socket)) {
                Ok(ch) => break ch,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Err(e) => {
                    let mut child = child;
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("controller socket: {e}");
                }
            }
        };
        Controller {
            child,
            client: ControllerClient::new(channel),
        }
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The virtualenv made by hack/deps.sh (boto3, grpcio).
pub fn venv_python() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(p.exists(), "{} is missing: run hack/deps.sh", p.display());
    p
}

pub fn client_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients")
        .join(name)
}

/// A gRPC channel over a unix socket (the URI is a placeholder; the connector dials the path).
pub async fn connect(socket: &Path) -> Result<Channel, tonic::transport::Error> {
    let path = socket.to_path_buf();
    Endpoint::try_from("http://csi.invalid")?
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
        }))
        .await
}

pub fn topology(node: &str) -> Topology {
    Topology {
        segments: HashMap::from([(TOPOLOGY_KEY.to_string(), node.to_string())]),
    }
}

pub fn mount_cap() -> VolumeCapability {
    cap_with_mode(Mode::SingleNodeWriter)
}

pub fn cap_with_mode(mode: Mode) -> VolumeCapability {
    VolumeCapability {
        access_type: Some(AccessType::Mount(MountVolume::default())),
        access_mode: Some(AccessMode { mode: mode as i32 }),
    }
}

/// A mount capability with mount flags (a StorageClass's or PV's mountOptions).
pub fn cap_with_flags(flags: &[&str]) -> VolumeCapability {
    VolumeCapability {
        access_type: Some(AccessType::Mount(MountVolume {
            mount_flags: flags.iter().map(|f| f.to_string()).collect(),
            ..MountVolume::default()
        })),
        access_mode: Some(AccessMode {
            mode: Mode::SingleNodeWriter as i32,
        }),
    }
}

/// The per-mount options of the top-most mount at `path`, as /proc/self/mountinfo shows
/// them (`rw,nosuid,…`); None when nothing is mounted there.
pub fn mount_options(path: &str) -> Option<String> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap();
    text.lines()
        .rev()
        .map(|l| l.split(' ').collect::<Vec<_>>())
        .find(|f| f.get(4) == Some(&path))
        .map(|f| f[5].to_string())
}

pub fn create_request(
    name: &str,
    bytes: i64,
    params: &[(&str, &str)],
    node: &str,
) -> CreateVolumeRequest {
    CreateVolumeRequest {
        name: name.into(),
        capacity_range: Some(CapacityRange {
            required_bytes: bytes,
            limit_bytes: 0,
        }),
        volume_capabilities: vec![mount_cap()],
        parameters: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        accessibility_requirements: Some(TopologyRequirement {
            requisite: vec![topology(node)],
            preferred: vec![topology(node)],
        }),
        ..Default::default()
    }
}

/// Writes 1 MiB blocks to `path` until the filesystem refuses or `max` bytes are written;
/// returns the bytes written and the error that stopped the writer, if any.
pub fn write_until_full(path: &Path, max: u64) -> (u64, Option<std::io::Error>) {
    use std::io::Write;
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open file in volume");
    let block = vec![0x5au8; 1 << 20];
    let mut written = 0;
    while written < max {
        match f.write(&block) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) => return (written, Some(e)),
        }
    }
    match f.sync_all() {
        Ok(()) => (written, None),
        Err(e) => (written, Some(e)),
    }
}
