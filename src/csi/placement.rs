//! Where a new volume goes, and how much room a node has: pure functions over [`State`], so
//! the controller's RPCs and the tests share one set of rules.
//!
//! A volume lives on one drive (it cannot span drives). The node comes from the topology
//! the scheduler chose; on it, a ready drive of the requested tier with room for the volume,
//! the one with the most free space; the volumes of one pod go on distinct drives.

use super::model::{DriveState, State};
use strata_drive::{model::human_size, Tier};

/// Whether the volumes of one pod must land on distinct drives (`spread` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Spread {
    /// Distinct drives or no volume at all.
    Required,
    /// Distinct drives when there are enough, else shared.
    #[default]
    Preferred,
}

/// The PVC a volume is for (the external-provisioner's extra create metadata).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub namespace: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub size: u64,
    pub tier: Option<Tier>,
    /// Nodes allowed, preferred first; empty means any node.
    pub nodes: Vec<String>,
    pub spread: Spread,
    pub claim: Option<Claim>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub node: String,
    pub drive_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    /// No drive could ever hold the volume, even empty.
    #[error("{0}")]
    TooLarge(String),
    /// Drives exist but none has the room (or a distinct drive) now.
    #[error("{0}")]
    NoRoom(String),
}

/// Chooses a drive for a new volume; see the module comment for the rules.
pub fn place(state: &State, req: &Request) -> Result<Placement, PlacementError> {
    let nodes = candidate_nodes(state, req);
    let mut why = Vec::new();
    for node in &nodes {
        match place_on_node(state, req, node) {
            Ok(drive_id) => {
                return Ok(Placement {
                    node: node.clone(),
                    drive_id,
                })
            }
            Err(reason) => why.push(format!("{node}: {reason}")),
        }
    }
    let tier = req.tier.map_or("any", Tier::as_str);
    // Too large only when no drive anywhere could ever hold it: a node that merely lacks
    // room is ResourceExhausted, which lets Kubernetes reschedule the pod elsewhere.
    let largest = usable_drives(state, req.tier, &[])
        .map(|(_, d)| d.capacity_bytes)
        .max();
    match largest {
        Some(cap) if cap < req.size => Err(PlacementError::TooLarge(format!(
            "a volume of {} cannot fit on one drive: the largest ready {tier}-tier drive holds {}",
            human_size(req.size),
            human_size(cap)
        ))),
        None if why.is_empty() => Err(PlacementError::NoRoom(format!(
            "no ready {tier}-tier drive on {}",
            describe_nodes(&req.nodes)
        ))),
        _ => Err(PlacementError::NoRoom(format!(
            "no {tier}-tier drive with {} free ({})",
            human_size(req.size),
            why.join("; ")
        ))),
    }
}

fn describe_nodes(nodes: &[String]) -> String {
    if nodes.is_empty() {
        "any node".to_string()
    } else {
        format!("nodes {}", nodes.join(", "))
    }
}

/// The requested nodes in order, or (no topology given) every node with a usable drive,
/// the one with the most free space on a single drive first.
fn candidate_nodes(state: &State, req: &Request) -> Vec<String> {
    if !req.nodes.is_empty() {
        return req.nodes.clone();
    }
    let mut nodes: Vec<(u64, String)> = Vec::new();
    for (id, d) in usable_drives(state, req.tier, &[]) {
        let free = state.free(id);
        match nodes.iter_mut().find(|(_, n)| *n == d.node) {
            Some(entry) => entry.0 = entry.0.max(free),
            None => nodes.push((free, d.node.clone())),
        }
    }
    nodes.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    nodes.into_iter().map(|(_, n)| n).collect()
}

/// Ready drives of the tier, on the given nodes (all nodes when empty).
fn usable_drives<'a>(
    state: &'a State,
    tier: Option<Tier>,
    nodes: &'a [String],
) -> impl Iterator<Item = (&'a String, &'a super::model::DriveSpec)> + 'a {
    state
        .drives
        .iter()
        .filter(|(_, d)| d.status.state == DriveState::Ready)
        .map(|(id, d)| (id, &d.spec))
        .filter(move |(_, d)| {
            tier.is_none_or(|t| t == d.tier) && (nodes.is_empty() || nodes.contains(&d.node))
        })
}

