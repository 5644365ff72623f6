//! Work that runs only while this replica leads: started when the Lease is won, stopped
//! (cancelled, then awaited to the end of what it was writing) when it is lost, and stopped for
//! good on shutdown. The `leading` flag drops *before* the work is cancelled, so reconciles
//! still running check it and write nothing more.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

pub async fn while_leading<W, F>(
    is_leader: &mut watch::Receiver<bool>,
    leading: &AtomicBool,
    metrics: &Metrics,
    shutdown: &CancellationToken,
    mut work: W,
) where
    W: FnMut(CancellationToken) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    while !shutdown.is_cancelled() {
        // A closed channel still holds its last value, which may say "leading": without a
        // Lease task nobody renews the Lease, so that value means nothing any more.
        if is_leader.has_changed().is_err() {
            tracing::error!("the Lease task is gone: not leading again");
            break;
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            won = is_leader.wait_for(|leads| *leads) => if won.is_err() { break },
        }
        tracing::info!("leading: starting the controllers");
        leading.store(true, Ordering::Release);
        metrics.set_leader(true);
        let stop = shutdown.child_token();
        let running = tokio::spawn(work(stop.clone()));
        tokio::select! {
            _ = shutdown.cancelled() => {}
            // Also when the Lease task is gone: without it nobody renews the Lease.
            _ = is_leader.wait_for(|leads| !*leads) => {
                tracing::warn!("lost the Lease: stopping the controllers");
            }
        }
        leading.store(false, Ordering::Release);
        metrics.set_leader(false);
        stop.cancel();
        if let Err(e) = running.await {
            tracing::error!(error = %e, "a controller task failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    async fn until(what: &str, check: impl Fn() -> bool) {
        for _ in 0..200 {
            if check() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("timed out waiting for {what}");
    }

    #[tokio::test]
    async fn work_runs_exactly_while_the_lease_is_held() {
        let (lease, mut is_leader) = watch::channel(false);
        let leading = Arc::new(AtomicBool::new(false));
        let (started, stopped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let shutdown = CancellationToken::new();
        let metrics = Metrics::new();
        let task = {
            let (leading, started, stopped, shutdown) = (
                leading.clone(),
                started.clone(),
                stopped.clone(),
                shutdown.clone(),
            );
            tokio::spawn(async move {
                while_leading(&mut is_leader, &leading, &metrics, &shutdown, |stop| {
                    let (started, stopped) = (started.clone(), stopped.clone());
                    async move {
                        started.fetch_add(1, Ordering::SeqCst);
                        stop.cancelled().await;
                        stopped.fetch_add(1, Ordering::SeqCst);
                    }
                })
                .await;
                is_leader
            })
        };
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(started.load(Ordering::SeqCst), 0, "a standby does nothing");
        assert!(!leading.load(Ordering::SeqCst));

        lease.send(true).unwrap();
        until("the work to start", || started.load(Ordering::SeqCst) == 1).await;
        assert!(leading.load(Ordering::SeqCst));

        lease.send(false).unwrap();
        until("the work to stop", || stopped.load(Ordering::SeqCst) == 1).await;
        assert!(!leading.load(Ordering::SeqCst));

        lease.send(true).unwrap();
        until("the work to start again", || {
            started.load(Ordering::SeqCst) == 2
        })
        .await;

        shutdown.cancel();
        let receiver = tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stopped.load(Ordering::SeqCst),
            2,
            "shutdown drains the work"
        );
        assert!(!leading.load(Ordering::SeqCst));
        drop(receiver);
        assert!(
            lease.is_closed(),
            "the receiver is handed back to release the Lease"
        );
    }

    #[tokio::test]
    async fn a_dead_lease_task_stops_the_work() {
        let (lease, mut is_leader) = watch::channel(true);
        let leading = AtomicBool::new(false);
        let stopped = Arc::new(AtomicUsize::new(0));
        let shutdown = CancellationToken::new();
        let stopped_in = stopped.clone();
        let metrics = Metrics::new();
        let run = while_leading(&mut is_leader, &leading, &metrics, &shutdown, move |stop| {
            let stopped = stopped_in.clone();
            async move {
                stop.cancelled().await;
                stopped.fetch_add(1, Ordering::SeqCst);
            }
        });
        let drop_lease = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            drop(lease);
        };
        tokio::time::timeout(Duration::from_secs(2), async {
            tokio::join!(run, drop_lease)
        })
        .await
        .expect("returns once nobody can renew the Lease");
        assert_eq!(stopped.load(Ordering::SeqCst), 1);
        assert!(!leading.load(Ordering::SeqCst));
    }
}
