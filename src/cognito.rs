//! The one module that talks to the AWS SDK.
//!
//! It keeps one Cognito client per AWS region, created on first use and reused
//! (clients share one HTTP connection pool), sends each call to the region its
//! user pool id begins with, translates the SDK's answers into the proto's
//! messages, and sorts every SDK failure into a [`CognitoError`] that
//! carries no SDK type: what to answer the caller is decided in `error`.

use std::{
    collections::{HashMap, HashSet},
    error::Error as StdError,
    marker::PhantomData,
    sync::{Arc, RwLock},
};

use aws_config::{BehaviorVersion, SdkConfig, retry::RetryConfig, timeout::TimeoutConfig};
use aws_credential_types::provider::{SharedCredentialsProvider, error::CredentialsError};
use aws_sdk_cognitoidentityprovider::{
    Client,
    config::Region,
    error::{ProvideErrorMetadata, SdkError},
    operation::{RequestId, create_user_import_job::CreateUserImportJobError},
    types::{PasswordHashingAlgorithmType, UserImportJobStatusType, UserImportJobType},
};
use aws_smithy_runtime_api::{client::result::DispatchFailure, http::Response as HttpResponse};
use aws_smithy_types::{DateTime, retry::ErrorKind};

mod chain;
mod interceptors;

use chain::cause;
pub use interceptors::MAX_RESPONSE_BYTES;
use interceptors::{
    CapResponseSize, CountRetries, NoRetryAfterTooLarge, ResponseTooLarge, RetryOnlyThrottled,
};

use crate::{
    configuration::AwsSettings,
    metrics::{Metrics, RegionLabels},
    proto::{GetCsvHeaderResponse, ListUserImportJobsResponse, UserImportJob, UserImportJobStatus},
    regions::AWS_REGIONS,
    validation::{CreateRequest, JobRequest, ListRequest, PoolRequest, UserPoolId},
};

/// Where the SDK sends calls and which credentials it signs them with, when
/// not the defaults (the standard endpoint variables and credentials chain).
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub endpoint_url: Option<String>,
    pub credentials: Option<SharedCredentialsProvider>,
}

impl Connection {
    /// To the Cognito emulator at `url`. It checks no signature, but the SDK
    /// signs every call as it would for AWS, so it needs credentials of some
    /// kind: fixed ones, never the machine's.
    pub fn emulator(url: String) -> Self {
        Self {
            endpoint_url: Some(url),
            credentials: Some(SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new(
                    "AKIALOCALCOGNITO",
                    "local-cognito-emulator",
                    None,
                    None,
                    "local-cognito",
                ),
            )),
        }
    }
}

/// A call of an operation that names one job and answers it (the method's
/// name is the SDK's): the same for each but for the SDK's builder type.
macro_rules! job_operation {
    ($(#[$doc:meta])* $operation:ident) => {
        $(#[$doc])*
        pub async fn $operation(
            &self,
            region: String,
            request: &JobRequest,
        ) -> Result<Answered<UserImportJob>, CognitoError> {
            let output = self
                .client_for(region)
                .$operation()
                .user_pool_id(request.user_pool_id.as_str())
                .job_id(request.job_id.as_str())
                .send()
                .await
                .map_err(|err| classify(&err))?;
            let request_id = output.request_id().map(str::to_owned);
            job_answer(request_id, output.user_import_job)
        }
    };
}

/// Cognito, reached through the AWS SDK in the region of each user pool.
#[derive(Clone)]
pub struct Cognito {
    base: SdkConfig,
    region_override: Option<Region>,
    /// The regions a pool id may begin with: [`AWS_REGIONS`] and
    /// `--aws-extra-regions`.
    regions: Arc<HashSet<String>>,
    clients: Arc<RwLock<HashMap<String, Client>>>,
    metrics: Arc<Metrics>,
}

/// What Cognito answered, as the proto's message, with the id AWS gave the
/// request.
#[derive(Debug)]
pub struct Answered<T> {
    pub answer: T,
    pub request_id: Option<String>,
}

/// Why a call to Cognito failed, sorted by what the caller can do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Cognito answered with an error (`aws` holds its code and message).
    Service(ServiceFailure),
    /// The service's AWS credentials could not be loaded.
    CredentialsUnavailable,
    /// The SDK's operation or attempt timeout passed.
    TimedOut,
    /// Cognito could not be reached: connection refused or reset, DNS or TLS
    /// failure.
    Unreachable,
    /// Cognito's answer could not be parsed.
    UnparseableResponse,
    /// Cognito's answer was larger than [`MAX_RESPONSE_BYTES`].
    ResponseTooLarge,
    /// The request to Cognito could not be built.
    RequestNotBuilt,
}

impl Failure {
    /// The failure's name in metrics, where Cognito sent no error code.
    pub fn name(&self) -> &'static str {
        match self {
            Failure::Service(_) => "SERVICE_ERROR",
            Failure::CredentialsUnavailable => "CREDENTIALS_UNAVAILABLE",
            Failure::TimedOut => "TIMEOUT",
            Failure::Unreachable => "UNREACHABLE",
            Failure::UnparseableResponse => "UNPARSEABLE_RESPONSE",
            Failure::ResponseTooLarge => "RESPONSE_TOO_LARGE",
            Failure::RequestNotBuilt => "REQUEST_NOT_BUILT",
        }
    }
}

