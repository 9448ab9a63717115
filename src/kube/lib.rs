//! Strata's Kubernetes types: the custom resources the CSI driver keeps its state in (`model`:
//! Drive, Volume) and the manifests built from typed objects (`manifests`: CRDs, RBAC, the
//! controller and node plugin). Shared by the CSI driver, the manifests command and, later, the
//! operator; no client logic here.

pub mod manifests;
pub mod model;

/// The CSI driver name: the StorageClasses' provisioner and the kubelet plugin name.
pub const DRIVER_NAME: &str = "csi.strata.dev";
