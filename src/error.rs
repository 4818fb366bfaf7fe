//! The one place that turns failures into `tonic::Status`: the error table.
//!
//! Every status carries exactly one `google.rpc.ErrorInfo` (AIP-193). Errors
//! Cognito sent use Cognito's domain and name the AWS error code and request
//! id; errors the service raises itself use the service's own domain.
//! Messages are Cognito's own where it sent one, and never hold credentials.

use std::{collections::HashMap, time::Duration};

use tonic::{Code, Status, metadata::MetadataValue};
use tonic_types::{ErrorDetails, StatusExt};

use crate::{
    cognito::{CognitoError, Failure, ServiceFailure},
    validation::{FieldViolation, StopRequest, UserPoolId},
};

/// `ErrorInfo.domain` of errors that came from Cognito.
pub const COGNITO_DOMAIN: &str = "cognito-idp.amazonaws.com";
/// `ErrorInfo.domain` of errors the service raises itself.
pub const SERVICE_DOMAIN: &str = "importjob.v1.ImportJobService";
/// Response metadata key holding the AWS request id.
pub const REQUEST_ID_KEY: &str = "x-amzn-requestid";

/// How long to wait before retrying after throttling or a Cognito failure:
/// about the SDK's own first backoff, after its retries were used up.
pub const RETRY_DELAY: Duration = Duration::from_secs(1);

/// Why a call failed.
#[derive(Debug)]
pub enum ApiError {
    /// The request breaks Cognito's constraints; Cognito was not called.
    InvalidRequest(Vec<FieldViolation>),
    /// The pool id does not begin with an AWS region, so no such pool can
    /// exist; Cognito was not called.
    UnknownRegion(UserPoolId),
    /// Calling Cognito failed.
    Cognito(CognitoError, StopRequest),
    /// The caller's deadline passed first.
    DeadlineExceeded,
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Self {
        let mut details = ErrorDetails::new();
        let (code, message, request_id) = match error {
            ApiError::InvalidRequest(violations) => {
                let fields: Vec<_> = violations
                    .iter()
                    .map(|v| format!("{} {}", v.field, v.description))
                    .collect();
                for violation in violations {
                    details.add_bad_request_violation(violation.field, violation.description);
                }
                details.set_error_info("INVALID_REQUEST", SERVICE_DOMAIN, HashMap::new());
                (
                    Code::InvalidArgument,
                    format!("invalid request: {}", fields.join("; ")),
                    None,
                )
            }
            ApiError::UnknownRegion(pool) => {
                let message = format!(
                    "user pool {pool} does not exist: a user pool id begins with the AWS region that hosts it, as in us-east-1_AbC123"
                );
                details.set_resource_info("cognito-idp:UserPool", pool.as_str(), "", &message);
                details.set_error_info("USER_POOL_REGION_UNKNOWN", SERVICE_DOMAIN, HashMap::new());
                (Code::NotFound, message, None)
            }
            ApiError::Cognito(error, request) => cognito_status(error, &request, &mut details),
            ApiError::DeadlineExceeded => {
                details.set_error_info("DEADLINE_EXCEEDED", SERVICE_DOMAIN, HashMap::new());
                (
                    Code::DeadlineExceeded,
                    "the call's deadline passed before Cognito answered; the job may or may not have stopped".to_owned(),
                    None,
                )
            }
        };
        let mut status = Status::with_error_details(code, message, details);
        if let Some(value) = request_id.and_then(|id| MetadataValue::try_from(id).ok()) {
            status.metadata_mut().insert(REQUEST_ID_KEY, value);
        }
        status
    }
}

