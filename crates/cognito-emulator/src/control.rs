//! What tests and benchmarks steer the emulator with: faults, jobs, the
//! calls it received, its connections. The server uses none of it.

use std::{
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use tokio::net::TcpListener;

use crate::{
    Emulator,
    faults::Fault,
    jobs::Job,
    server::accept_loop,
    state::{ReceivedCall, lock},
};

impl Emulator {
    /// Makes each of the next `times` calls suffer `fault`, after any faults
    /// already queued.
    pub fn inject(&self, fault: Fault, times: usize) {
        lock(&self.shared.faults).extend(std::iter::repeat_n(fault, times));
    }

    /// Makes every call about the job `job_id` (its `JobId` member) suffer
    /// `fault`, retries included, until [`Emulator::clear_job_fault`]. Faults
    /// queued by [`Emulator::inject`] come first.
    pub fn inject_for_job(&self, job_id: &str, fault: Fault) {
        lock(&self.shared.job_faults).insert(job_id.to_owned(), fault);
    }

    /// Lets calls about `job_id` be answered normally again.
    pub fn clear_job_fault(&self, job_id: &str) {
        lock(&self.shared.job_faults).remove(job_id);
    }

    /// Closes the listening socket, so that connecting is refused, and every
    /// open connection, calls in flight included; returns once they are
    /// closed (or after two seconds). [`Emulator::accept_connections`] opens
    /// the same port again.
    pub async fn refuse_connections(&self) {
        let accept = lock(&self.accept.0).take();
        if let Some(accept) = accept {
            accept.abort();
            // Once the task is gone, so is its listener.
            let _ = accept.await;
        }
        self.shared
            .close_connections
            .send_modify(|generation| *generation += 1);
        let started = Instant::now();
        while self.open_connections() > 0 && started.elapsed() < Duration::from_secs(2) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Accepts connections again on the same port, after
    /// [`Emulator::refuse_connections`].
    pub async fn accept_connections(&self) -> std::io::Result<()> {
        if lock(&self.accept.0).is_some() {
            return Ok(());
        }
        let listener = TcpListener::bind(self.addr).await?;
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&self.shared)));
        if let Some(racing) = lock(&self.accept.0).replace(accept) {
            racing.abort();
        }
        Ok(())
    }

    /// Adds or replaces a job.
    pub fn put_job(&self, job: Job) {
        lock(&self.shared.pools).put_job(job);
    }

    /// The job as the emulator holds it now.
    pub fn job(&self, user_pool_id: &str, job_id: &str) -> Option<Job> {
        lock(&self.shared.pools)
            .job(user_pool_id, job_id)
            .ok()
            .cloned()
    }

    /// Every call received so far, in order.
    pub fn calls(&self) -> Vec<ReceivedCall> {
        lock(&self.shared.calls).clone()
    }

    /// Every call received since the last time, in order, forgetting them:
    /// for long runs, whose record would otherwise grow without end.
    pub fn take_calls(&self) -> Vec<ReceivedCall> {
        std::mem::take(&mut *lock(&self.shared.calls))
    }

    /// How many calls were dropped by their caller before being answered.
    pub fn abandoned_calls(&self) -> usize {
        *lock(&self.shared.abandoned)
    }

    /// How many calls were received and are neither answered nor abandoned.
    pub fn calls_in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// How many connections are open now.
    pub fn open_connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }
}
