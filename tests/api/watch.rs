//! WatchUserImportJob: the job now, then each change, ending OK at a final
//! status; one poll however many watch; watches end on drain and at the
//! caller's deadline.

use std::time::Duration;

use import_job_service::{
    emulator::{DEMO_POOL, JobStatus, Timings},
    proto::{UserImportJobStatus, WatchUserImportJobRequest},
};
use tokio_stream::StreamExt;
use tonic::{Code, Request};

use crate::helpers::{LOGS, TestApp, details, spawn_app_with};

const SERVICE: &str = "importjob.v1.ImportJobService";

/// Polls every 20 ms, so that the tests' jobs move in a blink.
async fn spawn_watching(extra: &[&str]) -> TestApp {
    let args = [
        &[
            "--watch-poll-interval",
            "20ms",
            "--watch-poll-max-interval",
            "20ms",
        ],
        extra,
    ]
    .concat();
    let app = spawn_app_with(&args).await;
    app.emulator.set_timings(Timings {
        pending: Duration::from_millis(150),
        in_progress: Duration::from_millis(300),
        ..Timings::default()
    });
    app
}

fn watch_request(job_id: &str) -> WatchUserImportJobRequest {
    WatchUserImportJobRequest {
        user_pool_id: DEMO_POOL.to_owned(),
        job_id: job_id.to_owned(),
    }
}

/// A created job, started.
async fn started_job(app: &TestApp) -> String {
    let job = app.job_in(DEMO_POOL, JobStatus::Created).job_id;
    app.client
        .clone()
        .start_user_import_job(import_job_service::proto::StartUserImportJobRequest {
            user_pool_id: DEMO_POOL.to_owned(),
            job_id: job.clone(),
        })
        .await
        .unwrap();
    job
}

fn describe_calls(app: &TestApp) -> usize {
    app.emulator
        .calls()
        .iter()
        .filter(|call| call.operation == "DescribeUserImportJob")
        .count()
}

#[tokio::test]
async fn a_watch_follows_a_job_to_its_final_status_and_ends_ok() {
    let app = spawn_watching(&[]).await;
    let job = started_job(&app).await;
    let mut stream = app
        .client
        .clone()
        .watch_user_import_job(watch_request(&job))
        .await
        .unwrap()
        .into_inner();
    let mut statuses = Vec::new();
    while let Some(answer) = stream.next().await {
        statuses.push(answer.expect("no error").user_import_job.unwrap().status());
    }
    assert_eq!(
        statuses,
        [
            UserImportJobStatus::Pending,
            UserImportJobStatus::InProgress,
            UserImportJobStatus::Failed
        ],
        "each change once, the last one final"
    );
    // One line for the stream, with the status it ended with.
    let lines: Vec<_> = LOGS
        .lines_with(&job)
        .into_iter()
        .filter(|line| {
            line["fields"]["message"] == "call finished"
                && line["span"]["method"] == "/importjob.v1.ImportJobService/WatchUserImportJob"
        })
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["fields"]["code"], "OK");
}

#[tokio::test]
async fn ten_watchers_of_one_job_cost_cognito_one_poll() {
    let app = spawn_watching(&[]).await;
    let job = started_job(&app).await;
    let before = describe_calls(&app);
    let watchers: Vec<_> = (0..10)
        .map(|_| {
            let mut client = app.client.clone();
            let job = job.clone();
            tokio::spawn(async move {
                let mut stream = client
                    .watch_user_import_job(watch_request(&job))
                    .await
                    .unwrap()
                    .into_inner();
                let mut last = None;
                while let Some(answer) = stream.next().await {
                    last = Some(answer.unwrap().user_import_job.unwrap().status());
                }
                last
            })
        })
        .collect();
    for watcher in watchers {
        assert_eq!(watcher.await.unwrap(), Some(UserImportJobStatus::Failed));
    }
    // The job took about 450 ms to end, polled every 20 ms: one poll makes
    // about 23 calls; ten would make ten times as many.
    let polls = describe_calls(&app) - before;
    assert!(
        (5..=40).contains(&polls),
        "{polls} DescribeUserImportJob calls"
    );
}

#[tokio::test]
async fn a_watcher_that_leaves_costs_nothing() {
    let app = spawn_watching(&[]).await;
    // Held InProgress: it never ends on its own.
    let job = app.job_in(DEMO_POOL, JobStatus::InProgress).job_id;
    let mut stream = app
        .client
        .clone()
        .watch_user_import_job(watch_request(&job))
        .await
        .unwrap()
        .into_inner();
    stream.next().await.unwrap().unwrap();
    drop(stream);
    // The poll notices within a poll interval and stops.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after_leaving = describe_calls(&app);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(describe_calls(&app), after_leaving, "no poll left behind");
}

#[tokio::test]
async fn watches_end_unavailable_when_the_server_drains() {
    let mut app = spawn_watching(&[]).await;
    let job = app.job_in(DEMO_POOL, JobStatus::InProgress).job_id;
    let mut stream = app
        .client
        .clone()
        .watch_user_import_job(watch_request(&job))
        .await
        .unwrap()
        .into_inner();
    stream.next().await.unwrap().unwrap();
    app.begin_shutdown();
    let status = tokio::time::timeout(Duration::from_secs(2), stream.next())
        .await
        .expect("the watch ends at once")
        .expect("with a status")
        .unwrap_err();
    details(&status, Code::Unavailable, "SERVICE_DRAINING", SERVICE);
    tokio::time::timeout(Duration::from_secs(3), app.server_task())
        .await
        .expect("the server stops")
        .expect("a clean shutdown");
}

#[tokio::test]
async fn a_watch_ends_at_the_callers_deadline() {
    let app = spawn_watching(&[]).await;
    let job = app.job_in(DEMO_POOL, JobStatus::InProgress).job_id;
    let mut request = Request::new(watch_request(&job));
    request.set_timeout(Duration::from_millis(300));
    let mut stream = app
        .server_deadline_client()
        .watch_user_import_job(request)
        .await
        .unwrap()
        .into_inner();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(
        first.user_import_job.unwrap().status(),
        UserImportJobStatus::InProgress
    );
    let status = stream.next().await.unwrap().unwrap_err();
    details(
        &status,
        Code::DeadlineExceeded,
        "DEADLINE_EXCEEDED",
        SERVICE,
    );
}

#[tokio::test]
async fn an_unknown_job_fails_before_any_answer_and_the_jobs_followed_are_bounded() {
    let app = spawn_watching(&["--max-watched-jobs", "1"]).await;
    let missing = app
        .client
        .clone()
        .watch_user_import_job(watch_request("import-nowhere"))
        .await
        .unwrap_err();
    details(
        &missing,
        Code::NotFound,
        "RESOURCE_NOT_FOUND",
        "cognito-idp.amazonaws.com",
    );

    let held = app.job_in(DEMO_POOL, JobStatus::InProgress).job_id;
    let mut first = app
        .client
        .clone()
        .watch_user_import_job(watch_request(&held))
        .await
        .unwrap()
        .into_inner();
    first.next().await.unwrap().unwrap();
    let other = app.job_in(DEMO_POOL, JobStatus::InProgress).job_id;
    let refused = app
        .client
        .clone()
        .watch_user_import_job(watch_request(&other))
        .await
        .unwrap_err();
    details(
        &refused,
        Code::ResourceExhausted,
        "WATCHES_OVER_LIMIT",
        SERVICE,
    );
    // A second watcher of the job followed already is welcome.
    app.client
        .clone()
        .watch_user_import_job(watch_request(&held))
        .await
        .unwrap();
}
