//! Requests that break Cognito's constraints are answered INVALID_ARGUMENT
//! with a BadRequest naming every failing field, and Cognito is not called.

use import_job_service::emulator::DEMO_POOL;
use tonic::Code;

use crate::helpers::{details, spawn_app};

const FIFTY_FIVE_POOL: &str = "us-east-1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const FIFTY_FIVE_JOB: &str = "import-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

#[tokio::test]
async fn each_validation_edge_is_invalid_argument_naming_the_field() {
    assert_eq!(FIFTY_FIVE_POOL.len(), 55);
    assert_eq!(FIFTY_FIVE_JOB.len(), 55);
    let app = spawn_app().await;
    let cases: &[(&str, &str, &[&str])] = &[
        ("", "import-pending", &["user_pool_id"]),
        (DEMO_POOL, "", &["job_id"]),
        ("", "", &["user_pool_id", "job_id"]),
        (
            &format!("{FIFTY_FIVE_POOL}A"),
            "import-pending",
            &["user_pool_id"],
        ),
        (DEMO_POOL, &format!("{FIFTY_FIVE_JOB}A"), &["job_id"]),
        (DEMO_POOL, "import-has_underscore", &["job_id"]),
        ("us-east-1_Impört", "import-pending", &["user_pool_id"]),
        (
            &format!("{DEMO_POOL} "),
            "import-pending",
            &["user_pool_id"],
        ),
        (
            &format!("{DEMO_POOL}/x"),
            "import-pending",
            &["user_pool_id"],
        ),
        (DEMO_POOL, "import-pending\n", &["job_id"]),
        (DEMO_POOL, "import-pending;drop", &["job_id"]),
        ("us-east-1_", "job-1", &["user_pool_id", "job_id"]),
    ];
    for (pool, job, fields) in cases {
        let status = app.stop_job(pool, job).await.unwrap_err();
        let details = details(
            &status,
            Code::InvalidArgument,
            "INVALID_REQUEST",
            "importjob.v1.ImportJobService",
        );
        let violations = &details
            .bad_request()
            .expect("a BadRequest detail")
            .field_violations;
        let named: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(&named, fields, "{pool:?} {job:?}");
        for violation in violations {
            assert!(!violation.description.is_empty());
            assert!(
                status.message().contains(&violation.field),
                "the message names {}",
                violation.field
            );
        }
    }
    assert_eq!(app.emulator.calls().len(), 0, "Cognito received no call");
    assert_eq!(
        app.emulator
            .job(DEMO_POOL, "import-pending")
            .unwrap()
            .status,
        "Pending",
        "nothing changed"
    );
}

#[tokio::test]
async fn ids_of_exactly_55_characters_reach_cognito() {
    let app = spawn_app().await;
    let status = app
        .stop_job(FIFTY_FIVE_POOL, FIFTY_FIVE_JOB)
        .await
        .unwrap_err();
    // Valid, so Cognito is asked; it does not know the pool.
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert_eq!(app.emulator.calls().len(), 1);
}
