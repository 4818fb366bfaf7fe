//! An embedded Cognito emulator: an HTTP server on a loopback port that speaks
//! Cognito's AWS JSON 1.1 protocol for the user import job operations, so the
//! service (and its tests) run with the real AWS SDK and no AWS account.
//!
//! It answers as Cognito does: `POST /` with `X-Amz-Target:
//! AWSCognitoIdentityProviderService.<Operation>`; errors with HTTP 400 (500
//! for InternalErrorException), an `x-amzn-ErrorType` header and a
//! `{"__type", "message"}` body; every answer with `x-amzn-RequestId`. A pool
//! exists in one region: a call signed for another region does not find it.
//!
//! Tests steer it through [`Emulator`]: inject faults into the next calls or
//! into every call for one job, refuse connections for a while, add jobs, and
//! count the calls it received, those in flight and those abandoned.
//!
//! Benchmarks start it without state ([`Emulator::start_for_benchmarks`]), so
//! that the backend is neither the bottleneck nor a store that fills up.
//!
//! The server uses what [`Emulator`] offers in this file: start one, its
//! URL, its demo pools. What tests and benchmarks steer it with (faults,
//! jobs, the calls it received, its connections) is in `control`, kept apart.
//!
//! The parts: `state` (what a running emulator holds), `server` (connections,
//! requests and answers, faults applied), `operations` (each operation
//! against the state, as Cognito does it), `jobs` (the pools and jobs).

mod control;
mod faults;
pub mod jobs;
mod operations;
mod server;
mod state;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{net::TcpListener, task::JoinHandle};

pub use faults::Fault;
pub use jobs::{Job, JobStatus, Pools};
use server::accept_loop;
pub use state::ReceivedCall;
use state::{Shared, lock};

/// The demo user pool the emulator starts with, one job in every status.
pub const DEMO_POOL: &str = "us-east-1_ImportDemo";
/// A second demo pool, in another region.
pub const DEMO_POOL_EU: &str = "eu-west-1_ImportDemo";

/// A handle on a running emulator. When the last handle is dropped, it stops
/// accepting connections.
#[derive(Clone)]
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Arc<Acceptor>,
}

/// The task accepting connections, if the emulator is accepting them.
struct Acceptor(Mutex<Option<JoinHandle<()>>>);

impl Drop for Acceptor {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.0).take() {
            task.abort();
        }
    }
}

impl Emulator {
    /// Starts on an ephemeral loopback port, seeded with the demo pools.
    pub async fn start() -> std::io::Result<Self> {
        let emulator = Self::start_with(Shared::default()).await?;
        seed_demo(&mut lock(&emulator.shared.pools));
        Ok(emulator)
    }

    /// Starts without state, for benchmarks: every valid StopUserImportJob
    /// finds its job running and answers it stopped, after `latency`, as
    /// often as it is asked. Calls are not recorded, so a long run holds
    /// nothing that grows. Faults can still be injected.
    pub async fn start_for_benchmarks(latency: Duration) -> std::io::Result<Self> {
        Self::start_with(Shared {
            stateless_latency: Some(latency),
            ..Shared::default()
        })
        .await
    }

    async fn start_with(shared: Shared) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(shared);
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(Self {
            addr,
            shared,
            accept: Arc::new(Acceptor(Mutex::new(Some(accept)))),
        })
    }

    /// The endpoint URL to point an AWS SDK client at.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The demo pools and their jobs, for the start-up banner.
    pub fn describe(&self) -> Vec<(String, Vec<(String, String)>)> {
        let pools = lock(&self.shared.pools);
        pools
            .pool_ids()
            .map(|pool| {
                let jobs = pools
                    .jobs(pool)
                    .map(|jobs| jobs.map(|j| (j.job_id.clone(), j.status.clone())).collect());
                (pool.to_owned(), jobs.unwrap_or_default())
            })
            .collect()
    }
}

fn seed_demo(pools: &mut Pools) {
    for (pool, prefix) in [(DEMO_POOL, "import-"), (DEMO_POOL_EU, "import-eu-")] {
        for status in JobStatus::ALL {
            let id = format!("{prefix}{}", kebab(status.as_str()));
            pools.put_job(Job::in_status(pool, &id, status));
        }
    }
}

/// `InProgress` -> `in-progress`.
fn kebab(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.char_indices() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_job_ids_are_valid() {
        let mut pools = Pools::default();
        seed_demo(&mut pools);
        for pool in [DEMO_POOL, DEMO_POOL_EU] {
            let ids: Vec<_> = pools
                .jobs(pool)
                .unwrap()
                .map(|j| j.job_id.clone())
                .collect();
            assert_eq!(ids.len(), JobStatus::ALL.len());
            assert!(
                ids.iter()
                    .all(|id| cognito_constraints::JobId::parse(id).is_ok()),
                "{ids:?}"
            );
        }
        assert!(pools.job(DEMO_POOL, "import-in-progress").is_ok());
    }
}
