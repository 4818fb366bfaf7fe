//! A connection's age: past `--max-connection-age` the server sends GOAWAY,
//! lets the calls in flight finish within `--max-connection-age-grace`, and a
//! client's channel moves to a fresh connection without a failed call.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use hyper_util::rt::TokioIo;
use import_job_service::{
    emulator::{DEMO_POOL, Fault, Timings},
    proto::{
        DescribeUserImportJobRequest, WatchUserImportJobRequest,
        import_job_service_client::ImportJobServiceClient,
    },
};
use tokio_stream::StreamExt;
use tonic::{
    Code,
    transport::{Channel, Endpoint},
};

use crate::helpers::{TestApp, details, spawn_app_with};

const JOB: &str = "import-in-progress";

/// A channel to `app` that counts the TCP connections it opens.
async fn counted_channel(app: &TestApp) -> (ImportJobServiceClient<Channel>, Arc<AtomicUsize>) {
    let connections = Arc::new(AtomicUsize::new(0));
    let addr = app.addr;
    let counted = Arc::clone(&connections);
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_with_connector(tower::service_fn(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                let stream = tokio::net::TcpStream::connect(addr).await?;
                Ok::<_, std::io::Error>(TokioIo::new(stream))
            }
        }))
        .await
        .expect("the service accepts a connection");
    (ImportJobServiceClient::new(channel), connections)
}

fn describe() -> DescribeUserImportJobRequest {
    DescribeUserImportJobRequest {
        user_pool_id: DEMO_POOL.to_owned(),
        job_id: JOB.to_owned(),
    }
}

#[tokio::test]
async fn a_long_lived_channel_moves_to_fresh_connections_without_a_failed_call() {
    let app = spawn_app_with(&[
        "--max-connection-age",
        "300ms",
        "--max-connection-age-grace",
        "10s",
        "--cognito-read-rate",
        "1000",
        "--cognito-read-burst",
        "1000",
    ])
    .await;
    let (client, connections) = counted_channel(&app).await;
    // Four callers sharing the channel, one call after another each, for
    // several ages: every call answers OK.
    let until = Instant::now() + Duration::from_secs(2);
    let callers: Vec<_> = (0..4)
        .map(|_| {
            let mut client = client.clone();
            tokio::spawn(async move {
                let mut calls = 0;
                while Instant::now() < until {
                    let answer = client.describe_user_import_job(describe()).await;
                    if let Err(status) = answer {
                        panic!("call {calls} failed: {status:?}");
                    }
                    calls += 1;
                }
                calls
            })
        })
        .collect();
    let mut calls = 0;
    for caller in callers {
        calls += caller.await.expect("no call failed");
    }
    assert!(calls > 20, "only {calls} calls");
    // At 300 ms an age (±10%), two seconds take several connections; the
    // bound is loose for a slow machine.
    let opened = connections.load(Ordering::SeqCst);
    assert!(opened >= 3, "the channel opened {opened} connection(s)");
}

#[tokio::test]
async fn a_call_in_flight_when_its_connection_ages_finishes_within_the_grace() {
    let app = spawn_app_with(&[
        "--max-connection-age",
        "200ms",
        "--max-connection-age-grace",
        "10s",
    ])
    .await;
    let (mut client, connections) = counted_channel(&app).await;
    app.emulator.inject_for_operation(
        "DescribeUserImportJob",
        Fault::Delay(Duration::from_millis(1500)),
        1,
    );
    let started = Instant::now();
    let answer = client.describe_user_import_job(describe()).await;
    assert!(answer.is_ok(), "{answer:?}");
    assert!(started.elapsed() >= Duration::from_millis(1500));
    // The connection was sent away while the call ran: the next call opens
    // another, and is answered.
    let answer = client.describe_user_import_job(describe()).await;
    assert!(answer.is_ok(), "{answer:?}");
    assert!(connections.load(Ordering::SeqCst) >= 2);
}

#[tokio::test]
async fn a_call_that_outlives_the_grace_is_cut_off_with_its_connection() {
    let app = spawn_app_with(&[
        "--max-connection-age",
        "200ms",
        "--max-connection-age-grace",
        "300ms",
    ])
    .await;
    let (mut client, _) = counted_channel(&app).await;
    app.emulator.inject_for_operation(
        "DescribeUserImportJob",
        Fault::Delay(Duration::from_secs(20)),
        1,
    );
    let started = Instant::now();
    let status = client
        .describe_user_import_job(describe())
        .await
        .expect_err("the connection closed under the call");
    // A connection closed under a call: tonic's client says UNKNOWN
    // ("transport error"), others UNAVAILABLE.
    assert!(
        matches!(status.code(), Code::Unavailable | Code::Unknown),
        "{status:?}"
    );
    // Closed at about age + grace (at most 1.1 × 200 + 300 ms), not when
    // Cognito answered.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "cut off after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_watch_on_a_connection_past_its_age_ends_unavailable_and_resumes_on_a_new_one() {
    let app = spawn_app_with(&[
        "--max-connection-age",
        "300ms",
        "--max-connection-age-grace",
        "30s",
    ])
    .await;
    let hour = Duration::from_secs(3600);
    app.emulator.set_timings(Timings {
        in_progress: hour,
        ..Timings::default()
    });
    let (mut client, connections) = counted_channel(&app).await;
    let request = WatchUserImportJobRequest {
        user_pool_id: DEMO_POOL.to_owned(),
        job_id: JOB.to_owned(),
    };
    let started = Instant::now();
    let mut answers = client
        .watch_user_import_job(request.clone())
        .await
        .unwrap()
        .into_inner();
    let first = answers.next().await.expect("the job now").unwrap();
    assert_eq!(first.user_import_job.unwrap().job_id, JOB);
    // The job runs for an hour; the stream ends at the connection's age,
    // well within its grace, telling the client to watch again.
    let ended = answers.next().await.expect("the stream ends with a status");
    let status = ended.expect_err("UNAVAILABLE");
    details(
        &status,
        Code::Unavailable,
        "CONNECTION_AGED",
        "importjob.v1.ImportJobService",
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let mut again = client
        .watch_user_import_job(request)
        .await
        .unwrap()
        .into_inner();
    assert!(again.next().await.expect("the job now").is_ok());
    assert!(connections.load(Ordering::SeqCst) >= 2);
}
