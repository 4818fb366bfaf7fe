//! Requests that break Cognito's constraints are answered INVALID_ARGUMENT
//! with a BadRequest naming every failing field, and Cognito is not called
//! (every edge case is in `validation_cases`; these are the rest).

use tonic::Code;

use crate::helpers::spawn_app;

const FIFTY_FIVE_POOL: &str = "us-east-1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const FIFTY_FIVE_JOB: &str = "import-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

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
