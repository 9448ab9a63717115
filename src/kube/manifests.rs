//! The Kubernetes manifests of the CSI driver (`deploy/`, `daemonset/`), built from typed
//! objects so that a wrong field name or type fails to compile instead of failing in a cluster.
//! `strata manifests --write .` writes them; `tests/deploy_manifests.rs` checks that the
//! committed files are exactly what this module generates.
//!
//! One function per object. Settings that are not obvious say why next to them.

use crate::model::{Drive, Volume};
use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::rbac::v1 as rbac;
use k8s_openapi::api::storage::v1 as storage;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::CustomResourceExt;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use crate::DRIVER_NAME;
/// Where the controller, the node plugin and their RBAC live.
pub const NAMESPACE: &str = "strata-system";
/// The command the header of every generated file names.
pub const COMMAND: &str = "strata manifests --write .";

const CONTROLLER: &str = "strata-csi-controller";
const NODE: &str = "strata-csi-node";

// CSI sidecars (registry.k8s.io/sig-storage). Newest releases seen in use by other drivers;
// external-provisioner v6.4.0 and external-resizer v2.3.0 have upstream release notes but no
// deployment references yet, so the previous releases are used until their images are
// known to be published.
const PROVISIONER_IMAGE: &str = "registry.k8s.io/sig-storage/csi-provisioner:v6.3.0";
const RESIZER_IMAGE: &str = "registry.k8s.io/sig-storage/csi-resizer:v2.2.1";
const REGISTRAR_IMAGE: &str = "registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.18.0";
const LIVENESS_IMAGE: &str = "registry.k8s.io/sig-storage/livenessprobe:v2.20.0";

/// The CSI socket inside every pod (the `socket-dir` volume).
const CSI_ADDRESS: &str = "/csi/csi.sock";
const CSI_ENDPOINT: &str = "unix:///csi/csi.sock";
/// The node plugin's socket as the kubelet sees it on the host.
const KUBELET_PLUGIN_DIR: &str = "/var/lib/kubelet/plugins/csi.strata.dev";
/// Port of the livenessprobe sidecar (`/healthz`, which calls the driver's CSI Probe).
const HEALTH_PORT: i32 = 9808;

/// The Strata image these manifests run: built from this crate, same version.
pub fn image() -> String {
    format!("strata:{}", env!("CARGO_PKG_VERSION"))
}

/// Every generated file: a path relative to the repository root and its YAML text (one or
/// more documents separated by `---`, after a one-line "generated, do not edit" header).
///
/// Serialising these fixed objects cannot fail in practice; if it ever did, the file's text
/// is a comment carrying the error, which the manifests test reports.
pub fn manifests() -> Vec<(&'static str, String)> {
    try_manifests().unwrap_or_else(|e| {
        vec![(
            "deploy/crds.yaml",
            format!("# strata: generating the manifests failed: {e}\n"),
        )]
    })
}

/// [`manifests`], reporting a serialisation error instead of embedding it.
pub fn try_manifests() -> Result<Vec<(&'static str, String)>, serde_yaml::Error> {
    let classes = storage_classes()
        .iter()
        .map(doc)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(vec![
        // Sorts first, so that `kubectl apply -f deploy/` (files in name order) creates the
        // namespace before the Deployment and the namespaced RBAC that live in it.
        ("deploy/00-namespace.yaml", file(&[doc(&namespace())?])),
        (
            "deploy/crds.yaml",
            file(&[doc(&crd(Drive::crd()))?, doc(&crd(Volume::crd()))?]),
        ),
        ("deploy/csidriver.yaml", file(&[doc(&csi_driver())?])),
        ("deploy/storageclasses.yaml", file(&classes)),
        ("deploy/rbac.yaml", file(&rbac_documents()?)),
        ("deploy/controller.yaml", file(&[doc(&controller())?])),
        ("daemonset/node.yaml", file(&[doc(&node())?])),
    ])
}

/// Writes every file under `dir` (the repository root), each through a temporary file and a
/// rename so that a failure never leaves a half-written manifest; returns the paths written.
pub fn write_all(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    use anyhow::Context;
    let mut written = Vec::new();
    for (path, text) in try_manifests()? {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let tmp = target.with_extension("yaml.tmp");
        std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &target)
            .with_context(|| format!("renaming {} to {}", tmp.display(), target.display()))?;
        written.push(target);
    }
    Ok(written)
}

