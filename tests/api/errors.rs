//! Every row of the error table, end to end: the SDK's real HTTP path to the
//! emulator, which answers as Cognito would or suffers an injected fault.

use std::time::{Duration, Instant};

use aws_credential_types::provider::{
    ProvideCredentials, SharedCredentialsProvider, error::CredentialsError, future,
};
use import_job_service::{
    cognito::Connection,
    emulator::{DEMO_POOL, Fault, JobStatus},
};
use tonic::Code;

use crate::helpers::{
    LOGS, TestApp, details, request_id_of, spawn_app, spawn_app_connected, spawn_app_with,
    static_credentials, wait_for,
};

const COGNITO: &str = "cognito-idp.amazonaws.com";
const SERVICE: &str = "importjob.v1.ImportJobService";

/// Stops a fresh running job while Cognito answers with `error_type`, and
/// checks the code, the ErrorInfo and the request id.
async fn assert_aws_error(
    app: &TestApp,
    error_type: &str,
    http_status: u16,
    code: Code,
    reason: &str,
) -> tonic_types::ErrorDetails {
    let job = app.job_in(DEMO_POOL, JobStatus::InProgress);
    let message = format!("{error_type} says no");
    app.inject(
        Fault::Error {
            error_type: error_type.to_owned(),
            status: http_status,
            message: message.clone(),
        },
        1,
    );

    let status = app.stop_job(DEMO_POOL, &job.job_id).await.unwrap_err();

    let details = details(&status, code, reason, COGNITO);
    let info = details.error_info().unwrap();
    assert_eq!(info.metadata["awsErrorCode"], error_type);
    let sent_id = app.emulator.calls().last().unwrap().request_id.clone();
    assert_eq!(info.metadata["awsRequestId"], sent_id);
    assert_eq!(
        request_id_of(status.metadata()),
        Some(sent_id),
        "x-amzn-requestid on an error"
    );
    if !matches!(code, Code::Internal | Code::PermissionDenied) {
        assert_eq!(status.message(), message, "Cognito's own message");
    }
    assert_eq!(
        app.emulator.job(DEMO_POOL, &job.job_id).unwrap().status,
        "InProgress"
    );
    details
}

#[tokio::test]
async fn an_unknown_job_or_pool_is_not_found_with_resource_info() {
    let app = spawn_app().await;
    let status = app
        .stop_job(DEMO_POOL, "import-nosuchjob")
        .await
        .unwrap_err();
    let details = details(&status, Code::NotFound, "RESOURCE_NOT_FOUND", COGNITO);
    assert_eq!(
        status.message(),
        "Import job import-nosuchjob does not exist."
    );
    let resource = details.resource_info().unwrap();
    assert_eq!(resource.resource_type, "cognito-idp:UserImportJob");
    assert_eq!(resource.resource_name, "import-nosuchjob");
    assert_eq!(
        details.error_info().unwrap().metadata["awsErrorCode"],
        "ResourceNotFoundException"
    );

    let status = app
        .stop_job("us-east-1_NoSuchPool", "import-pending")
        .await
        .unwrap_err();
    details_of_not_found(&status);
    assert_eq!(
        status.message(),
        "User pool us-east-1_NoSuchPool does not exist."
    );
}

fn details_of_not_found(status: &tonic::Status) {
    details(status, Code::NotFound, "RESOURCE_NOT_FOUND", COGNITO);
}