fn place_on_node(state: &State, req: &Request, node: &str) -> Result<String, String> {
    let nodes = [node.to_string()];
    let fitting: Vec<(&String, u64)> = usable_drives(state, req.tier, &nodes)
        .map(|(id, _)| (id, state.free(id)))
        .filter(|(_, free)| *free >= req.size)
        .collect();
    if fitting.is_empty() {
        let most = usable_drives(state, req.tier, &nodes)
            .map(|(id, _)| state.free(id))
            .max();
        return Err(match most {
            Some(free) => format!("largest free space on a drive is {}", human_size(free)),
            None => "no ready drive of that tier".to_string(),
        });
    }
    let taken = sibling_drives(state, req);
    let distinct = fitting.iter().filter(|(id, _)| !taken.contains(id));
    if let Some((id, _)) = most_free(distinct) {
        return Ok((*id).clone());
    }
    match req.spread {
        Spread::Required => Err(format!(
            "every drive with room already holds a volume of the same pod ({} such drives)",
            fitting.len()
        )),
        Spread::Preferred => most_free(fitting.iter())
            .map(|(id, _)| (*id).clone())
            .ok_or_else(|| "no drive".to_string()),
    }
}

fn most_free<'a, 'b: 'a>(
    drives: impl Iterator<Item = &'a (&'b String, u64)>,
) -> Option<&'a (&'b String, u64)> {
    // Most free space first; ties broken by drive id so that placement is deterministic.
    drives.max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
}

/// Drives already holding a volume of the same pod as the request (from the drives'
/// reservations, which are written before the volume records).
fn sibling_drives<'a>(state: &'a State, req: &Request) -> Vec<&'a String> {
    let Some(claim) = &req.claim else {
        return Vec::new();
    };
    state
        .drives
        .iter()
        .filter(|(_, d)| {
            d.spec
                .reservations
                .values()
                .any(|r| match (&r.pvc_namespace, &r.pvc_name) {
                    (Some(ns), Some(name)) => *ns == claim.namespace && same_pod(name, &claim.name),
                    _ => false,
                })
        })
        .map(|(id, _)| id)
        .collect()
}

/// Whether two PVC names come from one StatefulSet pod: Kubernetes names them
/// `<claim-template>-<statefulset>-<ordinal>`, so they end in the same
/// `<statefulset>-<ordinal>`. The template name may itself contain dashes, so the rule is:
/// the same ordinal and at least the same last name segment before it.
pub fn same_pod(a: &str, b: &str) -> bool {
    let split = |s: &str| -> Option<(Vec<String>, String)> {
        let parts: Vec<&str> = s.split('-').collect();
        // template, at least one statefulset segment, ordinal
        if parts.len() < 3 {
            return None;
        }
        let ordinal = parts[parts.len() - 1];
        if ordinal.is_empty() || !ordinal.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let rest = parts[..parts.len() - 1]
            .iter()
            .map(|p| p.to_string())
            .collect();
        Some((rest, ordinal.to_string()))
    };
    match (split(a), split(b)) {
        (Some((ra, oa)), Some((rb, ob))) => oa == ob && ra.last() == rb.last() && a != b,
        _ => false,
    }
}

