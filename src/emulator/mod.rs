//! An embedded Cognito emulator: an HTTP server on a loopback port that speaks
//! Cognito's AWS JSON 1.1 protocol for the user import job operations, so the
//! service (and its tests) run with the real AWS SDK and no AWS account.
//!
//! It answers as Cognito does: `POST /` with `X-Amz-Target:
//! AWSCognitoIdentityProviderService.<Operation>`; errors with HTTP 400 (500
//! for InternalErrorException), an `x-amzn-ErrorType` header and a
//! `{"__type", "message"}` body; every answer with `x-amzn-RequestId`. A pool
//! exists in one region: a call signed for another region does not find it.
//!
//! Tests steer it through [`Emulator`]: inject faults into the next calls,
//! add jobs, and count the calls it received.

pub mod jobs;

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use bytes::Bytes;
use http::{Request, Response, StatusCode, header::CONTENT_TYPE};
use http_body_util::{BodyExt, Full, Limited};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::{net::TcpListener, task::JoinHandle};

use crate::validation::{StopRequest, UserPoolId, cognito_message};
pub use jobs::{Job, JobStatus, Pools};

const TARGET_PREFIX: &str = "AWSCognitoIdentityProviderService.";
const CONTENT_TYPE_JSON: &str = "application/x-amz-json-1.1";
/// Larger request bodies than any import-job operation needs are refused.
const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// The demo user pool the emulator starts with, one job in every status.
pub const DEMO_POOL: &str = "us-east-1_ImportDemo";
/// A second demo pool, in another region.
pub const DEMO_POOL_EU: &str = "eu-west-1_ImportDemo";

/// Something to do instead of answering normally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this AWS error: `error_type` in `x-amzn-ErrorType` and the
    /// body's `__type`, with this HTTP status.
    Error {
        error_type: String,
        status: u16,
        message: String,
    },
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Answer HTTP 200 with a body that is not JSON.
    MalformedBody,
    /// Answer with this HTTP status and JSON body, whatever the call asked.
    Respond { status: u16, body: String },
    /// Close the connection without answering.
    DropConnection,
}

impl Fault {
    /// An AWS error with Cognito's usual HTTP status for it.
    pub fn error(error_type: &str, message: &str) -> Self {
        let status = if error_type == "InternalErrorException" {
            500
        } else {
            400
        };
        Fault::Error {
            error_type: error_type.to_owned(),
            status,
            message: message.to_owned(),
        }
    }
}

/// A call the emulator received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedCall {
    /// The operation, `StopUserImportJob` for example.
    pub operation: String,
    /// The region the call was signed for.
    pub region: Option<String>,
    /// The `x-amzn-RequestId` the emulator answered with.
    pub request_id: String,
}

#[derive(Default)]
struct Shared {
    pools: Mutex<Pools>,
    faults: Mutex<VecDeque<Fault>>,
    calls: Mutex<Vec<ReceivedCall>>,
    /// Calls whose caller went away before the answer was sent.
    abandoned: Mutex<usize>,
}

