use super::*;
use crate::validation::{JobId, JobRequest};
use tonic_types::ErrorDetail;

fn request() -> Target {
    let request = JobRequest::parse("us-east-1_AbC123", "import-abc").unwrap();
    Target {
        operation: Operation::StopUserImportJob,
        user_pool_id: request.user_pool_id,
        job_id: Some(request.job_id),
    }
}

fn aws(failure: Failure, code: Option<&str>) -> ApiError {
    ApiError::Cognito(
        CognitoError {
            failure,
            aws_error_code: code.map(str::to_owned),
            message: Some("Cognito's words".to_owned()),
            request_id: Some("req-1".to_owned()),
            detail: String::new(),
        },
        request(),
    )
}

/// The code, the ErrorInfo reason and domain, and the other detail kinds.
fn shape(error: ApiError) -> (Code, String, String, Vec<&'static str>) {
    let status = Status::from(error);
    let mut infos = Vec::new();
    let mut others = Vec::new();
    for detail in status.get_error_details_vec() {
        match detail {
            ErrorDetail::ErrorInfo(info) => infos.push(info),
            ErrorDetail::BadRequest(_) => others.push("BadRequest"),
            ErrorDetail::ResourceInfo(_) => others.push("ResourceInfo"),
            ErrorDetail::PreconditionFailure(_) => others.push("PreconditionFailure"),
            ErrorDetail::RetryInfo(_) => others.push("RetryInfo"),
            ErrorDetail::QuotaFailure(_) => others.push("QuotaFailure"),
            _ => others.push("other"),
        }
    }
    assert_eq!(infos.len(), 1, "exactly one ErrorInfo");
    let info = infos.remove(0);
    assert!(
        info.reason.len() <= 63
            && info
                .reason
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b == b'_')
    );
    (status.code(), info.reason, info.domain, others)
}

