//! The one place that turns failures into `tonic::Status`: the error table.
//!
//! Every status carries exactly one `google.rpc.ErrorInfo` (AIP-193). Errors
//! Cognito sent use Cognito's domain and name the AWS error code and request
//! id; errors the service raises itself use the service's own domain.
//! Messages are Cognito's own where it sent one, and never hold credentials.

use std::{collections::HashMap, time::Duration};

use tonic::{
    Code, Status,
    metadata::{MetadataMap, MetadataValue},
};
use tonic_types::{ErrorDetails, StatusExt};

use crate::{
    auth::{AuthFailure, MessageFailure, jwt::TokenError, mtls::CertificateError},
    cognito::{CognitoError, Failure, ServiceFailure},
    operation::Operation,
    proto::{
        AWS_ERROR_CODE_KEY, AWS_ERROR_MESSAGE_KEY, AWS_REQUEST_ID_KEY, COGNITO_DOMAIN,
        REQUEST_ID_KEY, SERVICE_DOMAIN,
    },
    upload::UploadFailure,
    validation::{FieldViolation, JobId, UserPoolId, cognito_message},
};

// The table's longer texts, apart so that the table stays readable (and
// rustfmt formats it: it leaves alone a statement it cannot fit).
const NO_SUCH_REGION: &str = "does not exist: a user pool id begins with the AWS region that hosts it, as in us-east-1_AbC123";
const MALFORMED_MESSAGE: &str =
    "the request must be exactly one uncompressed message of the method's request type";
const COGNITO_RATE_LIMITED: &str = "the service is sending Cognito as many calls as it allows itself, and no turn is free for this call in time (before its deadline, within the service's longest wait); retry after the RetryInfo delay";
const PANICKED: &str = "the service failed while handling the call; a call that changes a job may or may not have changed it";
const DEADLINE_PASSED: &str = "the call's deadline passed before Cognito answered; a call that changes a job may or may not have changed it";
const AWS_CREDENTIALS_REJECTED: &str = "AWS rejected the service's credentials; the service's operators must fix its AWS configuration";

fn aws_access_denied(operation: Operation) -> String {
    let name = operation.cognito_name();
    format!(
        "the service's own AWS identity may not call {name} in this user pool; its operators must grant cognito-idp:{name}"
    )
}

fn aws_timeout(operation: Operation) -> String {
    format!(
        "Cognito did not answer within the service's AWS timeout; {}",
        unknown_outcome(operation)
    )
}

fn body_timed_out(limit_ms: u128) -> String {
    format!(
        "the request message did not arrive whole within {limit_ms} ms; the service waits no longer for a body"
    )
}

fn response_too_large(limit_bytes: usize, operation: Operation) -> String {
    format!(
        "Cognito's answer was larger than the {limit_bytes} bytes the service reads; {}",
        unknown_outcome(operation)
    )
}

/// What a caller knows of a call whose answer did not come: whether it
/// changed anything is unknown, unless the call only reads.
fn unknown_outcome(operation: Operation) -> &'static str {
    match operation {
        Operation::CreateUserImportJob => "the job may or may not have been created",
        Operation::StartUserImportJob => "the job may or may not have started",
        Operation::StopUserImportJob => "the job may or may not have stopped",
        Operation::GetCsvHeader
        | Operation::DescribeUserImportJob
        | Operation::ListUserImportJobs
        | Operation::WatchUserImportJob => "nothing was changed; retry with backoff",
        Operation::UploadUserImportCsv => "the file may or may not have been stored",
    }
}

/// What Cognito's PreconditionNotMetException means for the operation.
fn precondition(operation: Operation) -> &'static str {
    match operation {
        Operation::StartUserImportJob => "the import job is not in a state that can be started",
        Operation::StopUserImportJob => "the import job is not in a state that can be stopped",
        _ => "Cognito cannot do this as asked",
    }
}

/// How long to wait before retrying after throttling or a Cognito failure:
/// about the SDK's own first backoff, after its retries were used up.
pub(crate) const RETRY_DELAY: Duration = Duration::from_secs(1);

/// What a call that reached Cognito was about: the error table words its
/// answer by it.
#[derive(Debug, Clone)]
pub struct Target {
    pub operation: Operation,
    pub user_pool_id: UserPoolId,
    /// The job the request named, if it names one.
    pub job_id: Option<JobId>,
}