/// A handle on a running emulator. When the last handle is dropped, it stops
/// accepting connections.
#[derive(Clone)]
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _accept: Arc<AbortOnDrop>,
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves the data consistent, so a poisoned lock
    // (a panic elsewhere) is still safe to use.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Emulator {
    /// Starts on an ephemeral loopback port, seeded with the demo pools.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        seed_demo(&mut lock(&shared.pools));
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(Self {
            addr,
            shared,
            _accept: Arc::new(AbortOnDrop(accept)),
        })
    }

    /// The endpoint URL to point an AWS SDK client at.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Makes each of the next `times` calls suffer `fault`, after any faults
    /// already queued.
    pub fn inject(&self, fault: Fault, times: usize) {
        lock(&self.shared.faults).extend(std::iter::repeat_n(fault, times));
    }

    /// Adds or replaces a job.
    pub fn put_job(&self, job: Job) {
        lock(&self.shared.pools).put_job(job);
    }

    /// The job as the emulator holds it now.
    pub fn job(&self, user_pool_id: &str, job_id: &str) -> Option<Job> {
        lock(&self.shared.pools)
            .job(user_pool_id, job_id)
            .ok()
            .cloned()
    }

    /// Every call received so far, in order.
    pub fn calls(&self) -> Vec<ReceivedCall> {
        lock(&self.shared.calls).clone()
    }

    /// How many calls were dropped by their caller before being answered.
    pub fn abandoned_calls(&self) -> usize {
        *lock(&self.shared.abandoned)
    }

    /// The demo pools and their jobs, for the start-up banner.
    pub fn describe(&self) -> Vec<(String, Vec<(String, String)>)> {
        let pools = lock(&self.shared.pools);
        pools
            .pool_ids()
            .map(|pool| {
                let jobs = pools
                    .jobs(pool)
                    .map(|jobs| jobs.map(|j| (j.job_id.clone(), j.status.clone())).collect());
                (pool.to_owned(), jobs.unwrap_or_default())
            })
            .collect()
    }
}

fn seed_demo(pools: &mut Pools) {
    for (pool, prefix) in [(DEMO_POOL, "import-"), (DEMO_POOL_EU, "import-eu-")] {
        for status in JobStatus::ALL {
            let id = format!("{prefix}{}", kebab(status.as_str()));
            pools.put_job(Job::in_status(pool, &id, status));
        }
    }
}

/// `InProgress` -> `in-progress`.
fn kebab(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.char_indices() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(Arc::clone(&shared), request));
            // A dropped connection is one of the faults; nothing to report.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Counts the call as abandoned unless it was answered.
struct AnswerGuard<'a> {
    shared: &'a Shared,
    answered: bool,
}

impl Drop for AnswerGuard<'_> {
    fn drop(&mut self) {
        if !self.answered {
            *lock(&self.shared.abandoned) += 1;
        }
    }
}

type HttpResult = Result<Response<Full<Bytes>>, Box<dyn std::error::Error + Send + Sync>>;

async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> HttpResult {
    let mut guard = AnswerGuard {
        shared: &shared,
        answered: false,
    };
    let operation = header(&request, "x-amz-target")
        .and_then(|target| target.strip_prefix(TARGET_PREFIX))
        .unwrap_or_default()
        .to_owned();
    let region = header(&request, "authorization").and_then(signed_region);
    let request_id = uuid::Uuid::new_v4().to_string();
    lock(&shared.calls).push(ReceivedCall {
        operation: operation.clone(),
        region: region.clone(),
        request_id: request_id.clone(),
    });

    let fault = lock(&shared.faults).pop_front();
    let response = match fault {
        Some(Fault::DropConnection) => {
            guard.answered = true;
            return Err("fault injected: connection dropped".into());
        }
        Some(Fault::MalformedBody) => Ok(json_response(
            StatusCode::OK,
            Bytes::from_static(b"{\"UserImportJob\": {\"JobId\": "),
        )),
        Some(Fault::Respond { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            Ok(json_response(status, Bytes::from(body)))
        }
        Some(Fault::Error {
            error_type,
            status,
            message,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            Ok(error_response(status, &error_type, &message))
        }
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            answer(&shared, &operation, region.as_deref(), request).await
        }
        None => answer(&shared, &operation, region.as_deref(), request).await,
    };
    guard.answered = true;
    let mut response = response?;
    if let Ok(id) = request_id.parse() {
        response.headers_mut().insert("x-amzn-requestid", id);
    }
    Ok(response)
}

async fn answer(
    shared: &Shared,
    operation: &str,
    region: Option<&str>,
    request: Request<Incoming>,
) -> HttpResult {
    let is_json =
        header(&request, CONTENT_TYPE.as_str()).is_some_and(|t| t.starts_with(CONTENT_TYPE_JSON));
    let body = match Limited::new(request.into_body(), MAX_REQUEST_BYTES)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return Ok(error_response(
                StatusCode::BAD_REQUEST,
                "SerializationException",
                "The request body is too large or was cut short.",
            ));
        }
    };
    if !is_json {
        return Ok(error_response(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            "Requests must be application/x-amz-json-1.1.",
        ));
    }
    let Ok(Value::Object(input)) = serde_json::from_slice::<Value>(&body) else {
        return Ok(error_response(
            StatusCode::BAD_REQUEST,
            "SerializationException",
            "The request body is not a JSON object.",
        ));
    };
    let result = run(&mut lock(&shared.pools), operation, region, &input);
    Ok(match result {
        Ok(output) => json_response(StatusCode::OK, Bytes::from(output.to_string())),
        Err(Failure {
            error_type,
            message,
        }) => {
            let status = if error_type == "InternalErrorException" {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::BAD_REQUEST
            };
            error_response(status, error_type, &message)
        }
    })
}

