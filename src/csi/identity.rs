//! The CSI identity service: who the plugin is, what it offers, and whether it is ready.

use super::proto::identity_server::Identity;
use super::proto::plugin_capability::{self as pcap, service::Type as Svc, volume_expansion};
use super::proto::*;
use super::request::DRIVER_NAME;
use std::collections::HashMap;
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// Answers whether the plugin can serve now (its state readable, its drives mounted).
pub type Readiness = Arc<dyn Fn() -> bool + Send + Sync>;

pub struct IdentityService {
    ready: Readiness,
}

impl IdentityService {
    pub fn new(ready: Readiness) -> IdentityService {
        IdentityService { ready }
    }
}

fn capability(t: plugin_capability::Type) -> PluginCapability {
    PluginCapability { r#type: Some(t) }
}

#[tonic::async_trait]
impl Identity for IdentityService {
    async fn get_plugin_info(
        &self,
        _: Request<GetPluginInfoRequest>,
    ) -> Result<Response<GetPluginInfoResponse>, Status> {
        Ok(Response::new(GetPluginInfoResponse {
            name: DRIVER_NAME.to_string(),
            vendor_version: env!("CARGO_PKG_VERSION").to_string(),
            manifest: HashMap::new(),
        }))
    }

    async fn get_plugin_capabilities(
        &self,
        _: Request<GetPluginCapabilitiesRequest>,
    ) -> Result<Response<GetPluginCapabilitiesResponse>, Status> {
        let service = |t: Svc| {
            capability(plugin_capability::Type::Service(pcap::Service {
                r#type: t as i32,
            }))
        };
        let capabilities = vec![
            service(Svc::ControllerService),
            service(Svc::VolumeAccessibilityConstraints),
            capability(plugin_capability::Type::VolumeExpansion(
                pcap::VolumeExpansion {
                    r#type: volume_expansion::Type::Online as i32,
                },
            )),
        ];
        Ok(Response::new(GetPluginCapabilitiesResponse {
            capabilities,
        }))
    }

    async fn probe(&self, _: Request<ProbeRequest>) -> Result<Response<ProbeResponse>, Status> {
        let ready = tokio::task::block_in_place(|| (self.ready)());
        Ok(Response::new(ProbeResponse { ready: Some(ready) }))
    }
}
