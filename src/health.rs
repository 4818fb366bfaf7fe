//! `grpc.health.v1.Health`, with Watch streams that end when the server
//! drains.
//!
//! tonic-health's Watch streams never end on their own, and a graceful
//! shutdown waits for every connection to close: one client watching health
//! would hold every shutdown for the whole grace period. Here, once draining
//! begins, each Watch stream delivers the NOT_SERVING status and ends.

use std::{pin::Pin, time::Duration};

use tokio::sync::watch;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};
use tonic_health::{
    pb::{HealthCheckRequest, HealthCheckResponse, health_server::Health},
    server::{HealthReporter, HealthService},
};

/// How long a Watch stream may take to deliver NOT_SERVING once draining
/// begins, before it ends anyway.
const LAST_STATUS_WAIT: Duration = Duration::from_millis(200);

/// The health service, ending Watch streams when `draining` turns true.
pub struct DrainingHealth {
    inner: HealthService,
    draining: watch::Receiver<bool>,
}

impl DrainingHealth {
    pub fn new(reporter: HealthReporter, draining: watch::Receiver<bool>) -> Self {
        Self {
            inner: HealthService::from_health_reporter(reporter),
            draining,
        }
    }
}

type Statuses = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Health for DrainingHealth {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        self.inner.check(request).await
    }

    type WatchStream = Statuses;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let statuses = self.inner.watch(request).await?.into_inner();
        Ok(Response::new(until_drained(
            Box::pin(statuses),
            self.draining.clone(),
        )))
    }
}

/// `statuses` until draining begins; then at most one more (the NOT_SERVING
/// the shutdown sets first), and the end.
fn until_drained(statuses: Statuses, draining: watch::Receiver<bool>) -> Statuses {
    let stream = futures_util::stream::unfold(Some((statuses, draining)), |state| async move {
        let (mut statuses, mut draining) = state?;
        tokio::select! {
            biased;
            () = drained(&mut draining) => {
                let last = tokio::time::timeout(LAST_STATUS_WAIT, statuses.next()).await.ok().flatten()?;
                Some((last, None))
            }
            status = statuses.next() => Some((status?, Some((statuses, draining)))),
        }
    });
    Box::pin(stream)
}

async fn drained(draining: &mut watch::Receiver<bool>) {
    if draining.wait_for(|draining| *draining).await.is_err() {
        // The server is gone without draining: nothing more to wait for.
        std::future::pending::<()>().await;
    }
}