struct Failure {
    error_type: &'static str,
    message: String,
}

impl From<jobs::Rejection> for Failure {
    fn from(rejection: jobs::Rejection) -> Self {
        Self {
            error_type: rejection.error_type,
            message: rejection.message,
        }
    }
}

fn invalid(message: String) -> Failure {
    Failure {
        error_type: "InvalidParameterException",
        message,
    }
}

type Input = serde_json::Map<String, Value>;

/// Runs one operation against the state.
fn run(
    pools: &mut Pools,
    operation: &str,
    region: Option<&str>,
    input: &Input,
) -> Result<Value, Failure> {
    let job_json = |job: &Job| json!({ "UserImportJob": job.to_json() });
    match operation {
        "StopUserImportJob" => {
            let (pool, job) = pool_and_job_ids(input, region)?;
            Ok(job_json(pools.stop(&pool, &job)?))
        }
        "StartUserImportJob" => {
            let (pool, job) = pool_and_job_ids(input, region)?;
            Ok(job_json(pools.start(&pool, &job)?))
        }
        "DescribeUserImportJob" => {
            let (pool, job) = pool_and_job_ids(input, region)?;
            Ok(job_json(pools.job(&pool, &job)?))
        }
        "CreateUserImportJob" => {
            let pool = pool_id(input, region)?;
            let name = required_string(input, "JobName")?;
            let role = required_string(input, "CloudWatchLogsRoleArn")?;
            Ok(job_json(pools.create(&pool, &name, &role)?))
        }
        "ListUserImportJobs" => {
            let pool = pool_id(input, region)?;
            let max = input
                .get("MaxResults")
                .and_then(Value::as_u64)
                .filter(|n| (1..=60).contains(n));
            let Some(max) = max else {
                return Err(invalid("1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 60".to_owned()));
            };
            let skip: usize = match input.get("PaginationToken").and_then(Value::as_str) {
                Some(token) => token
                    .parse()
                    .map_err(|_| invalid("Invalid pagination token.".to_owned()))?,
                None => 0,
            };
            let all: Vec<Value> = pools.jobs(&pool)?.map(Job::to_json).collect();
            let page: Vec<Value> = all.iter().skip(skip).take(max as usize).cloned().collect();
            let mut output = json!({ "UserImportJobs": page });
            let next = skip.saturating_add(max as usize);
            if next < all.len() {
                output["PaginationToken"] = json!(next.to_string());
            }
            Ok(output)
        }
        "" => Err(Failure {
            error_type: "UnknownOperationException",
            message: "Missing or unknown X-Amz-Target.".to_owned(),
        }),
        other => Err(Failure {
            error_type: "UnknownOperationException",
            message: format!("The emulator does not implement {other}."),
        }),
    }
}

fn required_string(input: &Input, member: &str) -> Result<String, Failure> {
    input.get(member).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| {
        invalid(format!("1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null", camel(member)))
    })
}

