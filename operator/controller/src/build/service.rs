//! Services: the api role's, and a headless one over every worker's admin port for
//! Prometheus to scrape.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::meta;
use crate::names::ADMIN_PORT;
use crate::roles::Role;
use crate::validate::ValidatedPipeline;

pub fn api_service(p: &ValidatedPipeline) -> Service {
    Service {
        metadata: meta(p, p.names.api_service(), Role::Api.as_str()),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(p.names.selector(Role::Api.as_str())),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: 80,
                target_port: Some(IntOrString::String("http".into())),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

pub fn metrics_service(p: &ValidatedPipeline) -> Service {
    Service {
        metadata: meta(p, p.names.metrics_service(), "metrics"),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            selector: Some(p.names.all_workers()),
            ports: Some(vec![ServicePort {
                name: Some("admin".into()),
                port: ADMIN_PORT,
                target_port: Some(IntOrString::String("admin".into())),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}