/// `strata manifests [--write DIR]`: writes the files under DIR, or prints them all (one
/// multi-document stream, each file introduced by a `# Source:` comment) to stdout.
pub fn run(write: Option<&Path>) -> anyhow::Result<()> {
    match write {
        Some(dir) => {
            for path in write_all(dir)? {
                println!("wrote {}", path.display());
            }
            Ok(())
        }
        None => {
            for (path, text) in try_manifests()? {
                print!("# Source: {path}\n{text}");
            }
            Ok(())
        }
    }
}

fn file(docs: &[String]) -> String {
    let mut out = format!("# Generated by strata: {COMMAND} — do not edit.\n");
    for d in docs {
        out.push_str("---\n");
        out.push_str(d);
    }
    out
}

fn doc<T: Serialize>(object: &T) -> Result<String, serde_yaml::Error> {
    serde_yaml::to_string(object)
}

// ---------------------------------------------------------------------------------------
// Metadata helpers

fn labels(component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), "strata".to_string()),
        (
            "app.kubernetes.io/component".to_string(),
            component.to_string(),
        ),
    ])
}

fn meta(name: &str, namespace: Option<&str>, component: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: namespace.map(str::to_string),
        labels: Some(labels(component)),
        ..ObjectMeta::default()
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------------------
// CRDs

/// A CRD generated from our own types (`crate::model`), made fit for the API server.
fn crd(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    for version in &mut crd.spec.versions {
        if let Some(schema) = version
            .schema
            .as_mut()
            .and_then(|v| v.open_api_v3_schema.as_mut())
        {
            unsigned_without_format(schema);
        }
    }
    crd
}

/// schemars gives Rust's unsigned integers the formats `uint32` and `uint64`, which are not
/// OpenAPI 3.0 formats: the API server warns "unrecognized format" on every apply and
/// ignores them. Say the same with bounds it enforces: `minimum: 0` (already there) and,
/// for `u32`, `maximum: 4294967295` (an XFS project id must fit in 32 bits).
fn unsigned_without_format(schema: &mut JSONSchemaProps) {
    match schema.format.as_deref() {
        Some("uint32") => {
            schema.format = None;
            schema.maximum = Some(f64::from(u32::MAX));
        }
        Some("uint64") => schema.format = None,
        _ => {}
    }
    let children = schema
        .properties
        .iter_mut()
        .flat_map(|p| p.values_mut())
        .chain(schema.all_of.iter_mut().flatten())
        .chain(schema.any_of.iter_mut().flatten())
        .chain(schema.one_of.iter_mut().flatten())
        .chain(schema.not.as_deref_mut());
    let mut nested: Vec<&mut JSONSchemaProps> = children.collect();
    match &mut schema.items {
        Some(JSONSchemaPropsOrArray::Schema(item)) => nested.push(item),
        Some(JSONSchemaPropsOrArray::Schemas(items)) => nested.extend(items.iter_mut()),
        None => {}
    }
    if let Some(JSONSchemaPropsOrBool::Schema(values)) = &mut schema.additional_properties {
        nested.push(values);
    }
    for child in nested {
        unsigned_without_format(child);
    }
}

// ---------------------------------------------------------------------------------------
// Namespace, CSIDriver, StorageClasses

fn namespace() -> core::Namespace {
    core::Namespace {
        metadata: meta(NAMESPACE, None, "csi"),
        ..core::Namespace::default()
    }
}

fn csi_driver() -> storage::CSIDriver {
    storage::CSIDriver {
        metadata: meta(DRIVER_NAME, None, "csi"),
        spec: storage::CSIDriverSpec {
            // Volumes are directories on a local drive: there is nothing to attach, so no
            // VolumeAttachment objects and no external-attacher.
            attach_required: Some(false),
            // NodePublishVolume receives the pod's name, namespace and service account: the
            // node plugin can tell which pod a volume is published for.
            pod_info_on_mount: Some(true),
            // The provisioner publishes CSIStorageCapacity per node; with this the scheduler
            // only picks nodes whose drives can hold the claim (WaitForFirstConsumer).
            storage_capacity: Some(true),
            // The kubelet chowns the volume to the pod's fsGroup: an XFS directory supports it.
            fs_group_policy: Some("File".to_string()),
            volume_lifecycle_modes: Some(strings(&["Persistent"])),
            requires_republish: Some(false),
            ..storage::CSIDriverSpec::default()
        },
    }
}

/// `strata` takes any tier; `strata-hot`, `-warm` and `-cold` pass the `tier` parameter
/// that placement filters drives by.
fn storage_classes() -> Vec<storage::StorageClass> {
    let mut classes = vec![storage_class("strata", None)];
    for tier in ["hot", "warm", "cold"] {
        classes.push(storage_class(&format!("strata-{tier}"), Some(tier)));
    }
    classes
}

fn storage_class(name: &str, tier: Option<&str>) -> storage::StorageClass {
    let mut parameters =
        BTreeMap::from([("csi.storage.k8s.io/fstype".to_string(), "xfs".to_string())]);
    if let Some(tier) = tier {
        parameters.insert("tier".to_string(), tier.to_string());
    }
    storage::StorageClass {
        metadata: meta(name, None, "csi"),
        provisioner: DRIVER_NAME.to_string(),
        parameters: Some(parameters),
        reclaim_policy: Some("Delete".to_string()),
        // Volumes are node-local: the volume must be placed on the node the scheduler picks
        // for the pod, not before.
        volume_binding_mode: Some("WaitForFirstConsumer".to_string()),
        // A volume's size is an XFS project quota: growing it is a quota change.
        allow_volume_expansion: Some(true),
        ..storage::StorageClass::default()
    }
}

// ---------------------------------------------------------------------------------------
// RBAC

fn rbac_documents() -> Result<Vec<String>, serde_yaml::Error> {
    let (provisioner, resizer, driver) = (
        "strata-csi-provisioner",
        "strata-csi-resizer",
        "strata-csi-driver",
    );
    Ok(vec![
        doc(&service_account(CONTROLLER, "csi-controller"))?,
        doc(&service_account(NODE, "csi-node"))?,
        doc(&provisioner_cluster_role(provisioner))?,
        doc(&cluster_role_binding(
            provisioner,
            provisioner,
            CONTROLLER,
            "csi-controller",
        ))?,
        doc(&provisioner_role(provisioner))?,
        doc(&role_binding(provisioner, CONTROLLER, "csi-controller"))?,
        doc(&resizer_cluster_role(resizer))?,
        doc(&cluster_role_binding(
            resizer,
            resizer,
            CONTROLLER,
            "csi-controller",
        ))?,
        doc(&resizer_role(resizer))?,
        doc(&role_binding(resizer, CONTROLLER, "csi-controller"))?,
        doc(&driver_cluster_role(driver))?,
        doc(&cluster_role_binding(
            "strata-csi-driver-controller",
            driver,
            CONTROLLER,
            "csi-controller",
        ))?,
        doc(&cluster_role_binding(
            "strata-csi-driver-node",
            driver,
            NODE,
            "csi-node",
        ))?,
    ])
}

fn service_account(name: &str, component: &str) -> core::ServiceAccount {
    core::ServiceAccount {
        metadata: meta(name, Some(NAMESPACE), component),
        ..core::ServiceAccount::default()
    }
}

fn rule(api_group: &str, resources: &[&str], verbs: &[&str]) -> rbac::PolicyRule {
    rbac::PolicyRule {
        api_groups: Some(strings(&[api_group])),
        resources: Some(strings(resources)),
        verbs: strings(verbs),
        ..rbac::PolicyRule::default()
    }
}

const READ: &[&str] = &["get", "list", "watch"];
const EVENTS: &[&str] = &["list", "watch", "create", "update", "patch"];
const LEASES: &[&str] = &["get", "watch", "list", "delete", "update", "create"];

/// The external-provisioner's cluster-wide rules, as in kubernetes-csi/external-provisioner
/// deploy/kubernetes/rbac.yaml (v5+), minus the snapshot rules: Strata has no snapshots.
fn provisioner_cluster_role(name: &str) -> rbac::ClusterRole {
    rbac::ClusterRole {
        metadata: meta(name, None, "csi-controller"),
        rules: Some(vec![
            // patch: since v5 the provisioner manages a finalizer on the PVs it deletes.
            rule(
                "",
                &["persistentvolumes"],
                &["get", "list", "watch", "create", "patch", "delete"],
            ),
            rule(
                "",
                &["persistentvolumeclaims"],
                &["get", "list", "watch", "update"],
            ),
            rule("storage.k8s.io", &["storageclasses"], READ),
            rule("", &["events"], EVENTS),
            // Topology: the node's segments come from CSINode and the Node's labels.
            rule("storage.k8s.io", &["csinodes"], READ),
            rule("", &["nodes"], READ),
            // Only used by drivers that attach; upstream grants it unconditionally.
            rule("storage.k8s.io", &["volumeattachments"], READ),
            // VolumeAttributesClass is GA (storage.k8s.io/v1) and the v6 provisioner reads
            // the class a claim names.
            rule("storage.k8s.io", &["volumeattributesclasses"], READ),
        ]),
        ..rbac::ClusterRole::default()
    }
}

/// The external-provisioner's rules in its own namespace: leader election, publishing
/// CSIStorageCapacity, and walking up its owner chain (Pod, ReplicaSet) to find the
/// Deployment that owns those objects (`--capacity-ownerref-level=2`).
fn provisioner_role(name: &str) -> rbac::Role {
    rbac::Role {
        metadata: meta(name, Some(NAMESPACE), "csi-controller"),
        rules: Some(vec![
            rule("coordination.k8s.io", &["leases"], LEASES),
            rule(
                "storage.k8s.io",
                &["csistoragecapacities"],
                &[
                    "get", "list", "watch", "create", "update", "patch", "delete",
                ],
            ),
            rule("", &["pods"], &["get"]),
            rule("apps", &["replicasets"], &["get"]),
        ]),
    }
}

/// The external-resizer's cluster-wide rules, as in kubernetes-csi/external-resizer
/// deploy/kubernetes/rbac.yaml.
fn resizer_cluster_role(name: &str) -> rbac::ClusterRole {
    rbac::ClusterRole {
        metadata: meta(name, None, "csi-controller"),
        rules: Some(vec![
            rule(
                "",
                &["persistentvolumes"],
                &["get", "list", "watch", "patch"],
            ),
            rule("", &["persistentvolumeclaims"], READ),
            // To tell whether a volume is in use (online expansion needs no remount).
            rule("", &["pods"], READ),
            rule("", &["persistentvolumeclaims/status"], &["patch"]),
            rule("", &["events"], EVENTS),
            rule("storage.k8s.io", &["volumeattributesclasses"], READ),
        ]),
        ..rbac::ClusterRole::default()
    }
}

/// The external-resizer's leader election lease in its namespace.
fn resizer_role(name: &str) -> rbac::Role {
    rbac::Role {
        metadata: meta(name, Some(NAMESPACE), "csi-controller"),
        rules: Some(vec![rule("coordination.k8s.io", &["leases"], LEASES)]),
    }
}

/// Strata's own records: the controller places volumes and the node plugins keep their
/// drives and remove the volumes they deleted, so both need full access, and both write what
/// they observe through the status subresource.
fn driver_cluster_role(name: &str) -> rbac::ClusterRole {
    rbac::ClusterRole {
        metadata: meta(name, None, "csi"),
        rules: Some(vec![
            rule(
                "strata.dev",
                &["drives", "volumes"],
                &[
                    "get", "list", "watch", "create", "update", "patch", "delete",
                ],
            ),
            rule(
                "strata.dev",
                &["drives/status", "volumes/status"],
                &["get", "update", "patch"],
            ),
        ]),
        ..rbac::ClusterRole::default()
    }
}

fn subject(service_account: &str) -> rbac::Subject {
    rbac::Subject {
        kind: "ServiceAccount".to_string(),
        name: service_account.to_string(),
        namespace: Some(NAMESPACE.to_string()),
        ..rbac::Subject::default()
    }
}

fn role_ref(kind: &str, name: &str) -> rbac::RoleRef {
    rbac::RoleRef {
        api_group: "rbac.authorization.k8s.io".to_string(),
        kind: kind.to_string(),
        name: name.to_string(),
    }
}

fn cluster_role_binding(
    name: &str,
    role: &str,
    service_account: &str,
    component: &str,
) -> rbac::ClusterRoleBinding {
    rbac::ClusterRoleBinding {
        metadata: meta(name, None, component),
        role_ref: role_ref("ClusterRole", role),
        subjects: Some(vec![subject(service_account)]),
    }
}

fn role_binding(name: &str, service_account: &str, component: &str) -> rbac::RoleBinding {
    rbac::RoleBinding {
        metadata: meta(name, Some(NAMESPACE), component),
        role_ref: role_ref("Role", name),
        subjects: Some(vec![subject(service_account)]),
    }
}

// ---------------------------------------------------------------------------------------
// Pod building blocks

fn env_field(name: &str, field_path: &str) -> core::EnvVar {
    core::EnvVar {
        name: name.to_string(),
        value_from: Some(core::EnvVarSource {
            field_ref: Some(core::ObjectFieldSelector {
                field_path: field_path.to_string(),
                ..core::ObjectFieldSelector::default()
            }),
            ..core::EnvVarSource::default()
        }),
        ..core::EnvVar::default()
    }
}

fn mount(name: &str, path: &str) -> core::VolumeMount {
    core::VolumeMount {
        name: name.to_string(),
        mount_path: path.to_string(),
        ..core::VolumeMount::default()
    }
}

/// A mount whose sub-mounts propagate both ways: mounts the plugin makes under it reach the
/// host (and so the kubelet and other pods), and host mounts reach the plugin.
fn bidirectional_mount(name: &str, path: &str) -> core::VolumeMount {
    core::VolumeMount {
        mount_propagation: Some("Bidirectional".to_string()),
        ..mount(name, path)
    }
}

fn empty_dir(name: &str) -> core::Volume {
    core::Volume {
        name: name.to_string(),
        empty_dir: Some(core::EmptyDirVolumeSource::default()),
        ..core::Volume::default()
    }
}

fn host_path(name: &str, path: &str, kind: &str) -> core::Volume {
    core::Volume {
        name: name.to_string(),
        host_path: Some(core::HostPathVolumeSource {
            path: path.to_string(),
            type_: Some(kind.to_string()),
        }),
        ..core::Volume::default()
    }
}

/// A kubernetes-csi sidecar that talks to the driver over the shared socket directory.
fn sidecar(name: &str, image: &str, args: &[&str]) -> core::Container {
    core::Container {
        name: name.to_string(),
        image: Some(image.to_string()),
        image_pull_policy: Some("IfNotPresent".to_string()),
        args: Some(strings(args)),
        volume_mounts: Some(vec![mount("socket-dir", "/csi")]),
        ..core::Container::default()
    }
}

/// The `strata` container: `strata csi ARGS…` with NODE_NAME from the downward API (the
/// controller uses it only as its CSI node id; the node plugin owns that node's drives).
fn strata_container(args: &[&str]) -> core::Container {
    let mut all = vec!["csi"];
    all.extend_from_slice(args);
    core::Container {
        name: "strata".to_string(),
        image: Some(image()),
        image_pull_policy: Some("IfNotPresent".to_string()),
        command: Some(strings(&["strata"])),
        args: Some(strings(&all)),
        env: Some(vec![env_field("NODE_NAME", "spec.nodeName")]),
        volume_mounts: Some(vec![mount("socket-dir", "/csi")]),
        ..core::Container::default()
    }
}

/// The livenessprobe sidecar serves `/healthz` on [`HEALTH_PORT`] by calling the driver's
/// CSI Probe; the `strata` container's liveness probe points at it, so a hung driver restarts.
fn liveness_sidecar() -> core::Container {
    sidecar(
        "liveness-probe",
        LIVENESS_IMAGE,
        &[
            &format!("--csi-address={CSI_ADDRESS}"),
            &format!("--health-port={HEALTH_PORT}"),
        ],
    )
}

fn with_health_probe(container: core::Container) -> core::Container {
    core::Container {
        ports: Some(vec![core::ContainerPort {
            name: Some("healthz".to_string()),
            container_port: HEALTH_PORT,
            protocol: Some("TCP".to_string()),
            ..core::ContainerPort::default()
        }]),
        liveness_probe: Some(core::Probe {
            http_get: Some(core::HTTPGetAction {
                path: Some("/healthz".to_string()),
                port: IntOrString::String("healthz".to_string()),
                ..core::HTTPGetAction::default()
            }),
            initial_delay_seconds: Some(10),
            timeout_seconds: Some(3),
            period_seconds: Some(10),
            failure_threshold: Some(5),
            ..core::Probe::default()
        }),
        ..container
    }
}

fn pod_template(component: &str, spec: core::PodSpec) -> core::PodTemplateSpec {
    core::PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels(component)),
            ..ObjectMeta::default()
        }),
        spec: Some(spec),
    }
}

