//! What tests and benchmarks steer the emulator with: faults, timings,
//! limits, pools, their users and jobs, the uploads it stored, the calls it
//! received, its connections. The server uses none of it.

use std::{
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant, SystemTime},
};

use tokio::net::TcpListener;

use crate::{
    Emulator,
    faults::Fault,
    jobs::{Job, Timings, UploadSummary},
    operations::OPERATIONS,
    server::accept_loop,
    state::{ReceivedCall, lock},
};

impl Emulator {
    /// Makes each of the next `times` calls suffer `fault`, after any faults
    /// already queued.
    pub fn inject(&self, fault: Fault, times: usize) {
        lock(&self.shared.faults).queue(fault, times);
    }

    /// Makes each of the next `times` calls of `operation` (one of
    /// [`OPERATIONS`], `"CreateUserImportJob"` for example) suffer `fault`,
    /// after that operation's faults already queued. Faults queued by
    /// [`Emulator::inject`] come first; those for a job, after.
    ///
    /// # Panics
    ///
    /// If the emulator does not answer `operation`: a misspelt name would
    /// otherwise inject nothing.
    pub fn inject_for_operation(&self, operation: &str, fault: Fault, times: usize) {
        assert!(
            OPERATIONS.contains(&operation),
            "the emulator answers {OPERATIONS:?}, not {operation:?}"
        );
        lock(&self.shared.faults).queue_for_operation(operation, fault, times);
    }

    /// Forgets the faults still queued for `operation`.
    pub fn clear_operation_faults(&self, operation: &str) {
        lock(&self.shared.faults).clear_operation(operation);
    }

    /// Makes every call about the job `job_id` (its `JobId` member) suffer
    /// `fault`, retries included, until [`Emulator::clear_job_fault`]. Faults
    /// queued by [`Emulator::inject`] and [`Emulator::inject_for_operation`]
    /// come first.
    pub fn inject_for_job(&self, job_id: &str, fault: Fault) {
        lock(&self.shared.faults).set_for_job(job_id, fault);
    }

    /// Lets calls about `job_id` be answered normally again.
    pub fn clear_job_fault(&self, job_id: &str) {
        lock(&self.shared.faults).clear_job(job_id);
    }

    /// How long the statuses that time ends last from now on, jobs already
    /// in them included ([`Timings::immediate`] for none at all).
    pub fn set_timings(&self, timings: Timings) {
        lock(&self.shared.pools).timings = timings;
    }

    pub fn timings(&self) -> Timings {
        lock(&self.shared.pools).timings
    }

    /// How many jobs a pool may hold for CreateUserImportJob to add one
    /// (default [`crate::DEFAULT_JOB_LIMIT`]); jobs put by tests count but are
    /// never refused.
    pub fn set_job_limit(&self, jobs_per_pool: usize) {
        lock(&self.shared.pools).job_limit = jobs_per_pool;
    }

    /// Adds a user pool with no jobs and the standard CSV header
    /// ([`crate::STANDARD_CSV_HEADER`]), if it is not there yet.
    pub fn add_pool(&self, user_pool_id: &str) {
        lock(&self.shared.pools).add_pool(user_pool_id);
    }

    /// What GetCSVHeader answers for the pool, which is created if needed.
    pub fn set_csv_header(&self, user_pool_id: &str, header: &[&str]) {
        let header = header.iter().map(|column| (*column).to_owned()).collect();
        lock(&self.shared.pools).set_csv_header(user_pool_id, header);
    }

    /// Expires the job now if it is Created, as if the time to start it had
    /// run out; the job as it is then, or `None` if there is no such job.
    pub fn expire_job(&self, user_pool_id: &str, job_id: &str) -> Option<Job> {
        lock(&self.shared.pools)
            .expire_at(user_pool_id, job_id, SystemTime::now())
            .ok()
            .cloned()
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

    /// Adds or replaces a job. It keeps the status it was given until an
    /// operation moves it (Start, Stop) or [`Emulator::expire_job`]: time
    /// alone does not.
    pub fn put_job(&self, job: Job) {
        lock(&self.shared.pools).put_job(job);
    }

    /// A pre-signed URL for the job on this emulator, as CreateUserImportJob
    /// gives: for a job a test puts in place ([`Job::new`] and
    /// [`Job::in_status`] point theirs at S3), so that uploads to it come
    /// here. Its signature is fresh; the job's own is the one its
    /// `pre_signed_url` holds.
    pub fn pre_signed_url(&self, user_pool_id: &str, job_id: &str) -> String {
        lock(&self.shared.pools).pre_signed_url(user_pool_id, job_id, SystemTime::now())
    }

    /// What the emulator kept of the file last uploaded to the job's
    /// pre-signed URL (counts, never the file), or `None` if no upload was
    /// stored: an upload cut short stores nothing, and leaves any before it
    /// in place.
    pub fn upload(&self, user_pool_id: &str, job_id: &str) -> Option<UploadSummary> {
        lock(&self.shared.pools)
            .upload(user_pool_id, job_id)
            .cloned()
    }

    /// Gives the pool these users, as if imported already: a job whose file
    /// holds one of them skips it. The pool is created if needed.
    pub fn add_users(&self, user_pool_id: &str, usernames: &[&str]) {
        lock(&self.shared.pools).add_users(user_pool_id, usernames.iter().copied());
    }

    /// How many usernames the pool has, imported or added (at most
    /// [`crate::MAX_POOL_USERNAMES`]); `None` if there is no such pool.
    pub fn user_count(&self, user_pool_id: &str) -> Option<usize> {
        lock(&self.shared.pools).user_count(user_pool_id)
    }

    /// The job as the emulator holds it now, as DescribeUserImportJob would
    /// answer it.
    pub fn job(&self, user_pool_id: &str, job_id: &str) -> Option<Job> {
        lock(&self.shared.pools)
            .job_at(user_pool_id, job_id, SystemTime::now())
            .ok()
            .cloned()
    }

    /// The pool's jobs now, in ListUserImportJobs' order; `None` if there is
    /// no such pool.
    pub fn jobs(&self, user_pool_id: &str) -> Option<Vec<Job>> {
        let mut pools = lock(&self.shared.pools);
        let jobs = pools.jobs_at(user_pool_id, SystemTime::now()).ok()?;
        Some(jobs.into_iter().cloned().collect())
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