#[tokio::test]
async fn a_job_that_is_not_running_fails_its_precondition() {
    let app = spawn_app().await;
    for status in [
        JobStatus::Created,
        JobStatus::Succeeded,
        JobStatus::Stopped,
        JobStatus::Expired,
        JobStatus::Failed,
        JobStatus::Stopping,
    ] {
        let job = app.job_in(DEMO_POOL, status);
        let error = app.stop_job(DEMO_POOL, &job.job_id).await.unwrap_err();
        let details = details(
            &error,
            Code::FailedPrecondition,
            "PRECONDITION_NOT_MET",
            COGNITO,
        );
        let violation = &details.precondition_failure().unwrap().violations[0];
        assert_eq!(violation.r#type, "JOB_STATUS");
        assert_eq!(violation.subject, format!("{DEMO_POOL}/{}", job.job_id));
        assert!(
            violation.description.contains(status.as_str()),
            "{violation:?}"
        );
        assert_eq!(
            app.emulator.job(DEMO_POOL, &job.job_id).unwrap().status,
            status.as_str(),
            "unchanged"
        );
    }
}

#[tokio::test]
async fn cognito_rejecting_a_parameter_is_invalid_argument() {
    let app = spawn_app().await;
    assert_aws_error(
        &app,
        "InvalidParameterException",
        400,
        Code::InvalidArgument,
        "INVALID_PARAMETER",
    )
    .await;
}

#[tokio::test]
async fn an_operation_not_enabled_is_a_failed_precondition() {
    let app = spawn_app().await;
    assert_aws_error(
        &app,
        "OperationNotEnabledException",
        400,
        Code::FailedPrecondition,
        "OPERATION_NOT_ENABLED",
    )
    .await;
}

#[tokio::test]
async fn the_services_own_aws_identity_lacking_permission_is_permission_denied() {
    let app = spawn_app().await;
    assert_aws_error(
        &app,
        "NotAuthorizedException",
        400,
        Code::PermissionDenied,
        "AWS_ACCESS_DENIED",
    )
    .await;
    assert_aws_error(
        &app,
        "AccessDeniedException",
        400,
        Code::PermissionDenied,
        "AWS_ACCESS_DENIED",
    )
    .await;
}

#[tokio::test]
async fn throttling_is_resource_exhausted_with_retry_info() {
    let app = spawn_app().await;
    for error_type in [
        "TooManyRequestsException",
        "ThrottlingException",
        "RequestLimitExceeded",
    ] {
        let details =
            assert_aws_error(&app, error_type, 400, Code::ResourceExhausted, "THROTTLED").await;
        assert!(
            details.retry_info().unwrap().retry_delay.is_some(),
            "{error_type}"
        );
    }
}

#[tokio::test]
async fn cognito_failing_is_unavailable_with_retry_info() {
    let app = spawn_app().await;
    for (error_type, http_status) in [
        ("InternalErrorException", 500),
        ("ServiceUnavailable", 503),
        ("ServiceUnavailableException", 503),
    ] {
        let details = assert_aws_error(
            &app,
            error_type,
            http_status,
            Code::Unavailable,
            "COGNITO_UNAVAILABLE",
        )
        .await;
        assert!(
            details.retry_info().unwrap().retry_delay.is_some(),
            "{error_type}"
        );
    }
}

#[tokio::test]
async fn aws_rejecting_the_services_credentials_is_internal_and_hides_awss_message() {
    let app = spawn_app().await;
    for (error_type, http_status) in [
        ("UnrecognizedClientException", 400),
        ("InvalidSignatureException", 400),
        ("ExpiredTokenException", 400),
        ("IncompleteSignature", 400),
        ("MissingAuthenticationToken", 403),
    ] {
        let job = app.job_in(DEMO_POOL, JobStatus::InProgress);
        app.inject(
            Fault::Error {
                error_type: error_type.to_owned(),
                status: http_status,
                message: "The security token included in the request is invalid.".to_owned(),
            },
            1,
        );
        let status = app.stop_job(DEMO_POOL, &job.job_id).await.unwrap_err();
        let details = details(&status, Code::Internal, "AWS_CREDENTIALS_REJECTED", COGNITO);
        assert_eq!(
            details.error_info().unwrap().metadata["awsErrorCode"],
            error_type
        );
        assert!(
            status.message().contains("operators"),
            "{}",
            status.message()
        );
    }
}

#[tokio::test]
async fn an_error_code_aws_never_sent_before_is_unknown_and_named() {
    let app = spawn_app().await;
    assert_aws_error(
        &app,
        "QuantumEntanglementException",
        400,
        Code::Unknown,
        "UNKNOWN_AWS_ERROR",
    )
    .await;
}

#[derive(Debug)]
struct NoCredentials;

impl ProvideCredentials for NoCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(Err(CredentialsError::not_loaded(
            "no credentials in this environment",
        )))
    }
}