fn selector(component: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(labels(component)),
        ..LabelSelector::default()
    }
}

// ---------------------------------------------------------------------------------------
// Controller Deployment

/// One replica. The sidecars still run with leader election, so that two controllers never
/// act at once when Kubernetes runs an old and a new pod side by side (a node that stopped
/// answering, a forced restart). A second, standby replica would only buy faster failover
/// for provisioning that already waits for the scheduler, while the provisioner and the
/// resizer could then lead from different pods, each calling its own `strata` controller:
/// two writers of the Drive and Volume records. `Recreate` keeps rollouts from doing the same.
fn controller() -> apps::Deployment {
    apps::Deployment {
        metadata: meta(CONTROLLER, Some(NAMESPACE), "csi-controller"),
        spec: Some(apps::DeploymentSpec {
            replicas: Some(1),
            selector: selector("csi-controller"),
            strategy: Some(apps::DeploymentStrategy {
                type_: Some("Recreate".to_string()),
                ..apps::DeploymentStrategy::default()
            }),
            template: pod_template("csi-controller", controller_pod()),
            ..apps::DeploymentSpec::default()
        }),
        ..apps::Deployment::default()
    }
}

fn controller_pod() -> core::PodSpec {
    core::PodSpec {
        service_account_name: Some(CONTROLLER.to_string()),
        // Provisioning stops cluster-wide without it: schedule it ahead of ordinary pods.
        priority_class_name: Some("system-cluster-critical".to_string()),
        containers: vec![
            with_health_probe(strata_container(&[
                "--mode",
                "controller",
                "--endpoint",
                CSI_ENDPOINT,
                "--node-id",
                "$(NODE_NAME)",
                "--state",
                "kube",
            ])),
            provisioner_sidecar(),
            resizer_sidecar(),
            liveness_sidecar(),
        ],
        volumes: Some(vec![empty_dir("socket-dir")]),
        ..core::PodSpec::default()
    }
}