/// Why a call failed.
#[derive(Debug)]
pub enum ApiError {
    /// The request breaks Cognito's constraints; Cognito was not called.
    InvalidRequest(Vec<FieldViolation>),
    /// The pool id does not begin with an AWS region, so no such pool can
    /// exist; Cognito was not called.
    UnknownRegion(UserPoolId),
    /// Calling Cognito failed.
    Cognito(CognitoError, Target),
    /// The caller's deadline passed first.
    DeadlineExceeded,
    /// The caller is not identified, or its credentials failed verification.
    Unauthenticated(AuthFailure),
    /// The identified caller may not make this call.
    PermissionDenied { method: String },
    /// The request message could not be read: too large, malformed, or
    /// too slow to arrive.
    Message(MessageFailure),
    /// The service has as many calls in flight as it takes.
    Overloaded,
    /// The caller has as many calls in flight as one caller may.
    CallerOverLimit { limit: u32 },
    /// Sending the call now would exceed the rate the service allows itself
    /// toward Cognito, and no turn is free in time (see `rate_limit`).
    CognitoRateLimited { retry_after: Duration },
    /// The call's handling panicked; the process carries on.
    Panicked,
    /// The server is draining: a watch ends, to be resumed elsewhere.
    Draining,
    /// The watch's connection is past `--max-connection-age`: the client is
    /// to watch again, on a fresh connection.
    ConnectionAged,
    /// The service follows as many jobs as it allows (`--max-watched-jobs`).
    WatchesOverLimit,
    /// The CSV fails Cognito's checks: each problem as (where, what), and
    /// how many more were found; nothing was uploaded.
    CsvInvalid {
        problems: Vec<(String, String)>,
        more: u64,
    },
    /// The job is not in status Created, so no file can be uploaded for it.
    JobNotCreated { target: Target, status: String },
    /// S3 did not store the file.
    Upload(UploadFailure),
    /// The service has as many uploads in progress as it takes.
    UploadsOverLimit,
    /// The upload took longer than a pre-signed URL lives.
    UploadTooSlow,
}