/// The pool id, valid by Cognito's constraints and hosted in the region the
/// call was signed for.
fn pool_id(input: &Input, region: Option<&str>) -> Result<String, Failure> {
    let value = required_string(input, "UserPoolId")?;
    let pool =
        UserPoolId::parse(&value).map_err(|violation| invalid(cognito_message(&[violation])))?;
    in_region(pool, region)
}

/// The pool id and job id. Once both are present, every constraint they
/// break is reported at once, as Cognito does.
fn pool_and_job_ids(input: &Input, region: Option<&str>) -> Result<(String, String), Failure> {
    let pool = required_string(input, "UserPoolId")?;
    let job = required_string(input, "JobId")?;
    let request = StopRequest::parse(&pool, &job)
        .map_err(|violations| invalid(cognito_message(&violations)))?;
    Ok((in_region(request.user_pool_id, region)?, job))
}

fn in_region(pool: UserPoolId, region: Option<&str>) -> Result<String, Failure> {
    if region.is_some_and(|region| region != pool.region_prefix()) {
        return Err(jobs::Rejection {
            error_type: "ResourceNotFoundException",
            message: format!("User pool {pool} does not exist."),
        }
        .into());
    }
    Ok(pool.as_str().to_owned())
}

/// `UserPoolId` -> `userPoolId`.
fn camel(member: &str) -> String {
    let mut chars = member.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn header<'r, B>(request: &'r Request<B>, name: &str) -> Option<&'r str> {
    request
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
}

/// The region from a SigV4 `Authorization` header's credential scope
/// (`Credential=AKID/20260101/us-east-1/cognito-idp/aws4_request`).
fn signed_region(authorization: &str) -> Option<String> {
    let scope = authorization.split("Credential=").nth(1)?;
    scope
        .split(',')
        .next()?
        .split('/')
        .nth(2)
        .map(str::to_owned)
}

fn json_response(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        http::HeaderValue::from_static(CONTENT_TYPE_JSON),
    );
    response
}

fn error_response(status: StatusCode, error_type: &str, message: &str) -> Response<Full<Bytes>> {
    let body = json!({ "__type": error_type, "message": message }).to_string();
    let mut response = json_response(status, Bytes::from(body));
    if let Ok(value) = error_type.parse() {
        response.headers_mut().insert("x-amzn-errortype", value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_region_from_the_signature_scope() {
        let auth = "AWS4-HMAC-SHA256 Credential=AKID/20261121/eu-west-1/cognito-idp/aws4_request, SignedHeaders=host, Signature=abc";
        assert_eq!(signed_region(auth).as_deref(), Some("eu-west-1"));
        assert_eq!(signed_region("Bearer x"), None);
    }

    #[test]
    fn demo_job_ids_are_valid() {
        let mut pools = Pools::default();
        seed_demo(&mut pools);
        for pool in [DEMO_POOL, DEMO_POOL_EU] {
            let ids: Vec<_> = pools
                .jobs(pool)
                .unwrap()
                .map(|j| j.job_id.clone())
                .collect();
            assert_eq!(ids.len(), JobStatus::ALL.len());
            assert!(
                ids.iter()
                    .all(|id| crate::validation::JobId::parse(id).is_ok()),
                "{ids:?}"
            );
        }
        assert!(pools.job(DEMO_POOL, "import-in-progress").is_ok());
    }

    #[test]
    fn invalid_ids_get_cognitos_wording() {
        let input: Input =
            serde_json::from_str(r#"{"UserPoolId":"us-east-1_X","JobId":"import_bad"}"#).unwrap();
        let failure = pool_and_job_ids(&input, None).unwrap_err();
        assert_eq!(failure.error_type, "InvalidParameterException");
        assert_eq!(
            failure.message,
            "1 validation error detected: Value 'import_bad' at 'jobId' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: import-[0-9a-zA-Z-]+"
        );
    }
}
