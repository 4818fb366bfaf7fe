//! The shared edge cases of `tests/validation-cases.json`, which
//! `scripts/check-protovalidate.py` also runs through protovalidate with the
//! proto's `buf.validate` rules: the server and the contract must agree on
//! every case of every method, the fields named included.
//!
//! A case names a method and its request, field by field as the proto names
//! them (a field left out keeps its default). A string value is a JSON string,
//! or a list of pieces joined: a string, or `{"repeat": "a", "times": 2017}`.

use std::collections::{BTreeMap, BTreeSet};

use import_job_service::{
    operation::Operation,
    proto::{
        CreateUserImportJobRequest, DescribeUserImportJobRequest, FILE_DESCRIPTOR_SET,
        GetCsvHeaderRequest, ListUserImportJobsRequest, StartUserImportJobRequest,
        StopUserImportJobRequest, WatchUserImportJobRequest,
        import_job_service_client::ImportJobServiceClient,
    },
};
use prost::Message;
use prost_types::{FileDescriptorSet, field_descriptor_proto::Type};
use serde::Deserialize;
use tonic::{Code, Status, transport::Channel};
use tonic_types::StatusExt;

use crate::helpers::{details, spawn_app_with};

/// One case of the shared file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// What the case is about.
    case: String,
    /// The `ImportJobService` method the request is sent to.
    method: String,
    request: BTreeMap<String, Value>,
    valid: bool,
    /// The invalid fields, in the proto's order.
    fields: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Value {
    Text(String),
    Integer(i64),
    Pieces(Vec<Piece>),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Piece {
    Text(String),
    Repeat(Repeat),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Repeat {
    repeat: String,
    times: usize,
}

impl Value {
    fn text(&self) -> Option<String> {
        match self {
            Value::Text(text) => Some(text.clone()),
            Value::Integer(_) => None,
            Value::Pieces(pieces) => Some(
                pieces
                    .iter()
                    .map(|piece| match piece {
                        Piece::Text(text) => text.clone(),
                        Piece::Repeat(run) => run.repeat.repeat(run.times),
                    })
                    .collect(),
            ),
        }
    }

    fn int32(&self) -> Option<i32> {
        match self {
            Value::Integer(n) => i32::try_from(*n).ok(),
            _ => None,
        }
    }
}

impl Case {
    fn label(&self) -> String {
        format!("{}: {}", self.method, self.case)
    }

    fn optional_text(&self, field: &str) -> Option<String> {
        self.request.get(field).map(|value| {
            value
                .text()
                .unwrap_or_else(|| panic!("{}: {field} is not a string", self.label()))
        })
    }

    /// A string field, empty when left out.
    fn text(&self, field: &str) -> String {
        self.optional_text(field).unwrap_or_default()
    }

    /// An int32 field, 0 when left out.
    fn int32(&self, field: &str) -> i32 {
        self.request.get(field).map_or(0, |value| {
            value
                .int32()
                .unwrap_or_else(|| panic!("{}: {field} is not an int32", self.label()))
        })
    }

    /// The Cognito operation the method forwards to.
    fn operation(&self) -> Operation {
        Operation::from_path(&format!("/importjob.v1.ImportJobService/{}", self.method))
            .unwrap_or_else(|| panic!("{}: no such method", self.label()))
    }

    /// Sends the request with the method's generated client.
    async fn send(&self, client: &mut ImportJobServiceClient<Channel>) -> Result<(), Status> {
        let user_pool_id = self.text("user_pool_id");
        let job_id = self.text("job_id");
        match self.operation() {
            Operation::CreateUserImportJob => client
                .create_user_import_job(CreateUserImportJobRequest {
                    user_pool_id,
                    job_name: self.text("job_name"),
                    cloud_watch_logs_role_arn: self.text("cloud_watch_logs_role_arn"),
                    password_hashing_algorithm: self.optional_text("password_hashing_algorithm"),
                })
                .await
                .map(drop),
            Operation::GetCsvHeader => client
                .get_csv_header(GetCsvHeaderRequest { user_pool_id })
                .await
                .map(drop),
            Operation::StartUserImportJob => client
                .start_user_import_job(StartUserImportJobRequest {
                    user_pool_id,
                    job_id,
                })
                .await
                .map(drop),
            Operation::DescribeUserImportJob => client
                .describe_user_import_job(DescribeUserImportJobRequest {
                    user_pool_id,
                    job_id,
                })
                .await
                .map(drop),
            Operation::ListUserImportJobs => client
                .list_user_import_jobs(ListUserImportJobsRequest {
                    user_pool_id,
                    max_results: self.int32("max_results"),
                    pagination_token: self.text("pagination_token"),
                })
                .await
                .map(drop),
            Operation::StopUserImportJob => client
                .stop_user_import_job(StopUserImportJobRequest {
                    user_pool_id,
                    job_id,
                })
                .await
                .map(drop),
            Operation::UploadUserImportCsv => Err(Status::unimplemented(
                "a streamed request has no shared cases",
            )),
            Operation::WatchUserImportJob => client
                .watch_user_import_job(WatchUserImportJobRequest {
                    user_pool_id,
                    job_id,
                })
                .await
                .map(drop),
        }
    }
}

fn cases() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/validation-cases.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Each method's request fields, in the proto's order, with their types:
/// from the descriptor set the server serves, not from this file.
fn request_fields() -> BTreeMap<String, Vec<(String, Type)>> {
    let set = FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("the descriptor set decodes");
    let file = set
        .file
        .iter()
        .find(|file| file.name() == "importjob/v1/import_job_service.proto")
        .expect("the API's file");
    let service = file
        .service
        .iter()
        .find(|service| service.name() == "ImportJobService")
        .expect("the service");
    // A streamed request's first message is checked in `upload`: its later
    // messages carry none of its fields, so it has no rules to share.
    service
        .method
        .iter()
        .filter(|method| !method.client_streaming())
        .map(|method| {
            let input = method.input_type().trim_start_matches(".importjob.v1.");
            let message = file
                .message_type
                .iter()
                .find(|message| message.name() == input)
                .unwrap_or_else(|| panic!("no message {input}"));
            let fields = message
                .field
                .iter()
                .map(|field| (field.name().to_owned(), field.r#type()))
                .collect();
            (method.name().to_owned(), fields)
        })
        .collect()
}

#[test]
fn the_shared_cases_are_consistent() {
    let cases = cases();
    let methods = request_fields();
    let mut names = BTreeSet::new();
    for case in &cases {
        let label = case.label();
        assert!(names.insert(label.clone()), "{label}: named twice");
        let fields = methods
            .get(&case.method)
            .unwrap_or_else(|| panic!("{label}: no such method"));
        for (name, value) in &case.request {
            let well_typed = match fields.iter().find(|(field, _)| field == name) {
                Some((_, Type::String)) => value.text().is_some(),
                Some((_, Type::Int32)) => value.int32().is_some(),
                Some((_, other)) => panic!("{label}: {name}'s type {other:?} is not read here"),
                None => panic!("{label}: the request has no field {name}"),
            };
            assert!(well_typed, "{label}: {name} is {value:?}");
        }
        assert_eq!(
            case.valid,
            case.fields.is_empty(),
            "{label}: valid exactly when no field is named"
        );
        let positions: Vec<Option<usize>> = case
            .fields
            .iter()
            .map(|f| fields.iter().position(|(field, _)| field == f))
            .collect();
        assert!(
            positions.iter().all(Option::is_some) && positions.windows(2).all(|w| w[0] < w[1]),
            "{label}: fields are named once each, in the proto's order: {:?}",
            case.fields
        );
    }
    for method in methods.keys() {
        let kinds: BTreeSet<bool> = cases
            .iter()
            .filter(|case| &case.method == method)
            .map(|case| case.valid)
            .collect();
        assert_eq!(kinds.len(), 2, "{method} has valid and invalid cases");
    }
}

/// The ErrorInfo's reason, if the status has one.
fn reason(status: &Status) -> Option<String> {
    status
        .get_error_details()
        .error_info()
        .map(|info| info.reason.clone())
}

#[tokio::test]
async fn the_server_agrees_with_every_shared_validation_case() {
    // Every valid request reaches Cognito: no turn under the rate is refused.
    let app = spawn_app_with(&[
        "--cognito-rate",
        "1000000",
        "--cognito-burst",
        "1000",
        "--cognito-read-rate",
        "1000000",
        "--cognito-read-burst",
        "1000",
    ])
    .await;
    let mut client = app.client.clone();
    let mut disagreements = Vec::new();
    for case in cases() {
        let label = case.label();
        let calls_before = app.emulator.calls().len();
        let result = case.send(&mut client).await;
        let cognito_calls: Vec<String> = app.emulator.calls()[calls_before..]
            .iter()
            .map(|call| call.operation.clone())
            .collect();
        let refused = match &result {
            Err(status)
                if status.code() == Code::InvalidArgument
                    && reason(status).as_deref() == Some("INVALID_REQUEST") =>
            {
                Some(status)
            }
            _ => None,
        };
        match (refused, case.valid) {
            (Some(status), true) => {
                disagreements.push(format!("{label}: valid, but refused: {}", status.message()));
            }
            (None, true) => {
                // NOT_FOUND for a made-up pool, OK for a demo pool's: either
                // way from Cognito, unless the pool id names no region.
                let unknown_region = result.as_ref().is_err_and(|status| {
                    reason(status).as_deref() == Some("USER_POOL_REGION_UNKNOWN")
                });
                let expected = if unknown_region {
                    vec![]
                } else {
                    vec![case.operation().cognito_name().to_owned()]
                };
                if cognito_calls != expected {
                    disagreements.push(format!(
                        "{label}: valid, Cognito received {cognito_calls:?}, not {expected:?}, answered {:?}",
                        result.err()
                    ));
                }
            }
            (None, false) => disagreements.push(format!(
                "{label}: invalid in {:?}, but answered {}",
                case.fields,
                match result {
                    Ok(()) => "OK".to_owned(),
                    Err(status) => format!("{:?}: {}", status.code(), status.message()),
                }
            )),
            (Some(status), false) => {
                let details = details(
                    status,
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
                assert_eq!(
                    cognito_calls,
                    Vec::<String>::new(),
                    "{label}: Cognito was called"
                );
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "the server disagrees with tests/validation-cases.json:\n{}",
        disagreements.join("\n")
    );
}
