//! The one module that talks to the AWS SDK.
//!
//! It keeps one Cognito client per AWS region, created on first use and reused
//! (clients share one HTTP connection pool), sends each call to the region its
//! user pool id begins with, translates the SDK's job into the proto's
//! `UserImportJob`, and sorts every SDK failure into a [`CognitoError`] that
//! carries no SDK type: what to answer the caller is decided in `error`.

use std::{
    collections::{HashMap, HashSet},
    error::Error as StdError,
    sync::{Arc, RwLock},
};

use aws_config::{BehaviorVersion, SdkConfig, retry::RetryConfig, timeout::TimeoutConfig};
use aws_credential_types::provider::{SharedCredentialsProvider, error::CredentialsError};
use aws_sdk_cognitoidentityprovider::{
    Client,
    config::Region,
    error::{ProvideErrorMetadata, SdkError},
    operation::{
        RequestId,
        stop_user_import_job::{StopUserImportJobError, StopUserImportJobOutput},
    },
    types::{UserImportJobStatusType, UserImportJobType},
};
use aws_smithy_runtime_api::client::result::DispatchFailure;
use aws_smithy_types::{DateTime, retry::ErrorKind};

mod chain;
mod interceptors;

use chain::cause;
pub use interceptors::MAX_RESPONSE_BYTES;
use interceptors::{CapResponseSize, CountRetries, NoRetryAfterTooLarge, ResponseTooLarge};

use crate::{
    configuration::AwsSettings,
    metrics::{Metrics, RegionLabels},
    proto::{UserImportJob, UserImportJobStatus},
    regions::AWS_REGIONS,
    validation::{JobId, StopRequest, UserPoolId},
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

/// A job Cognito stopped, with the id of the AWS request that stopped it.
#[derive(Debug)]
pub struct StoppedJob {
    pub job: UserImportJob,
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

    /// Stops the job in `region` (see [`Cognito::region_for`]). Dropping the
    /// returned future abandons the AWS request.
    pub async fn stop_user_import_job(
        &self,
        region: String,
        request: &StopRequest,
    ) -> Result<StoppedJob, CognitoError> {
        let client = self.client_for(region);
        let output = client
            .stop_user_import_job()
            .user_pool_id(request.user_pool_id.as_str())
            .job_id(request.job_id.as_str())
            .send()
            .await
            .map_err(|err| classify(&err))?;
        Ok(stopped_job(output, &request.job_id))
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

fn stopped_job(output: StopUserImportJobOutput, job_id: &JobId) -> StoppedJob {
    let request_id = output.request_id().map(str::to_owned);
    let job = match output.user_import_job {
        Some(job) => user_import_job(job),
        // Cognito always describes the job; if it ever does not, say which
        // job this was rather than answer an empty message.
        None => UserImportJob {
            job_id: job_id.to_string(),
            ..Default::default()
        },
    };
    StoppedJob { job, request_id }
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

/// Sorts an SDK failure by its variant and, for errors the SDK does not
/// model, by the error code AWS sent: never by message text.
fn classify(err: &SdkError<StopUserImportJobError>) -> CognitoError {
    let failure = match err {
        // Whichever phase the cap stopped it in.
        _ if cause::<ResponseTooLarge>(err).is_some() => Failure::ResponseTooLarge,
        SdkError::ServiceError(context) => Failure::Service(service_failure(context.err())),
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

fn service_failure(err: &StopUserImportJobError) -> ServiceFailure {
    use StopUserImportJobError as E;
    match err {
        E::ResourceNotFoundException(_) => ServiceFailure::ResourceNotFound,
        E::InvalidParameterException(_) => ServiceFailure::InvalidParameter,
        E::PreconditionNotMetException(_) => ServiceFailure::PreconditionNotMet,
        E::OperationNotEnabledException(_) => ServiceFailure::OperationNotEnabled,
        E::NotAuthorizedException(_) => ServiceFailure::AccessDenied,
        E::TooManyRequestsException(_) => ServiceFailure::Throttled,
        E::InternalErrorException(_) => ServiceFailure::ServiceFailed,
        // The SDK's enum is non-exhaustive; what it does not model is matched
        // on the code AWS sent.
        other => match other.code() {
            Some("OperationNotEnabledException") => ServiceFailure::OperationNotEnabled,
            Some("AccessDeniedException") => ServiceFailure::AccessDenied,
            Some("ThrottlingException" | "RequestLimitExceeded" | "TooManyRequestsException") => {
                ServiceFailure::Throttled
            }
            Some(
                "ServiceUnavailable" | "ServiceUnavailableException" | "InternalErrorException",
            ) => ServiceFailure::ServiceFailed,
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
        },
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