fn provisioner_sidecar() -> core::Container {
    let address = format!("--csi-address={CSI_ADDRESS}");
    core::Container {
        // The provisioner records these owner references on its CSIStorageCapacity objects:
        // level 2 walks Pod -> ReplicaSet -> Deployment, so they outlive pod restarts and go
        // away with the Deployment.
        env: Some(vec![
            env_field("NAMESPACE", "metadata.namespace"),
            env_field("POD_NAME", "metadata.name"),
        ]),
        ..sidecar(
            "csi-provisioner",
            PROVISIONER_IMAGE,
            &[
                &address,
                // On by default since v5 and slated for removal (a release without the gate
                // would refuse this flag); explicit while placement depends on topology.
                "--feature-gates=Topology=true",
                // A volume is reachable from its own node only: the requirement passed to
                // CreateVolume is the selected node, not every node of the same topology.
                "--strict-topology",
                // Without a selected node (Immediate binding) there is nowhere to place a
                // local volume: fail instead of picking any node.
                "--immediate-topology=false",
                // Publish CSIStorageCapacity per node (from GetCapacity) for the scheduler.
                "--enable-capacity",
                "--capacity-ownerref-level=2",
                // Pass the PVC name and namespace to CreateVolume: Volume records name their
                // claim and placement spreads one tenant's claims over distinct drives.
                "--extra-create-metadata",
                "--leader-election",
            ],
        )
    }
}