/// For logs and `?`: what went wrong, in a few words. What a caller is
/// told is the status `From<ApiError> for Status` makes.
impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::InvalidRequest(violations) => {
                write!(f, "invalid request ({} fields)", violations.len())
            }
            ApiError::UnknownRegion(pool) => write!(f, "no AWS region for user pool {pool}"),
            ApiError::Cognito(error, _) => write!(f, "Cognito: {error}"),
            ApiError::DeadlineExceeded => f.write_str("the caller's deadline passed"),
            ApiError::Unauthenticated(failure) => {
                write!(f, "unauthenticated: {}", failure.reason())
            }
            ApiError::PermissionDenied { method } => write!(f, "not allowed to call {method}"),
            ApiError::Message(failure) => write!(f, "request message: {}", failure.reason()),
            ApiError::Overloaded => f.write_str("the service is at its limit of calls in flight"),
            ApiError::CallerOverLimit { limit } => {
                write!(f, "the caller has {limit} calls in flight")
            }
            ApiError::CognitoRateLimited { .. } => f.write_str("no turn under the Cognito rate"),
            ApiError::Panicked => f.write_str("the handler panicked"),
            ApiError::Draining => f.write_str("the server is draining"),
            ApiError::ConnectionAged => f.write_str("the connection is past its age"),
            ApiError::WatchesOverLimit => f.write_str("as many jobs watched as allowed"),
            ApiError::CsvInvalid { problems, more } => {
                write!(f, "the CSV has {} problems", problems.len() as u64 + more)
            }
            ApiError::JobNotCreated { status, .. } => write!(f, "the job is {status}"),
            ApiError::Upload(failure) => write!(f, "the upload failed: {failure:?}"),
            ApiError::UploadsOverLimit => f.write_str("as many uploads in progress as allowed"),
            ApiError::UploadTooSlow => f.write_str("the upload took too long"),
        }
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ApiError::Cognito(error, _) => Some(error),
            _ => None,
        }
    }
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
                // What Cognito would have answered, for tools that print
                // AWS's errors: the same line whichever side rejected the call
                // (a field of the service's own, as an upload's length, has
                // no Cognito words).
                let mut metadata = HashMap::new();
                if violations.iter().any(|v| !v.cognito.is_empty()) {
                    metadata.insert(
                        AWS_ERROR_CODE_KEY.to_owned(),
                        "InvalidParameterException".to_owned(),
                    );
                    metadata.insert(
                        AWS_ERROR_MESSAGE_KEY.to_owned(),
                        cognito_message(&violations),
                    );
                }
                for violation in violations {
                    details.add_bad_request_violation(violation.field, violation.description);
                }
                details.set_error_info("INVALID_REQUEST", SERVICE_DOMAIN, metadata);
                (
                    Code::InvalidArgument,
                    format!("invalid request: {}", fields.join("; ")),
                    None,
                )
            }
            ApiError::UnknownRegion(pool) => {
                let message = format!("user pool {pool} {NO_SUCH_REGION}");
                details.set_resource_info("cognito-idp:UserPool", pool.as_str(), "", &message);
                details.set_error_info("USER_POOL_REGION_UNKNOWN", SERVICE_DOMAIN, HashMap::new());
                (Code::NotFound, message, None)
            }
            ApiError::Cognito(error, target) => cognito_status(error, &target, &mut details),
            ApiError::Unauthenticated(failure) => {
                details.set_error_info(failure.reason(), SERVICE_DOMAIN, HashMap::new());
                (
                    Code::Unauthenticated,
                    unauthenticated_message(failure).to_owned(),
                    None,
                )
            }
            ApiError::PermissionDenied { method } => {
                details.set_error_info("CALLER_NOT_ALLOWED", SERVICE_DOMAIN, HashMap::new());
                (
                    Code::PermissionDenied,
                    format!("the caller is not allowed to call {method} for this request"),
                    None,
                )
            }
            ApiError::Message(failure) => {
                details.set_error_info(failure.reason(), SERVICE_DOMAIN, HashMap::new());
                let (code, message) = match failure {
                    MessageFailure::Malformed => {
                        (Code::InvalidArgument, MALFORMED_MESSAGE.to_owned())
                    }
                    MessageFailure::TooLarge { limit } => (
                        Code::ResourceExhausted,
                        format!("the request message is larger than {limit} bytes"),
                    ),
                    // Whatever the caller's deadline: a body that trickles in,
                    // or never comes, would hold the call's slots.
                    MessageFailure::TimedOut { limit } => {
                        (Code::DeadlineExceeded, body_timed_out(limit.as_millis()))
                    }
                };
                (code, message, None)
            }
            ApiError::Overloaded => {
                details.set_retry_info(Some(RETRY_DELAY));
                details.set_error_info("SERVICE_OVERLOADED", SERVICE_DOMAIN, HashMap::new());
                (
                    Code::Unavailable,
                    "the service has as many calls in flight as it takes; retry with backoff"
                        .to_owned(),
                    None,
                )
            }
            ApiError::CallerOverLimit { limit } => {
                details.set_retry_info(Some(RETRY_DELAY));
                details.set_error_info("CALLER_OVER_LIMIT", SERVICE_DOMAIN, HashMap::new());
                (
                    Code::ResourceExhausted,
                    format!(
                        "the caller already has {limit} calls in flight, as many as one caller may"
                    ),
                    None,
                )
            }
            ApiError::CognitoRateLimited { retry_after } => {
                details.set_retry_info(Some(retry_after));
                details.set_error_info("COGNITO_RATE_LIMITED", SERVICE_DOMAIN, HashMap::new());
                (
                    Code::ResourceExhausted,
                    COGNITO_RATE_LIMITED.to_owned(),
                    None,
                )
            }
            ApiError::Panicked => {
                details.set_error_info("INTERNAL_ERROR", SERVICE_DOMAIN, HashMap::new());
                (Code::Internal, PANICKED.to_owned(), None)
            }
            ApiError::Draining => {
                details.set_retry_info(Some(Duration::ZERO));
                details.set_error_info("SERVICE_DRAINING", SERVICE_DOMAIN, HashMap::new());
                (
                    Code::Unavailable,
                    "the service is shutting down; watch again, on another replica".to_owned(),
                    None,
                )
            }
            ApiError::ConnectionAged => {
                details.set_retry_info(Some(Duration::ZERO));
                details.set_error_info("CONNECTION_AGED", SERVICE_DOMAIN, HashMap::new());
                (
                    Code::Unavailable,
                    "this connection is past its maximum age (--max-connection-age); watch again, on a new connection".to_owned(),
                    None,
                )
            }
            ApiError::CsvInvalid { problems, more } => {
                let count = problems.len() as u64 + more;
                let plural = if count == 1 { "" } else { "s" };
                for (place, problem) in problems {
                    details.add_bad_request_violation(place, problem);
                }
                details.set_error_info("CSV_INVALID", SERVICE_DOMAIN, HashMap::new());
                (
                    Code::InvalidArgument,
                    format!(
                        "the CSV has {count} problem{plural} Cognito would refuse (the BadRequest detail lists up to 100, by line and column); nothing was uploaded"
                    ),
                    None,
                )
            }
            ApiError::JobNotCreated { target, status } => {
                let pool = target.user_pool_id.as_str();
                let job = target.job_id.as_ref().map_or("", |job| job.as_str());
                let text = format!(
                    "the import job is {status}: a file can be uploaded only for a job in status Created"
                );
                details.add_precondition_failure_violation(
                    "JOB_STATUS",
                    format!("{pool}/{job}"),
                    &text,
                );
                details.set_error_info("JOB_NOT_CREATED", SERVICE_DOMAIN, HashMap::new());
                (Code::FailedPrecondition, text, None)
            }
            ApiError::Upload(UploadFailure::Refused { status, code }) => {
                let mut metadata = HashMap::from([("httpStatus".to_owned(), status.to_string())]);
                if let Some(code) = code {
                    metadata.insert("s3ErrorCode".to_owned(), code);
                }
                details.add_precondition_failure_violation(
                    "PRE_SIGNED_URL",
                    "the job's pre-signed URL",
                    "S3 refused the upload",
                );
                details.set_error_info("S3_REFUSED_UPLOAD", SERVICE_DOMAIN, metadata);
                (
                    Code::FailedPrecondition,
                    "S3 refused the upload to the job's pre-signed URL (it expires 15 minutes after the job's creation); nothing was stored: create a new job".to_owned(),
                    None,
                )
            }
            ApiError::UploadsOverLimit => {
                details.set_retry_info(Some(RETRY_DELAY));
                details.set_error_info("UPLOADS_OVER_LIMIT", SERVICE_DOMAIN, HashMap::new());
                (
                    Code::ResourceExhausted,
                    "the service has as many uploads in progress as it takes; retry after the RetryInfo delay".to_owned(),
                    None,
                )
            }
            ApiError::UploadTooSlow => {
                details.set_error_info("UPLOAD_TOO_SLOW", SERVICE_DOMAIN, HashMap::new());
                (
                    Code::DeadlineExceeded,
                    "the upload took longer than the 15 minutes a pre-signed URL lives; nothing was stored".to_owned(),
                    None,
                )
            }
            ApiError::Upload(UploadFailure::BadUrl) => {
                details.set_error_info("PRE_SIGNED_URL_INVALID", SERVICE_DOMAIN, HashMap::new());
                (
                    Code::Internal,
                    "Cognito's pre-signed URL for the job is not a URL the service can upload to; nothing was stored".to_owned(),
                    None,
                )
            }
            ApiError::Upload(UploadFailure::Unavailable { status }) => {
                let metadata = status
                    .map(|status| HashMap::from([("httpStatus".to_owned(), status.to_string())]))
                    .unwrap_or_default();
                details.set_retry_info(Some(RETRY_DELAY));
                details.set_error_info("S3_UNAVAILABLE", SERVICE_DOMAIN, metadata);
                (
                    Code::Unavailable,
                    "S3 failed or could not be reached; nothing was stored: upload again"
                        .to_owned(),
                    None,
                )
            }
            ApiError::WatchesOverLimit => {
                details.set_retry_info(Some(RETRY_DELAY));
                details.set_error_info("WATCHES_OVER_LIMIT", SERVICE_DOMAIN, HashMap::new());
                (
                    Code::ResourceExhausted,
                    "the service follows as many jobs as it allows; retry after the RetryInfo delay, or describe the job".to_owned(),
                    None,
                )
            }
            ApiError::DeadlineExceeded => {
                details.set_error_info("DEADLINE_EXCEEDED", SERVICE_DOMAIN, HashMap::new());
                (Code::DeadlineExceeded, DEADLINE_PASSED.to_owned(), None)
            }
        };
        let mut status = Status::with_error_details(code, message, details);
        insert_request_id(status.metadata_mut(), request_id.as_deref());
        status
    }
}

