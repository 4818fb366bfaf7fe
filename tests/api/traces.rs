//! Traces over OTLP, received by a collector started here (OpenTelemetry's
//! own TraceService, on tonic): a call's server span in its caller's trace,
//! its Cognito call a child, the attributes the conventions name and no
//! secret, sampling, the log line's trace id, the flush at shutdown, and a
//! collector that refuses.

use std::{
    io::Read,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use import_job_service::{
    emulator::{DEMO_POOL, Fault, JobStatus},
    proto::{
        CreateUserImportJobRequest, DescribeUserImportJobRequest,
        import_job_service_client::ImportJobServiceClient,
    },
};
use jsonwebtoken::Algorithm;
use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    common::v1::any_value::Value,
    trace::v1::{Span, span::SpanKind, status::StatusCode},
};
use tokio::{net::TcpListener, task::JoinHandle};
use tonic::{
    Code, Request, Response, Status,
    metadata::MetadataValue,
    transport::{Server, server::TcpIncoming},
};

use crate::{
    auth::fixtures::{Files, Pki, Signer, claims, tls_channel},
    binary::Running,
    helpers::{LOGS, channel, request, request_id_of, spawn_app, spawn_app_with, wait_for},
    operations::ROLE_ARN,
};

/// An OTLP/gRPC trace collector on a loopback port, keeping every request.
struct Collector {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
}

#[derive(Clone)]
struct Receiver(Arc<Mutex<Vec<ExportTraceServiceRequest>>>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.0.lock().unwrap().push(request.into_inner());
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

impl Collector {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let server = tokio::spawn(
            Server::builder()
                .add_service(TraceServiceServer::new(Receiver(Arc::clone(&received))))
                .serve_with_incoming(TcpIncoming::from(listener)),
        );
        Self {
            addr,
            received,
            server,
        }
    }

    /// The flags of a service that exports to this collector, a batch
    /// every 50 ms.
    fn flags(&self) -> Vec<String> {
        self.flags_every("50ms")
    }

    fn flags_every(&self, interval: &str) -> Vec<String> {
        [
            "--otlp-endpoint",
            &format!("http://{}", self.addr),
            "--otlp-export-interval",
            interval,
        ]
        .map(str::to_owned)
        .to_vec()
    }

    fn spans(&self) -> Vec<Span> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .flat_map(|request| &request.resource_spans)
            .flat_map(|resource| &resource.scope_spans)
            .flat_map(|scope| scope.spans.clone())
            .collect()
    }

    /// Everything received, as text: resources, scopes, spans, attributes.
    fn text(&self) -> String {
        format!("{:?}", self.received.lock().unwrap())
    }

    /// The spans of `trace_id` once `count` have come (within 10 s).
    async fn spans_of(&self, trace_id: &str, count: usize) -> Vec<Span> {
        let started = Instant::now();
        loop {
            let spans: Vec<Span> = self
                .spans()
                .into_iter()
                .filter(|span| hex(&span.trace_id) == trace_id)
                .collect();
            if spans.len() >= count {
                return spans;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{} of {count} spans of {trace_id} within 10s: {spans:?}",
                spans.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A caller's trace: the ids its `traceparent` sends.
struct CallerTrace {
    trace_id: String,
    span_id: String,
}

impl CallerTrace {
    fn new() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        Self {
            trace_id: id.clone(),
            span_id: id[..16].to_owned(),
        }
    }

    /// `message` with this trace's `traceparent`, sampled or not.
    fn call<T>(&self, message: T, sampled: bool) -> Request<T> {
        let flags = if sampled { "01" } else { "00" };
        let mut call = Request::new(message);
        call.metadata_mut().insert(
            "traceparent",
            MetadataValue::try_from(format!("00-{}-{}-{flags}", self.trace_id, self.span_id))
                .unwrap(),
        );
        call
    }
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(|attribute| attribute.value.as_ref()?.value.as_ref())
}

fn text_attribute<'a>(span: &'a Span, key: &str) -> &'a str {
    match attribute(span, key) {
        Some(Value::StringValue(value)) => value,
        other => panic!("{key} is {other:?} in {span:?}"),
    }
}

