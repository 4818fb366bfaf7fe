//! Every `ImportJobService` method end to end, through one harness: each
//! method's success, every exception botocore's model lists for its Cognito
//! operation, validation with Cognito's wording, the deadline, the quotas,
//! and the pre-signed URL kept out of logs. Authorization per method and
//! pool is in `auth::policy`, through the same harness.

mod answers;
mod failures;

use std::time::Duration;

use import_job_service::{
    emulator::{DEMO_POOL, JobStatus},
    proto::{
        CreateUserImportJobRequest, DescribeUserImportJobRequest, GetCsvHeaderRequest,
        ListUserImportJobsRequest, StartUserImportJobRequest, StopUserImportJobRequest,
        import_job_service_client::ImportJobServiceClient,
    },
};
use tonic::{
    Request, Response, Status,
    client::GrpcService,
    codegen::{Body, Bytes, StdError},
    metadata::{MetadataMap, MetadataValue},
};

use crate::helpers::TestApp;

/// A role ARN as Cognito's pattern has it.
pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/CognitoImportLogs";

/// One of the service's methods, called with a request that is valid for a
/// pool and a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Create,
    GetCsvHeader,
    Start,
    Describe,
    List,
    Stop,
}

/// How a call is sent: an `authorization` header, a `grpc-timeout`.
#[derive(Debug, Clone, Default)]
pub struct Sent<'a> {
    pub authorization: Option<&'a str>,
    pub timeout: Option<Duration>,
}

impl Method {
    pub const ALL: [Method; 6] = [
        Method::Create,
        Method::GetCsvHeader,
        Method::Start,
        Method::Describe,
        Method::List,
        Method::Stop,
    ];

    /// The method's gRPC path.
    pub fn path(self) -> String {
        let rpc = match self {
            Method::GetCsvHeader => "GetCsvHeader",
            other => other.operation(),
        };
        format!("/importjob.v1.ImportJobService/{rpc}")
    }

    /// The Cognito operation the method forwards to.
    pub fn operation(self) -> &'static str {
        match self {
            Method::Create => "CreateUserImportJob",
            Method::GetCsvHeader => "GetCSVHeader",
            Method::Start => "StartUserImportJob",
            Method::Describe => "DescribeUserImportJob",
            Method::List => "ListUserImportJobs",
            Method::Stop => "StopUserImportJob",
        }
    }

    pub fn names_job(self) -> bool {
        matches!(self, Method::Start | Method::Describe | Method::Stop)
    }

    /// Whether the method changes a job (counts against Cognito's write
    /// quota), rather than reads.
    pub fn changes_job(self) -> bool {
        matches!(self, Method::Create | Method::Start | Method::Stop)
    }

    /// The exceptions botocore's model lists for the operation.
    pub fn exceptions(self) -> &'static [&'static str] {
        const READ: &[&str] = &[
            "ResourceNotFoundException",
            "InvalidParameterException",
            "TooManyRequestsException",
            "NotAuthorizedException",
            "InternalErrorException",
        ];
        const START_STOP: &[&str] = &[
            "ResourceNotFoundException",
            "InvalidParameterException",
            "TooManyRequestsException",
            "InternalErrorException",
            "PreconditionNotMetException",
            "NotAuthorizedException",
        ];
        match self {
            Method::Create => &[
                "ResourceNotFoundException",
                "InvalidParameterException",
                "TooManyRequestsException",
                "PreconditionNotMetException",
                "NotAuthorizedException",
                "LimitExceededException",
                "InternalErrorException",
            ],
            Method::Start | Method::Stop => START_STOP,
            Method::GetCsvHeader | Method::Describe | Method::List => READ,
        }
    }

    /// A job in `pool` that the method succeeds on: created for a start,
    /// running for a stop.
    pub fn job_for(self, app: &TestApp, pool: &str) -> String {
        let status = match self {
            Method::Start => JobStatus::Created,
            _ => JobStatus::InProgress,
        };
        app.job_in(pool, status).job_id
    }

    /// Calls the method on `client` for `pool` (and `job`, where the
    /// method names one), answering the response's metadata and the job or
    /// jobs it holds, debug-printed.
    pub async fn send<T>(
        self,
        client: &mut ImportJobServiceClient<T>,
        pool: &str,
        job: &str,
        sent: &Sent<'_>,
    ) -> Result<Response<String>, Status>
    where
        T: GrpcService<tonic::body::Body>,
        T::Error: Into<StdError>,
        T::ResponseBody: Body<Data = Bytes> + Send + 'static,
        <T::ResponseBody as Body>::Error: Into<StdError> + Send,
    {
        let (pool, job) = (pool.to_owned(), job.to_owned());
        macro_rules! call {
            ($rpc:ident, $message:expr) => {
                client
                    .$rpc(sent.request($message))
                    .await
                    .map(|response| response.map(|answer| format!("{answer:?}")))
            };
        }
        match self {
            Method::Create => call!(
                create_user_import_job,
                CreateUserImportJobRequest {
                    user_pool_id: pool,
                    job_name: "harness import".to_owned(),
                    cloud_watch_logs_role_arn: ROLE_ARN.to_owned(),
                    password_hashing_algorithm: None,
                }
            ),
            Method::GetCsvHeader => {
                call!(get_csv_header, GetCsvHeaderRequest { user_pool_id: pool })
            }
            Method::Start => call!(
                start_user_import_job,
                StartUserImportJobRequest {
                    user_pool_id: pool,
                    job_id: job,
                }
            ),
            Method::Describe => call!(
                describe_user_import_job,
                DescribeUserImportJobRequest {
                    user_pool_id: pool,
                    job_id: job,
                }
            ),
            Method::List => call!(
                list_user_import_jobs,
                ListUserImportJobsRequest {
                    user_pool_id: pool,
                    max_results: 10,
                    pagination_token: String::new(),
                }
            ),
            Method::Stop => call!(
                stop_user_import_job,
                StopUserImportJobRequest {
                    user_pool_id: pool,
                    job_id: job,
                }
            ),
        }
    }
}

impl Sent<'_> {
    fn request<M>(&self, message: M) -> Request<M> {
        let mut request = Request::new(message);
        if let Some(value) = self.authorization {
            let mut metadata = MetadataMap::new();
            metadata.insert("authorization", MetadataValue::try_from(value).unwrap());
            *request.metadata_mut() = metadata;
        }
        if let Some(timeout) = self.timeout {
            request.set_timeout(timeout);
        }
        request
    }
}

impl TestApp {
    /// Calls `method` on a job it succeeds on in the demo pool.
    pub async fn call(&self, method: Method) -> Result<Response<String>, Status> {
        let job = method.job_for(self, DEMO_POOL);
        method
            .send(&mut self.client.clone(), DEMO_POOL, &job, &Sent::default())
            .await
    }
}
