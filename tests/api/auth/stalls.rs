//! Streams that send their headers and never their body, as an attacker
//! holding the service would: without credentials they are refused before a
//! byte of body is awaited and hold nothing; with a caller's token they hold
//! at most that caller's allowance, until the body timeout frees it.

use std::{
    collections::HashSet,
    net::SocketAddr,
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures_util::{FutureExt, StreamExt, future::BoxFuture, stream::FuturesUnordered};
use h2::{SendStream, client::ResponseFuture};
use serde_json::Value;
use tokio::net::TcpSocket;
use tonic::{Code, Status};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_types::StatusExt;

use super::{BILLING_POOL, POLICY, fixtures::*};
use crate::helpers::{LOGS, TestApp, spawn_app_with};
use import_job_service::emulator::JobStatus;
use jsonwebtoken::Algorithm;

const STOP: &str = "/importjob.v1.ImportJobService/StopUserImportJob";

/// A service with tokens over plaintext and the tests' policy.
struct App {
    app: TestApp,
    signer: Signer,
    _files: Files,
}

impl App {
    async fn start(extra: &[&str]) -> Self {
        let files = Files::new();
        let signer = Signer::new("k1", Algorithm::ES256);
        let policy = POLICY.replace(r#""billing-batch"]"#, r#""billing-batch", "staller"]"#);
        let flags = files.token_service(&policy, &[&signer]);
        let args: Vec<&str> = flags
            .iter()
            .map(String::as_str)
            .chain(extra.iter().copied())
            .collect();
        Self {
            app: spawn_app_with(&args).await,
            signer,
            _files: files,
        }
    }

    fn token(&self, subject: &str) -> String {
        self.signer.sign(&claims(subject))
    }

    /// A call of `subject`'s that the policy allows succeeds.
    async fn served(&self, subject: &str) {
        let job = self.app.job_in(BILLING_POOL, JobStatus::InProgress);
        let mut call = tonic::Request::new(crate::helpers::request(BILLING_POOL, &job.job_id));
        call.metadata_mut().insert(
            "authorization",
            format!("Bearer {}", self.token(subject)).parse().unwrap(),
        );
        self.app
            .client
            .clone()
            .stop_user_import_job(call)
            .await
            .expect("the call is served");
    }

    async fn health(&self) -> i32 {
        HealthClient::new(crate::helpers::channel(self.app.addr).await)
            .check(HealthCheckRequest::default())
            .await
            .expect("health answers")
            .into_inner()
            .status
    }
}

/// Header-only StopUserImportJob streams on raw HTTP/2 connections, from an
/// address of their own (as an attacker's would be), so that the service's
/// summaries of their refusals are theirs alone.
struct Stalls {
    /// The client side of each connection: its address, as the service
    /// logs it.
    peers: HashSet<String>,
    source: std::net::IpAddr,
    /// Kept open: dropping one would end its stream.
    _bodies: Vec<SendStream<Bytes>>,
    answers: FuturesUnordered<BoxFuture<'static, Status>>,
}

/// The status a stream was answered with.
async fn status(answer: ResponseFuture) -> Status {
    let response = answer.await.expect("the stream is answered");
    if let Some(status) = Status::from_header_map(response.headers()) {
        return status;
    }
    let trailers = response.into_body().trailers().await.unwrap().unwrap();
    Status::from_header_map(&trailers).expect("a status in the trailers")
}

impl Stalls {
    /// Opens `per_connection` streams on each of `connections` connections
    /// from `source`, sending headers (with `authorization`, if given) and
    /// no body.
    async fn open(
        addr: SocketAddr,
        source: [u8; 4],
        connections: usize,
        per_connection: usize,
        authorization: Option<&str>,
    ) -> Self {
        let mut stalls = Stalls {
            peers: HashSet::new(),
            source: source.into(),
            _bodies: Vec::new(),
            answers: FuturesUnordered::new(),
        };
        for _ in 0..connections {
            let socket = TcpSocket::new_v4().unwrap();
            socket.bind(SocketAddr::from((source, 0))).unwrap();
            let tcp = socket.connect(addr).await.unwrap();
            stalls.peers.insert(tcp.local_addr().unwrap().to_string());
            let (client, connection) = h2::client::handshake(tcp).await.unwrap();
            tokio::spawn(connection);
            for _ in 0..per_connection {
                let mut client = client.clone().ready().await.unwrap();
                let mut request = http::Request::builder()
                    .method("POST")
                    .uri(format!("http://{addr}{STOP}"))
                    .header("content-type", "application/grpc")
                    .header("te", "trailers");
                if let Some(value) = authorization {
                    request = request.header("authorization", value);
                }
                let (answer, body) = client
                    .send_request(request.body(()).unwrap(), false)
                    .unwrap();
                stalls.answers.push(status(answer).boxed());
                stalls._bodies.push(body);
            }
        }
        stalls
    }

    /// The statuses of the next `count` streams to be answered, in the
    /// order the answers come.
    async fn next_statuses(&mut self, count: usize) -> Vec<Status> {
        let mut statuses = Vec::with_capacity(count);
        while statuses.len() < count {
            let status = self.answers.next().await.expect("a stream still open");
            statuses.push(status);
        }
        statuses
    }

    /// The audit trail's lines about the streams' `count` refusals of
    /// `kinds` kinds, waited for until they account for all of them:
    /// refusals written in full (one per kind and summary window), and
    /// summaries counting the identical ones that followed, written as each
    /// window closes.
    async fn audited(&self, count: u64, kinds: usize) -> (Vec<Value>, Vec<Value>) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let full = self.logged("\"message\":\"authorization decision\"");
            let summaries: Vec<Value> = LOGS
                .lines_with("authorization decisions repeated")
                .into_iter()
                .filter(|line| line["fields"]["peer"] == self.source.to_string().as_str())
                .collect();
            let repeated: u64 = summaries
                .iter()
                .map(|line| line["fields"]["repeated"].as_u64().unwrap())
                .sum();
            if full.len() as u64 + repeated == count {
                assert!(
                    (kinds..=2 * kinds).contains(&full.len()),
                    "one in full per kind and window: {full:?}"
                );
                return (full, summaries);
            }
            assert!(Instant::now() < deadline, "{full:?} {summaries:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn logged(&self, event: &str) -> Vec<Value> {
        LOGS.lines_with(event)
            .into_iter()
            .filter(|line| {
                line["span"]["peer"]
                    .as_str()
                    .is_some_and(|peer| self.peers.contains(peer))
            })
            .collect()
    }
}

fn reason(status: &Status) -> String {
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}

#[tokio::test]
async fn header_only_streams_without_credentials_are_refused_unread_and_hold_nothing() {
    // A body timeout far away: what answers these streams is not it.
    let service = App::start(&[
        "--max-calls-in-flight",
        "64",
        "--request-body-timeout",
        "60s",
        "--audit-summary-window",
        "1s",
    ])
    .await;
    let started = Instant::now();
    let mut stalls = Stalls::open(service.app.addr, [127, 0, 0, 2], 4, 75, None).await;
    let statuses = stalls.next_statuses(300).await;
    let answered_in = started.elapsed();

    assert_eq!(statuses.len(), 300);
    for status in &statuses {
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
        assert_eq!(reason(status), "CREDENTIALS_MISSING");
    }
    assert!(
        answered_in < Duration::from_secs(30),
        "answered after {answered_in:?}, not before the body was awaited"
    );
    // The streams are still open on the client's side, and hold nothing.
    service.served("billing-batch").await;
    assert_eq!(service.health().await, ServingStatus::Serving as i32);
    assert_eq!(service.app.cognito_stop_calls(), 1, "only the served call");

    // One line in full, then one that counts the identical refusals that
    // followed it in the window; no call line besides.
    let (full, summaries) = stalls.audited(300, 1).await;
    for line in full.iter().chain(&summaries) {
        assert_eq!(line["fields"]["caller"], "unauthenticated");
        assert_eq!(line["fields"]["decision"], "deny");
        assert_eq!(line["fields"]["reason"], "CREDENTIALS_MISSING");
        assert_eq!(line["fields"]["method"], STOP);
    }
    assert_eq!(summaries[0]["fields"]["window_s"], 1.0);
    assert!(stalls.logged("call finished").is_empty());
}

#[tokio::test]
async fn a_callers_stalled_bodies_hold_only_its_allowance_until_the_body_timeout() {
    const BODY_TIMEOUT: Duration = Duration::from_secs(1);
    let service = App::start(&[
        "--max-calls-in-flight",
        "64",
        "--max-calls-in-flight-per-caller",
        "32",
        "--request-body-timeout",
        "1s",
        "--audit-summary-window",
        "1s",
    ])
    .await;
    let token = format!("Bearer {}", service.token("staller"));
    let started = Instant::now();
    let mut stalls = Stalls::open(service.app.addr, [127, 0, 0, 3], 2, 50, Some(&token)).await;
    // The calls over the caller's allowance are answered at once; once
    // they all are, every stream has been seen, and 32 hold their places.
    let over_allowance = stalls.next_statuses(68).await;
    for status in &over_allowance {
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert_eq!(reason(status), "CALLER_OVER_LIMIT");
    }
    // While they stall, another caller is served, and health says so.
    service.served("billing-batch").await;
    assert_eq!(service.health().await, ServingStatus::Serving as i32);

    let timed_out = stalls.next_statuses(32).await;
    let ended_in = started.elapsed();
    for status in &timed_out {
        assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
        assert_eq!(reason(status), "REQUEST_BODY_TIMEOUT");
    }
    assert!(
        ended_in >= BODY_TIMEOUT && ended_in < BODY_TIMEOUT + Duration::from_secs(4),
        "the stalled calls ended after {ended_in:?}"
    );
    // Their places are free again.
    service.served("staller").await;
    assert_eq!(service.app.cognito_stop_calls(), 2);

    // Two kinds of refusal, 68 over the allowance and 32 stalled: of each,
    // one in full and the others counted; and no call line besides.
    let (full, summaries) = stalls.audited(100, 2).await;
    let mut by_reason = std::collections::BTreeMap::new();
    for line in &full {
        *by_reason
            .entry(line["fields"]["reason"].as_str().unwrap())
            .or_default() += 1;
    }
    for line in &summaries {
        *by_reason
            .entry(line["fields"]["reason"].as_str().unwrap())
            .or_default() += line["fields"]["repeated"].as_u64().unwrap();
    }
    assert_eq!(
        by_reason,
        std::collections::BTreeMap::from([("CALLER_OVER_LIMIT", 68), ("REQUEST_BODY_TIMEOUT", 32)])
    );
    for line in full.iter().chain(&summaries) {
        assert_eq!(line["fields"]["caller"], "jwt:staller");
        assert_eq!(line["fields"]["decision"], "deny");
    }
    assert!(stalls.logged("call finished").is_empty());
}
