//! One structured event per call, and no secret in any log line.

use import_job_service::emulator::{DEMO_POOL, JobStatus};
use tonic::{Request, metadata::MetadataValue};

use crate::helpers::{LOGS, request, request_id_of, spawn_app};

#[tokio::test]
async fn each_call_logs_one_event_with_its_ids_code_and_latency() {
    let app = spawn_app().await;
    let job = app.job_in(DEMO_POOL, JobStatus::InProgress);
    let response = app.stop_job(DEMO_POOL, &job.job_id).await.unwrap();
    let request_id = request_id_of(response.metadata()).unwrap();

    let events: Vec<_> = LOGS
        .lines_with(&job.job_id)
        .into_iter()
        .filter(|line| line["fields"]["message"] == "call finished")
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event["level"], "INFO");
    assert_eq!(event["fields"]["code"], "OK");
    assert!(event["fields"]["latency_ms"].as_f64().unwrap() > 0.0);
    let span = &event["span"];
    assert_eq!(
        span["method"],
        "/importjob.v1.ImportJobService/StopUserImportJob"
    );
    assert_eq!(span["user_pool_id"], DEMO_POOL);
    assert_eq!(span["job_id"], job.job_id.as_str());
    assert_eq!(span["aws_region"], "us-east-1");
    assert_eq!(span["aws_request_id"], request_id.as_str());

    let missing = app
        .stop_job(DEMO_POOL, "import-logged-not-found")
        .await
        .unwrap_err();
    let events = LOGS.lines_with("import-logged-not-found");
    let event = events
        .iter()
        .find(|line| line["fields"]["message"] == "call finished")
        .expect("a failed call is logged");
    assert_eq!(event["fields"]["code"], "NOT_FOUND");
    assert_eq!(
        event["span"]["aws_request_id"],
        request_id_of(missing.metadata()).unwrap().as_str()
    );
}

#[tokio::test]
async fn no_secret_reaches_the_logs_at_any_level() {
    let app = spawn_app().await;
    let job = app.job_in(DEMO_POOL, JobStatus::InProgress);
    let token = "Bearer eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2VuLXBheWxvYWQ.c2lnbmF0dXJl";

    let mut call = Request::new(request(DEMO_POOL, &job.job_id));
    call.metadata_mut()
        .insert("authorization", MetadataValue::from_static(token));
    let stopped = app
        .client
        .clone()
        .stop_user_import_job(call)
        .await
        .unwrap()
        .into_inner()
        .user_import_job
        .unwrap();
    assert_eq!(
        stopped.pre_signed_url, job.pre_signed_url,
        "the response holds the pre-signed URL"
    );

    let logs = LOGS.text();
    assert!(
        logs.contains(&job.job_id),
        "the call was logged (the capture works, at trace level)"
    );
    let signature = job.pre_signed_url.split("X-Amz-Signature=").nth(1).unwrap();
    for secret in [
        job.pre_signed_url.as_str(),
        signature,
        token,
        "c2VjcmV0LXRva2VuLXBheWxvYWQ",
        "local-cognito-emulator",
    ] {
        assert!(
            !logs.contains(secret),
            "a secret reached the logs: {secret}"
        );
    }
}
