//! Cognito's state machine, its timings and expiry.

use std::time::Duration;

use cognito_emulator::{DEMO_POOL, Emulator, NO_CSV_MESSAGE, STOPPED_MESSAGE, Timings};
use serde_json::json;

use crate::{ROLE, call, create, ids};

#[tokio::test]
async fn a_job_lives_created_pending_in_progress_then_fails_without_a_csv() {
    let emulator = Emulator::start().await.unwrap();
    emulator.set_timings(Timings {
        pending: Duration::from_millis(300),
        in_progress: Duration::from_secs(3600),
        ..Timings::default()
    });
    let job = create(&emulator, DEMO_POOL).await;
    assert_eq!(job["Status"], "Created");
    assert_eq!(job["CloudWatchLogsRoleArn"], ROLE);
    let url = job["PreSignedUrl"].as_str().unwrap();
    let expected = format!(
        "{}/cognito-import-jobs/{DEMO_POOL}/{}?",
        emulator.url(),
        job["JobId"].as_str().unwrap()
    );
    assert!(url.starts_with(&expected), "{url}");
    for param in [
        "X-Amz-Algorithm=AWS4-HMAC-SHA256",
        "X-Amz-Credential=",
        "X-Amz-Date=",
        "X-Amz-Expires=900",
        "X-Amz-SignedHeaders=",
        "X-Amz-Signature=",
    ] {
        assert!(url.contains(param), "{url} lacks {param}");
    }

    let started = call(&emulator, "StartUserImportJob", ids(DEMO_POOL, &job)).await;
    assert_eq!(started.job_status(), "Pending");
    assert!(started.body["UserImportJob"]["StartDate"].is_f64());
    let again = call(&emulator, "StartUserImportJob", ids(DEMO_POOL, &job)).await;
    assert_eq!(again.error().0, "PreconditionNotMetException");

    tokio::time::sleep(Duration::from_millis(400)).await;
    let described = call(&emulator, "DescribeUserImportJob", ids(DEMO_POOL, &job)).await;
    assert_eq!(described.job_status(), "InProgress");

    emulator.set_timings(Timings::immediate());
    let described = call(&emulator, "DescribeUserImportJob", ids(DEMO_POOL, &job)).await;
    assert_eq!(described.job_status(), "Failed");
    assert_eq!(
        described.body["UserImportJob"]["CompletionMessage"],
        NO_CSV_MESSAGE
    );
    assert_eq!(described.body["UserImportJob"]["ImportedUsers"], 0);
}

#[tokio::test]
async fn a_stop_answers_stopping_and_the_job_is_stopped_when_stopping_ends() {
    let emulator = Emulator::start().await.unwrap();
    assert_eq!(emulator.timings(), Timings::default());
    // Long enough that no slow machine sees Stopping end by itself.
    emulator.set_timings(Timings {
        stopping: Duration::from_secs(3600),
        ..Timings::default()
    });
    let stopping = call(
        &emulator,
        "StopUserImportJob",
        json!({"UserPoolId": DEMO_POOL, "JobId": "import-in-progress"}),
    )
    .await;
    assert_eq!(stopping.job_status(), "Stopping");
    assert!(
        stopping.body["UserImportJob"]
            .get("CompletionMessage")
            .is_none()
    );
    let again = call(
        &emulator,
        "StopUserImportJob",
        json!({"UserPoolId": DEMO_POOL, "JobId": "import-in-progress"}),
    )
    .await;
    assert_eq!(
        again.error(),
        (
            "PreconditionNotMetException",
            "Import job import-in-progress cannot be stopped: its status is Stopping."
        )
    );

    emulator.set_timings(Timings::immediate());
    let job = emulator.job(DEMO_POOL, "import-in-progress").unwrap();
    assert_eq!(job.status, "Stopped");
    assert_eq!(job.completion_message.as_deref(), Some(STOPPED_MESSAGE));
    let stopped = call(
        &emulator,
        "StopUserImportJob",
        json!({"UserPoolId": DEMO_POOL, "JobId": "import-pending"}),
    )
    .await;
    assert_eq!(stopped.job_status(), "Stopped", "no time in Stopping");
}

#[tokio::test]
async fn created_jobs_expire_in_time_or_on_demand() {
    let emulator = Emulator::start().await.unwrap();
    let first = create(&emulator, DEMO_POOL).await;
    let id = first["JobId"].as_str().unwrap();
    let expired = emulator.expire_job(DEMO_POOL, id).unwrap();
    assert_eq!(expired.status, "Expired");
    let start = call(&emulator, "StartUserImportJob", ids(DEMO_POOL, &first)).await;
    assert_eq!(start.error().0, "PreconditionNotMetException");
    assert_eq!(
        emulator
            .expire_job(DEMO_POOL, "import-in-progress")
            .unwrap()
            .status,
        "InProgress"
    );
    assert!(emulator.expire_job(DEMO_POOL, "import-nosuch").is_none());

    emulator.set_timings(Timings {
        expire_after: Duration::ZERO,
        ..Timings::default()
    });
    let second = create(&emulator, DEMO_POOL).await;
    assert_eq!(
        second["Status"], "Expired",
        "expiring at once, it is created expired"
    );
}
