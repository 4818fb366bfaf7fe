//! Each operation's answers: limits, validation, CSV headers, pages.

use cognito_emulator::{DEMO_POOL, DEMO_POOL_EU, Emulator, JobStatus, STANDARD_CSV_HEADER};
use serde_json::{Value, json};

use crate::{ROLE, call, create};

#[tokio::test]
async fn create_is_refused_past_the_pools_limit() {
    let emulator = Emulator::start().await.unwrap();
    emulator.set_job_limit(JobStatus::ALL.len() + 1);
    create(&emulator, DEMO_POOL).await;
    let refused = call(
        &emulator,
        "CreateUserImportJob",
        json!({"UserPoolId": DEMO_POOL, "JobName": "one more", "CloudWatchLogsRoleArn": ROLE}),
    )
    .await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.error(),
        (
            "LimitExceededException",
            "User pool us-east-1_ImportDemo has reached its limit of 9 import jobs."
        )
    );
    create(&emulator, DEMO_POOL_EU).await;
}

#[tokio::test]
async fn create_answers_validation_errors_in_cognitos_words() {
    let emulator = Emulator::start().await.unwrap();
    let refused = call(
        &emulator,
        "CreateUserImportJob",
        json!({"UserPoolId": DEMO_POOL, "JobName": "x", "CloudWatchLogsRoleArn": ROLE, "PasswordHashingAlgorithm": "MD5"}),
    )
    .await;
    assert_eq!(
        refused.error(),
        (
            "InvalidParameterException",
            "1 validation error detected: Value 'MD5' at 'passwordHashingAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [BCRYPT, SCRYPT, ARGON2ID, PBKDF2_SHA256]"
        )
    );
    let created = call(
        &emulator,
        "CreateUserImportJob",
        json!({"UserPoolId": DEMO_POOL, "JobName": "x", "CloudWatchLogsRoleArn": ROLE, "PasswordHashingAlgorithm": "ARGON2ID"}),
    )
    .await;
    assert_eq!(
        created.body["UserImportJob"]["PasswordHashingAlgorithm"],
        "ARGON2ID"
    );
}

#[tokio::test]
async fn get_csv_header_answers_the_pools_header() {
    let emulator = Emulator::start().await.unwrap();
    let answer = call(
        &emulator,
        "GetCSVHeader",
        json!({"UserPoolId": DEMO_POOL_EU}),
    )
    .await;
    assert_eq!(
        answer.body,
        json!({"UserPoolId": DEMO_POOL_EU, "CSVHeader": STANDARD_CSV_HEADER})
    );
    emulator.set_csv_header("us-east-1_Custom", &["cognito:username", "custom:team"]);
    let custom = call(
        &emulator,
        "GetCSVHeader",
        json!({"UserPoolId": "us-east-1_Custom"}),
    )
    .await;
    assert_eq!(
        custom.body["CSVHeader"],
        json!(["cognito:username", "custom:team"])
    );
    let missing = call(
        &emulator,
        "GetCSVHeader",
        json!({"UserPoolId": "us-east-1_Nothing"}),
    )
    .await;
    assert_eq!(
        missing.error(),
        (
            "ResourceNotFoundException",
            "User pool us-east-1_Nothing does not exist."
        )
    );
    let elsewhere = call(
        &emulator,
        "GetCSVHeader",
        json!({"UserPoolId": "eu-west-1_Nothing"}),
    )
    .await;
    assert_eq!(elsewhere.error().0, "ResourceNotFoundException");
}

#[tokio::test]
async fn list_pages_through_every_job_once_with_opaque_tokens() {
    let emulator = Emulator::start().await.unwrap();
    emulator.add_pool("us-east-1_Paged");
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(create(&emulator, "us-east-1_Paged").await["JobId"].clone());
    }
    let mut listed = Vec::new();
    let mut token: Option<Value> = None;
    loop {
        let mut input = json!({"UserPoolId": "us-east-1_Paged", "MaxResults": 2});
        if let Some(token) = &token {
            input["PaginationToken"] = token.clone();
        }
        let page = call(&emulator, "ListUserImportJobs", input).await;
        assert_eq!(page.status, 200, "{page:?}");
        let jobs = page.body["UserImportJobs"].as_array().unwrap();
        assert!(jobs.len() <= 2);
        listed.extend(jobs.iter().map(|j| j["JobId"].clone()));
        match page.body.get("PaginationToken") {
            Some(next) => {
                assert!(
                    next.as_str().unwrap().parse::<u64>().is_err(),
                    "not an offset"
                );
                token = Some(next.clone());
            }
            None => break,
        }
    }
    assert_eq!(listed, created);
    let in_order: Vec<_> = emulator
        .jobs("us-east-1_Paged")
        .unwrap()
        .into_iter()
        .map(|j| json!(j.job_id))
        .collect();
    assert_eq!(in_order, created);

    let first = call(
        &emulator,
        "ListUserImportJobs",
        json!({"UserPoolId": "us-east-1_Paged", "MaxResults": 1}),
    )
    .await;
    let token = first.body["PaginationToken"].clone();
    for (pool, bad) in [(DEMO_POOL, token.clone()), ("us-east-1_Paged", json!("2"))] {
        let refused = call(
            &emulator,
            "ListUserImportJobs",
            json!({"UserPoolId": pool, "MaxResults": 1, "PaginationToken": bad}),
        )
        .await;
        let message = format!(
            "Paging marker {} is invalid for request {}",
            bad.as_str().unwrap(),
            refused.request_id
        );
        assert_eq!(
            refused.error(),
            ("InvalidParameterException", message.as_str())
        );
    }
    let refused = call(
        &emulator,
        "ListUserImportJobs",
        json!({"UserPoolId": DEMO_POOL, "MaxResults": 61}),
    )
    .await;
    assert_eq!(
        refused.error(),
        (
            "InvalidParameterException",
            "1 validation error detected: Value '61' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 60"
        )
    );
}
