//! An embedded Cognito emulator: an HTTP server on a loopback port that speaks
//! Cognito's AWS JSON 1.1 protocol for the user import job operations
//! ([`OPERATIONS`]: CreateUserImportJob, GetCSVHeader, StartUserImportJob,
//! DescribeUserImportJob, ListUserImportJobs, StopUserImportJob), so the
//! service (and its tests) run with the real AWS SDK and no AWS account.
//!
//! It answers as Cognito does: `POST /` with `X-Amz-Target:
//! AWSCognitoIdentityProviderService.<Operation>`; errors with HTTP 400 (500
//! for InternalErrorException), an `x-amzn-ErrorType` header and a
//! `{"__type", "message"}` body; every answer with `x-amzn-RequestId`. Input
//! is checked with `cognito-constraints`, every violation in one
//! InvalidParameterException in Cognito's words. A pool exists in one
//! region: a call signed for another region does not find it.
//!
//! Jobs follow Cognito's state machine: Created -> Pending (Start) ->
//! InProgress -> Succeeded or Failed; Pending or InProgress -> Stopping
//! (Stop) -> Stopped; Created -> Expired when not started in time. Time
//! moves a job only when it is read, from when it entered its status and the
//! [`Timings`] (by default 2 s Pending, 5 s InProgress, 2 s Stopping, and
//! expiry 24 h after creation, the earliest of Cognito's 24 to 48 hours): no
//! task runs while the emulator is idle, and the same reads at the same times
//! answer the same. So Stop answers a job Stopping, Stopped once Stopping has
//! lasted its time ([`Timings::immediate`]: at once). Jobs put in place by a
//! test or the demo are held in their status until an operation moves them.
//!
//! Each job's pre-signed URL points at the emulator's own bucket
//! (`/cognito-import-jobs/<pool>/<job>`, with an S3 SigV4 query and a random
//! signature, valid 900 s), which takes the job's CSV file as S3 does
//! (`uploads`): a `PUT` whose query is the job's own, every parameter (else
//! 403 SignatureDoesNotMatch, as for a job that does not exist; no query,
//! 403 AccessDenied; part of one, 400 AuthorizationQueryParametersError),
//! not expired (403 AccessDenied, "Request has expired"), with the signed
//! header `x-amz-server-side-encryption: aws:kms` (else 403
//! SignatureDoesNotMatch) and a `Content-Length` (else 411
//! MissingContentLength; `Transfer-Encoding`, 501 NotImplemented) of at most
//! 100 MB (`cognito_csv::MAX_FILE_BYTES`, else 400 EntityTooLarge). Errors
//! are S3's XML documents, and end the connection, the body unread. The body
//! streams through `cognito_csv::CsvCheck` against the pool's CSV header and
//! is never held: what is kept is an [`UploadSummary`] (bytes, rows, rows
//! with a problem, the file's own problems, the ETag) and an 8-byte hash of
//! the username of each row that passed (at most `cognito_csv::MAX_ROWS`, 4
//! MB). Only a body that ends whole, at its Content-Length, is stored, in
//! place of any before (200 with an ETag); one cut short (the connection
//! closed, or idle 20 s: 400 RequestTimeout) stores nothing and leaves the
//! earlier file in place. Uploads are no Cognito calls: not recorded, not
//! faulted.
//!
//! A job imports the file stored when it was started (one uploaded later is
//! stored, not imported), all at once when InProgress ends: its counts are 0
//! until then, and a job stopped before imports no one. As Cognito's guide
//! says ("Viewing the user pool import results": a user that cannot be
//! imported does not stop the job; the job fails when Cognito cannot parse
//! the file), each row with a problem counts in FailedUsers and the job
//! Succeeds all the same ([`SUCCEEDED_MESSAGE`]), even when every row
//! failed; each row that passed is imported into the pool (ImportedUsers)
//! or, if the pool has the username already, skipped (SkippedUsers). A job
//! whose file Cognito cannot read (a problem outside the users' rows: the
//! header not the pool's, a byte order mark, more than 500,000 users) ends
//! Failed, [`UNREADABLE_CSV_MESSAGE`], with no users counted; one started
//! with no file, Failed, [`NO_CSV_MESSAGE`]. Each pool keeps the usernames
//! its jobs imported (and those a test added), as hashes, at most
//! [`MAX_POOL_USERNAMES`] (1,000,000, about 19 MB): past that, a user is
//! imported and not remembered. Jobs of one pool end in the order their
//! time runs out, so of two importing one user, the first to end has it.
//!
//! CreateUserImportJob refuses a job past a pool's limit (every job it holds
//! counts; [`DEFAULT_JOB_LIMIT`], 100) with LimitExceededException.
//! ListUserImportJobs lists by creation date, then job id, so jobs created
//! while paging come last; its tokens are opaque and taken only from the
//! emulator that gave them, for the same pool (`jobs::pagination`).
//!
//! Tests steer it through [`Emulator`]: inject faults into the next calls,
//! the next calls of one operation or every call for one job; set timings
//! and limits; add pools, headers, users and jobs (with a pre-signed URL on
//! the emulator), expire a job; see what an upload stored; refuse
//! connections for a while; and count the calls it received, those in
//! flight and those abandoned.
//!
//! Benchmarks start it without state ([`Emulator::start_for_benchmarks`]), so
//! that the backend is neither the bottleneck nor a store that fills up.
//!
//! The server uses what [`Emulator`] offers in this file: start one, its
//! URL, its demo pools. What tests and benchmarks steer it with is in
//! `control`, kept apart.
//!
//! The parts: `state` (what a running emulator holds), `server` (connections
//! and requests, faults applied, uploads sent to `uploads`), `answers` (responses and the bodies faults
//! send), `faults` (which call suffers which), `input` (a request's members,
//! checked), `operations` (each operation against the state), `jobs` (jobs,
//! with `lifecycle`, `imports`, `pools` and `pagination`), `presigned`
//! (upload URLs), `uploads` (the bucket: PUTs to them), `demo` (the demo
//! pools).

mod answers;
mod control;
mod demo;
mod faults;
mod input;
pub mod jobs;
mod operations;
mod presigned;
mod server;
mod state;
mod uploads;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use tokio::{net::TcpListener, task::JoinHandle};

pub use faults::Fault;
pub use input::PASSWORD_HASHING_ALGORITHMS;
pub use jobs::{
    DEFAULT_JOB_LIMIT, EXPIRED_MESSAGE, Job, JobStatus, MAX_POOL_USERNAMES, NO_CSV_MESSAGE, Pools,
    STANDARD_CSV_HEADER, STOPPED_MESSAGE, SUCCEEDED_MESSAGE, Timings, UNREADABLE_CSV_MESSAGE,
    UploadSummary,
};
pub use operations::OPERATIONS;
use server::accept_loop;
pub use state::ReceivedCall;
use state::{Shared, lock};

/// The demo user pool the emulator starts with: one job in every status,
/// held there until an operation moves it (`import-created`,
/// `import-pending`, ..., `import-expired`), the standard CSV header
/// ([`STANDARD_CSV_HEADER`]) and room for more jobs.
pub const DEMO_POOL: &str = "us-east-1_ImportDemo";
/// A second demo pool, in another region, alike (`import-eu-created`, ...).
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
        demo::seed(&mut lock(&emulator.shared.pools));
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
        lock(&shared.pools).set_upload_origin(&format!("http://{addr}"));
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

    /// The pools and their jobs now, for the start-up banner.
    pub fn describe(&self) -> Vec<(String, Vec<(String, String)>)> {
        let mut pools = lock(&self.shared.pools);
        pools.advance_all(SystemTime::now());
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