fn resizer_sidecar() -> core::Container {
    sidecar(
        "csi-resizer",
        RESIZER_IMAGE,
        &[&format!("--csi-address={CSI_ADDRESS}"), "--leader-election"],
    )
}

// ---------------------------------------------------------------------------------------
// Node plugin DaemonSet

fn node() -> apps::DaemonSet {
    apps::DaemonSet {
        metadata: meta(NODE, Some(NAMESPACE), "csi-node"),
        spec: Some(apps::DaemonSetSpec {
            selector: selector("csi-node"),
            template: pod_template("csi-node", node_pod()),
            ..apps::DaemonSetSpec::default()
        }),
        ..apps::DaemonSet::default()
    }
}

fn node_pod() -> core::PodSpec {
    core::PodSpec {
        service_account_name: Some(NODE.to_string()),
        // Pods on this node cannot mount their volumes without it: never evict it first.
        priority_class_name: Some("system-node-critical".to_string()),
        // Tolerate every taint: a storage plugin must run on every node whose pods may use
        // Strata volumes, tainted or not (control plane, dedicated or NoExecute-tainted nodes).
        tolerations: Some(vec![core::Toleration {
            operator: Some("Exists".to_string()),
            ..core::Toleration::default()
        }]),
        containers: vec![
            node_plugin_container(),
            registrar_sidecar(),
            liveness_sidecar(),
        ],
        volumes: Some(node_volumes()),
        ..core::PodSpec::default()
    }
}

