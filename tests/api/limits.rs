//! Bounded resources: message size, calls in flight for all and for each
//! caller, and the rate toward Cognito. Every refusal is immediate and
//! carries ErrorInfo (and RetryInfo where waiting helps).

use std::time::Duration;

use import_job_service::emulator::{DEMO_POOL, Fault, JobStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::{
    helpers::{channel, details, spawn_app_with, wait_for},
    metrics::{get, sample},
};

const SERVICE: &str = "importjob.v1.ImportJobService";

#[tokio::test]
async fn a_message_over_the_configured_size_is_resource_exhausted() {
    let app = spawn_app_with(&["--max-request-bytes", "1024"]).await;
    let status = app
        .stop_job(DEMO_POOL, &format!("import-{}", "a".repeat(1100)))
        .await
        .unwrap_err();
    details(
        &status,
        Code::ResourceExhausted,
        "MESSAGE_TOO_LARGE",
        SERVICE,
    );
    assert!(status.message().contains("1024"), "{}", status.message());
    assert_eq!(app.cognito_stop_calls(), 0);
}

#[tokio::test]
async fn calls_over_the_global_limit_are_unavailable_at_once_and_health_still_answers() {
    let app = spawn_app_with(&["--max-calls-in-flight", "2"]).await;
    app.inject(Fault::Delay(Duration::from_secs(2)), 2);
    let slow: Vec<_> = (0..2)
        .map(|_| {
            let job = app.job_in(DEMO_POOL, JobStatus::InProgress);
            let mut client = app.client.clone();
            tokio::spawn(async move {
                client
                    .stop_user_import_job(crate::helpers::request(DEMO_POOL, &job.job_id))
                    .await
            })
        })
        .collect();
    wait_for(|| app.cognito_stop_calls() == 2).await;

    let status = app
        .stop_job(DEMO_POOL, "import-in-progress")
        .await
        .unwrap_err();
    let info = details(&status, Code::Unavailable, "SERVICE_OVERLOADED", SERVICE);
    assert!(info.retry_info().is_some());
    assert_eq!(
        app.cognito_stop_calls(),
        2,
        "the refused call reached nothing"
    );
    let health = HealthClient::new(channel(app.addr).await)
        .check(HealthCheckRequest::default())
        .await;
    assert!(health.is_ok(), "{health:?}");

    for call in slow {
        assert!(call.await.unwrap().is_ok());
    }
    assert!(app.stop_job(DEMO_POOL, "import-in-progress").await.is_ok());
}

#[tokio::test]
async fn a_caller_over_its_own_limit_is_resource_exhausted_with_retry_info() {
    let app = spawn_app_with(&["--max-calls-in-flight-per-caller", "1"]).await;
    app.inject(Fault::Delay(Duration::from_secs(2)), 1);
    let job = app.job_in(DEMO_POOL, JobStatus::InProgress);
    let mut client = app.client.clone();
    let slow = tokio::spawn(async move {
        client
            .stop_user_import_job(crate::helpers::request(DEMO_POOL, &job.job_id))
            .await
    });
    wait_for(|| app.cognito_stop_calls() == 1).await;

    let status = app.stop_job(DEMO_POOL, "import-pending").await.unwrap_err();
    let info = details(
        &status,
        Code::ResourceExhausted,
        "CALLER_OVER_LIMIT",
        SERVICE,
    );
    assert!(info.retry_info().is_some());
    assert!(slow.await.unwrap().is_ok());
    assert!(app.stop_job(DEMO_POOL, "import-pending").await.is_ok());
}

#[tokio::test]
async fn the_rate_toward_cognito_is_held_and_a_turn_past_the_deadline_is_refused() {
    let app = spawn_app_with(&[
        "--cognito-rate",
        "2",
        "--cognito-burst",
        "1",
        "--cognito-max-wait",
        "1s",
        "--metrics-listen",
        "127.0.0.1:0",
    ])
    .await;
    assert!(app.stop_job(DEMO_POOL, "import-in-progress").await.is_ok());

    // The next turn is half a second away: past a 100 ms deadline.
    let status = app
        .stop_job_with_server_deadline(DEMO_POOL, "import-pending", Duration::from_millis(100))
        .await
        .unwrap_err();
    let info = details(
        &status,
        Code::ResourceExhausted,
        "COGNITO_RATE_LIMITED",
        SERVICE,
    );
    let retry = info.retry_info().expect("RetryInfo").retry_delay.unwrap();
    assert!(
        retry > Duration::from_millis(100) && retry <= Duration::from_millis(500),
        "{retry:?}"
    );
    assert_eq!(app.cognito_stop_calls(), 1, "the refused call was not sent");

    // Without a deadline, the call waits for its turn and goes through.
    let started = tokio::time::Instant::now();
    assert!(app.stop_job(DEMO_POOL, "import-pending").await.is_ok());
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(app.cognito_stop_calls(), 2);

    let (_, text) = get(app.metrics_addr.unwrap(), "/metrics").await;
    for (series, value) in [
        (
            r#"cognito_rate_limit_turns_total{region="us-east-1",quota="write",outcome="granted"}"#,
            2.0,
        ),
        (
            r#"cognito_rate_limit_wait_seconds_count{region="us-east-1",quota="write"}"#,
            2.0,
        ),
        (
            r#"cognito_rate_limit_refusals_total{region="us-east-1",quota="write",outcome="deadline"}"#,
            1.0,
        ),
    ] {
        assert_eq!(sample(&text, series), Some(value), "{series} in:\n{text}");
    }
}

#[tokio::test]
async fn a_connection_that_never_opens_its_session_is_closed() {
    let app = spawn_app_with(&["--handshake-timeout", "200ms"]).await;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    // Part of the HTTP/2 preface, then nothing.
    stream.write_all(b"PRI * HTTP/2.0").await.unwrap();
    let mut buffer = [0; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
        .await
        .expect("the server closes the connection");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(app.stop_job(DEMO_POOL, "import-in-progress").await.is_ok());
}

#[tokio::test]
async fn streams_opened_and_reset_in_a_flood_leave_nothing_behind() {
    let app = spawn_app_with(&["--metrics-listen", "127.0.0.1:0"]).await;
    let tcp = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let (mut flood, connection) = h2::client::handshake(tcp).await.unwrap();
    let connection = tokio::spawn(connection);
    let uri = format!(
        "http://{}/importjob.v1.ImportJobService/StopUserImportJob",
        app.addr
    );
    for _ in 0..2000 {
        let request = http::Request::post(&uri)
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(())
            .unwrap();
        let Ok(ready) = flood.clone().ready().await else {
            break; // the server sent GOAWAY
        };
        flood = ready;
        match flood.send_request(request, false) {
            Ok((_response, mut stream)) => stream.send_reset(h2::Reason::CANCEL),
            Err(_) => break,
        }
    }
    // Others are served throughout.
    assert!(app.stop_job(DEMO_POOL, "import-in-progress").await.is_ok());
    drop(flood);
    let _ = tokio::time::timeout(Duration::from_secs(5), connection).await;

    let stop = r#"{method="/importjob.v1.ImportJobService/StopUserImportJob"}"#;
    wait_for_in_flight_zero(app.metrics_addr.unwrap(), stop).await;
    assert_eq!(
        app.cognito_stop_calls(),
        1,
        "no reset stream reached Cognito"
    );
}

/// Waits until no call is in flight, as the metrics count them.
async fn wait_for_in_flight_zero(metrics: std::net::SocketAddr, labels: &str) {
    let series = format!("grpc_server_calls_in_flight{labels}");
    for _ in 0..100 {
        let (_, text) = get(metrics, "/metrics").await;
        if sample(&text, &series) == Some(0.0) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("calls are still in flight");
}