/// Capacity for GetCapacity: free bytes in all, and the largest free space on one drive
/// (the largest volume that can be created), over ready drives of the tier on the node.
pub fn capacity(state: &State, node: Option<&str>, tier: Option<Tier>) -> (u64, u64) {
    let nodes: Vec<String> = node.map(str::to_string).into_iter().collect();
    usable_drives(state, tier, &nodes)
        .map(|(id, _)| state.free(id))
        .fold((0, 0), |(sum, max), free| (sum + free, max.max(free)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        DriveEntry, DriveSpec, DriveStatus, Reservation, VolumeEntry, VolumeSpec, VolumeStatus,
    };

    const GIB: u64 = 1 << 30;

    fn state(drives: &[(&str, &str, Tier, u64)]) -> State {
        let mut s = State::default();
        for (id, node, tier, cap) in drives {
            s.drives.insert(
                id.to_string(),
                DriveEntry {
                    spec: DriveSpec {
                        node: node.to_string(),
                        tier: *tier,
                        capacity_bytes: *cap,
                        reservations: Default::default(),
                        next_project_id: 1,
                        project_quota: true,
                    },
                    status: DriveStatus {
                        state: DriveState::Ready,
                        message: None,
                        allocated_bytes: 0,
                        free_bytes: *cap,
                    },
                },
            );
        }
        s
    }

    fn add_volume(s: &mut State, id: &str, drive: &str, size: u64, pvc: Option<&str>) {
        let node = s.drives[drive].spec.node.clone();
        s.drives.get_mut(drive).unwrap().spec.reservations.insert(
            id.to_string(),
            Reservation {
                bytes: size,
                pvc_namespace: pvc.map(|_| "ns".to_string()),
                pvc_name: pvc.map(str::to_string),
            },
        );
        s.volumes.insert(
            id.to_string(),
            VolumeEntry {
                spec: VolumeSpec {
                    name: id.to_string(),
                    node,
                    drive_id: drive.to_string(),
                    tier: Tier::Hot,
                    capacity_bytes: size,
                    project_id: 1,
                    pvc_namespace: pvc.map(|_| "ns".to_string()),
                    pvc_name: pvc.map(str::to_string),
                    created_at: String::new(),
                },
                status: VolumeStatus::default(),
            },
        );
    }

    fn req(size: u64, nodes: &[&str]) -> Request {
        Request {
            size,
            tier: None,
            nodes: nodes.iter().map(|n| n.to_string()).collect(),
            spread: Spread::Preferred,
            claim: None,
        }
    }

    #[test]
    fn picks_the_drive_with_most_free_space_on_the_preferred_node() {
        let mut s = state(&[
            ("a", "n1", Tier::Hot, 10 * GIB),
            ("b", "n1", Tier::Hot, 10 * GIB),
            ("c", "n2", Tier::Hot, 100 * GIB),
        ]);
        add_volume(&mut s, "v", "a", 3 * GIB, None);
        let p = place(&s, &req(GIB, &["n1", "n2"])).unwrap();
        assert_eq!((p.node.as_str(), p.drive_id.as_str()), ("n1", "b"));
    }

    #[test]
    fn falls_back_to_the_next_node_when_the_first_is_full() {
        let s = state(&[("a", "n1", Tier::Hot, GIB), ("c", "n2", Tier::Hot, 5 * GIB)]);
        let p = place(&s, &req(2 * GIB, &["n1", "n2"])).unwrap();
        assert_eq!(p.drive_id, "c");
    }

    #[test]
    fn honours_the_tier_and_skips_lost_drives() {
        let mut s = state(&[
            ("hot", "n1", Tier::Hot, 50 * GIB),
            ("cold", "n1", Tier::Cold, 10 * GIB),
            ("cold-lost", "n1", Tier::Cold, 90 * GIB),
        ]);
        s.drives.get_mut("cold-lost").unwrap().status.state = DriveState::Lost;
        let mut r = req(GIB, &["n1"]);
        r.tier = Some(Tier::Cold);
        assert_eq!(place(&s, &r).unwrap().drive_id, "cold");
        r.tier = Some(Tier::Warm);
        let err = place(&s, &r).unwrap_err();
        assert!(matches!(err, PlacementError::NoRoom(_)), "{err}");
        assert!(err.to_string().contains("warm"), "{err}");
    }

    #[test]
    fn a_volume_larger_than_any_drive_is_too_large_not_just_full() {
        let mut s = state(&[("a", "n1", Tier::Hot, 4 * GIB)]);
        assert!(matches!(
            place(&s, &req(5 * GIB, &["n1"])),
            Err(PlacementError::TooLarge(_))
        ));
        add_volume(&mut s, "v", "a", 2 * GIB, None);
        let err = place(&s, &req(3 * GIB, &["n1"])).unwrap_err();
        assert!(matches!(err, PlacementError::NoRoom(_)), "{err}");
        assert!(err.to_string().contains("2.0 GiB"), "{err}");
    }

    #[test]
    fn a_node_with_small_drives_is_no_room_when_another_node_could_hold_it() {
        // WaitForFirstConsumer names one node; only ResourceExhausted makes Kubernetes pick
        // another, so "too large" is only for volumes no drive in the cluster can hold.
        let s = state(&[("a", "n1", Tier::Hot, GIB), ("b", "n2", Tier::Hot, 8 * GIB)]);
        let err = place(&s, &req(2 * GIB, &["n1"])).unwrap_err();
        assert!(matches!(err, PlacementError::NoRoom(_)), "{err}");
    }

    #[test]
    fn volumes_of_one_pod_go_on_distinct_drives() {
        let mut s = state(&[
            ("a", "n1", Tier::Hot, 100 * GIB),
            ("b", "n1", Tier::Hot, 10 * GIB),
        ]);
        add_volume(&mut s, "v0", "a", GIB, Some("data0-pool-3"));
        let mut r = req(GIB, &["n1"]);
        r.claim = Some(Claim {
            namespace: "ns".into(),
            name: "data1-pool-3".into(),
        });
        assert_eq!(place(&s, &r).unwrap().drive_id, "b");
        // Another pod's volume ignores that drive's tenant.
        r.claim.as_mut().unwrap().name = "data1-pool-4".into();
        assert_eq!(place(&s, &r).unwrap().drive_id, "a");
    }

    #[test]
    fn spread_required_refuses_to_share_preferred_shares() {
        let mut s = state(&[("a", "n1", Tier::Hot, 100 * GIB)]);
        add_volume(&mut s, "v0", "a", GIB, Some("data0-pool-0"));
        let mut r = req(GIB, &["n1"]);
        r.claim = Some(Claim {
            namespace: "ns".into(),
            name: "data1-pool-0".into(),
        });
        assert_eq!(place(&s, &r).unwrap().drive_id, "a");
        r.spread = Spread::Required;
        let err = place(&s, &r).unwrap_err();
        assert!(err.to_string().contains("same pod"), "{err}");
    }

    #[test]
    fn without_topology_any_node_will_do() {
        let s = state(&[("a", "n1", Tier::Hot, GIB), ("b", "n2", Tier::Hot, 8 * GIB)]);
        assert_eq!(place(&s, &req(2 * GIB, &[])).unwrap().node, "n2");
        let empty = State::default();
        let err = place(&empty, &req(GIB, &[])).unwrap_err();
        assert!(err.to_string().contains("any node"), "{err}");
    }

    #[test]
    fn pod_names_follow_statefulset_naming() {
        assert!(same_pod("data0-pool-3", "data1-pool-3"));
        assert!(same_pod("export-data-minio-0", "logs-minio-0"));
        assert!(!same_pod("data0-pool-3", "data0-pool-4"));
        assert!(!same_pod("data-web-0", "data-api-0"));
        assert!(!same_pod("web-0", "web-0"));
        assert!(!same_pod("data-web-x", "logs-web-x"));
    }

    #[test]
    fn capacity_is_per_node_and_tier_with_the_largest_single_drive() {
        let mut s = state(&[
            ("a", "n1", Tier::Hot, 10 * GIB),
            ("b", "n1", Tier::Hot, 6 * GIB),
            ("c", "n1", Tier::Cold, 50 * GIB),
            ("d", "n2", Tier::Hot, 7 * GIB),
        ]);
        add_volume(&mut s, "v", "a", 5 * GIB, None);
        assert_eq!(
            capacity(&s, Some("n1"), Some(Tier::Hot)),
            (11 * GIB, 6 * GIB)
        );
        assert_eq!(capacity(&s, Some("n1"), None), (61 * GIB, 50 * GIB));
        assert_eq!(capacity(&s, None, Some(Tier::Hot)), (18 * GIB, 7 * GIB));
        assert_eq!(capacity(&s, Some("n3"), None), (0, 0));
    }
}