fn node_plugin_container() -> core::Container {
    let base = strata_container(&[
        "--mode",
        "node",
        "--endpoint",
        CSI_ENDPOINT,
        "--node-id",
        "$(NODE_NAME)",
        "--state",
        "kube",
        "--state-dir",
        "/var/lib/strata",
    ]);
    with_health_probe(core::Container {
        // Formats and mounts drives, sets XFS project quotas and bind-mounts volumes into
        // the kubelet's pod directories: root with every capability; also required for
        // Bidirectional mount propagation.
        security_context: Some(core::SecurityContext {
            privileged: Some(true),
            ..core::SecurityContext::default()
        }),
        volume_mounts: Some(vec![
            mount("socket-dir", "/csi"),
            // Stage and publish targets are under the kubelet's directory; the bind mounts
            // made there must be visible to the kubelet and the pods.
            bidirectional_mount("kubelet-dir", "/var/lib/kubelet"),
            // Drives are mounted here (by filesystem UUID): they must outlive the plugin's
            // container and be visible on the host, so stage bind mounts from them work.
            bidirectional_mount("state-dir", "/var/lib/strata"),
            // Block devices, for discovery, mkfs.xfs and mount.
            mount("dev", "/dev"),
            // Device attributes (rotational, transport, size) for discovery and tiers.
            mount("sys", "/sys"),
            core::VolumeMount {
                read_only: Some(true),
                ..mount("run-udev", "/run/udev")
            },
        ]),
        ..base
    })
}

