//! Checks and readings of CSI requests shared by the controller and node services: required
//! fields, volume capabilities, StorageClass parameters, topology. Every refusal is the
//! gRPC status the CSI specification names for it.

use super::mount_options::BindOptions;
use super::placement::{Claim, Spread};
use super::proto::volume_capability::{access_mode::Mode, AccessType};
use super::proto::{CapacityRange, Topology, TopologyRequirement, VolumeCapability};
use std::collections::HashMap;
use strata_drive::Tier;
use tonic::Status;

/// The CSI driver name (GetPluginInfo, CSIDriver object, StorageClass provisioner).
pub use strata_kube::DRIVER_NAME;
/// The topology key: volumes are reachable on exactly one node.
pub const TOPOLOGY_KEY: &str = "topology.strata.dev/node";
/// Size of a volume created without a capacity range.
pub const DEFAULT_VOLUME_SIZE: u64 = 1 << 30;

/// The prefix Kubernetes reserves for the parameters its CSI sidecars add and read (PVC and PV
/// names with `--extra-create-metadata`, secret references, fstype): never Strata's own.
const KUBERNETES_PREFIX: &str = "csi.storage.k8s.io/";
const PVC_NAME: &str = "csi.storage.k8s.io/pvc/name";
const PVC_NAMESPACE: &str = "csi.storage.k8s.io/pvc/namespace";

/// A required string field: InvalidArgument when empty.
pub fn required<'a>(value: &'a str, field: &str) -> Result<&'a str, Status> {
    if value.is_empty() {
        Err(Status::invalid_argument(format!("{field} is required")))
    } else {
        Ok(value)
    }
}

/// A required path where the plugin mounts: absolute, as the spec says. A relative one would
/// be resolved against the plugin's working directory and mount there.
pub fn mount_path<'a>(value: &'a str, field: &str) -> Result<&'a std::path::Path, Status> {
    let path = std::path::Path::new(required(value, field)?);
    if path.is_absolute() {
        Ok(path)
    } else {
        Err(Status::invalid_argument(format!(
            "{field} {value:?} must be an absolute path"
        )))
    }
}

/// Why a capability cannot be served, or None when it can: a mounted filesystem (XFS, the
/// default when fs_type is empty) used from one node, with mount flags a bind mount takes.
pub fn unsupported(cap: &VolumeCapability) -> Option<String> {
    match &cap.access_type {
        None => return Some("volume capability has no access type".into()),
        Some(AccessType::Block(_)) => {
            return Some("raw block volumes are not supported: use a mount volume".into())
        }
        Some(AccessType::Mount(m)) if !(m.fs_type.is_empty() || m.fs_type == "xfs") => {
            return Some(format!(
                "fs_type {:?} is not supported: volumes are XFS directories",
                m.fs_type
            ))
        }
        Some(AccessType::Mount(_)) => {
            if let Err(e) = bind_options(cap) {
                return Some(e.to_string());
            }
        }
    }
    let mode = cap
        .access_mode
        .map(|m| Mode::try_from(m.mode).unwrap_or(Mode::Unknown));
    match mode {
        None => Some("volume capability has no access mode".into()),
        Some(
            Mode::SingleNodeWriter
            | Mode::SingleNodeReaderOnly
            | Mode::SingleNodeSingleWriter
            | Mode::SingleNodeMultiWriter,
        ) => None,
        Some(m) => Some(format!(
            "access mode {} is not supported: a volume lives on one node's drive",
            m.as_str_name()
        )),
    }
}

/// The capability list of a request: present, and every entry supported.
pub fn capabilities(caps: &[VolumeCapability]) -> Result<(), Status> {
    if caps.is_empty() {
        return Err(Status::invalid_argument("volume_capabilities are required"));
    }
    caps.iter()
        .find_map(unsupported)
        .map_or(Ok(()), |why| Err(Status::invalid_argument(why)))
}

/// One capability (node RPCs carry exactly one).
pub fn capability(cap: Option<&VolumeCapability>) -> Result<&VolumeCapability, Status> {
    let cap = cap.ok_or_else(|| Status::invalid_argument("volume_capability is required"))?;
    match unsupported(cap) {
        Some(why) => Err(Status::invalid_argument(why)),
        None => Ok(cap),
    }
}

/// The capability of NodeStage/NodePublish: missing is InvalidArgument, one the plugin
/// cannot serve FailedPrecondition ("exceeds capabilities" in the spec's tables).
pub fn node_capability(cap: Option<&VolumeCapability>) -> Result<&VolumeCapability, Status> {
    let cap = cap.ok_or_else(|| Status::invalid_argument("volume_capability is required"))?;
    match unsupported(cap) {
        Some(why) => Err(Status::failed_precondition(why)),
        None => Ok(cap),
    }
}

/// The bind options a capability's mount flags ask for.
fn bind_options(cap: &VolumeCapability) -> Result<BindOptions, super::mount_options::Unsupported> {
    match &cap.access_type {
        Some(AccessType::Mount(m)) => BindOptions::parse(&m.mount_flags),
        _ => Ok(BindOptions::default()),
    }
}

