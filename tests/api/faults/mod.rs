//! Cognito misbehaving, one fault per test, as the caller lives through it.
//! Each test checks four things:
//!
//! - the status the error table (README, `src/error.rs`) gives the fault;
//! - that the answer comes within the caller's deadline: calls send
//!   `grpc-timeout` over a plain HTTP/2 client that does not enforce it
//!   itself, so the time measured is the server's;
//! - that nothing is left behind: the emulator holds no call in flight, and
//!   the test's runtime runs no more tasks than it did after the healthy
//!   call that warmed the service up (tokio's `num_alive_tasks`: a task
//!   still waiting on Cognito, or a connection never closed, shows there);
//! - that the next healthy call succeeds.
//!
//! `errors.rs` pins each row of the error table in detail (the ErrorInfo's
//! metadata, messages, request ids); this module is about what a fault
//! leaves behind, and mirrors the soak (`examples/soak.rs`), which injects
//! the same faults at random under load.

mod oversized;
mod shutdown;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use import_job_service::{
    cognito::MAX_RESPONSE_BYTES,
    emulator::{DEMO_POOL, Fault, Job, JobStatus, Timings},
    proto::{
        StopUserImportJobResponse, UserImportJobStatus,
        import_job_service_client::ImportJobServiceClient,
    },
};
use tokio::runtime::Handle;
use tonic::{Code, Request, Response, Status};
use tonic_types::StatusExt;

use crate::helpers::{TestApp, details, request, spawn_app_with, wait_for};

const COGNITO: &str = "cognito-idp.amazonaws.com";
const SERVICE: &str = "importjob.v1.ImportJobService";

/// The caller's deadline, unless a test needs it to pass.
const DEADLINE: Duration = Duration::from_secs(2);
/// How late past its deadline an answer may come before the call counts as
/// hung.
const MARGIN: Duration = Duration::from_millis(200);

type Http2 = Client<HttpConnector, tonic::body::Body>;

/// The service on the emulator, warmed up by one healthy call, and a caller
/// whose deadlines only the server enforces.
struct Probe {
    app: TestApp,
    client: ImportJobServiceClient<Http2>,
    /// Tasks alive after the warm-up call, every connection it needed open.
    tasks_when_idle: usize,
}

type Answer = Result<Response<StopUserImportJobResponse>, Status>;

impl Probe {
    async fn start(args: &[&str]) -> Self {
        let app = spawn_app_with(args).await;
        // A stop answers the job Stopped, not Stopping: what is checked here
        // is the transport, not the job's statuses.
        app.emulator.set_timings(Timings::immediate());
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let http2 = Client::builder(TokioExecutor::new())
            .http2_only(true)
            .build(connector);
        let origin = format!("http://{}", app.addr).parse().unwrap();
        let mut probe = Self {
            app,
            client: ImportJobServiceClient::with_origin(http2, origin),
            tasks_when_idle: 0,
        };
        probe.warm_up(1).await;
        probe
    }

    /// Makes `calls` healthy calls at once, so that as many connections to
    /// Cognito are open (the SDK's pool keeps them), and counts the tasks
    /// alive once they are answered.
    async fn warm_up(&mut self, calls: usize) {
        let healthy = (0..calls).map(|_| self.assert_a_healthy_call_succeeds());
        futures_util::future::join_all(healthy).await;
        // Let the calls' own tasks (their HTTP/2 streams) end.
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.tasks_when_idle = alive_tasks();
    }

    /// A fresh running job.
    fn job(&self) -> Job {
        self.app.job_in(DEMO_POOL, JobStatus::InProgress)
    }

    /// Stops `job_id` with `deadline`, and how long the answer took; fails
    /// the test if none comes within the deadline and [`MARGIN`].
    async fn call(&self, job_id: &str, deadline: Duration) -> (Answer, Duration) {
        let mut call = Request::new(request(DEMO_POOL, job_id));
        call.set_timeout(deadline);
        let mut client = self.client.clone();
        let started = Instant::now();
        let answer = tokio::time::timeout(deadline + MARGIN, client.stop_user_import_job(call))
            .await
            .unwrap_or_else(|_| panic!("no answer within {deadline:?} and {MARGIN:?}: hung"));
        (answer, started.elapsed())
    }

