//! The Prometheus endpoint, scraped after known calls.

use std::net::SocketAddr;

use import_job_service::emulator::{DEMO_POOL, Fault};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::spawn_app_with;

/// `GET path` on the metrics listener: the status line and the body.
pub async fn get(addr: SocketAddr, path: &str) -> (String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: metrics\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

/// The value of the sample named exactly `series`.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}

#[tokio::test]
async fn the_endpoint_counts_calls_cognito_outcomes_retries_and_decisions() {
    let app = spawn_app_with(&[
        "--metrics-listen",
        "127.0.0.1:0",
        "--aws-max-attempts",
        "2",
        "--aws-initial-backoff",
        "10ms",
    ])
    .await;
    let metrics = app.metrics_addr.expect("--metrics-listen serves metrics");

    app.inject(Fault::error("InternalErrorException", "try again"), 1);
    assert!(app.stop_job(DEMO_POOL, "import-in-progress").await.is_ok());
    assert!(app.stop_job(DEMO_POOL, "import-missing").await.is_err());
    assert!(app.stop_job(DEMO_POOL, "bad").await.is_err());

    let (status, text) = get(metrics, "/metrics").await;
    assert!(status.contains("200"), "{status}");
    let stop = r#"method="/importjob.v1.ImportJobService/StopUserImportJob""#;
    for (series, value) in [
        (format!("grpc_server_calls_total{{{stop},code=\"OK\"}}"), 1.0),
        (format!("grpc_server_calls_total{{{stop},code=\"NOT_FOUND\"}}"), 1.0),
        (format!("grpc_server_calls_total{{{stop},code=\"INVALID_ARGUMENT\"}}"), 1.0),
        (format!("grpc_server_call_duration_seconds_count{{{stop}}}"), 3.0),
        (format!("grpc_server_calls_in_flight{{{stop}}}"), 0.0),
        (r#"cognito_calls_total{operation="StopUserImportJob",region="us-east-1",outcome="OK"}"#.to_owned(), 1.0),
        (
            r#"cognito_calls_total{operation="StopUserImportJob",region="us-east-1",outcome="ResourceNotFoundException"}"#.to_owned(),
            1.0,
        ),
        (r#"cognito_call_duration_seconds_count{operation="StopUserImportJob",region="us-east-1",outcome="OK"}"#.to_owned(), 1.0),
        (r#"cognito_retries_total{region="us-east-1"}"#.to_owned(), 1.0),
        (
            r#"authorization_decisions_total{decision="allow",reason="insecure-allow-unauthenticated"}"#
                .to_owned(),
            3.0,
        ),
    ] {
        assert_eq!(sample(&text, &series), Some(value), "{series} in:\n{text}");
    }
    assert!(
        text.ends_with("# EOF\n"),
        "OpenMetrics text ends with # EOF"
    );

    let (status, _) = get(metrics, "/other").await;
    assert!(status.contains("404"), "{status}");
}

#[tokio::test]
async fn paths_no_method_has_are_counted_as_other() {
    let app = spawn_app_with(&["--metrics-listen", "127.0.0.1:0"]).await;
    let mut client = tonic::client::Grpc::new(crate::helpers::channel(app.addr).await);
    client.ready().await.unwrap();
    let path = http::uri::PathAndQuery::from_static("/made.up.Service/Anything");
    let answer: Result<tonic::Response<()>, _> = client
        .unary(
            tonic::Request::new(()),
            path,
            tonic_prost::ProstCodec::<(), ()>::default(),
        )
        .await;
    assert_eq!(answer.unwrap_err().code(), tonic::Code::Unimplemented);
    let (_, text) = get(app.metrics_addr.unwrap(), "/metrics").await;
    assert_eq!(
        sample(
            &text,
            r#"grpc_server_calls_total{method="other",code="UNIMPLEMENTED"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert!(!text.contains("made.up"), "{text}");
}