#[tokio::test]
async fn credentials_that_cannot_be_loaded_are_unavailable_and_cognito_is_not_called() {
    let app = spawn_app_connected(&[], |emulator| Connection {
        endpoint_url: Some(emulator.url()),
        credentials: Some(SharedCredentialsProvider::new(NoCredentials)),
    })
    .await;
    let status = app
        .stop_job(DEMO_POOL, "import-in-progress")
        .await
        .unwrap_err();
    details(
        &status,
        Code::Unavailable,
        "AWS_CREDENTIALS_UNAVAILABLE",
        SERVICE,
    );
    assert_eq!(app.emulator.calls().len(), 0);
}

#[tokio::test]
async fn a_refused_connection_is_unavailable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let app = spawn_app_connected(&[], |_| Connection {
        endpoint_url: Some(url),
        credentials: static_credentials(),
    })
    .await;

    let status = app
        .stop_job(DEMO_POOL, "import-in-progress")
        .await
        .unwrap_err();
    details(&status, Code::Unavailable, "COGNITO_UNREACHABLE", SERVICE);
}

#[tokio::test]
async fn a_tls_failure_is_unavailable() {
    // The emulator speaks plain HTTP: the TLS handshake fails.
    let app = spawn_app_connected(&[], |emulator| Connection {
        endpoint_url: Some(emulator.url().replace("http://", "https://")),
        credentials: static_credentials(),
    })
    .await;
    let status = app
        .stop_job(DEMO_POOL, "import-in-progress")
        .await
        .unwrap_err();
    details(&status, Code::Unavailable, "COGNITO_UNREACHABLE", SERVICE);
}

#[tokio::test]
async fn a_dropped_connection_is_unavailable() {
    let app = spawn_app().await;
    let job = app.job_in(DEMO_POOL, JobStatus::InProgress);
    app.inject(Fault::DropConnection, 1);
    let status = app.stop_job(DEMO_POOL, &job.job_id).await.unwrap_err();
    details(&status, Code::Unavailable, "COGNITO_UNREACHABLE", SERVICE);
}

#[tokio::test]
async fn an_unparseable_answer_is_unavailable() {
    let app = spawn_app().await;
    let job = app.job_in(DEMO_POOL, JobStatus::InProgress);
    app.inject(Fault::MalformedBody, 1);
    let status = app.stop_job(DEMO_POOL, &job.job_id).await.unwrap_err();
    details(
        &status,
        Code::Unavailable,
        "COGNITO_RESPONSE_UNPARSEABLE",
        SERVICE,
    );
}

#[tokio::test]
async fn a_request_that_cannot_be_built_is_internal() {
    let app = spawn_app_connected(&[], |_| Connection {
        endpoint_url: Some("not a url".to_owned()),
        credentials: static_credentials(),
    })
    .await;
    let status = app
        .stop_job(DEMO_POOL, "import-in-progress")
        .await
        .unwrap_err();
    details(&status, Code::Internal, "AWS_REQUEST_NOT_BUILT", SERVICE);
}