    /// Stops a fresh running job while Cognito suffers `fault`, and checks
    /// the answer's status, that it came before the deadline, and that the
    /// job was left as it was.
    async fn assert_fault_answered(
        &self,
        fault: Fault,
        code: Code,
        reason: &str,
        domain: &str,
    ) -> Status {
        let job = self.job();
        self.app.inject(fault.clone(), 1);
        let (answer, elapsed) = self.call(&job.job_id, DEADLINE).await;
        let status = answer.expect_err(&format!("{fault:?} answers an error"));
        details(&status, code, reason, domain);
        assert!(elapsed < DEADLINE, "{fault:?}: answered after {elapsed:?}");
        self.assert_job_unchanged(&job);
        status
    }

    /// As [`Probe::assert_fault_answered`], with `fault` injected `times`
    /// (for calls that retry) and its ErrorInfo in Cognito's domain.
    async fn assert_fault_answered_times(
        &self,
        fault: Fault,
        times: usize,
        code: Code,
        reason: &str,
    ) -> Status {
        self.app.inject(fault.clone(), times - 1);
        self.assert_fault_answered(fault, code, reason, COGNITO)
            .await
    }

    fn assert_job_unchanged(&self, job: &Job) {
        let now = self.app.emulator.job(DEMO_POOL, &job.job_id).unwrap();
        assert_eq!(now.status, "InProgress", "{} was not stopped", job.job_id);
    }