/// The capability of NodeStage/NodePublish and the bind options of its mount flags: mount
/// flags a bind mount cannot take are InvalidArgument, naming them (they are the request's
/// own values, not a capability the plugin lacks); the rest as [`node_capability`].
pub fn node_mount(
    cap: Option<&VolumeCapability>,
) -> Result<(&VolumeCapability, BindOptions), Status> {
    let cap = cap.ok_or_else(|| Status::invalid_argument("volume_capability is required"))?;
    let options = bind_options(cap).map_err(|e| Status::invalid_argument(e.to_string()))?;
    Ok((node_capability(Some(cap))?, options))
}

/// Whether a capability allows one writer only, on one target path.
pub fn single_writer(cap: &VolumeCapability) -> bool {
    cap.access_mode
        .is_some_and(|m| m.mode == Mode::SingleNodeSingleWriter as i32)
}

/// Whether a capability only reads.
pub fn read_only_mode(cap: &VolumeCapability) -> bool {
    cap.access_mode
        .is_some_and(|m| m.mode == Mode::SingleNodeReaderOnly as i32)
}

/// The size to provision for a capacity range: the required bytes, or the default size
/// (within the limit) when only a limit or nothing is given.
pub fn size_for(range: Option<&CapacityRange>) -> Result<u64, Status> {
    let Some(r) = range else {
        return Ok(DEFAULT_VOLUME_SIZE);
    };
    if r.required_bytes < 0 || r.limit_bytes < 0 {
        return Err(Status::out_of_range("capacity_range must not be negative"));
    }
    let (required, limit) = (r.required_bytes as u64, r.limit_bytes as u64);
    if limit > 0 && required > limit {
        return Err(Status::out_of_range(format!(
            "capacity_range is empty: required_bytes {required} > limit_bytes {limit}"
        )));
    }
    Ok(match (required, limit) {
        (0, 0) => DEFAULT_VOLUME_SIZE,
        (0, limit) => DEFAULT_VOLUME_SIZE.min(limit),
        (required, _) => required,
    })
}

/// Whether an existing volume of `size` bytes satisfies a capacity range.
pub fn fits_range(size: u64, range: Option<&CapacityRange>) -> bool {
    let Some(r) = range else {
        return true;
    };
    size >= r.required_bytes.max(0) as u64 && (r.limit_bytes <= 0 || size <= r.limit_bytes as u64)
}

/// StorageClass parameters Strata reads; Kubernetes' own (`csi.storage.k8s.io/…`) pass.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Params {
    pub tier: Option<Tier>,
    pub spread: Spread,
    pub claim: Option<Claim>,
}

/// Reads the parameters; any key Strata does not read is refused, so that a typo in a
/// StorageClass (`teir: hot`, `strata.dev/teir: hot`) fails loudly instead of placing volumes
/// anywhere. Only Kubernetes' own `csi.storage.k8s.io/…` keys pass unread.
pub fn params(map: &HashMap<String, String>) -> Result<Params, Status> {
    let mut p = Params::default();
    for (key, value) in map {
        match key.as_str() {
            "tier" if value.is_empty() || value == "any" => {}
            "tier" => p.tier = Some(value.parse().map_err(Status::invalid_argument)?),
            "spread" => {
                p.spread = match value.as_str() {
                    "required" => Spread::Required,
                    "preferred" | "" => Spread::Preferred,
                    other => {
                        return Err(Status::invalid_argument(format!(
                            "parameter spread={other:?}: expected required or preferred"
                        )))
                    }
                }
            }
            "fstype" | "csi.storage.k8s.io/fstype" if !(value.is_empty() || value == "xfs") => {
                return Err(Status::invalid_argument(format!(
                    "fstype {value:?} is not supported: volumes are XFS directories"
                )));
            }
            "fstype" => {}
            k if k.starts_with(KUBERNETES_PREFIX) => {}
            k => {
                return Err(Status::invalid_argument(format!(
                    "unknown StorageClass parameter {k:?}: Strata reads tier, spread and fstype \
                     (and passes Kubernetes' own {KUBERNETES_PREFIX}… keys)"
                )))
            }
        }
    }
    if let (Some(name), Some(ns)) = (map.get(PVC_NAME), map.get(PVC_NAMESPACE)) {
        p.claim = Some(Claim {
            namespace: ns.clone(),
            name: name.clone(),
        });
    }
    Ok(p)
}

/// The nodes a volume may go to, preferred first then the other requisite ones.
pub fn topology_nodes(req: Option<&TopologyRequirement>) -> Result<Vec<String>, Status> {
    let Some(req) = req else {
        return Ok(Vec::new());
    };
    let mut nodes: Vec<String> = Vec::new();
    for t in req.preferred.iter().chain(&req.requisite) {
        let node = t.segments.get(TOPOLOGY_KEY).ok_or_else(|| {
            Status::invalid_argument(format!("topology segment without {TOPOLOGY_KEY}"))
        })?;
        if !nodes.contains(node) {
            nodes.push(node.clone());
        }
    }
    Ok(nodes)
}

