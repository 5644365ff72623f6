//! `optionsflow-operator run`: the controllers, behind a leader Lease so that of several
//! replicas only one writes, plus the admin server and graceful shutdown.
//!
//! Leadership gates everything that writes: the controllers run only while this replica holds
//! the Lease, are drained the moment it is lost, and every reconcile checks the flag again
//! before it writes. Standby replicas serve `/healthz`, `/readyz` and `/metrics` and wait.

mod admin;
pub mod leadership;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::core::DeserializeGuard;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::{Controller, watcher};
use kube::{Api, Client};
use kube_lease_manager::LeaseManagerBuilder;
use optionsflow_api::crd::{OptionsPipeline, SymbolSet};
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::names::MANAGED_BY;
use crate::reconcile::{self, Context, Retries};
use crate::symbolsets;
use crate::topics::kafka::KafkaAdmins;
use crate::validate::Settings;

/// How the operator runs.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Watch only this namespace; all namespaces when `None`.
    pub watch_namespace: Option<String>,
    /// Where the leader Lease lives (the operator's own namespace).
    pub lease_namespace: String,
    pub lease_name: String,
    /// This replica's name in the Lease (the pod name).
    pub identity: String,
    pub settings: Settings,
    pub admin_addr: SocketAddr,
    /// Bounds every Kafka Admin request.
    pub kafka_timeout: Duration,
    /// Seconds a Lease stays valid without renewal; the holder renews `lease_grace` earlier.
    pub lease_duration: u64,
    pub lease_grace: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot reach the Kubernetes API: {0}")]
    Client(#[source] kube::Error),
    #[error("cannot serve the admin port {addr}: {source}")]
    Admin {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("leader election on Lease {namespace}/{name} failed: {source}")]
    Lease {
        namespace: String,
        name: String,
        #[source]
        source: kube_lease_manager::LeaseManagerError,
    },
    #[error("the leader election task ended")]
    LeaseTaskEnded,
}

pub async fn run(config: RunConfig) -> Result<(), RunError> {
    let shutdown = on_signal();
    let metrics = Metrics::new();
    let ready = Arc::new(AtomicBool::new(false));
    admin::serve(
        config.admin_addr,
        metrics.clone(),
        ready.clone(),
        shutdown.clone(),
    )
    .await
    .map_err(|source| RunError::Admin {
        addr: config.admin_addr,
        source,
    })?;
    let client = Client::try_default().await.map_err(RunError::Client)?;
    client.apiserver_version().await.map_err(RunError::Client)?;
    ready.store(true, Ordering::Release);

    let leading = Arc::new(AtomicBool::new(false));
    let ctx = Arc::new(Context {
        client: client.clone(),
        settings: config.settings.clone(),
        admins: KafkaAdmins::new(config.kafka_timeout),
        recorder: Recorder::new(
            client.clone(),
            Reporter {
                controller: MANAGED_BY.into(),
                instance: Some(config.identity.clone()),
            },
        ),
        metrics: metrics.clone(),
        leading: leading.clone(),
        retries: Retries::default(),
    });
    let lease_error = |source| RunError::Lease {
        namespace: config.lease_namespace.clone(),
        name: config.lease_name.clone(),
        source,
    };
    let manager = LeaseManagerBuilder::new(client.clone(), &config.lease_name)
        .with_namespace(&config.lease_namespace)
        .with_identity(&config.identity)
        .with_duration(config.lease_duration)
        .with_grace(config.lease_grace)
        .build()
        .await
        .map_err(lease_error)?;
    let (mut is_leader, lease_task) = manager.watch().await;
    tracing::info!(identity = %config.identity, lease = %config.lease_name, "waiting to lead");

    let namespace = config.watch_namespace.clone();
    leadership::while_leading(&mut is_leader, &leading, &metrics, &shutdown, |stop| {
        controllers(ctx.clone(), namespace.clone(), stop)
    })
    .await;
    // Dropping the receiver makes the manager release the Lease, so a standby takes over at
    // once instead of after the Lease expires.
    drop(is_leader);
    let released = lease_task.await;
    if !shutdown.is_cancelled() {
        // The Lease task ended on its own: exit non-zero so the pod restarts with a new one.
        return Err(match released {
            Ok(Err(source)) => lease_error(source),
            _ => RunError::LeaseTaskEnded,
        });
    }
    match released {
        Ok(Ok(_)) => tracing::info!("released the Lease"),
        Ok(Err(e)) => tracing::warn!(error = %e, "could not release the Lease; it will expire"),
        Err(e) => tracing::warn!(error = %e, "the Lease task failed"),
    }
    Ok(())
}

/// The pipeline and SymbolSet controllers, until `stop`.
async fn controllers(
    ctx: Arc<Context<KafkaAdmins>>,
    namespace: Option<String>,
    stop: CancellationToken,
) {
    let client = ctx.client.clone();
    let api = |client: &Client| -> (
        Api<DeserializeGuard<OptionsPipeline>>,
        Api<DeserializeGuard<SymbolSet>>,
    ) {
        match &namespace {
            Some(ns) => (
                Api::namespaced(client.clone(), ns),
                Api::namespaced(client.clone(), ns),
            ),
            None => (Api::all(client.clone()), Api::all(client.clone())),
        }
    };
    let (pipelines, sets) = api(&client);
    // Only our own children are watched, not every ConfigMap in the cluster.
    let ours =
        watcher::Config::default().labels(&format!("app.kubernetes.io/managed-by={MANAGED_BY}"));
    macro_rules! children {
        ($kind:ty) => {
            match &namespace {
                Some(ns) => Api::<$kind>::namespaced(client.clone(), ns),
                None => Api::<$kind>::all(client.clone()),
            }
        };
    }
    let pipeline_controller = Controller::new(pipelines, watcher::Config::default());
    let store = pipeline_controller.store();
    let pipeline_run = pipeline_controller
        .owns(children!(ConfigMap), ours.clone())
        .owns(children!(Service), ours.clone())
        .owns(children!(Ingress), ours.clone())
        .owns(children!(PodDisruptionBudget), ours.clone())
        .owns(children!(Deployment), ours.clone())
        .owns(children!(CronJob), ours.clone())
        .owns(children!(Job), ours.clone())
        .watches(
            sets.clone(),
            watcher::Config::default(),
            move |set| match &set.0 {
                Ok(set) => symbolsets::referencing(set, &store.state()),
                Err(_) => Vec::new(),
            },
        )
        .graceful_shutdown_on(stop.clone().cancelled_owned())
        .run(reconcile::reconcile, reconcile::error_policy, ctx.clone())
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "pipeline controller");
            }
        });
    let set_run = Controller::new(sets, watcher::Config::default())
        .graceful_shutdown_on(stop.cancelled_owned())
        .run(symbolsets::reconcile, symbolsets::error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "SymbolSet controller");
            }
        });
    futures::join!(pipeline_run, set_run);
}

/// The first SIGTERM or Ctrl-C cancels the token (drain, release the Lease); a second exits.
fn on_signal() -> CancellationToken {
    use tokio::signal::unix::{SignalKind, signal};
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("stopping: finishing reconciles in flight, then releasing the Lease");
        cancel.cancel();
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::warn!("second signal: stopping now");
        std::process::exit(130);
    });
    token
}
