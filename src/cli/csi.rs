//! `strata csi`'s command line: flags and environment into a checked `CsiConfig`.

use anyhow::{bail, Result};
use std::path::PathBuf;
use std::time::Duration;
use strata_csi::store::StoreSpec;
use strata_csi::{socket_path, CsiConfig, Mode};

#[derive(clap::Args, Debug)]
pub struct CsiArgs {
    /// Which CSI services to serve.
    #[arg(long, default_value = "all", value_parser = Mode::NAMES)]
    pub mode: String,
    /// Where to listen: unix:///path/to/csi.sock (or a plain path).
    #[arg(long, default_value = "unix:///csi/csi.sock", env = "CSI_ENDPOINT")]
    pub endpoint: String,
    /// This node's name (the topology value); defaults to $NODE_NAME, else the hostname.
    #[arg(long)]
    pub node_id: Option<String>,
    /// Where drives and volumes are kept: `kube` (custom resources) or `file:PATH`.
    #[arg(long)]
    pub state: String,
    /// drivectl's state directory: the node registry and the drives' mount points.
    #[arg(long, default_value = "/var/lib/strata", env = "STRATA_STATE_DIR")]
    pub state_dir: PathBuf,
    /// Where the host's /sys, /dev and /proc are (a container may mount them elsewhere).
    #[arg(long, default_value = "/", env = "STRATA_HOST_ROOT")]
    pub host_root: PathBuf,
    /// The most volumes this node accepts (NodeGetInfo); 0 means no limit.
    #[arg(long, default_value_t = 0)]
    pub max_volumes: i64,
    /// How often the node plugin checks its drives again (one that vanished is marked Lost,
    /// one back or newly formatted published Ready), drops the records of mounts that are
    /// gone and finishes deletes requested by a separate controller.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub resync: Duration,
}

impl CsiArgs {
    pub fn config(self) -> Result<CsiConfig> {
        let Some(mode) = Mode::from_name(&self.mode) else {
            bail!("--mode must be one of {:?}", Mode::NAMES);
        };
        let Ok(max_volumes) = u32::try_from(self.max_volumes) else {
            bail!("--max-volumes must be between 0 and {}", u32::MAX);
        };
        Ok(CsiConfig {
            mode,
            socket: socket_path(&self.endpoint)?,
            node_id: self.node_id.unwrap_or_else(strata_drive::sys::node_name),
            store: StoreSpec::parse(&self.state)?,
            state_dir: self.state_dir,
            host_root: self.host_root,
            max_volumes,
            resync: self.resync,
        })
    }
}