fn registrar_sidecar() -> core::Container {
    let registration_path = format!("--kubelet-registration-path={KUBELET_PLUGIN_DIR}/csi.sock");
    let mut container = sidecar(
        "node-driver-registrar",
        REGISTRAR_IMAGE,
        &[&format!("--csi-address={CSI_ADDRESS}"), &registration_path],
    );
    container.volume_mounts = Some(vec![
        mount("socket-dir", "/csi"),
        // The kubelet looks for plugin registration sockets in plugins_registry.
        mount("registration-dir", "/registration"),
        // The registrar marks a successful registration with a file next to the socket's
        // kubelet path, which its probe mode below checks: that path must exist in here.
        mount("socket-dir", KUBELET_PLUGIN_DIR),
    ]);
    // Restart the registrar if the kubelet lost the registration (upstream's probe mode).
    container.liveness_probe = Some(core::Probe {
        exec: Some(core::ExecAction {
            command: Some(vec![
                "/csi-node-driver-registrar".to_string(),
                registration_path,
                "--mode=kubelet-registration-probe".to_string(),
            ]),
        }),
        initial_delay_seconds: Some(30),
        timeout_seconds: Some(15),
        ..core::Probe::default()
    });
    container
}

fn node_volumes() -> Vec<core::Volume> {
    vec![
        host_path("socket-dir", KUBELET_PLUGIN_DIR, "DirectoryOrCreate"),
        host_path(
            "registration-dir",
            "/var/lib/kubelet/plugins_registry",
            "Directory",
        ),
        host_path("kubelet-dir", "/var/lib/kubelet", "Directory"),
        host_path("state-dir", "/var/lib/strata", "DirectoryOrCreate"),
        host_path("dev", "/dev", "Directory"),
        host_path("sys", "/sys", "Directory"),
        // The udev database, when the host has one; discovery works without it.
        host_path("run-udev", "/run/udev", "DirectoryOrCreate"),
    ]
}
