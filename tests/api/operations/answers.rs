//! Each method answers with Cognito's data, field by field, and the request
//! id of the AWS call that produced it.

use std::collections::HashSet;

use import_job_service::{
    emulator::{DEMO_POOL, DEMO_POOL_EU, JobStatus},
    proto::{
        CreateUserImportJobRequest, GetCsvHeaderRequest, ListUserImportJobsRequest,
        StartUserImportJobRequest, UserImportJob, UserImportJobStatus,
    },
};

use super::{Method, ROLE_ARN, Sent};
use crate::helpers::{LOGS, request_id_of, spawn_app, spawn_app_with};

#[tokio::test]
async fn every_method_reaches_its_own_cognito_operation_and_answers_its_request_id() {
    let app = spawn_app().await;
    for method in Method::ALL {
        let response = app
            .call(method)
            .await
            .unwrap_or_else(|status| panic!("{method:?}: {status:?}"));
        let last = app.emulator.calls().pop().unwrap();
        assert_eq!(last.operation, method.operation(), "{method:?}");
        assert_eq!(
            request_id_of(response.metadata()),
            Some(last.request_id),
            "{method:?}: x-amzn-requestid is Cognito's"
        );
    }
}

#[tokio::test]
async fn a_created_job_is_cognitos_with_its_pre_signed_url_and_algorithm() {
    let app = spawn_app().await;
    let created = app
        .client
        .clone()
        .create_user_import_job(CreateUserImportJobRequest {
            user_pool_id: DEMO_POOL.to_owned(),
            job_name: "nightly import, 2026.11 +all".to_owned(),
            cloud_watch_logs_role_arn: ROLE_ARN.to_owned(),
            password_hashing_algorithm: Some("BCRYPT".to_owned()),
        })
        .await
        .unwrap()
        .into_inner()
        .user_import_job
        .unwrap();
    assert_eq!(created.status(), UserImportJobStatus::Created);
    assert_eq!(created.job_name, "nightly import, 2026.11 +all");
    assert_eq!(created.user_pool_id, DEMO_POOL);
    assert_eq!(created.cloud_watch_logs_role_arn, ROLE_ARN);
    assert_eq!(created.password_hashing_algorithm, "BCRYPT");
    assert!(created.creation_date.is_some());
    assert_eq!(created.start_date, None);
    assert!(created.pre_signed_url.starts_with("http"), "{created:?}");

    let held = app
        .emulator
        .job(DEMO_POOL, &created.job_id)
        .expect("Cognito holds it");
    assert_eq!(held.pre_signed_url, created.pre_signed_url);
    assert_eq!(held.password_hashing_algorithm.as_deref(), Some("BCRYPT"));

    // Without an algorithm, none is sent and none is answered.
    let plain = app
        .client
        .clone()
        .create_user_import_job(CreateUserImportJobRequest {
            user_pool_id: DEMO_POOL.to_owned(),
            job_name: "plain".to_owned(),
            cloud_watch_logs_role_arn: ROLE_ARN.to_owned(),
            password_hashing_algorithm: None,
        })
        .await
        .unwrap()
        .into_inner()
        .user_import_job
        .unwrap();
    assert_eq!(plain.password_hashing_algorithm, "");
    let held = app.emulator.job(DEMO_POOL, &plain.job_id).unwrap();
    assert_eq!(held.password_hashing_algorithm, None);
}