fn int_attribute(span: &Span, key: &str) -> i64 {
    match attribute(span, key) {
        Some(Value::IntValue(value)) => *value,
        other => panic!("{key} is {other:?} in {span:?}"),
    }
}

fn attribute_keys(span: &Span) -> Vec<&str> {
    let mut keys: Vec<&str> = span.attributes.iter().map(|a| a.key.as_str()).collect();
    keys.sort_unstable();
    keys
}

fn status_code(span: &Span) -> StatusCode {
    span.status
        .as_ref()
        .map_or(StatusCode::Unset, |status| status.code())
}

/// The server span and the Cognito span among `spans`.
fn server_and_cognito(spans: &[Span]) -> (&Span, &Span) {
    let of_kind = |kind: SpanKind| {
        let found: Vec<&Span> = spans.iter().filter(|s| s.kind() == kind).collect();
        assert_eq!(found.len(), 1, "one {kind:?} span in {spans:?}");
        found[0]
    };
    (of_kind(SpanKind::Server), of_kind(SpanKind::Client))
}

/// The call's line, found by its job id.
fn call_line(job_id: &str) -> serde_json::Value {
    let lines: Vec<_> = LOGS
        .lines_with(job_id)
        .into_iter()
        .filter(|line| line["fields"]["message"] == "call finished")
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    lines.into_iter().next().unwrap()
}