    /// Nothing the calls so far started is still running: no call in flight
    /// at the emulator, no more tasks than when the service was idle.
    async fn assert_nothing_left_behind(&self) {
        let started = Instant::now();
        loop {
            let (in_flight, tasks) = (self.app.emulator.calls_in_flight(), alive_tasks());
            if in_flight == 0 && tasks <= self.tasks_when_idle {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "left behind: {in_flight} calls in flight at the emulator, \
                 {tasks} tasks alive where {} were when idle",
                self.tasks_when_idle
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn assert_a_healthy_call_succeeds(&self) {
        let job = self.job();
        let (answer, elapsed) = self.call(&job.job_id, DEADLINE).await;
        let stopped = answer
            .expect("a healthy call succeeds")
            .into_inner()
            .user_import_job
            .expect("the answer holds the job");
        assert_eq!(stopped.job_id, job.job_id);
        assert_eq!(stopped.status(), UserImportJobStatus::Stopped);
        assert!(elapsed < DEADLINE, "answered after {elapsed:?}");
        let now = self.app.emulator.job(DEMO_POOL, &job.job_id).unwrap();
        assert_eq!(now.status, "Stopped");
    }

    /// What every test ends with.
    async fn assert_recovered(&self) {
        self.assert_nothing_left_behind().await;
        self.assert_a_healthy_call_succeeds().await;
        self.assert_nothing_left_behind().await;
    }
}

/// Tasks alive on the test's runtime: the server, the emulator, and every
/// connection and call between them and the test.
fn alive_tasks() -> usize {
    Handle::current().metrics().num_alive_tasks()
}

/// One attempt per call, as the other tests run, unless a test asks for
/// retries.
const ONE_ATTEMPT: &[&str] = &[];

#[tokio::test]
async fn a_slow_answer_within_the_deadline_is_the_stopped_job() {
    let probe = Probe::start(ONE_ATTEMPT).await;
    let delay = Duration::from_millis(400);
    let job = probe.job();
    probe.app.inject(Fault::Delay(delay), 1);

    let (answer, elapsed) = probe.call(&job.job_id, DEADLINE).await;

    let stopped = answer
        .expect("a slow answer is still an answer")
        .into_inner();
    let stopped = stopped.user_import_job.unwrap();
    assert_eq!(stopped.status(), UserImportJobStatus::Stopped);
    assert!(
        elapsed >= delay && elapsed < DEADLINE,
        "answered after {elapsed:?}"
    );
    probe.assert_recovered().await;
}

#[tokio::test]
async fn no_answer_at_all_is_deadline_exceeded_at_the_callers_deadline() {
    let probe = Probe::start(ONE_ATTEMPT).await;
    let job = probe.job();
    probe.app.inject(Fault::Hang, 1);
    let deadline = Duration::from_millis(400);

    let (answer, elapsed) = probe.call(&job.job_id, deadline).await;

    let status = answer.unwrap_err();
    details(
        &status,
        Code::DeadlineExceeded,
        "DEADLINE_EXCEEDED",
        SERVICE,
    );
    assert!(elapsed >= deadline, "answered early, after {elapsed:?}");
    // The service dropped its AWS request: Cognito saw the call abandoned.
    wait_for(|| probe.app.emulator.abandoned_calls() == 1).await;
    probe.assert_job_unchanged(&job);
    probe.assert_recovered().await;
}

#[tokio::test]
async fn a_connection_reset_or_closed_without_an_answer_is_unavailable() {
    let probe = Probe::start(ONE_ATTEMPT).await;
    for fault in [Fault::ResetConnection, Fault::DropConnection] {
        probe
            .assert_fault_answered(fault, Code::Unavailable, "COGNITO_UNREACHABLE", SERVICE)
            .await;
        probe.assert_recovered().await;
    }
}

#[tokio::test]
async fn a_refused_connection_is_unavailable_until_cognito_listens_again() {
    let probe = Probe::start(ONE_ATTEMPT).await;
    probe.app.emulator.refuse_connections().await;
    let job = probe.job();

    let (answer, elapsed) = probe.call(&job.job_id, DEADLINE).await;

    let status = answer.unwrap_err();
    details(&status, Code::Unavailable, "COGNITO_UNREACHABLE", SERVICE);
    assert!(elapsed < DEADLINE, "answered after {elapsed:?}");
    probe.assert_job_unchanged(&job);
    assert_eq!(
        probe.app.emulator.calls().len(),
        1,
        "only the warm-up call reached Cognito"
    );
    probe
        .app
        .emulator
        .accept_connections()
        .await
        .expect("the emulator listens on its port again");
    probe.assert_recovered().await;
}

/// Retries, as the service runs by default, with a short backoff.
const RETRIES: &[&str] = &["--aws-max-attempts", "3", "--aws-initial-backoff", "10ms"];

#[tokio::test]
async fn a_run_of_http_500s_is_retried_then_unavailable_with_retry_info() {
    let probe = Probe::start(RETRIES).await;
    let internal_error = Fault::error("InternalErrorException", "Internal error.");

    // Shorter than the attempts: retried through.
    let job = probe.job();
    let before = probe.app.cognito_stop_calls();
    probe.app.inject(internal_error.clone(), 2);
    let (answer, elapsed) = probe.call(&job.job_id, DEADLINE).await;
    answer.expect("the third attempt succeeds");
    assert!(elapsed < DEADLINE, "answered after {elapsed:?}");
    assert_eq!(probe.app.cognito_stop_calls() - before, 3, "attempts");

    // As long as the attempts: Cognito's failure, to retry later.
    let before = probe.app.cognito_stop_calls();
    let status = probe
        .assert_fault_answered_times(internal_error, 3, Code::Unavailable, "COGNITO_UNAVAILABLE")
        .await;
    assert_eq!(probe.app.cognito_stop_calls() - before, 3, "attempts");
    assert!(status.get_error_details().retry_info().is_some());
    probe.assert_recovered().await;
}

#[tokio::test]
async fn a_throttling_burst_is_retried_then_resource_exhausted_with_retry_info() {
    const CALLS: usize = 5;
    let mut probe = Probe::start(RETRIES).await;
    probe.warm_up(CALLS).await;

    // Shorter than the attempts: retried through.
    let job = probe.job();
    probe
        .app
        .inject(Fault::error("TooManyRequestsException", "Rate exceeded"), 2);
    let (answer, elapsed) = probe.call(&job.job_id, DEADLINE).await;
    answer.expect("the third attempt succeeds");
    assert!(elapsed < DEADLINE, "answered after {elapsed:?}");

    // Calls at once, each throttled at every attempt.
    let jobs: Vec<Job> = (0..CALLS).map(|_| probe.job()).collect();
    for job in &jobs {
        let throttled = Fault::error("ThrottlingException", "Rate exceeded");
        probe.app.emulator.inject_for_job(&job.job_id, throttled);
    }
    let before = probe.app.cognito_stop_calls();
    let answers =
        futures_util::future::join_all(jobs.iter().map(|job| probe.call(&job.job_id, DEADLINE)))
            .await;
    for ((answer, elapsed), job) in answers.into_iter().zip(&jobs) {
        let status = answer.expect_err("throttled at every attempt");
        let details = details(&status, Code::ResourceExhausted, "THROTTLED", COGNITO);
        assert!(details.retry_info().is_some());
        assert!(elapsed < DEADLINE, "answered after {elapsed:?}");
        probe.assert_job_unchanged(job);
        probe.app.emulator.clear_job_fault(&job.job_id);
    }
    assert_eq!(
        probe.app.cognito_stop_calls() - before,
        3 * CALLS,
        "attempts"
    );
    probe.assert_recovered().await;
}

#[tokio::test]
async fn malformed_json_is_unavailable() {
    let probe = Probe::start(ONE_ATTEMPT).await;
    let not_json = |body: &str| Fault::Respond {
        status: 200,
        body: body.to_owned(),
    };
    for fault in [
        // A document cut short, its length right.
        Fault::MalformedBody,
        not_json("UserImportJob: import-1"),
        not_json(r#"{"UserImportJob": {"JobId": "import-1",}}"#),
        not_json(r#"{"UserImportJob": {"JobId": 12}}"#),
        not_json(r#"{"UserImportJob": {"CreationDate": "yesterday"}}"#),
    ] {
        probe
            .assert_fault_answered(
                fault,
                Code::Unavailable,
                "COGNITO_RESPONSE_UNPARSEABLE",
                SERVICE,
            )
            .await;
    }
    probe.assert_recovered().await;
}

#[tokio::test]
async fn a_body_cut_short_by_a_closed_connection_is_unavailable() {
    let probe = Probe::start(ONE_ATTEMPT).await;
    probe
        .assert_fault_answered(
            Fault::TruncatedBody,
            Code::Unavailable,
            "COGNITO_UNREACHABLE",
            SERVICE,
        )
        .await;
    probe.assert_recovered().await;
}

#[tokio::test]
async fn a_wrong_content_type_is_unavailable() {
    let probe = Probe::start(ONE_ATTEMPT).await;
    // A proxy's HTML page where Cognito's JSON should be.
    probe
        .assert_fault_answered(
            Fault::html_page(200),
            Code::Unavailable,
            "COGNITO_RESPONSE_UNPARSEABLE",
            SERVICE,
        )
        .await;
    probe.assert_recovered().await;
}

#[tokio::test]
async fn an_error_type_aws_never_sent_is_unknown_and_named() {
    let probe = Probe::start(ONE_ATTEMPT).await;
    let status = probe
        .assert_fault_answered(
            Fault::error("QuantumEntanglementException", "Spooky."),
            Code::Unknown,
            "UNKNOWN_AWS_ERROR",
            COGNITO,
        )
        .await;
    let details = status.get_error_details();
    assert_eq!(
        details.error_info().unwrap().metadata["awsErrorCode"],
        "QuantumEntanglementException"
    );
    probe.assert_recovered().await;
}