/// What an unauthenticated caller is told: which credential failed and
/// how, never anything about the policy.
fn unauthenticated_message(failure: AuthFailure) -> &'static str {
    match failure {
        AuthFailure::NoCredentials => {
            "the call carries no credentials: present a client certificate or an `authorization: Bearer <token>` header"
        }
        AuthFailure::NotBearer => "the authorization header must be `Bearer <token>`",
        AuthFailure::SeveralAuthorizationHeaders => {
            "the call carries more than one authorization header; send exactly one"
        }
        AuthFailure::TokensNotAccepted => "this service does not accept bearer tokens",
        AuthFailure::Token(error) => token_message(error),
        AuthFailure::Certificate(error) => certificate_message(error),
    }
}

fn token_message(error: TokenError) -> &'static str {
    match error {
        TokenError::Malformed => "the bearer token is not a well-formed JWT",
        TokenError::AlgorithmNotAllowed => "the bearer token's algorithm is not accepted",
        TokenError::UnknownKey => "the bearer token's key (kid) is not known",
        TokenError::BadSignature => "the bearer token's signature is invalid",
        TokenError::Expired => "the bearer token has expired",
        TokenError::NotYetValid => "the bearer token is not valid yet",
        TokenError::WrongIssuer => "the bearer token's issuer is not accepted",
        TokenError::WrongAudience => "the bearer token is not meant for this service",
        TokenError::MissingClaim => "the bearer token lacks a required claim",
        TokenError::InvalidClaim => {
            "a claim of the bearer token has the wrong type or is out of range (exp and nbf are integers of seconds; a SPIFFE ID must be well-formed)"
        }
        TokenError::CriticalExtension => {
            "the bearer token's header lists crit extensions, which this service does not understand"
        }
    }
}

