//! Each method's failures: every exception its Cognito operation can raise,
//! a request that breaks Cognito's constraints, the caller's deadline, the
//! quota it counts against; and the pre-signed URL in no log line.

use std::time::Duration;

use import_job_service::{
    emulator::{DEMO_POOL, Fault},
    proto::{CreateUserImportJobRequest, ListUserImportJobsRequest, StartUserImportJobRequest},
};
use tonic::Code;
use tonic_types::{ErrorDetail, StatusExt};

use super::{Method, Sent};
use crate::helpers::{LOGS, details, request_id_of, spawn_app, spawn_app_with};

const COGNITO: &str = "cognito-idp.amazonaws.com";
const SERVICE: &str = "importjob.v1.ImportJobService";

/// What the error table answers for each exception: the code, the
/// ErrorInfo reason, and the detail beside it.
fn expected(exception: &str, method: Method) -> (Code, &'static str, Option<&'static str>) {
    match exception {
        "ResourceNotFoundException" => (Code::NotFound, "RESOURCE_NOT_FOUND", Some("ResourceInfo")),
        "InvalidParameterException" => (Code::InvalidArgument, "INVALID_PARAMETER", None),
        "TooManyRequestsException" => (Code::ResourceExhausted, "THROTTLED", Some("RetryInfo")),
        "PreconditionNotMetException" => (
            Code::FailedPrecondition,
            "PRECONDITION_NOT_MET",
            Some("PreconditionFailure"),
        ),
        "NotAuthorizedException" => (Code::PermissionDenied, "AWS_ACCESS_DENIED", None),
        "LimitExceededException" => (
            Code::ResourceExhausted,
            "LIMIT_EXCEEDED",
            Some("QuotaFailure"),
        ),
        "InternalErrorException" => (Code::Unavailable, "COGNITO_UNAVAILABLE", Some("RetryInfo")),
        other => panic!("{method:?}: no expectation for {other}"),
    }
}

fn detail_kind(detail: &ErrorDetail) -> &'static str {
    match detail {
        ErrorDetail::ErrorInfo(_) => "ErrorInfo",
        ErrorDetail::ResourceInfo(_) => "ResourceInfo",
        ErrorDetail::RetryInfo(_) => "RetryInfo",
        ErrorDetail::PreconditionFailure(_) => "PreconditionFailure",
        ErrorDetail::QuotaFailure(_) => "QuotaFailure",
        ErrorDetail::BadRequest(_) => "BadRequest",
        _ => "other",
    }
}

#[tokio::test]
async fn every_exception_of_every_operation_has_its_row_in_the_table() {
    let app = spawn_app().await;
    for method in Method::ALL {
        for &exception in method.exceptions() {
            let message = format!("{exception} from {}", method.operation());
            app.inject(Fault::error(exception, &message), 1);
            let status = app.call(method).await.unwrap_err();

            let context = format!("{method:?} {exception}");
            let (code, reason, detail) = expected(exception, method);
            let details = details(&status, code, reason, COGNITO);
            let info = details.error_info().unwrap();
            let last = app.emulator.calls().pop().unwrap();
            assert_eq!(last.operation, method.operation(), "{context}");
            assert_eq!(info.metadata["awsErrorCode"], exception, "{context}");
            assert_eq!(info.metadata["awsRequestId"], last.request_id, "{context}");
            assert_eq!(
                request_id_of(status.metadata()),
                Some(last.request_id),
                "{context}"
            );
            let kinds: Vec<_> = status
                .get_error_details_vec()
                .iter()
                .map(detail_kind)
                .filter(|kind| *kind != "ErrorInfo")
                .collect();
            assert_eq!(kinds, detail.into_iter().collect::<Vec<_>>(), "{context}");
            match exception {
                // The service's own AWS identity: its operators' problem,
                // told in the service's words, naming the IAM action.
                "NotAuthorizedException" => assert!(
                    status
                        .message()
                        .contains(&format!("cognito-idp:{}", method.operation())),
                    "{context}: {}",
                    status.message()
                ),
                _ => assert_eq!(status.message(), message, "{context}: Cognito's words"),
            }
            if let Some(resource) = details.resource_info() {
                let expected_type = match method.names_job() {
                    true => "cognito-idp:UserImportJob",
                    false => "cognito-idp:UserPool",
                };
                assert_eq!(resource.resource_type, expected_type, "{context}");
            }
        }
    }
}

