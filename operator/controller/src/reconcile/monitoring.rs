//! Monitoring: the PodMonitor over the workers, applied and pruned only where the cluster
//! serves the Prometheus Operator's `monitoring.coreos.com/v1` PodMonitors. Where it does
//! not, a pipeline that asks for one gets a warning Event, and nothing else changes: metrics
//! are an add-on, never a reason for the data to stop.

use kube::Client;

use super::apply::apply;
use super::prune;
use super::report::Note;
use crate::build::pod_monitor::PodMonitor;
use crate::error::Error;
use crate::validate::ValidatedPipeline;

/// The API group and version the PodMonitor resource is served under.
const GROUP_VERSION: &str = "monitoring.coreos.com/v1";

/// What the step did: the PodMonitors pruned, and a warning when one was asked for and the
/// cluster cannot hold it.
#[derive(Debug, Default)]
pub struct Outcome {
    pub pruned: Vec<String>,
    pub warning: Option<Note>,
}

/// Applies `wanted` and prunes the pipeline's other PodMonitors, if the cluster has them.
pub async fn sync(
    client: &Client,
    p: &ValidatedPipeline,
    wanted: &[PodMonitor],
) -> Result<Outcome, Error> {
    if !served(client).await? {
        let warning = (!wanted.is_empty()).then(|| {
            Note::warning(
                "PodMonitorUnavailable",
                "Monitoring",
                format!(
                    "spec.monitoring.podMonitor asks for a PodMonitor, but this cluster does not serve {GROUP_VERSION} podmonitors (install the Prometheus Operator's CRDs); the workers' /metrics are still on their admin port"
                ),
            )
        });
        return Ok(Outcome {
            pruned: Vec::new(),
            warning,
        });
    }
    for monitor in wanted {
        apply(client, &p.namespace, monitor).await?;
    }
    Ok(Outcome {
        pruned: prune::kind(client, p, wanted).await?,
        warning: None,
    })
}

/// Whether the apiserver serves PodMonitors (a 404 for the group version: it does not).
async fn served(client: &Client) -> Result<bool, Error> {
    match client.list_api_group_resources(GROUP_VERSION).await {
        Ok(list) => Ok(list
            .resources
            .iter()
            .any(|r| r.name == <PodMonitor as k8s_openapi::Resource>::URL_PATH_SEGMENT)),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
        Err(source) => Err(Error::Discovery {
            group_version: GROUP_VERSION,
            source,
        }),
    }
}