#[tokio::test]
async fn the_sdks_own_timeout_is_deadline_exceeded() {
    let app = spawn_app_with(&["--aws-attempt-timeout", "200ms"]).await;
    let job = app.job_in(DEMO_POOL, JobStatus::InProgress);
    app.inject(Fault::Delay(Duration::from_secs(5)), 1);
    let started = Instant::now();
    let status = app.stop_job(DEMO_POOL, &job.job_id).await.unwrap_err();
    details(&status, Code::DeadlineExceeded, "AWS_TIMEOUT", SERVICE);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_callers_deadline_bounds_the_whole_aws_call() {
    let app = spawn_app_with(&["--aws-max-attempts", "3"]).await;
    let job = app.job_in(DEMO_POOL, JobStatus::InProgress);
    app.inject(Fault::Delay(Duration::from_secs(5)), 3);
    let deadline = Duration::from_millis(300);

    let started = Instant::now();
    let status = app
        .stop_job_with_server_deadline(DEMO_POOL, &job.job_id, deadline)
        .await
        .unwrap_err();
    let elapsed = started.elapsed();

    details(
        &status,
        Code::DeadlineExceeded,
        "DEADLINE_EXCEEDED",
        SERVICE,
    );
    assert!(
        elapsed >= deadline && elapsed < deadline + Duration::from_millis(100),
        "answered after {elapsed:?}"
    );
    // The AWS request was dropped, not left running.
    wait_for(|| app.emulator.abandoned_calls() == 1).await;
    assert_eq!(
        app.emulator.job(DEMO_POOL, &job.job_id).unwrap().status,
        "InProgress"
    );
}

#[tokio::test]
async fn a_cancelled_call_drops_its_aws_request_and_is_logged() {
    let app = spawn_app().await;
    let job = app.job_in(DEMO_POOL, JobStatus::InProgress);
    app.inject(Fault::Delay(Duration::from_secs(5)), 1);

    let job_id = job.job_id.clone();
    let mut client = app.client.clone();
    let call = tokio::spawn(async move {
        client
            .stop_user_import_job(crate::helpers::request(DEMO_POOL, &job.job_id))
            .await
    });
    wait_for(|| app.emulator.calls().len() == 1).await;
    call.abort();

    wait_for(|| app.emulator.abandoned_calls() == 1).await;
    let events = LOGS.lines_with(&job_id);
    let event = events
        .iter()
        .find(|line| line["fields"]["message"] == "call finished")
        .expect("a cancelled call is logged");
    assert_eq!(event["fields"]["code"], "CANCELLED");
}

/// Statuses the service's own code does not make (tonic's for an unknown
/// method or service or an oversized message, the health service's for an
/// unknown service name) carry exactly one ErrorInfo too. (Statuses in a
/// stream's trailers: `layers::error_info`'s unit test.)
#[tokio::test]
async fn statuses_that_tonic_and_the_hosted_services_make_carry_error_info() {
    use import_job_service::proto::{StopUserImportJobRequest, StopUserImportJobResponse};
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

    let app = spawn_app().await;
    let channel = crate::helpers::channel(app.addr).await;
    for path in [
        "/importjob.v1.ImportJobService/DeleteUserImportJob",
        "/nope.v1.Nope/Call",
    ] {
        let mut grpc = tonic::client::Grpc::new(channel.clone());
        grpc.ready().await.unwrap();
        let codec =
            tonic_prost::ProstCodec::<StopUserImportJobRequest, StopUserImportJobResponse>::default(
            );
        let status = grpc
            .unary(
                tonic::Request::new(crate::helpers::request(DEMO_POOL, "import-x")),
                http::uri::PathAndQuery::from_static(path),
                codec,
            )
            .await
            .unwrap_err();
        details(&status, Code::Unimplemented, "METHOD_NOT_FOUND", SERVICE);
    }

    let status = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: "no.such.Service".to_owned(),
        })
        .await
        .unwrap_err();
    details(&status, Code::NotFound, "NOT_FOUND", SERVICE);

    // A request over the message limit (--max-request-bytes, for health and
    // reflection too), refused by tonic as it decodes.
    let status = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: "x".repeat(10_000),
        })
        .await
        .unwrap_err();
    details(&status, Code::OutOfRange, "MESSAGE_TOO_LARGE", SERVICE);
}
