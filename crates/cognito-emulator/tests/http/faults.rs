//! Faults for the next calls of one operation, and benchmark mode.

use std::time::Duration;

use cognito_emulator::{DEMO_POOL, Emulator, Fault, OPERATIONS, STOPPED_MESSAGE};
use serde_json::json;

use crate::{ROLE, call};

#[tokio::test]
async fn each_operation_can_be_made_to_answer_each_of_its_exceptions() {
    let emulator = Emulator::start().await.unwrap();
    let inputs = |operation: &str| match operation {
        "CreateUserImportJob" => {
            json!({"UserPoolId": DEMO_POOL, "JobName": "x", "CloudWatchLogsRoleArn": ROLE})
        }
        "GetCSVHeader" => json!({"UserPoolId": DEMO_POOL}),
        "ListUserImportJobs" => json!({"UserPoolId": DEMO_POOL, "MaxResults": 5}),
        _ => json!({"UserPoolId": DEMO_POOL, "JobId": "import-succeeded"}),
    };
    let exceptions = [
        "ResourceNotFoundException",
        "InvalidParameterException",
        "TooManyRequestsException",
        "NotAuthorizedException",
        "PreconditionNotMetException",
        "LimitExceededException",
        "OperationNotEnabledException",
        "InternalErrorException",
    ];
    for operation in OPERATIONS {
        for exception in exceptions {
            emulator.inject_for_operation(operation, Fault::error(exception, "injected"), 2);
            for _ in 0..2 {
                let other = if operation == "GetCSVHeader" {
                    "ListUserImportJobs"
                } else {
                    "GetCSVHeader"
                };
                let untouched = call(&emulator, other, inputs(other)).await;
                assert_eq!(untouched.status, 200, "{other} while faulting {operation}");
                let answer = call(&emulator, operation, inputs(operation)).await;
                let status = if exception == "InternalErrorException" {
                    500
                } else {
                    400
                };
                assert_eq!(
                    (answer.status, answer.error()),
                    (status, (exception, "injected"))
                );
            }
            let normal = call(&emulator, operation, inputs(operation)).await;
            assert_ne!(normal.error().1, "injected", "{operation}: two calls only");
        }
    }
    emulator.inject_for_operation("GetCSVHeader", Fault::Hang, 3);
    emulator.clear_operation_faults("GetCSVHeader");
    assert_eq!(
        call(&emulator, "GetCSVHeader", inputs("GetCSVHeader"))
            .await
            .status,
        200
    );
}

#[test]
#[should_panic(expected = "not \"StopImportJob\"")]
fn a_misspelt_operation_is_not_faulted_silently() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let emulator = runtime.block_on(Emulator::start()).unwrap();
    emulator.inject_for_operation("StopImportJob", Fault::Hang, 1);
}

#[tokio::test]
async fn benchmark_mode_still_answers_every_stop_stopped() {
    let emulator = Emulator::start_for_benchmarks(Duration::ZERO)
        .await
        .unwrap();
    for _ in 0..2 {
        let answer = call(
            &emulator,
            "StopUserImportJob",
            json!({"UserPoolId": DEMO_POOL, "JobId": "import-anything"}),
        )
        .await;
        assert_eq!(answer.job_status(), "Stopped");
        assert_eq!(
            answer.body["UserImportJob"]["CompletionMessage"],
            STOPPED_MESSAGE
        );
    }
    assert!(emulator.calls().is_empty());
}