#[tokio::test]
async fn each_method_rejects_what_cognito_would_in_cognitos_words_without_calling_it() {
    let app = spawn_app().await;
    let mut client = app.client.clone();
    let create = client
        .create_user_import_job(CreateUserImportJobRequest {
            user_pool_id: DEMO_POOL.to_owned(),
            job_name: "a/b".to_owned(),
            cloud_watch_logs_role_arn: "arn:aws:iam::1:r".to_owned(),
            password_hashing_algorithm: None,
        })
        .await
        .unwrap_err();
    let details_of =
        |status: &tonic::Status| details(status, Code::InvalidArgument, "INVALID_REQUEST", SERVICE);
    let created = details_of(&create);
    let fields: Vec<_> = created
        .bad_request()
        .unwrap()
        .field_violations
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert_eq!(fields, ["job_name", "cloud_watch_logs_role_arn"]);
    assert_eq!(
        created.error_info().unwrap().metadata["awsErrorMessage"],
        "2 validation errors detected: \
         Value 'a/b' at 'jobName' failed to satisfy constraint: \
         Member must satisfy regular expression pattern: [\\w\\s+=,.@-]+; \
         Value 'arn:aws:iam::1:r' at 'cloudWatchLogsRoleArn' failed to satisfy constraint: \
         Member must have length greater than or equal to 20"
    );

    let list = client
        .list_user_import_jobs(ListUserImportJobsRequest {
            user_pool_id: DEMO_POOL.to_owned(),
            max_results: 0,
            pagination_token: "two words".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        details_of(&list).error_info().unwrap().metadata["awsErrorMessage"],
        "2 validation errors detected: \
         Value '0' at 'maxResults' failed to satisfy constraint: \
         Member must have value greater than or equal to 1; \
         Value 'two words' at 'paginationToken' failed to satisfy constraint: \
         Member must satisfy regular expression pattern: [\\S]+"
    );

    let start = client
        .start_user_import_job(StartUserImportJobRequest {
            user_pool_id: "us-east-1_".to_owned(),
            job_id: "import_1".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        details_of(&start)
            .bad_request()
            .unwrap()
            .field_violations
            .len(),
        2
    );

    for method in Method::ALL {
        let status = method
            .send(&mut client, "", "", &Sent::default())
            .await
            .unwrap_err();
        let fields: Vec<_> = details_of(&status)
            .bad_request()
            .unwrap()
            .field_violations
            .iter()
            .map(|v| v.field.clone())
            .collect();
        assert_eq!(fields[0], "user_pool_id", "{method:?}");
        assert_eq!(
            fields.len(),
            if method.names_job() { 2 } else { 1 },
            "{method:?}"
        );
    }
    assert!(app.emulator.calls().is_empty(), "Cognito was never called");
}

#[tokio::test]
async fn the_callers_deadline_bounds_every_methods_aws_call() {
    let app = spawn_app().await;
    let mut client = app.server_deadline_client();
    for method in Method::ALL {
        let job = method.job_for(&app, DEMO_POOL);
        app.inject(Fault::Hang, 1);
        let sent = Sent {
            timeout: Some(Duration::from_millis(300)),
            ..Sent::default()
        };
        let status = method
            .send(&mut client, DEMO_POOL, &job, &sent)
            .await
            .unwrap_err();
        details(
            &status,
            Code::DeadlineExceeded,
            "DEADLINE_EXCEEDED",
            SERVICE,
        );
    }
    crate::helpers::wait_for(|| app.emulator.abandoned_calls() == Method::ALL.len()).await;
}

#[tokio::test]
async fn reads_and_writes_take_turns_from_separate_buckets() {
    // One write and two reads, then no turn for minutes.
    let app = spawn_app_with(&[
        "--cognito-rate",
        "0.0002",
        "--cognito-burst",
        "1",
        "--cognito-read-rate",
        "0.0002",
        "--cognito-read-burst",
        "2",
    ])
    .await;
    let rate_limited = |result: Result<_, tonic::Status>| {
        let status = result.unwrap_err();
        details(
            &status,
            Code::ResourceExhausted,
            "COGNITO_RATE_LIMITED",
            SERVICE,
        );
    };
    app.call(Method::Stop).await.unwrap();
    rate_limited(app.call(Method::Start).await);
    rate_limited(app.call(Method::Create).await);
    app.call(Method::Describe).await.unwrap();
    app.call(Method::List).await.unwrap();
    rate_limited(app.call(Method::GetCsvHeader).await);
    assert_eq!(
        app.emulator.calls().len(),
        3,
        "only the calls that had a turn"
    );
}

#[tokio::test]
async fn the_pre_signed_url_is_answered_and_never_logged() {
    // The tests' logs, audit events included, are captured at every level,
    // trace included.
    let app = spawn_app_with(&["--metrics-listen", "127.0.0.1:0"]).await;
    let mut urls = Vec::new();
    for method in Method::ALL
        .into_iter()
        .filter(|m| *m != Method::GetCsvHeader)
    {
        let answer = app.call(method).await.unwrap().into_inner();
        let url = answer
            .split("pre_signed_url: \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("{method:?} answers a pre-signed URL: {answer}"))
            .to_owned();
        assert!(url.contains("X-Amz-Signature="), "{method:?}: {url}");
        urls.push(url);
    }
    // Nor when the answer holding it fails to arrive whole.
    app.inject(Fault::TruncatedBody, 1);
    app.call(Method::Describe).await.unwrap_err();

    let logs = LOGS.text();
    let (_, metrics) = crate::metrics::get(app.metrics_addr.unwrap(), "/metrics").await;
    for url in &urls {
        let signature = url.split("X-Amz-Signature=").nth(1).unwrap();
        let signature = signature.split('&').next().unwrap();
        assert!(!logs.contains(signature), "a signature reached the logs");
        assert!(
            !logs.contains(url.as_str()),
            "a pre-signed URL reached the logs"
        );
        assert!(
            !metrics.contains(signature),
            "a signature reached the metrics"
        );
    }
    assert!(
        !logs.contains("X-Amz-Credential"),
        "no pre-signed URL of any call reached the logs"
    );
}

/// A create is not idempotent: it is tried again only when Cognito
/// throttled it, never after a failure that may have come once the job was
/// made. A describe is tried again after either.
#[tokio::test]
async fn a_create_is_retried_only_when_throttled() {
    let app = spawn_app_with(&["--aws-max-attempts", "2", "--aws-initial-backoff", "10ms"]).await;
    let creates = || {
        app.emulator
            .calls()
            .iter()
            .filter(|call| call.operation == "CreateUserImportJob")
            .count()
    };

    app.inject(Fault::error("InternalErrorException", "maybe made"), 1);
    let status = app.call(Method::Create).await.unwrap_err();
    details(&status, Code::Unavailable, "COGNITO_UNAVAILABLE", COGNITO);
    assert_eq!(creates(), 1, "not tried again");

    app.inject(Fault::error("TooManyRequestsException", "slow down"), 1);
    app.call(Method::Create)
        .await
        .expect("the second attempt creates it");
    assert_eq!(creates(), 3);

    app.inject(Fault::error("InternalErrorException", "try again"), 1);
    let before = app.emulator.calls().len();
    app.call(Method::Describe)
        .await
        .expect("the second attempt describes it");
    assert_eq!(app.emulator.calls().len() - before, 2);
}

/// An answer without the job the method returns is not passed on as an
/// empty job (a create would seem to have made a job with no id).
#[tokio::test]
async fn an_answer_without_its_job_is_unparseable() {
    let app = spawn_app().await;
    for method in [
        Method::Create,
        Method::Start,
        Method::Describe,
        Method::Stop,
    ] {
        app.inject(
            Fault::Respond {
                status: 200,
                body: "{}".to_owned(),
            },
            1,
        );
        let status = app.call(method).await.unwrap_err();
        details(
            &status,
            Code::Unavailable,
            "COGNITO_RESPONSE_UNPARSEABLE",
            SERVICE,
        );
    }
}