#[test]
fn the_table() {
    use Failure as F;
    use ServiceFailure as S;
    let cases: Vec<(ApiError, Code, &str, &str, Vec<&str>)> = vec![
        (
            aws(
                F::Service(S::ResourceNotFound),
                Some("ResourceNotFoundException"),
            ),
            Code::NotFound,
            "RESOURCE_NOT_FOUND",
            COGNITO_DOMAIN,
            vec!["ResourceInfo"],
        ),
        (
            aws(
                F::Service(S::InvalidParameter),
                Some("InvalidParameterException"),
            ),
            Code::InvalidArgument,
            "INVALID_PARAMETER",
            COGNITO_DOMAIN,
            vec![],
        ),
        (
            aws(
                F::Service(S::PreconditionNotMet),
                Some("PreconditionNotMetException"),
            ),
            Code::FailedPrecondition,
            "PRECONDITION_NOT_MET",
            COGNITO_DOMAIN,
            vec!["PreconditionFailure"],
        ),
        (
            aws(
                F::Service(S::OperationNotEnabled),
                Some("OperationNotEnabledException"),
            ),
            Code::FailedPrecondition,
            "OPERATION_NOT_ENABLED",
            COGNITO_DOMAIN,
            vec![],
        ),
        (
            aws(F::Service(S::LimitExceeded), Some("LimitExceededException")),
            Code::ResourceExhausted,
            "LIMIT_EXCEEDED",
            COGNITO_DOMAIN,
            vec!["QuotaFailure"],
        ),
        (
            aws(F::Service(S::AccessDenied), Some("AccessDeniedException")),
            Code::PermissionDenied,
            "AWS_ACCESS_DENIED",
            COGNITO_DOMAIN,
            vec![],
        ),
        (
            aws(F::Service(S::Throttled), Some("ThrottlingException")),
            Code::ResourceExhausted,
            "THROTTLED",
            COGNITO_DOMAIN,
            vec!["RetryInfo"],
        ),
        (
            aws(F::Service(S::ServiceFailed), Some("InternalErrorException")),
            Code::Unavailable,
            "COGNITO_UNAVAILABLE",
            COGNITO_DOMAIN,
            vec!["RetryInfo"],
        ),
        (
            aws(
                F::Service(S::CredentialsRejected),
                Some("ExpiredTokenException"),
            ),
            Code::Internal,
            "AWS_CREDENTIALS_REJECTED",
            COGNITO_DOMAIN,
            vec![],
        ),
        (
            aws(F::Service(S::Other), Some("NewException")),
            Code::Unknown,
            "UNKNOWN_AWS_ERROR",
            COGNITO_DOMAIN,
            vec![],
        ),
        (
            aws(F::CredentialsUnavailable, None),
            Code::Unavailable,
            "AWS_CREDENTIALS_UNAVAILABLE",
            SERVICE_DOMAIN,
            vec![],
        ),
        (
            aws(F::TimedOut, None),
            Code::DeadlineExceeded,
            "AWS_TIMEOUT",
            SERVICE_DOMAIN,
            vec![],
        ),
        (
            aws(F::Unreachable, None),
            Code::Unavailable,
            "COGNITO_UNREACHABLE",
            SERVICE_DOMAIN,
            vec![],
        ),
        (
            aws(F::UnparseableResponse, None),
            Code::Unavailable,
            "COGNITO_RESPONSE_UNPARSEABLE",
            SERVICE_DOMAIN,
            vec![],
        ),
        (
            aws(F::RequestNotBuilt, None),
            Code::Internal,
            "AWS_REQUEST_NOT_BUILT",
            SERVICE_DOMAIN,
            vec![],
        ),
        (
            aws(F::ResponseTooLarge, None),
            Code::Unavailable,
            "COGNITO_RESPONSE_TOO_LARGE",
            SERVICE_DOMAIN,
            vec![],
        ),
        (
            ApiError::Unauthenticated(AuthFailure::SeveralAuthorizationHeaders),
            Code::Unauthenticated,
            "AUTHORIZATION_REPEATED",
            SERVICE_DOMAIN,
            vec![],
        ),
        (
            ApiError::Message(MessageFailure::Malformed),
            Code::InvalidArgument,
            "MESSAGE_MALFORMED",
            SERVICE_DOMAIN,
            vec![],
        ),
        (
            ApiError::Message(MessageFailure::TooLarge { limit: 4096 }),
            Code::ResourceExhausted,
            "MESSAGE_TOO_LARGE",
            SERVICE_DOMAIN,
            vec![],
        ),
        (
            ApiError::Message(MessageFailure::TimedOut {
                limit: Duration::from_secs(5),
            }),
            Code::DeadlineExceeded,
            "REQUEST_BODY_TIMEOUT",
            SERVICE_DOMAIN,
            vec![],
        ),
        (
            ApiError::Overloaded,
            Code::Unavailable,
            "SERVICE_OVERLOADED",
            SERVICE_DOMAIN,
            vec!["RetryInfo"],
        ),
        (
            ApiError::CallerOverLimit { limit: 2 },
            Code::ResourceExhausted,
            "CALLER_OVER_LIMIT",
            SERVICE_DOMAIN,
            vec!["RetryInfo"],
        ),
        (
            ApiError::CognitoRateLimited {
                retry_after: Duration::from_millis(250),
            },
            Code::ResourceExhausted,
            "COGNITO_RATE_LIMITED",
            SERVICE_DOMAIN,
            vec!["RetryInfo"],
        ),
        (
            ApiError::Panicked,
            Code::Internal,
            "INTERNAL_ERROR",
            SERVICE_DOMAIN,
            vec![],
        ),
        (
            ApiError::DeadlineExceeded,
            Code::DeadlineExceeded,
            "DEADLINE_EXCEEDED",
            SERVICE_DOMAIN,
            vec![],
        ),
        (
            ApiError::UnknownRegion(UserPoolId::parse("local_x").unwrap()),
            Code::NotFound,
            "USER_POOL_REGION_UNKNOWN",
            SERVICE_DOMAIN,
            vec!["ResourceInfo"],
        ),
        (
            ApiError::InvalidRequest(vec![JobId::parse("").unwrap_err()]),
            Code::InvalidArgument,
            "INVALID_REQUEST",
            SERVICE_DOMAIN,
            vec!["BadRequest"],
        ),
    ];
    for (error, code, reason, domain, others) in cases {
        let label = format!("{error:?}");
        assert_eq!(
            shape(error),
            (code, reason.to_owned(), domain.to_owned(), others),
            "{label}"
        );
    }
}

