//! The shared edge cases of `tests/validation-cases.json`, which
//! `scripts/check-protovalidate.py` also runs through protovalidate with the
//! proto's `buf.validate` rules: the server and the contract must agree on
//! every case, the fields named included.

use serde::Deserialize;
use tonic::Code;

use crate::helpers::{details, spawn_app};

/// One case of the shared file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// What the case is about.
    case: String,
    user_pool_id: String,
    job_id: String,
    valid: bool,
    /// The invalid fields, in the proto's order.
    fields: Vec<String>,
}

fn cases() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/validation-cases.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_shared_cases_are_consistent() {
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    for case in &cases {
        assert_eq!(
            case.valid,
            case.fields.is_empty(),
            "{}: valid exactly when no field is named",
            case.case
        );
        let positions: Vec<Option<usize>> = case
            .fields
            .iter()
            .map(|f| ["user_pool_id", "job_id"].iter().position(|k| k == f))
            .collect();
        assert!(
            positions.iter().all(Option::is_some) && positions.windows(2).all(|w| w[0] < w[1]),
            "{}: fields are named once each, in the proto's order: {:?}",
            case.case,
            case.fields
        );
    }
    let valid = cases.iter().filter(|c| c.valid).count();
    assert!(valid > 0 && valid < cases.len(), "both kinds are covered");
}

#[tokio::test]
async fn the_server_agrees_with_every_shared_validation_case() {
    let app = spawn_app().await;
    let mut disagreements = Vec::new();
    for case in cases() {
        let calls_before = app.cognito_stop_calls();
        let result = app.stop_job(&case.user_pool_id, &case.job_id).await;
        let cognito_calls = app.cognito_stop_calls() - calls_before;
        let label = format!("{} ({:?}, {:?})", case.case, case.user_pool_id, case.job_id);
        match result {
            Err(status) if status.code() == Code::InvalidArgument => {
                if case.valid {
                    disagreements.push(format!(
                        "{label}: valid, but answered {:?}: {}",
                        status.code(),
                        status.message()
                    ));
                    continue;
                }
                let details = details(
                    &status,
                    Code::InvalidArgument,
                    "INVALID_REQUEST",
                    "importjob.v1.ImportJobService",
                );
                let violations = &details
                    .bad_request()
                    .unwrap_or_else(|| panic!("{label}: no BadRequest in {status:?}"))
                    .field_violations;
                let named: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
                if named != case.fields {
                    disagreements.push(format!(
                        "{label}: BadRequest names {named:?}, the case {:?}",
                        case.fields
                    ));
                }
                assert!(
                    violations.iter().all(|v| !v.description.is_empty()),
                    "{label}: every violation says why"
                );
                assert!(
                    violations
                        .iter()
                        .all(|v| status.message().contains(&v.field)),
                    "{label}: the message names every field: {}",
                    status.message()
                );
                assert_eq!(cognito_calls, 0, "{label}: Cognito was called");
            }
            other if !case.valid => disagreements.push(format!(
                "{label}: invalid in {:?}, but answered {}",
                case.fields,
                match other {
                    Ok(_) => "OK".to_owned(),
                    Err(status) => format!("{:?}: {}", status.code(), status.message()),
                }
            )),
            // A valid request passes validation: Cognito (or the region
            // lookup) answers, NOT_FOUND for these made-up ids.
            _ => {}
        }
    }
    assert!(
        disagreements.is_empty(),
        "the server disagrees with tests/validation-cases.json:\n{}",
        disagreements.join("\n")
    );
}