#[tokio::test]
async fn a_call_is_a_server_span_in_the_callers_trace_with_its_cognito_call_as_child() {
    let collector = Collector::start().await;
    let flags = collector.flags();
    let app = spawn_app_with(&flags.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let job = app.job_in(DEMO_POOL, JobStatus::InProgress);
    let caller = CallerTrace::new();
    let mut call = caller.call(request(DEMO_POOL, &job.job_id), true);
    call.metadata_mut()
        .insert("tracestate", MetadataValue::from_static("vendor=opaque"));
    let response = app.client.clone().stop_user_import_job(call).await.unwrap();
    let request_id = request_id_of(response.metadata()).unwrap();

    let spans = collector.spans_of(&caller.trace_id, 2).await;
    let (server, cognito) = server_and_cognito(&spans);

    assert_eq!(
        server.name,
        "importjob.v1.ImportJobService/StopUserImportJob"
    );
    assert_eq!(hex(&server.parent_span_id), caller.span_id);
    assert_eq!(server.trace_state, "vendor=opaque");
    assert_eq!(
        attribute_keys(server),
        [
            "importjob.caller",
            "importjob.job_id",
            "importjob.user_pool_id",
            "rpc.grpc.status_code",
            "rpc.method",
            "rpc.service",
            "rpc.system",
        ]
    );
    assert_eq!(text_attribute(server, "rpc.system"), "grpc");
    assert_eq!(
        text_attribute(server, "rpc.service"),
        "importjob.v1.ImportJobService"
    );
    assert_eq!(text_attribute(server, "rpc.method"), "StopUserImportJob");
    assert_eq!(int_attribute(server, "rpc.grpc.status_code"), 0);
    assert_eq!(text_attribute(server, "importjob.caller"), "anonymous");
    assert_eq!(text_attribute(server, "importjob.user_pool_id"), DEMO_POOL);
    assert_eq!(text_attribute(server, "importjob.job_id"), job.job_id);
    assert_eq!(status_code(server), StatusCode::Unset);

    assert_eq!(cognito.name, "CognitoIdentityProvider.StopUserImportJob");
    assert_eq!(cognito.parent_span_id, server.span_id);
    assert_eq!(
        attribute_keys(cognito),
        [
            "aws.request_id",
            "cloud.region",
            "rpc.method",
            "rpc.service",
            "rpc.system",
        ]
    );
    assert_eq!(text_attribute(cognito, "rpc.system"), "aws-api");
    assert_eq!(
        text_attribute(cognito, "rpc.service"),
        "CognitoIdentityProvider"
    );
    assert_eq!(text_attribute(cognito, "rpc.method"), "StopUserImportJob");
    assert_eq!(text_attribute(cognito, "aws.request_id"), request_id);
    assert_eq!(text_attribute(cognito, "cloud.region"), "us-east-1");
    assert_eq!(status_code(cognito), StatusCode::Unset);
    assert!(
        server.start_time_unix_nano <= cognito.start_time_unix_nano
            && cognito.end_time_unix_nano <= server.end_time_unix_nano,
        "the Cognito call within the call: {spans:?}"
    );

    let resource = collector.received.lock().unwrap()[0].resource_spans[0]
        .resource
        .clone()
        .unwrap();
    let service_name = resource
        .attributes
        .iter()
        .find(|attribute| attribute.key == "service.name")
        .and_then(|attribute| attribute.value.as_ref()?.value.clone());
    assert_eq!(
        service_name,
        Some(Value::StringValue("import-job-service".to_owned()))
    );

    let line = call_line(&job.job_id);
    assert_eq!(line["span"]["trace_id"], caller.trace_id.as_str());
    assert_eq!(line["span"]["span_id"], hex(&server.span_id).as_str());
}

#[tokio::test]
async fn a_failed_call_ends_its_spans_with_its_code_and_cognitos_error() {
    let collector = Collector::start().await;
    let flags = collector.flags();
    let app = spawn_app_with(&flags.iter().map(String::as_str).collect::<Vec<_>>()).await;

    // NOT_FOUND is the caller's affair: the server span is no error, as
    // OpenTelemetry's gRPC conventions say; Cognito's is.
    let missing = CallerTrace::new();
    let status = app
        .client
        .clone()
        .stop_user_import_job(missing.call(request(DEMO_POOL, "import-traced-missing"), true))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let spans = collector.spans_of(&missing.trace_id, 2).await;
    let (server, cognito) = server_and_cognito(&spans);
    assert_eq!(int_attribute(server, "rpc.grpc.status_code"), 5);
    assert_eq!(status_code(server), StatusCode::Unset);
    assert_eq!(status_code(cognito), StatusCode::Error);
    assert_eq!(
        text_attribute(cognito, "error.type"),
        "ResourceNotFoundException"
    );
    assert_eq!(
        text_attribute(cognito, "aws.request_id"),
        request_id_of(status.metadata()).unwrap()
    );

    // UNAVAILABLE is the server's: both spans are errors.
    let job = app.job_in(DEMO_POOL, JobStatus::InProgress);
    app.inject(Fault::DropConnection, 1);
    let dropped = CallerTrace::new();
    let status = app
        .client
        .clone()
        .stop_user_import_job(dropped.call(request(DEMO_POOL, &job.job_id), true))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    let spans = collector.spans_of(&dropped.trace_id, 2).await;
    let (server, cognito) = server_and_cognito(&spans);
    assert_eq!(int_attribute(server, "rpc.grpc.status_code"), 14);
    assert_eq!(status_code(server), StatusCode::Error);
    assert_eq!(status_code(cognito), StatusCode::Error);
    assert!(!text_attribute(cognito, "error.type").is_empty());

    // Cut short by the caller's deadline: Cognito's outcome is unknown, and
    // its span says so.
    let job = app.job_in(DEMO_POOL, JobStatus::InProgress);
    app.inject(Fault::Delay(std::time::Duration::from_secs(3)), 1);
    let cut = CallerTrace::new();
    let mut call = cut.call(request(DEMO_POOL, &job.job_id), true);
    call.set_timeout(std::time::Duration::from_millis(500));
    let status = app
        .client
        .clone()
        .stop_user_import_job(call)
        .await
        .unwrap_err();
    // (tonic's client keeps the deadline too, and may give up first.)
    assert!(
        matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{status:?}"
    );
    let spans = collector.spans_of(&cut.trace_id, 2).await;
    let (_, cognito) = server_and_cognito(&spans);
    assert_eq!(status_code(cognito), StatusCode::Error);
    assert_eq!(text_attribute(cognito, "error.type"), "CANCELLED");
}

fn with_bearer<T>(token: &str, mut call: Request<T>) -> Request<T> {
    call.metadata_mut().insert(
        "authorization",
        MetadataValue::try_from(format!("Bearer {token}")).unwrap(),
    );
    call
}

const OPERATORS: &str = r#"{
  "name": "traces",
  "allow_rules": [
    {
      "name": "operators",
      "source": { "principals": ["spiffe://corp.test/ops"] },
      "request": { "paths": ["/importjob.v1.ImportJobService/*"] }
    }
  ]
}"#;