#[test]
fn statuses_made_elsewhere_get_one_error_info_and_keep_the_rest() {
    let mut status = Status::unimplemented("unknown method");
    status
        .metadata_mut()
        .insert("x-kept", "yes".parse().unwrap());
    let completed = with_error_info(status);
    assert_eq!(completed.code(), Code::Unimplemented);
    assert_eq!(completed.message(), "unknown method");
    assert_eq!(completed.metadata().get("x-kept").unwrap(), "yes");
    let info = completed.get_error_details().error_info().cloned().unwrap();
    assert_eq!(
        (info.reason.as_str(), info.domain.as_str()),
        ("METHOD_NOT_FOUND", SERVICE_DOMAIN)
    );
    let own = Status::from(ApiError::Overloaded);
    assert_eq!(
        with_error_info(own.clone()).details(),
        own.details(),
        "a status that has one keeps it"
    );
    for (status, reason) in [
        (Status::out_of_range("too big"), "MESSAGE_TOO_LARGE"),
        (Status::not_found("x"), "NOT_FOUND"),
    ] {
        let completed = with_error_info(status);
        assert_eq!(completed.get_details_error_info().unwrap().reason, reason);
    }
}

#[test]
fn aws_errors_name_their_code_and_request_id_and_keep_cognitos_message() {
    let status = Status::from(aws(
        Failure::Service(ServiceFailure::Throttled),
        Some("RequestLimitExceeded"),
    ));
    assert_eq!(status.message(), "Cognito's words");
    assert_eq!(status.metadata().get(REQUEST_ID_KEY).unwrap(), "req-1");
    let info = status.get_error_details().error_info().cloned().unwrap();
    assert_eq!(info.metadata["awsErrorCode"], "RequestLimitExceeded");
    assert_eq!(info.metadata["awsRequestId"], "req-1");
}

#[test]
fn rejected_credentials_and_denied_access_do_not_echo_awss_message() {
    // AWS's words here name the service's account and role.
    for failure in [
        ServiceFailure::CredentialsRejected,
        ServiceFailure::AccessDenied,
    ] {
        let status = Status::from(aws(
            Failure::Service(failure),
            Some("AccessDeniedException"),
        ));
        assert!(!status.message().contains("Cognito's words"), "{failure:?}");
    }
}

/// A call about a pool only is answered about the pool; every text that
/// speaks of the call's effect speaks of its own operation.
#[test]
fn the_table_words_each_answer_by_the_operation() {
    let pool_only = |operation, failure, code: &str| {
        let mut target = request();
        target.operation = operation;
        target.job_id = None;
        Status::from(ApiError::Cognito(
            CognitoError {
                failure,
                aws_error_code: Some(code.to_owned()),
                message: None,
                request_id: None,
                detail: String::new(),
            },
            target,
        ))
    };
    let not_found = pool_only(
        Operation::ListUserImportJobs,
        Failure::Service(ServiceFailure::ResourceNotFound),
        "ResourceNotFoundException",
    );
    let resource = not_found
        .get_error_details()
        .resource_info()
        .cloned()
        .unwrap();
    assert_eq!(resource.resource_type, "cognito-idp:UserPool");
    assert_eq!(resource.resource_name, "us-east-1_AbC123");
    assert_eq!(not_found.message(), "the user pool does not exist");

    let denied = pool_only(
        Operation::CreateUserImportJob,
        Failure::Service(ServiceFailure::AccessDenied),
        "NotAuthorizedException",
    );
    assert!(
        denied.message().contains("cognito-idp:CreateUserImportJob"),
        "{}",
        denied.message()
    );

    let timed_out = pool_only(Operation::DescribeUserImportJob, Failure::TimedOut, "");
    assert!(
        timed_out
            .message()
            .ends_with("nothing was changed; retry with backoff")
    );
    let timed_out = pool_only(Operation::StartUserImportJob, Failure::TimedOut, "");
    assert!(
        timed_out
            .message()
            .ends_with("the job may or may not have started")
    );
}