/// The errors Cognito sends, grouped as the error table in `error` needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceFailure {
    ResourceNotFound,
    InvalidParameter,
    PreconditionNotMet,
    OperationNotEnabled,
    /// The service's own AWS identity may not do this.
    AccessDenied,
    Throttled,
    /// Cognito failed on its side.
    ServiceFailed,
    /// AWS rejected the service's credentials or signature.
    CredentialsRejected,
    /// The pool has as many import jobs as Cognito allows.
    LimitExceeded,
    /// An error code this version does not know.
    Other,
}

/// A failed call to Cognito: its class, and what AWS said, where it said
/// anything. `detail` describes the failure for logs; it never holds
/// credentials.
#[derive(Debug, Clone)]
pub struct CognitoError {
    pub failure: Failure,
    pub aws_error_code: Option<String>,
    pub message: Option<String>,
    pub request_id: Option<String>,
    pub detail: String,
}

impl Cognito {
    /// Loads the SDK configuration: `connection`'s endpoint and credentials
    /// where given, else aws-config's default chain (environment, profiles,
    /// container and instance roles, `AWS_ENDPOINT_URL` and
    /// `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`). Credentials are fetched
    /// lazily, on the first call.
    pub async fn connect(
        settings: &AwsSettings,
        connection: Connection,
        metrics: Arc<Metrics>,
    ) -> Self {
        let region_override = settings.aws_region.clone().map(Region::new);
        // A region is needed to build the configuration; giving one also keeps
        // the loader from probing the instance metadata service for it. Each
        // call then picks its pool's region.
        let base_region = region_override
            .clone()
            .unwrap_or_else(|| Region::from_static("us-east-1"));
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(base_region)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(settings.aws_max_attempts)
                    .with_initial_backoff(settings.aws_initial_backoff),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(settings.aws_operation_timeout)
                    .operation_attempt_timeout(settings.aws_attempt_timeout)
                    .build(),
            );
        if let Some(url) = connection.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(credentials) = connection.credentials {
            loader = loader.credentials_provider(credentials);
        }
        let regions = AWS_REGIONS
            .iter()
            .map(|region| (*region).to_owned())
            .chain(settings.aws_extra_regions.iter().cloned())
            .collect();
        Self {
            base: loader.load().await,
            region_override,
            regions: Arc::new(regions),
            clients: Arc::default(),
            metrics,
        }
    }

    /// Creates an import job in `region` (see [`Cognito::region_for`]).
    /// Dropping any of these calls' futures abandons the AWS request. A
    /// create is retried only when throttled: it is not idempotent.
    pub async fn create_user_import_job(
        &self,
        region: String,
        request: &CreateRequest,
    ) -> Result<Answered<UserImportJob>, CognitoError> {
        let output = self
            .client_for(region)
            .create_user_import_job()
            .user_pool_id(request.user_pool_id.as_str())
            .job_name(request.job_name.as_str())
            .cloud_watch_logs_role_arn(request.cloud_watch_logs_role_arn.as_str())
            .set_password_hashing_algorithm(
                request
                    .password_hashing_algorithm
                    .as_deref()
                    .map(PasswordHashingAlgorithmType::from),
            )
            .customize()
            .config_override(
                aws_sdk_cognitoidentityprovider::Config::builder().retry_classifier(
                    RetryOnlyThrottled::<CreateUserImportJobError> {
                        throttled: |code| service_failure(code) == ServiceFailure::Throttled,
                        error: PhantomData,
                    },
                ),
            )
            .send()
            .await
            .map_err(|err| classify(&err))?;
        let request_id = output.request_id().map(str::to_owned);
        job_answer(request_id, output.user_import_job)
    }

    /// The header row of the pool's import CSV.
    pub async fn get_csv_header(
        &self,
        region: String,
        request: &PoolRequest,
    ) -> Result<Answered<GetCsvHeaderResponse>, CognitoError> {
        let output = self
            .client_for(region)
            .get_csv_header()
            .user_pool_id(request.user_pool_id.as_str())
            .send()
            .await
            .map_err(|err| classify(&err))?;
        Ok(Answered {
            request_id: output.request_id().map(str::to_owned),
            answer: GetCsvHeaderResponse {
                user_pool_id: output.user_pool_id.unwrap_or_default(),
                csv_header: output.csv_header.unwrap_or_default(),
            },
        })
    }

    job_operation!(
        /// Starts a created job.
        start_user_import_job
    );
    job_operation!(describe_user_import_job);
    job_operation!(
        /// Stops a running job.
        stop_user_import_job
    );

    /// One page of the pool's import jobs.
    pub async fn list_user_import_jobs(
        &self,
        region: String,
        request: &ListRequest,
    ) -> Result<Answered<ListUserImportJobsResponse>, CognitoError> {
        let output = self
            .client_for(region)
            .list_user_import_jobs()
            .user_pool_id(request.user_pool_id.as_str())
            .max_results(request.max_results.get())
            .set_pagination_token(
                request
                    .pagination_token
                    .as_ref()
                    .map(|token| token.as_str().to_owned()),
            )
            .send()
            .await
            .map_err(|err| classify(&err))?;
        Ok(Answered {
            request_id: output.request_id().map(str::to_owned),
            answer: ListUserImportJobsResponse {
                user_import_jobs: output
                    .user_import_jobs
                    .unwrap_or_default()
                    .into_iter()
                    .map(user_import_job)
                    .collect(),
                pagination_token: output.pagination_token.unwrap_or_default(),
            },
        })
    }

    /// The region a call for `pool` goes to: the override, else the region
    /// the pool id begins with. `None` when the pool id begins with something
    /// that is not a known AWS region, so no such pool can exist.
    pub(crate) fn region_for(&self, pool: &UserPoolId) -> Option<String> {
        match &self.region_override {
            Some(region) => Some(region.to_string()),
            None => Some(pool.region_prefix())
                .filter(|prefix| self.regions.contains(*prefix))
                .map(str::to_owned),
        }
    }

    /// The region's client: made once, under the lock, however many calls
    /// ask at once, and kept (regions are a closed set).
    fn client_for(&self, region: String) -> Client {
        if let Some(client) = self.read_clients().get(&region) {
            return client.clone();
        }
        let mut clients = self.clients.write().unwrap_or_else(|e| e.into_inner());
        clients
            .entry(region)
            .or_insert_with_key(|region| self.new_client(region))
            .clone()
    }

    fn new_client(&self, region: &str) -> Client {
        let config = aws_sdk_cognitoidentityprovider::config::Builder::from(&self.base)
            .region(Region::new(region.to_owned()))
            .interceptor(CapResponseSize)
            .retry_classifier(NoRetryAfterTooLarge)
            .interceptor(CountRetries {
                metrics: Arc::clone(&self.metrics),
                region: RegionLabels {
                    region: region.to_owned(),
                },
            })
            .build();
        Client::from_conf(config)
    }

    fn read_clients(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Client>> {
        // The map is never left half-updated, so a poisoned lock is still sound.
        self.clients.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// The job an answer describes. Cognito always describes one; an answer
/// without it is not one the service can pass on (a create would seem to
/// have made a job with no id), so it is unparseable.
fn job_answer(
    request_id: Option<String>,
    job: Option<UserImportJobType>,
) -> Result<Answered<UserImportJob>, CognitoError> {
    match job {
        Some(job) => Ok(Answered {
            request_id,
            answer: user_import_job(job),
        }),
        None => Err(CognitoError {
            failure: Failure::UnparseableResponse,
            aws_error_code: None,
            message: None,
            request_id,
            detail: "Cognito's answer holds no UserImportJob".to_owned(),
        }),
    }
}

fn user_import_job(job: UserImportJobType) -> UserImportJob {
    UserImportJob {
        job_name: job.job_name.unwrap_or_default(),
        job_id: job.job_id.unwrap_or_default(),
        user_pool_id: job.user_pool_id.unwrap_or_default(),
        pre_signed_url: job.pre_signed_url.unwrap_or_default(),
        creation_date: job.creation_date.map(timestamp),
        start_date: job.start_date.map(timestamp),
        completion_date: job.completion_date.map(timestamp),
        status: job
            .status
            .map_or(UserImportJobStatus::Unspecified, status)
            .into(),
        cloud_watch_logs_role_arn: job.cloud_watch_logs_role_arn.unwrap_or_default(),
        imported_users: job.imported_users,
        skipped_users: job.skipped_users,
        failed_users: job.failed_users,
        completion_message: job.completion_message.unwrap_or_default(),
        password_hashing_algorithm: job
            .password_hashing_algorithm
            .map(|algorithm| algorithm.as_str().to_owned())
            .unwrap_or_default(),
    }
}

/// AWS JSON sends dates as epoch seconds with milliseconds, in a float:
/// rounding to the millisecond drops the float's noise.
fn timestamp(time: DateTime) -> prost_types::Timestamp {
    let millis = (time.as_secs_f64() * 1000.0).round() as i64;
    prost_types::Timestamp {
        seconds: millis.div_euclid(1000),
        nanos: (millis.rem_euclid(1000) * 1_000_000) as i32,
    }
}

fn status(status: UserImportJobStatusType) -> UserImportJobStatus {
    match status {
        UserImportJobStatusType::Created => UserImportJobStatus::Created,
        UserImportJobStatusType::Pending => UserImportJobStatus::Pending,
        UserImportJobStatusType::InProgress => UserImportJobStatus::InProgress,
        UserImportJobStatusType::Stopping => UserImportJobStatus::Stopping,
        UserImportJobStatusType::Expired => UserImportJobStatus::Expired,
        UserImportJobStatusType::Stopped => UserImportJobStatus::Stopped,
        UserImportJobStatusType::Failed => UserImportJobStatus::Failed,
        UserImportJobStatusType::Succeeded => UserImportJobStatus::Succeeded,
        unknown => {
            tracing::warn!(
                status = unknown.as_str(),
                "Cognito sent an import job status this version does not know; answering UNSPECIFIED"
            );
            UserImportJobStatus::Unspecified
        }
    }
}

/// Sorts an SDK failure by its variant and, for errors Cognito sent, by the
/// error code AWS sent (the exception's name, which is also how the SDK tells
/// its modeled errors apart): never by message text. Every operation's
/// errors go through this one table.
fn classify<E>(err: &SdkError<E, HttpResponse>) -> CognitoError
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    let failure = match err {
        // Whichever phase the cap stopped it in.
        _ if cause::<ResponseTooLarge>(err).is_some() => Failure::ResponseTooLarge,
        SdkError::ServiceError(context) => Failure::Service(service_failure(context.err().code())),
        SdkError::TimeoutError(_) => Failure::TimedOut,
        SdkError::DispatchFailure(dispatch) if dispatch.is_timeout() => Failure::TimedOut,
        SdkError::DispatchFailure(dispatch) if is_transport_failure(dispatch) => {
            Failure::Unreachable
        }
        SdkError::DispatchFailure(_) if caused_by_credentials(err) => {
            Failure::CredentialsUnavailable
        }
        // What is left failed before sending: endpoint, signing, a bad input.
        SdkError::DispatchFailure(_) => Failure::RequestNotBuilt,
        SdkError::ResponseError(_) => Failure::UnparseableResponse,
        SdkError::ConstructionFailure(_) if caused_by_credentials(err) => {
            Failure::CredentialsUnavailable
        }
        SdkError::ConstructionFailure(_) => Failure::RequestNotBuilt,
        _ => Failure::Unreachable,
    };
    let service_error = err.as_service_error();
    CognitoError {
        failure,
        aws_error_code: service_error.and_then(|e| e.code()).map(str::to_owned),
        message: service_error.and_then(|e| e.message()).map(str::to_owned),
        request_id: err.request_id().map(str::to_owned),
        detail: match service_error {
            Some(e) => format!(
                "{}: {}",
                e.code().unwrap_or("unknown error"),
                e.message().unwrap_or_default()
            ),
            // What a credentials provider reports beneath its own summary
            // (a credential_process helper's output, say) stays out of logs.
            None => match credentials_error(err) {
                Some(credentials) => format!("AWS credentials could not be loaded: {credentials}"),
                None => error_chain(err),
            },
        },
    }
}

fn service_failure(code: Option<&str>) -> ServiceFailure {
    match code {
        Some("ResourceNotFoundException") => ServiceFailure::ResourceNotFound,
        Some("InvalidParameterException") => ServiceFailure::InvalidParameter,
        Some("PreconditionNotMetException") => ServiceFailure::PreconditionNotMet,
        Some("OperationNotEnabledException") => ServiceFailure::OperationNotEnabled,
        Some("LimitExceededException") => ServiceFailure::LimitExceeded,
        Some("NotAuthorizedException" | "AccessDeniedException") => ServiceFailure::AccessDenied,
        Some("TooManyRequestsException" | "ThrottlingException" | "RequestLimitExceeded") => {
            ServiceFailure::Throttled
        }
        Some("InternalErrorException" | "ServiceUnavailable" | "ServiceUnavailableException") => {
            ServiceFailure::ServiceFailed
        }
        Some(
            "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "ExpiredTokenException"
            | "IncompleteSignature"
            | "IncompleteSignatureException"
            | "MissingAuthenticationToken"
            | "MissingAuthenticationTokenException",
        ) => ServiceFailure::CredentialsRejected,
        _ => ServiceFailure::Other,
    }
}

/// A failure of the connection itself: I/O (refused, reset, DNS, TLS), or a
/// connection that closed mid-answer, which the SDK's HTTP client marks as
/// transient.
fn is_transport_failure(dispatch: &DispatchFailure) -> bool {
    dispatch.is_io()
        || dispatch
            .as_connector_error()
            .and_then(|connector| connector.as_other())
            .is_some_and(|kind| kind == ErrorKind::TransientError)
}

fn caused_by_credentials(err: &(dyn StdError + 'static)) -> bool {
    credentials_error(err).is_some()
}

fn credentials_error<'e>(err: &'e (dyn StdError + 'static)) -> Option<&'e CredentialsError> {
    cause::<CredentialsError>(err)
}

/// The error and its sources, for logs.
fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(err) = source {
        text.push_str(": ");
        text.push_str(&err.to_string());
        source = err.source();
    }
    text
}

impl std::fmt::Display for CognitoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

/// Holds no SDK type, so no source: `detail` says what the SDK said.
impl StdError for CognitoError {}