#[tokio::test]
async fn no_token_certificate_or_pre_signed_url_reaches_a_span() {
    let collector = Collector::start().await;
    let (files, pki, signer) = (
        Files::new(),
        Pki::new("Test CA"),
        Signer::new("rsa-1", Algorithm::RS256),
    );
    let mut flags = files.tls_service(&pki);
    flags.extend(files.token_service(OPERATORS, &[&signer]));
    flags.extend(collector.flags());
    let app = spawn_app_with(&flags.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let cert = pki.client(&["spiffe://corp.test/ops"], None);
    let token = signer.sign(&claims("ops-batch"));
    let mut client =
        ImportJobServiceClient::new(tls_channel(app.addr, &pki.ca_pem(), Some(&cert)).await);
    let caller = CallerTrace::new();

    let created = client
        .create_user_import_job(with_bearer(
            &token,
            caller.call(
                CreateUserImportJobRequest {
                    user_pool_id: DEMO_POOL.to_owned(),
                    job_name: "traced import".to_owned(),
                    cloud_watch_logs_role_arn: ROLE_ARN.to_owned(),
                    password_hashing_algorithm: None,
                },
                true,
            ),
        ))
        .await
        .unwrap()
        .into_inner()
        .user_import_job
        .unwrap();
    let running = app.job_in(DEMO_POOL, JobStatus::InProgress);
    let stopped = client
        .stop_user_import_job(with_bearer(
            &token,
            caller.call(request(DEMO_POOL, &running.job_id), true),
        ))
        .await
        .unwrap()
        .into_inner()
        .user_import_job
        .unwrap();
    let described = client
        .describe_user_import_job(with_bearer(
            &token,
            caller.call(
                DescribeUserImportJobRequest {
                    user_pool_id: DEMO_POOL.to_owned(),
                    job_id: created.job_id.clone(),
                },
                true,
            ),
        ))
        .await
        .unwrap()
        .into_inner()
        .user_import_job
        .unwrap();
    for job in [&created, &stopped, &described] {
        assert!(
            job.pre_signed_url.contains("X-Amz-Signature="),
            "the answers hold pre-signed URLs: {job:?}"
        );
    }

    let spans = collector.spans_of(&caller.trace_id, 6).await;
    let servers: Vec<&Span> = spans
        .iter()
        .filter(|span| span.kind() == SpanKind::Server)
        .collect();
    assert_eq!(servers.len(), 3, "{spans:?}");
    for server in &servers {
        let caller = text_attribute(server, "importjob.caller");
        assert!(
            caller.contains("mtls:spiffe://corp.test/ops") && caller.contains("jwt:ops-batch"),
            "the caller is named by its identities: {caller}"
        );
    }
    assert!(
        servers.iter().any(|server| {
            attribute(server, "importjob.job_id")
                == Some(&Value::StringValue(created.job_id.clone()))
        }),
        "the created job is named: {servers:?}"
    );

    let received = collector.text();
    let mut secrets: Vec<String> = vec![
        token.clone(),
        "Bearer".to_owned(),
        "authorization".to_owned(),
        "X-Amz-".to_owned(),
    ];
    secrets.extend(token.split('.').map(str::to_owned));
    for job in [&created, &stopped, &described] {
        secrets.push(job.pre_signed_url.clone());
        secrets.push(
            job.pre_signed_url
                .split("X-Amz-Signature=")
                .nth(1)
                .unwrap()
                .to_owned(),
        );
    }
    for pem in [&cert.cert, &cert.key] {
        secrets.extend(
            pem.lines()
                .filter(|line| !line.starts_with("-----") && line.len() > 16)
                .map(str::to_owned),
        );
    }
    for secret in &secrets {
        assert!(
            !received.contains(secret.as_str()),
            "a secret reached the collector: {secret}"
        );
    }
}

#[tokio::test]
async fn unsampled_calls_are_not_exported_and_their_lines_still_carry_a_trace_id() {
    let collector = Collector::start().await;
    let mut flags = collector.flags();
    flags.extend(["--otlp-sampling-ratio", "0"].map(str::to_owned));
    let app = spawn_app_with(&flags.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let client = || app.client.clone();

    // A root call, not sampled at a ratio of 0.
    let root = app.job_in(DEMO_POOL, JobStatus::InProgress);
    client()
        .stop_user_import_job(request(DEMO_POOL, &root.job_id))
        .await
        .unwrap();
    // A caller whose trace is not sampled.
    let unsampled = CallerTrace::new();
    let job = app.job_in(DEMO_POOL, JobStatus::InProgress);
    client()
        .stop_user_import_job(unsampled.call(request(DEMO_POOL, &job.job_id), false))
        .await
        .unwrap();
    let unsampled_job = job.job_id;
    // A caller whose trace is sampled: traced whatever the ratio.
    let sampled = CallerTrace::new();
    let job = app.job_in(DEMO_POOL, JobStatus::InProgress);
    client()
        .stop_user_import_job(sampled.call(request(DEMO_POOL, &job.job_id), true))
        .await
        .unwrap();

    // The sampled call's spans come after the others' would have: in the
    // same export, or a later one.
    collector.spans_of(&sampled.trace_id, 2).await;
    let exported: Vec<String> = collector
        .spans()
        .iter()
        .map(|span| hex(&span.trace_id))
        .collect();
    assert_eq!(
        exported,
        [sampled.trace_id.as_str(); 2],
        "only the sampled call's"
    );

    let root_line = call_line(&root.job_id);
    let root_trace = root_line["span"]["trace_id"].as_str().unwrap();
    assert_eq!(root_trace.len(), 32, "{root_line}");
    assert_ne!(root_trace, sampled.trace_id);
    assert_eq!(
        call_line(&unsampled_job)["span"]["trace_id"],
        unsampled.trace_id.as_str()
    );
}

#[tokio::test]
async fn without_export_a_line_carries_the_callers_trace_id() {
    let app = spawn_app().await;
    let caller = CallerTrace::new();
    let traced = app.job_in(DEMO_POOL, JobStatus::InProgress);
    app.client
        .clone()
        .stop_user_import_job(caller.call(request(DEMO_POOL, &traced.job_id), true))
        .await
        .unwrap();
    let untraced = app.job_in(DEMO_POOL, JobStatus::InProgress);
    app.stop_job(DEMO_POOL, &untraced.job_id).await.unwrap();

    let line = call_line(&traced.job_id);
    assert_eq!(line["span"]["trace_id"], caller.trace_id.as_str());
    assert!(line["span"].get("span_id").is_none(), "no span: {line}");
    let line = call_line(&untraced.job_id);
    assert!(line["span"].get("trace_id").is_none(), "no trace: {line}");
}

#[tokio::test]
async fn spans_still_queued_are_exported_when_the_server_stops() {
    let collector = Collector::start().await;
    let flags = collector.flags_every("60s");
    let mut app = spawn_app_with(&flags.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let job = app.job_in(DEMO_POOL, JobStatus::InProgress);
    let caller = CallerTrace::new();
    app.client
        .clone()
        .stop_user_import_job(caller.call(request(DEMO_POOL, &job.job_id), true))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(collector.spans().is_empty(), "no batch before a minute");

    app.begin_shutdown();
    app.server_task().await.unwrap();
    let exported = collector
        .spans()
        .iter()
        .filter(|span| hex(&span.trace_id) == caller.trace_id)
        .count();
    assert_eq!(exported, 2, "exported before the server stopped");
}

#[tokio::test]
async fn a_collector_that_refuses_slows_no_call_and_is_told_of_once_a_minute() {
    let refusing = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let endpoint = format!("http://{refusing}");
    let mut app = spawn_app_with(&[
        "--otlp-endpoint",
        &endpoint,
        "--otlp-export-interval",
        "50ms",
    ])
    .await;
    let caller = CallerTrace::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        let job = app.job_in(DEMO_POOL, JobStatus::InProgress);
        let call = Instant::now();
        app.client
            .clone()
            .stop_user_import_job(caller.call(request(DEMO_POOL, &job.job_id), true))
            .await
            .unwrap();
        assert!(
            call.elapsed() < Duration::from_millis(500),
            "a call took {:?}",
            call.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let told = || {
        LOGS.lines_with(&endpoint)
            .into_iter()
            .filter(|line| {
                line["fields"]["message"]
                    .as_str()
                    .is_some_and(|message| message.starts_with("traces: export failed"))
            })
            .collect::<Vec<_>>()
    };
    wait_for(|| !told().is_empty()).await;
    assert_eq!(told().len(), 1, "once a minute: {:?}", told());
    assert_eq!(told()[0]["level"], "WARN");

    // What failed since is told when the server stops.
    app.begin_shutdown();
    app.server_task().await.unwrap();
    let started = Instant::now();
    while told().len() < 2 && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let lines = told();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[1]["fields"]["failed_batches"].as_u64().unwrap() >= 1);
    assert!(
        !LOGS.text().contains("\"target\":\"opentelemetry"),
        "the OpenTelemetry crates log nothing of their own"
    );
}

#[tokio::test]
async fn the_binary_exports_a_calls_spans_before_it_exits_on_sigterm() {
    let collector = Collector::start().await;
    let endpoint = format!("http://{}", collector.addr);
    // A batch a minute: only the flush at exit sends this one.
    let mut running = Running::start(&[
        "--insecure-allow-unauthenticated",
        "--otlp-endpoint",
        &endpoint,
        "--otlp-export-interval",
        "60s",
    ]);
    let caller = CallerTrace::new();
    ImportJobServiceClient::new(channel(running.addr).await)
        .stop_user_import_job(caller.call(request(DEMO_POOL, "import-in-progress"), true))
        .await
        .unwrap();

    running.signal("-TERM");
    let mut stderr = running.take_stderr();
    let (status, logged) = tokio::task::spawn_blocking(move || {
        let mut logged = String::new();
        stderr.read_to_string(&mut logged).unwrap();
        (running.child.wait().unwrap(), logged)
    })
    .await
    .unwrap();
    assert!(status.success(), "{status}: {logged}");

    let spans = collector.spans_of(&caller.trace_id, 2).await;
    let (server, cognito) = server_and_cognito(&spans);
    assert_eq!(hex(&server.parent_span_id), caller.span_id);
    assert_eq!(cognito.parent_span_id, server.span_id);
    let line = logged
        .lines()
        .find(|line| line.contains("call finished") && line.contains("import-in-progress"))
        .unwrap_or_else(|| panic!("no call line in {logged}"));
    let line: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(line["span"]["trace_id"], caller.trace_id.as_str());
    assert_eq!(line["span"]["span_id"], hex(&server.span_id).as_str());
}