#[tokio::test]
async fn the_csv_header_is_the_pools() {
    let app = spawn_app().await;
    let answer = app
        .client
        .clone()
        .get_csv_header(GetCsvHeaderRequest {
            user_pool_id: DEMO_POOL_EU.to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.user_pool_id, DEMO_POOL_EU);
    for column in [
        "cognito:username",
        "cognito:mfa_enabled",
        "email",
        "email_verified",
    ] {
        assert!(
            answer.csv_header.iter().any(|c| c == column),
            "{column} in {:?}",
            answer.csv_header
        );
    }
}

#[tokio::test]
async fn a_started_job_is_pending_then_described_as_cognito_holds_it() {
    let app = spawn_app().await;
    let job = app.job_in(DEMO_POOL, JobStatus::Created);
    let started = app
        .client
        .clone()
        .start_user_import_job(StartUserImportJobRequest {
            user_pool_id: DEMO_POOL.to_owned(),
            job_id: job.job_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .user_import_job
        .unwrap();
    assert_eq!(started.status(), UserImportJobStatus::Pending);
    assert!(started.start_date.is_some());

    let described = app.describe_job(DEMO_POOL, &job.job_id).await;
    let held = app.emulator.job(DEMO_POOL, &job.job_id).unwrap();
    assert_eq!(described.job_id, held.job_id);
    assert_eq!(described.job_name, held.job_name);
    assert_eq!(described.start_date, started.start_date);
    assert_eq!(described.pre_signed_url, held.pre_signed_url);
    assert_eq!(
        described.status().as_str_name(),
        format!("USER_IMPORT_JOB_STATUS_{}", snake_upper(&held.status))
    );
}

#[tokio::test]
async fn a_list_pages_through_every_job_with_cognitos_tokens() {
    let app = spawn_app().await;
    for _ in 0..4 {
        app.job_in(DEMO_POOL, JobStatus::Created);
    }
    let everything = list_all(&app, 60).await;
    assert!(everything.len() > 7, "{} jobs", everything.len());
    let paged = list_all(&app, 3).await;
    assert_eq!(
        paged, everything,
        "pages of 3 hold the same jobs, in the same order"
    );
    let ids: HashSet<&str> = everything.iter().map(|j| j.job_id.as_str()).collect();
    assert_eq!(ids.len(), everything.len(), "no job twice");
    assert!(everything.iter().all(|j| j.user_pool_id == DEMO_POOL));
}

/// Every job of the demo pool, a page of `max_results` at a time, checking
/// that every page but the last is full and has a token.
async fn list_all(app: &crate::helpers::TestApp, max_results: i32) -> Vec<UserImportJob> {
    let mut jobs = Vec::new();
    let mut token = String::new();
    loop {
        let page = app
            .client
            .clone()
            .list_user_import_jobs(ListUserImportJobsRequest {
                user_pool_id: DEMO_POOL.to_owned(),
                max_results,
                pagination_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.user_import_jobs.len() <= max_results as usize);
        jobs.extend(page.user_import_jobs);
        if page.pagination_token.is_empty() {
            return jobs;
        }
        assert!(
            jobs.len() % max_results as usize == 0,
            "a page with a token is full"
        );
        token = page.pagination_token;
    }
}

/// Cognito's `InProgress` as the proto's `IN_PROGRESS`.
fn snake_upper(status: &str) -> String {
    let mut out = String::new();
    for (i, c) in status.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// Every method's call is one log line with the same fields (the created
/// job's id for a create), one audit event, and the metrics of its Cognito
/// operation and quota.
#[tokio::test]
async fn every_method_is_logged_audited_and_counted_alike() {
    let app = spawn_app_with(&["--metrics-listen", "127.0.0.1:0"]).await;
    // A pool of this test's own, to tell its audit events from others'.
    let pool = format!(
        "us-east-1_Logged{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    app.emulator.set_csv_header(&pool, &["cognito:username"]);
    for method in Method::ALL {
        let job = method.job_for(&app, &pool);
        let response = method
            .send(&mut app.client.clone(), &pool, &job, &Sent::default())
            .await
            .unwrap();
        let request_id = request_id_of(response.metadata()).unwrap();
        let lines = LOGS.lines_with(&request_id);
        let calls: Vec<_> = lines
            .iter()
            .filter(|line| line["fields"]["message"] == "call finished")
            .collect();
        assert_eq!(calls.len(), 1, "{method:?}: {lines:?}");
        let span = &calls[0]["span"];
        assert_eq!(span["method"], method.path(), "{method:?}");
        assert_eq!(span["user_pool_id"], pool.as_str(), "{method:?}");
        assert_eq!(span["aws_region"], "us-east-1", "{method:?}");
        assert_eq!(calls[0]["fields"]["code"], "OK", "{method:?}");
        let names_a_job = method.names_job() || method == Method::Create;
        assert_eq!(
            span["job_id"].is_string(),
            names_a_job,
            "{method:?}: {span}"
        );

        let decisions: Vec<_> = LOGS
            .lines_with(&pool)
            .into_iter()
            .filter(|line| line["target"] == "audit" && line["fields"]["method"] == method.path())
            .collect();
        assert_eq!(decisions.len(), 1, "{method:?}: {decisions:?}");
        let decision = &decisions[0]["fields"];
        assert_eq!(decision["message"], "authorization decision");
        if method.names_job() {
            assert_eq!(decision["job_id"], job.as_str(), "{method:?}");
        }
    }
    let (_, metrics) = crate::metrics::get(app.metrics_addr.unwrap(), "/metrics").await;
    for method in Method::ALL {
        let quota = if method.changes_job() {
            "write"
        } else {
            "read"
        };
        for line in [
            format!(
                r#"cognito_calls_total{{operation="{}",region="us-east-1",outcome="OK"}} 1"#,
                method.operation()
            ),
            format!(
                r#"cognito_rate_limit_turns_total{{region="us-east-1",quota="{quota}",outcome="granted"}}"#
            ),
        ] {
            assert!(metrics.contains(&line), "{line} in\n{metrics}");
        }
    }
}
