//! The service's API, as its proto defines it: the client stubs compiled
//! from `proto/` by `build.rs`, and the `google.rpc.ErrorInfo` names the
//! proto documents for its errors.

#![allow(clippy::doc_lazy_continuation, clippy::doc_overindented_list_items)]

tonic::include_proto!("importjob.v1");

/// `ErrorInfo.domain` of the errors the service raises itself.
pub const SERVICE_DOMAIN: &str = "importjob.v1.ImportJobService";
/// `ErrorInfo.metadata` key: the AWS error code Cognito answered with (or
/// would have).
pub const AWS_ERROR_CODE_KEY: &str = "awsErrorCode";
/// `ErrorInfo.metadata` key: Cognito's own words.
pub const AWS_ERROR_MESSAGE_KEY: &str = "awsErrorMessage";
/// `ErrorInfo.reason` of a CSV file that failed the service's check, whose
/// `google.rpc.BadRequest` names each problem by line and column.
pub const CSV_INVALID: &str = "CSV_INVALID";