fn certificate_message(error: CertificateError) -> &'static str {
    match error {
        CertificateError::Untrusted => "the client certificate is not issued by a trusted CA",
        CertificateError::Expired => "the client certificate has expired",
        CertificateError::NotYetValid => "the client certificate is not valid yet",
        CertificateError::SeveralUriSans => {
            "the client certificate has more than one URI SAN, which an X.509-SVID may not"
        }
        CertificateError::InvalidSpiffeId => {
            "the client certificate's URI SAN is not a SPIFFE ID (spiffe://trust-domain/path, lower-case trust domain, no empty, `.` or `..` segments, no percent-encoding, query or fragment)"
        }
        CertificateError::OutsideNameConstraints => {
            "the client certificate's SPIFFE ID is in a trust domain its issuing CA's name constraints do not permit"
        }
        CertificateError::NoIdentity => {
            "the client certificate names no SPIFFE ID (URI SAN) or DNS name (DNS SAN)"
        }
    }
}

/// Puts the id AWS gave the request in an answer's metadata
/// ([`REQUEST_ID_KEY`]), the same whether the call succeeded or failed.
pub(crate) fn insert_request_id(metadata: &mut MetadataMap, request_id: Option<&str>) {
    if let Some(value) = request_id.and_then(|id| MetadataValue::try_from(id).ok()) {
        metadata.insert(REQUEST_ID_KEY, value);
    }
}

/// A status that tonic, or a service the server hosts but did not write
/// (health, reflection), made without an `ErrorInfo`, given one in the
/// service's domain, so that every status the server sends has exactly one:
/// UNIMPLEMENTED (no such method or service) is `METHOD_NOT_FOUND`,
/// OUT_OF_RANGE (tonic's message size limit) `MESSAGE_TOO_LARGE`, any other
/// code its name. Its message, metadata and other details are kept.
pub fn with_error_info(status: Status) -> Status {
    let mut details = status.get_error_details();
    if details.error_info().is_some() {
        return status;
    }
    let reason = match status.code() {
        Code::Unimplemented => "METHOD_NOT_FOUND",
        Code::OutOfRange => "MESSAGE_TOO_LARGE",
        code => code_name(code),
    };
    details.set_error_info(reason, SERVICE_DOMAIN, HashMap::new());
    Status::with_error_details_and_metadata(
        status.code(),
        status.message(),
        details,
        status.metadata().clone(),
    )
}