/// The error table for calls that reached the SDK.
fn cognito_status(
    error: CognitoError,
    request: &StopRequest,
    details: &mut ErrorDetails,
) -> (Code, String, Option<String>) {
    let CognitoError {
        failure,
        aws_error_code,
        message,
        request_id,
        ..
    } = error;
    let job = request.job_id.as_str();
    let pool = request.user_pool_id.as_str();
    let said = |default: &str| {
        message
            .clone()
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| default.to_owned())
    };

    let (code, reason, text) = match failure {
        Failure::Service(kind) => {
            let (code, reason, text) = match kind {
                ServiceFailure::ResourceNotFound => {
                    let text = said("the user pool or the import job does not exist");
                    details.set_resource_info("cognito-idp:UserImportJob", job, format!("user pool {pool}"), &text);
                    (Code::NotFound, "RESOURCE_NOT_FOUND", text)
                }
                ServiceFailure::InvalidParameter => {
                    (Code::InvalidArgument, "INVALID_PARAMETER", said("Cognito rejected a parameter"))
                }
                ServiceFailure::PreconditionNotMet => {
                    let text = said("the import job is not in a state that can be stopped");
                    details.add_precondition_failure_violation("JOB_STATUS", format!("{pool}/{job}"), &text);
                    (Code::FailedPrecondition, "PRECONDITION_NOT_MET", text)
                }
                ServiceFailure::OperationNotEnabled => (
                    Code::FailedPrecondition,
                    "OPERATION_NOT_ENABLED",
                    said("this operation is not enabled for the user pool or region"),
                ),
                ServiceFailure::AccessDenied => (
                    Code::PermissionDenied,
                    "AWS_ACCESS_DENIED",
                    said("the service's AWS identity may not stop import jobs in this user pool"),
                ),
                ServiceFailure::Throttled => {
                    details.set_retry_info(Some(RETRY_DELAY));
                    (Code::ResourceExhausted, "THROTTLED", said("Cognito throttled the call"))
                }
                ServiceFailure::ServiceFailed => {
                    details.set_retry_info(Some(RETRY_DELAY));
                    (Code::Unavailable, "COGNITO_UNAVAILABLE", said("Cognito failed to handle the call"))
                }
                // AWS's message about a bad signature or token is for the
                // service's operators, not the caller.
                ServiceFailure::CredentialsRejected => (
                    Code::Internal,
                    "AWS_CREDENTIALS_REJECTED",
                    "AWS rejected the service's credentials; the service's operators must fix its AWS configuration".to_owned(),
                ),
                ServiceFailure::Other => (Code::Unknown, "UNKNOWN_AWS_ERROR", said("Cognito answered with an unknown error")),
            };
            let mut metadata = HashMap::new();
            metadata.insert("awsErrorCode".to_owned(), aws_error_code.clone().unwrap_or_default());
            metadata.insert("awsRequestId".to_owned(), request_id.clone().unwrap_or_default());
            details.set_error_info(reason, COGNITO_DOMAIN, metadata);
            return (code, text, request_id);
        }
        Failure::CredentialsUnavailable => (
            Code::Unavailable,
            "AWS_CREDENTIALS_UNAVAILABLE",
            "the service could not load its AWS credentials".to_owned(),
        ),
        Failure::TimedOut => (
            Code::DeadlineExceeded,
            "AWS_TIMEOUT",
            "Cognito did not answer within the service's AWS timeout; the job may or may not have stopped".to_owned(),
        ),
        Failure::Unreachable => (Code::Unavailable, "COGNITO_UNREACHABLE", "Cognito could not be reached".to_owned()),
        Failure::UnparseableResponse => (
            Code::Unavailable,
            "COGNITO_RESPONSE_UNPARSEABLE",
            "Cognito's answer could not be parsed".to_owned(),
        ),
        Failure::RequestNotBuilt => (
            Code::Internal,
            "AWS_REQUEST_NOT_BUILT",
            "the request to Cognito could not be built".to_owned(),
        ),
    };
    let mut metadata = HashMap::new();
    if let Some(id) = &request_id {
        metadata.insert("awsRequestId".to_owned(), id.clone());
    }
    details.set_error_info(reason, SERVICE_DOMAIN, metadata);
    (code, text, request_id)
}
