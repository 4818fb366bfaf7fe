//! The happy path: a running job stops, and the answer is the job Cognito
//! describes, field by field.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use import_job_service::{
    cognito::Connection,
    emulator::{DEMO_POOL, DEMO_POOL_EU, Emulator, Fault, JobStatus, Timings},
    proto::{UserImportJob, UserImportJobStatus},
};
use tonic::Code;

use crate::helpers::{
    LOGS, details, request_id_of, spawn_app, spawn_app_connected, spawn_app_with,
    static_credentials,
};

fn timestamp(time: SystemTime) -> prost_types::Timestamp {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap();
    let millis = since_epoch.as_millis() as i64;
    prost_types::Timestamp {
        seconds: millis / 1000,
        nanos: (millis % 1000) as i32 * 1_000_000,
    }
}

#[tokio::test]
async fn stopping_a_running_job_answers_the_stopped_job_field_by_field() {
    let app = spawn_app().await;
    // Cognito winds the job down at once: its answer is the final job.
    app.emulator.set_timings(Timings::immediate());
    let mut job = app.job_in(DEMO_POOL, JobStatus::InProgress);
    job.password_hashing_algorithm = Some("BCRYPT".to_owned());
    job.imported_users = 41;
    job.skipped_users = 7;
    job.failed_users = 2;
    app.emulator.put_job(job.clone());

    let response = app
        .stop_job(DEMO_POOL, &job.job_id)
        .await
        .expect("the stop succeeds");

    let stopped = app.emulator.job(DEMO_POOL, &job.job_id).unwrap();
    assert_eq!(stopped.status, "Stopped");
    let completion = stopped
        .completion_date
        .expect("a stopped job has a completion date");
    let expected = UserImportJob {
        job_name: job.job_name.clone(),
        job_id: job.job_id.clone(),
        user_pool_id: DEMO_POOL.to_owned(),
        pre_signed_url: job.pre_signed_url.clone(),
        creation_date: Some(timestamp(job.creation_date)),
        start_date: Some(timestamp(job.start_date.unwrap())),
        completion_date: Some(timestamp(completion)),
        status: UserImportJobStatus::Stopped.into(),
        cloud_watch_logs_role_arn: job.cloud_watch_logs_role_arn.clone(),
        imported_users: 41,
        skipped_users: 7,
        failed_users: 2,
        completion_message: "The Import Job was stopped by the developer.".to_owned(),
        password_hashing_algorithm: "BCRYPT".to_owned(),
    };
    let request_id = request_id_of(response.metadata());
    assert_eq!(response.into_inner().user_import_job, Some(expected));

    let calls = app.emulator.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        request_id.as_deref(),
        Some(calls[0].request_id.as_str()),
        "x-amzn-requestid is Cognito's"
    );
}

