//! Services: the api role's (and its optional Ingress), and a headless one over every
//! worker's admin port for Prometheus to scrape.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
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

/// Every path of the spec's host to the api Service's `http` port, with TLS when a
/// certificate Secret is named.
pub fn api_ingress(p: &ValidatedPipeline) -> Option<Ingress> {
    let spec = p.ingress.as_ref()?;
    let mut metadata = meta(p, p.names.api_service(), Role::Api.as_str());
    metadata.annotations = spec.annotations.clone();
    Some(Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: spec.class_name.clone(),
            tls: spec.tls_secret.as_ref().map(|secret| {
                vec![IngressTLS {
                    hosts: Some(vec![spec.host.clone()]),
                    secret_name: Some(secret.clone()),
                }]
            }),
            rules: Some(vec![IngressRule {
                host: Some(spec.host.clone()),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some("/".into()),
                        path_type: "Prefix".into(),
                        backend: IngressBackend {
                            service: Some(IngressServiceBackend {
                                name: p.names.api_service(),
                                port: Some(ServiceBackendPort {
                                    name: Some("http".into()),
                                    ..ServiceBackendPort::default()
                                }),
                            }),
                            ..IngressBackend::default()
                        },
                    }],
                }),
            }]),
            ..IngressSpec::default()
        }),
        ..Ingress::default()
    })
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