/// The canonical name of a gRPC code, as in google/rpc/code.proto.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The error table for calls that reached the SDK.
fn cognito_status(
    error: CognitoError,
    target: &Target,
    details: &mut ErrorDetails,
) -> (Code, String, Option<String>) {
    let CognitoError {
        failure,
        aws_error_code,
        message,
        request_id,
        ..
    } = error;
    let operation = target.operation;
    let pool = target.user_pool_id.as_str();
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
                    let text = match &target.job_id {
                        Some(job) => {
                            let text = said("the user pool or the import job does not exist");
                            details.set_resource_info(
                                "cognito-idp:UserImportJob",
                                job.as_str(),
                                format!("user pool {pool}"),
                                &text,
                            );
                            text
                        }
                        None => {
                            let text = said("the user pool does not exist");
                            details.set_resource_info("cognito-idp:UserPool", pool, "", &text);
                            text
                        }
                    };
                    (Code::NotFound, "RESOURCE_NOT_FOUND", text)
                }
                ServiceFailure::InvalidParameter => (
                    Code::InvalidArgument,
                    "INVALID_PARAMETER",
                    said("Cognito rejected a parameter"),
                ),
                ServiceFailure::PreconditionNotMet => {
                    let text = said(precondition(operation));
                    let (kind, subject) = match &target.job_id {
                        Some(job) => ("JOB_STATUS", format!("{pool}/{job}")),
                        None => ("USER_POOL", pool.to_owned()),
                    };
                    details.add_precondition_failure_violation(kind, subject, &text);
                    (Code::FailedPrecondition, "PRECONDITION_NOT_MET", text)
                }
                ServiceFailure::LimitExceeded => {
                    let text = said("the user pool has as many import jobs as Cognito allows");
                    details.add_quota_failure_violation(format!("user pool {pool}"), &text);
                    (Code::ResourceExhausted, "LIMIT_EXCEEDED", text)
                }
                ServiceFailure::OperationNotEnabled => (
                    Code::FailedPrecondition,
                    "OPERATION_NOT_ENABLED",
                    said("this operation is not enabled for the user pool or region"),
                ),
                ServiceFailure::AccessDenied => (
                    Code::PermissionDenied,
                    "AWS_ACCESS_DENIED",
                    aws_access_denied(operation),
                ),
                ServiceFailure::Throttled => {
                    details.set_retry_info(Some(RETRY_DELAY));
                    (
                        Code::ResourceExhausted,
                        "THROTTLED",
                        said("Cognito throttled the call"),
                    )
                }
                ServiceFailure::ServiceFailed => {
                    details.set_retry_info(Some(RETRY_DELAY));
                    (
                        Code::Unavailable,
                        "COGNITO_UNAVAILABLE",
                        said("Cognito failed to handle the call"),
                    )
                }
                // AWS's message about a bad signature or token is for the
                // service's operators, not the caller.
                ServiceFailure::CredentialsRejected => (
                    Code::Internal,
                    "AWS_CREDENTIALS_REJECTED",
                    AWS_CREDENTIALS_REJECTED.to_owned(),
                ),
                ServiceFailure::Other => (
                    Code::Unknown,
                    "UNKNOWN_AWS_ERROR",
                    said("Cognito answered with an unknown error"),
                ),
            };
            let mut metadata = HashMap::new();
            metadata.insert(
                AWS_ERROR_CODE_KEY.to_owned(),
                aws_error_code.clone().unwrap_or_default(),
            );
            metadata.insert(
                AWS_REQUEST_ID_KEY.to_owned(),
                request_id.clone().unwrap_or_default(),
            );
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
            aws_timeout(operation),
        ),
        Failure::Unreachable => (
            Code::Unavailable,
            "COGNITO_UNREACHABLE",
            "Cognito could not be reached".to_owned(),
        ),
        Failure::ResponseTooLarge => (
            Code::Unavailable,
            "COGNITO_RESPONSE_TOO_LARGE",
            response_too_large(crate::cognito::MAX_RESPONSE_BYTES, operation),
        ),
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
        metadata.insert(AWS_REQUEST_ID_KEY.to_owned(), id.clone());
    }
    details.set_error_info(reason, SERVICE_DOMAIN, metadata);
    (code, text, request_id)
}

#[cfg(test)]
mod tests;