/// A stop answers the job winding down (STOPPING); describing it later
/// answers it STOPPED, with Cognito's completion date and message.
#[tokio::test]
async fn a_stopped_job_is_stopping_then_stopped() {
    let app = spawn_app().await;
    app.emulator.set_timings(Timings {
        stopping: Duration::from_millis(200),
        ..Timings::default()
    });
    let job = app.job_in(DEMO_POOL, JobStatus::InProgress);
    let stopping = app
        .stop_job(DEMO_POOL, &job.job_id)
        .await
        .unwrap()
        .into_inner()
        .user_import_job
        .unwrap();
    assert_eq!(stopping.status(), UserImportJobStatus::Stopping);
    assert_eq!(stopping.completion_date, None);

    tokio::time::sleep(Duration::from_millis(300)).await;
    let described = app.describe_job(DEMO_POOL, &job.job_id).await;
    assert_eq!(described.status(), UserImportJobStatus::Stopped);
    assert!(described.completion_date.is_some());
    assert_eq!(
        described.completion_message,
        "The Import Job was stopped by the developer."
    );
    // Stopping a job that is no longer running fails its precondition.
    let again = app.stop_job(DEMO_POOL, &job.job_id).await.unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn a_pending_job_stops_and_members_cognito_omits_stay_unset() {
    let app = spawn_app().await;
    app.emulator.set_timings(Timings::immediate());
    let mut job = app.job_in(DEMO_POOL, JobStatus::Pending);
    job.start_date = None;
    app.emulator.put_job(job.clone());

    let stopped = app
        .stop_job(DEMO_POOL, &job.job_id)
        .await
        .unwrap()
        .into_inner()
        .user_import_job
        .unwrap();

    assert_eq!(stopped.status(), UserImportJobStatus::Stopped);
    assert_eq!(stopped.start_date, None);
    assert!(stopped.completion_date.is_some());
    assert_eq!(stopped.password_hashing_algorithm, "");
}

#[tokio::test]
async fn a_status_this_version_does_not_know_is_unspecified_and_logged() {
    let app = spawn_app().await;
    let mut job = app.job_in(DEMO_POOL, JobStatus::InProgress);
    job.status = "Archiving".to_owned();
    let body = serde_json::json!({ "UserImportJob": job.to_json() }).to_string();
    app.inject(Fault::Respond { status: 200, body }, 1);

    let response = app
        .stop_job(DEMO_POOL, &job.job_id)
        .await
        .expect("an unknown status is not an error");

    let stopped = response.into_inner().user_import_job.unwrap();
    assert_eq!(stopped.status(), UserImportJobStatus::Unspecified);
    assert_eq!(stopped.job_id, job.job_id);
    let warnings = LOGS.lines_with("Archiving");
    assert!(
        warnings.iter().any(|line| line["level"] == "WARN"),
        "{warnings:?}"
    );
}

#[tokio::test]
async fn each_call_goes_to_the_region_its_pool_id_begins_with() {
    let app = spawn_app().await;
    app.stop_job(DEMO_POOL_EU, "import-eu-in-progress")
        .await
        .expect("the eu-west-1 pool is found");
    app.stop_job(DEMO_POOL, "import-in-progress")
        .await
        .expect("the us-east-1 pool is found");

    let regions: Vec<_> = app
        .emulator
        .calls()
        .into_iter()
        .map(|c| c.region.unwrap())
        .collect();
    assert_eq!(regions, ["eu-west-1", "us-east-1"]);
}

#[tokio::test]
async fn an_explicit_region_overrides_the_pools_own() {
    let app = spawn_app_with(&["--aws-region", "us-east-1"]).await;
    let status = app
        .stop_job(DEMO_POOL_EU, "import-eu-in-progress")
        .await
        .unwrap_err();

    // Signed for us-east-1, the call does not find a pool hosted in eu-west-1.
    details(
        &status,
        Code::NotFound,
        "RESOURCE_NOT_FOUND",
        "cognito-idp.amazonaws.com",
    );
    assert_eq!(app.emulator.calls()[0].region.as_deref(), Some("us-east-1"));
}

#[tokio::test]
async fn a_pool_id_that_does_not_begin_with_a_region_is_not_found_without_calling_cognito() {
    let app = spawn_app().await;
    let status = app
        .stop_job("local_AbC123", "import-in-progress")
        .await
        .unwrap_err();
    let details = details(
        &status,
        Code::NotFound,
        "USER_POOL_REGION_UNKNOWN",
        "importjob.v1.ImportJobService",
    );
    assert_eq!(
        details.resource_info().unwrap().resource_name,
        "local_AbC123"
    );
    assert!(
        status.message().contains("begins with the AWS region"),
        "{}",
        status.message()
    );
    assert_eq!(app.emulator.calls().len(), 0);
}

#[tokio::test]
async fn a_transient_cognito_failure_is_retried_by_the_sdk() {
    let app = spawn_app_with(&["--aws-max-attempts", "2", "--aws-initial-backoff", "10ms"]).await;
    app.emulator.set_timings(Timings::immediate());
    let job = app.job_in(DEMO_POOL, JobStatus::InProgress);
    app.inject(Fault::error("InternalErrorException", "try again"), 1);

    let response = app
        .stop_job(DEMO_POOL, &job.job_id)
        .await
        .expect("the second attempt succeeds");

    assert_eq!(
        response.into_inner().user_import_job.unwrap().status(),
        UserImportJobStatus::Stopped
    );
    assert_eq!(app.cognito_stop_calls(), 2);
}

#[tokio::test]
async fn the_benchmark_backend_stops_any_valid_job_as_often_as_asked_after_its_latency() {
    let latency = Duration::from_millis(30);
    let backend = Emulator::start_for_benchmarks(latency).await.unwrap();
    let url = backend.url();
    let app = spawn_app_connected(&[], |_| Connection {
        endpoint_url: Some(url),
        credentials: static_credentials(),
    })
    .await;

    for _ in 0..2 {
        let started = Instant::now();
        let job = app
            .stop_job("eu-west-1_Bench", "import-any")
            .await
            .expect("every valid stop succeeds")
            .into_inner()
            .user_import_job
            .unwrap();
        assert!(started.elapsed() >= latency);
        assert_eq!(job.job_id, "import-any");
        assert_eq!(job.user_pool_id, "eu-west-1_Bench");
        assert_eq!(job.status(), UserImportJobStatus::Stopped);
        assert!(job.completion_date.is_some() && !job.completion_message.is_empty());
    }
    // It checks what Cognito checks: a pool is found only in its region.
    let url = backend.url();
    let elsewhere = spawn_app_connected(&["--aws-region", "us-east-1"], |_| Connection {
        endpoint_url: Some(url),
        credentials: static_credentials(),
    })
    .await;
    let status = elsewhere
        .stop_job("eu-west-1_Bench", "import-any")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
}

#[tokio::test]
async fn a_region_aws_opened_since_is_known_once_named_in_the_extra_regions() {
    const POOL: &str = "xx-newregion-1_AbC123";
    let app = spawn_app().await;
    let status = app.stop_job(POOL, "import-in-progress").await.unwrap_err();
    details(
        &status,
        Code::NotFound,
        "USER_POOL_REGION_UNKNOWN",
        "importjob.v1.ImportJobService",
    );
    assert_eq!(app.emulator.calls().len(), 0);

    let app = spawn_app_with(&["--aws-extra-regions", "xx-newregion-1,xx-other-2"]).await;
    let status = app.stop_job(POOL, "import-in-progress").await.unwrap_err();
    // Sent to the region: the emulator has no such pool there.
    details(
        &status,
        Code::NotFound,
        "RESOURCE_NOT_FOUND",
        "cognito-idp.amazonaws.com",
    );
    assert_eq!(
        app.emulator.calls()[0].region.as_deref(),
        Some("xx-newregion-1")
    );
}
