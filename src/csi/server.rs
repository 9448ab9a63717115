//! `strata csi`: serves the identity service and, by mode, the controller and node services
//! on a unix socket, as the CSI specification asks.

use super::authority::FixAuthority;
use super::controller::ControllerService;
use super::identity::{IdentityService, Readiness};
use super::mounter::HostMounter;
use super::node::NodeService;
use super::proto::controller_server::ControllerServer;
use super::proto::identity_server::IdentityServer;
use super::proto::node_server::NodeServer;
use super::rpc_log::LogFailuresLayer;
use super::store::{Store, StoreSpec};
use super::volumes::NodeVolumes;
use anyhow::{bail, Context};
use futures_util::TryStreamExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use strata_drive::ops::Node as DriveNode;
use strata_drive::{HostRoot, StateDir};
use tokio::net::UnixListener;
use tokio_stream::wrappers::UnixListenerStream;
use tracing::{debug, info, warn};

/// Which CSI services a process serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Stage and publish volumes on this node's drives (the DaemonSet).
    Node,
    /// Place, create, delete and expand volumes; report capacity (the Deployment).
    Controller,
    /// Both in one process (bare metal, Nomad, tests).
    All,
}

impl Mode {
    /// The names the command line takes.
    pub const NAMES: [&'static str; 3] = ["node", "controller", "all"];

    pub fn from_name(name: &str) -> Option<Mode> {
        match name {
            "node" => Some(Mode::Node),
            "controller" => Some(Mode::Controller),
            "all" => Some(Mode::All),
            _ => None,
        }
    }
}

/// What `strata csi` serves, checked; the command line that fills it is the binary's.
#[derive(Debug, Clone)]
pub struct CsiConfig {
    pub mode: Mode,
    /// The unix socket to listen on (see [`socket_path`]).
    pub socket: PathBuf,
    /// This node's name (the topology value).
    pub node_id: String,
    /// Where drives and volumes are kept.
    pub store: StoreSpec,
    /// drivectl's state directory: the node registry and the drives' mount points.
    pub state_dir: PathBuf,
    /// Where the host's /sys, /dev and /proc are.
    pub host_root: PathBuf,
    /// The most volumes this node accepts (NodeGetInfo); 0 means no limit.
    pub max_volumes: u32,
    /// How often the node plugin checks its drives and mounts again.
    pub resync: Duration,
}

/// The socket path of an endpoint.
pub fn socket_path(endpoint: &str) -> anyhow::Result<PathBuf> {
    let path = match endpoint.split_once("://") {
        Some(("unix", rest)) => rest,
        Some((scheme, _)) => {
            bail!("--endpoint {endpoint:?}: only unix:// sockets are served, not {scheme}://")
        }
        None => endpoint.strip_prefix("unix:").unwrap_or(endpoint),
    };
    if !path.starts_with('/') {
        bail!("--endpoint {endpoint:?}: the socket path must be absolute");
    }
    Ok(PathBuf::from(path))
}

pub fn run(cfg: CsiConfig) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(serve(cfg))
}

async fn serve(cfg: CsiConfig) -> anyhow::Result<()> {
    let CsiConfig {
        socket, node_id, ..
    } = &cfg;
    let store = Store::connect(&cfg.store).await?;
    let serve_node = cfg.mode != Mode::Controller;
    let serve_controller = cfg.mode != Mode::Node;
    let volumes = serve_node.then(|| {
        let drives = DriveNode::new(
            HostRoot::new(&cfg.host_root),
            StateDir::new(&cfg.state_dir),
            node_id.clone(),
        );
        Arc::new(NodeVolumes::new(
            drives,
            store.clone(),
            Arc::new(HostMounter),
        ))
    });
    if let Some(v) = &volumes {
        spawn_node_loop(v.clone(), cfg.resync);
    }
    let ready = readiness(store.clone(), volumes.clone());

    let listener = bind(socket)?;
    info!(socket = %socket.display(), mode = ?cfg.mode, node = %node_id, "CSI driver listening");
    let mut router = tonic::transport::Server::builder()
        .layer(LogFailuresLayer)
        .add_service(IdentityServer::new(IdentityService::new(ready)));
    if serve_controller {
        router = router.add_service(ControllerServer::new(ControllerService::new(
            store.clone(),
            volumes.clone(),
        )));
    }
    if let Some(v) = volumes {
        router = router.add_service(NodeServer::new(NodeService::new(
            v,
            store.clone(),
            i64::from(cfg.max_volumes),
        )));
    }
    // Clients of every gRPC implementation are served, whatever they send as authority.
    let incoming = UnixListenerStream::new(listener).map_ok(FixAuthority::new);
    let result = router
        .serve_with_incoming_shutdown(incoming, shutdown())
        .await;
    let _ = std::fs::remove_file(socket);
    result.context("serving CSI")
}

/// The node plugin's pass (see [`NodeVolumes::pass`]) at start-up and then every `every`.
fn spawn_node_loop(volumes: Arc<NodeVolumes>, every: Duration) {
    tokio::spawn(async move {
        loop {
            let v = volumes.clone();
            match tokio::task::spawn_blocking(move || v.pass()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => warn!("node plugin: {e}"),
                Err(e) => warn!("node plugin task failed: {e}"),
            }
            tokio::time::sleep(every).await;
        }
    });
}

/// Probe's answer: the node plugin (if this process is one) has published its drives and
/// has drives of its own to serve, and the state store answered lately. A store read that
/// fails once (an API server restarting) does not flip it at once: the livenessprobe sidecar
/// would have every node plugin restarted for it.
fn readiness(store: Store, node: Option<Arc<NodeVolumes>>) -> Readiness {
    const FRESH: Duration = Duration::from_secs(10);
    const GRACE: Duration = Duration::from_secs(60);
    let last_ok: Mutex<Option<Instant>> = Mutex::new(None);
    Arc::new(move || {
        if let Some(Err(why)) = node.as_ref().map(|v| v.readiness()) {
            debug!("probe: not ready: {why}");
            return false;
        }
        let mut last = last_ok.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|t| t.elapsed() < FRESH) {
            return true;
        }
        match store.load() {
            Ok(_) => {
                *last = Some(Instant::now());
                true
            }
            Err(e) => {
                warn!("probe: state unreadable: {e}");
                last.is_some_and(|t| t.elapsed() < GRACE)
            }
        }
    })
}

/// Binds the socket, replacing a stale one left by a previous run.
fn bind(socket: &Path) -> anyhow::Result<UnixListener> {
    if let Some(dir) = socket.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    match std::fs::remove_file(socket) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("removing stale {}", socket.display())),
    }
    UnixListener::bind(socket).with_context(|| format!("listening on {}", socket.display()))
}

async fn shutdown() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
    info!("CSI driver stopping");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_unix_sockets_with_absolute_paths() {
        assert_eq!(
            socket_path("unix:///csi/csi.sock").unwrap(),
            Path::new("/csi/csi.sock")
        );
        assert_eq!(
            socket_path("unix:/a/b.sock").unwrap(),
            Path::new("/a/b.sock")
        );
        assert_eq!(socket_path("/a/b.sock").unwrap(), Path::new("/a/b.sock"));
        assert!(socket_path("tcp://127.0.0.1:1").is_err());
        assert!(socket_path("unix://relative.sock").is_err());
    }
}