pub fn node_topology(node: &str) -> Topology {
    Topology {
        segments: HashMap::from([(TOPOLOGY_KEY.to_string(), node.to_string())]),
    }
}

/// The volume id for a request name: the name itself when it is a valid Kubernetes object
/// name (PV names are: `pvc-<uid>`), else a digest of it. Deterministic, so that a retried
/// CreateVolume finds its volume.
pub fn volume_id_for(name: &str) -> String {
    let dns_label = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if dns_label {
        name.to_string()
    } else {
        let digest = blake3::hash(name.as_bytes()).to_hex();
        format!("vol-{}", &digest[..24])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::volume_capability::{AccessMode, BlockVolume, MountVolume};
    use tonic::Code;

    fn cap(fs: &str, mode: Mode) -> VolumeCapability {
        VolumeCapability {
            access_type: Some(AccessType::Mount(MountVolume {
                fs_type: fs.into(),
                ..Default::default()
            })),
            access_mode: Some(AccessMode { mode: mode as i32 }),
        }
    }

    #[test]
    fn mount_xfs_single_node_is_supported_the_rest_is_not() {
        assert_eq!(unsupported(&cap("", Mode::SingleNodeWriter)), None);
        assert_eq!(unsupported(&cap("xfs", Mode::SingleNodeReaderOnly)), None);
        assert!(unsupported(&cap("ext4", Mode::SingleNodeWriter)).is_some());
        assert!(unsupported(&cap("", Mode::MultiNodeMultiWriter)).is_some());
        let block = VolumeCapability {
            access_type: Some(AccessType::Block(BlockVolume {})),
            ..cap("", Mode::SingleNodeWriter)
        };
        assert!(unsupported(&block).unwrap().contains("block"));
        assert_eq!(capabilities(&[]).unwrap_err().code(), Code::InvalidArgument);
    }

    #[test]
    fn sizes_follow_the_capacity_range() {
        let r = |req, lim| CapacityRange {
            required_bytes: req,
            limit_bytes: lim,
        };
        assert_eq!(size_for(None).unwrap(), DEFAULT_VOLUME_SIZE);
        assert_eq!(size_for(Some(&r(5, 0))).unwrap(), 5);
        assert_eq!(size_for(Some(&r(0, 1000))).unwrap(), 1000);
        assert_eq!(
            size_for(Some(&r(10, 5))).unwrap_err().code(),
            Code::OutOfRange
        );
        assert_eq!(
            size_for(Some(&r(-1, 0))).unwrap_err().code(),
            Code::OutOfRange
        );
        assert!(fits_range(10, Some(&r(5, 10))));
        assert!(!fits_range(11, Some(&r(5, 10))));
        assert!(!fits_range(4, Some(&r(5, 0))));
    }

    #[test]
    fn parameters_are_read_and_typos_refused() {
        let map = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let p = params(&map(&[
            ("tier", "hot"),
            ("spread", "required"),
            (PVC_NAME, "data-pool-0"),
            (PVC_NAMESPACE, "t1"),
            ("csi.storage.k8s.io/pv/name", "pvc-1"),
        ]))
        .unwrap();
        assert_eq!(p.tier, Some(Tier::Hot));
        assert_eq!(p.spread, Spread::Required);
        assert_eq!(p.claim.unwrap().name, "data-pool-0");
        for bad in [
            ("teir", "hot"),
            ("tier", "lukewarm"),
            ("spread", "maybe"),
            ("strata.dev/teir", "hot"),
            ("example.com/tier", "hot"),
            ("csi.storage.k8s.io", "x"),
        ] {
            let err = params(&map(&[bad])).unwrap_err();
            assert_eq!(err.code(), Code::InvalidArgument, "{bad:?}");
        }
        let err = params(&map(&[("strata.dev/teir", "hot")])).unwrap_err();
        assert!(
            err.message().contains("\"strata.dev/teir\""),
            "{}",
            err.message()
        );
        assert!(params(&map(&[("csi.storage.k8s.io/provisioner-secret-name", "s")])).is_ok());
    }

    #[test]
    fn volume_ids_are_names_or_digests() {
        assert_eq!(volume_id_for("pvc-1234"), "pvc-1234");
        let odd = volume_id_for("Sanity Volume/1");
        assert!(odd.starts_with("vol-") && odd.len() == 28, "{odd}");
        assert_eq!(odd, volume_id_for("Sanity Volume/1"));
        assert_ne!(odd, volume_id_for("Sanity Volume/2"));
    }

    #[test]
    fn topology_lists_preferred_nodes_first_without_repeats() {
        let req = TopologyRequirement {
            requisite: vec![node_topology("b"), node_topology("a")],
            preferred: vec![node_topology("a")],
        };
        assert_eq!(topology_nodes(Some(&req)).unwrap(), ["a", "b"]);
        let foreign = TopologyRequirement {
            requisite: vec![Topology {
                segments: HashMap::from([("zone".to_string(), "z".to_string())]),
            }],
            preferred: vec![],
        };
        assert_eq!(
            topology_nodes(Some(&foreign)).unwrap_err().code(),
            Code::InvalidArgument
        );
    }
}
