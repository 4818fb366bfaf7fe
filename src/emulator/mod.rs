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
//! Tests steer it through [`Emulator`]: inject faults into the next calls or
//! into every call for one job, refuse connections for a while, add jobs, and
//! count the calls it received, those in flight and those abandoned.
//!
//! Benchmarks start it without state ([`Emulator::start_for_benchmarks`]), so
//! that the backend is neither the bottleneck nor a store that fills up.

pub mod jobs;

use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use bytes::Bytes;
use http::{
    Request, Response, StatusCode,
    header::{CONTENT_LENGTH, CONTENT_TYPE},
};
use http_body_util::{BodyExt, Full, Limited, combinators::BoxBody};
use hyper::{
    body::{Frame, Incoming, SizeHint},
    server::conn::http1,
    service::service_fn,
};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{Notify, watch},
    task::JoinHandle,
};

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
    /// Never answer: hold the call until its caller goes away (it is then
    /// counted in [`Emulator::abandoned_calls`]).
    Hang,
    /// Answer HTTP 200 with a body that is not JSON: a JSON document cut
    /// short, its length announced correctly.
    MalformedBody,
    /// Answer with this HTTP status and JSON body, whatever the call asked.
    Respond { status: u16, body: String },
    /// Answer with this HTTP status, `Content-Type` and body, as a proxy or
    /// load balancer in front of Cognito might (see [`Fault::html_page`]).
    WrongContentType {
        status: u16,
        content_type: String,
        body: String,
    },
    /// Answer HTTP 200 announcing a whole answer's `Content-Length`, send
    /// half of it, and close the connection. The job is left as it was.
    TruncatedBody,
    /// Answer normally, padded to `bytes` bytes in all with a member Cognito
    /// does not send, its length announced in `Content-Length`, or, when
    /// `chunked`, not announced. The padding is streamed a chunk at a time:
    /// the emulator holds no copy of it, so what memory the answer costs is
    /// the receiver's.
    OversizedBody { bytes: usize, chunked: bool },
    /// Close the connection without answering.
    DropConnection,
    /// Reset the connection (TCP RST) without answering.
    ResetConnection,
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

    /// An HTML error page with this HTTP status, as a proxy sends one.
    pub fn html_page(status: u16) -> Self {
        Fault::WrongContentType {
            status,
            content_type: "text/html; charset=utf-8".to_owned(),
            body: format!(
                "<html><head><title>{status}</title></head><body><h1>{status}</h1><p>The proxy could not complete the request.</p></body></html>"
            ),
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
    /// When the call arrived, for counting calls per second.
    pub received_at: std::time::Instant,
}

#[derive(Default)]
struct Shared {
    pools: Mutex<Pools>,
    faults: Mutex<VecDeque<Fault>>,
    /// Faults for every call about one job, by job id.
    job_faults: Mutex<HashMap<String, Fault>>,
    calls: Mutex<Vec<ReceivedCall>>,
    /// Calls whose caller went away before the answer was sent.
    abandoned: Mutex<usize>,
    /// Calls received and neither answered nor abandoned yet.
    in_flight: AtomicUsize,
    /// Connections open now.
    connections: AtomicUsize,
    /// Changed to close every open connection at once.
    close_connections: watch::Sender<u64>,
    /// Set in benchmark mode: how long each answer waits.
    stateless_latency: Option<Duration>,
}

/// A handle on a running emulator. When the last handle is dropped, it stops
/// accepting connections.
#[derive(Clone)]
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Arc<Acceptor>,
}

/// The task accepting connections, if the emulator is accepting them.
struct Acceptor(Mutex<Option<JoinHandle<()>>>);

impl Drop for Acceptor {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.0).take() {
            task.abort();
        }
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
        let emulator = Self::start_with(Shared::default()).await?;
        seed_demo(&mut lock(&emulator.shared.pools));
        Ok(emulator)
    }

    /// Starts without state, for benchmarks: every valid StopUserImportJob
    /// finds its job running and answers it stopped, after `latency`, as
    /// often as it is asked. Calls are not recorded, so a long run holds
    /// nothing that grows. Faults can still be injected.
    pub async fn start_for_benchmarks(latency: Duration) -> std::io::Result<Self> {
        Self::start_with(Shared {
            stateless_latency: Some(latency),
            ..Shared::default()
        })
        .await
    }

    async fn start_with(shared: Shared) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(shared);
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(Self {
            addr,
            shared,
            accept: Arc::new(Acceptor(Mutex::new(Some(accept)))),
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

    /// Makes every call about the job `job_id` (its `JobId` member) suffer
    /// `fault`, retries included, until [`Emulator::clear_job_fault`]. Faults
    /// queued by [`Emulator::inject`] come first.
    pub fn inject_for_job(&self, job_id: &str, fault: Fault) {
        lock(&self.shared.job_faults).insert(job_id.to_owned(), fault);
    }

    /// Lets calls about `job_id` be answered normally again.
    pub fn clear_job_fault(&self, job_id: &str) {
        lock(&self.shared.job_faults).remove(job_id);
    }

    /// Closes the listening socket, so that connecting is refused, and every
    /// open connection, calls in flight included; returns once they are
    /// closed (or after two seconds). [`Emulator::accept_connections`] opens
    /// the same port again.
    pub async fn refuse_connections(&self) {
        let accept = lock(&self.accept.0).take();
        if let Some(accept) = accept {
            accept.abort();
            // Once the task is gone, so is its listener.
            let _ = accept.await;
        }
        self.shared
            .close_connections
            .send_modify(|generation| *generation += 1);
        let started = Instant::now();
        while self.open_connections() > 0 && started.elapsed() < Duration::from_secs(2) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Accepts connections again on the same port, after
    /// [`Emulator::refuse_connections`].
    pub async fn accept_connections(&self) -> std::io::Result<()> {
        if lock(&self.accept.0).is_some() {
            return Ok(());
        }
        let listener = TcpListener::bind(self.addr).await?;
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&self.shared)));
        if let Some(racing) = lock(&self.accept.0).replace(accept) {
            racing.abort();
        }
        Ok(())
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

    /// Every call received since the last time, in order, forgetting them:
    /// for long runs, whose record would otherwise grow without end.
    pub fn take_calls(&self) -> Vec<ReceivedCall> {
        std::mem::take(&mut *lock(&self.shared.calls))
    }

    /// How many calls were dropped by their caller before being answered.
    pub fn abandoned_calls(&self) -> usize {
        *lock(&self.shared.abandoned)
    }

    /// How many calls were received and are neither answered nor abandoned.
    pub fn calls_in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// How many connections are open now.
    pub fn open_connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
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
        // Answers go out at once, as Cognito's do, not held back by Nagle's
        // algorithm until the previous segment is acknowledged.
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(stream, Arc::clone(&shared)));
    }
}

/// What a call can do to the connection it came on.
#[derive(Default)]
struct ConnectionControl {
    reset: Notify,
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let _open = Counted::new(&shared.connections);
    let mut closing = shared.close_connections.subscribe();
    let control = Arc::new(ConnectionControl::default());
    let service = {
        let (shared, control) = (Arc::clone(&shared), Arc::clone(&control));
        service_fn(move |request| handle(Arc::clone(&shared), Arc::clone(&control), request))
    };
    let mut connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        // A dropped connection is one of the faults; nothing to report.
        _ = &mut connection => {}
        () = control.reset.notified() => {
            let stream = connection.into_parts().io.into_inner();
            // A socket closed while lingering zero seconds sends RST, not FIN.
            let _ = stream.set_zero_linger();
        }
        _ = closing.changed() => {}
    }
}

/// Counts something for as long as it lives.
struct Counted<'a>(&'a AtomicUsize);

impl<'a> Counted<'a> {
    fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(counter)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Counts the call in flight while it lives, and as abandoned unless it was
/// answered.
struct AnswerGuard<'a> {
    shared: &'a Shared,
    answered: bool,
    _in_flight: Counted<'a>,
}

impl<'a> AnswerGuard<'a> {
    fn new(shared: &'a Shared) -> Self {
        Self {
            shared,
            answered: false,
            _in_flight: Counted::new(&shared.in_flight),
        }
    }
}

impl Drop for AnswerGuard<'_> {
    fn drop(&mut self) {
        if !self.answered {
            *lock(&self.shared.abandoned) += 1;
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = BoxBody<Bytes, BoxError>;
type HttpResult = Result<Response<Body>, BoxError>;

async fn handle(
    shared: Arc<Shared>,
    connection: Arc<ConnectionControl>,
    request: Request<Incoming>,
) -> HttpResult {
    let mut guard = AnswerGuard::new(&shared);
    let operation = header(&request, "x-amz-target")
        .and_then(|target| target.strip_prefix(TARGET_PREFIX))
        .unwrap_or_default()
        .to_owned();
    let region = header(&request, "authorization").and_then(signed_region);
    let request_id = uuid::Uuid::new_v4().to_string();
    if shared.stateless_latency.is_none() {
        lock(&shared.calls).push(ReceivedCall {
            operation: operation.clone(),
            region: region.clone(),
            request_id: request_id.clone(),
            received_at: std::time::Instant::now(),
        });
    }
    let is_json =
        header(&request, CONTENT_TYPE.as_str()).is_some_and(|t| t.starts_with(CONTENT_TYPE_JSON));
    // The body first, so that a fault can be picked by the job it is about.
    let body = Limited::new(request.into_body(), MAX_REQUEST_BYTES)
        .collect()
        .await
        .map(|body| body.to_bytes())
        .ok();

    let queued = lock(&shared.faults).pop_front();
    let fault = queued.or_else(|| {
        let job_faults = lock(&shared.job_faults);
        if job_faults.is_empty() {
            return None;
        }
        let job_id = body.as_deref().and_then(job_id_of)?;
        job_faults.get(&job_id).cloned()
    });
    // In benchmark mode, a call that meets no fault waits out the latency.
    let fault = fault.or_else(|| {
        let latency = shared.stateless_latency.filter(|l| !l.is_zero())?;
        Some(Fault::Delay(latency))
    });
    let mut response = match fault {
        None => respond(answer(
            &shared,
            &operation,
            region.as_deref(),
            is_json,
            body,
        )),
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            respond(answer(
                &shared,
                &operation,
                region.as_deref(),
                is_json,
                body,
            ))
        }
        Some(Fault::Hang) => std::future::pending().await,
        Some(Fault::DropConnection) => {
            guard.answered = true;
            return Err("fault injected: connection dropped".into());
        }
        Some(Fault::ResetConnection) => {
            guard.answered = true;
            // The connection's task resets it, dropping this call with it.
            connection.reset.notify_one();
            std::future::pending().await
        }
        Some(Fault::MalformedBody) => respond(Answer::json(
            StatusCode::OK,
            Bytes::from_static(b"{\"UserImportJob\": {\"JobId\": "),
        )),
        Some(Fault::Respond { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            respond(Answer::json(status, Bytes::from(body)))
        }
        Some(Fault::WrongContentType {
            status,
            content_type,
            body,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut response = respond(Answer::json(status, Bytes::from(body)));
            if let Ok(value) = content_type.parse() {
                response.headers_mut().insert(CONTENT_TYPE, value);
            }
            response
        }
        Some(Fault::Error {
            error_type,
            status,
            message,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            respond(Answer::error(status, &error_type, &message))
        }
        Some(Fault::TruncatedBody) => {
            let job_id = body.as_deref().and_then(job_id_of).unwrap_or_default();
            let whole = json!({ "UserImportJob": {
                "JobId": job_id,
                "Status": JobStatus::Stopped.as_str(),
                "CompletionMessage": jobs::STOPPED_MESSAGE,
            }})
            .to_string();
            let whole = Bytes::from(whole);
            let sent = whole.slice(..whole.len() / 2);
            respond_streamed(
                Answer::json(StatusCode::OK, whole.clone()),
                Streamed::cut_short(sent, whole.len()),
            )
        }
        Some(Fault::OversizedBody { bytes, chunked }) => {
            let answer = answer(&shared, &operation, region.as_deref(), is_json, body);
            let mut padded = Streamed::padded(&answer.body, bytes);
            padded.announced = !chunked;
            respond_streamed(answer, padded)
        }
    };
    guard.answered = true;
    if let Ok(id) = request_id.parse() {
        response.headers_mut().insert("x-amzn-requestid", id);
    }
    Ok(response)
}

/// The `JobId` member of a request body.
fn job_id_of(body: &[u8]) -> Option<String> {
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::Object(mut input) => match input.remove("JobId")? {
            Value::String(job_id) => Some(job_id),
            _ => None,
        },
        _ => None,
    }
}

/// An answer in AWS JSON 1.1: its status, body and, for an error, its type.
struct Answer {
    status: StatusCode,
    body: Bytes,
    error_type: Option<String>,
}

impl Answer {
    fn json(status: StatusCode, body: Bytes) -> Self {
        Self {
            status,
            body,
            error_type: None,
        }
    }

    fn error(status: StatusCode, error_type: &str, message: &str) -> Self {
        let body = json!({ "__type": error_type, "message": message }).to_string();
        Self {
            status,
            body: Bytes::from(body),
            error_type: Some(error_type.to_owned()),
        }
    }
}

/// What Cognito would answer: `body` is the request's body, `None` if it
/// was too large or could not be read.
fn answer(
    shared: &Shared,
    operation: &str,
    region: Option<&str>,
    is_json: bool,
    body: Option<Bytes>,
) -> Answer {
    let Some(body) = body else {
        return Answer::error(
            StatusCode::BAD_REQUEST,
            "SerializationException",
            "The request body is too large or was cut short.",
        );
    };
    if !is_json {
        return Answer::error(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            "Requests must be application/x-amz-json-1.1.",
        );
    }
    let Ok(Value::Object(input)) = serde_json::from_slice::<Value>(&body) else {
        return Answer::error(
            StatusCode::BAD_REQUEST,
            "SerializationException",
            "The request body is not a JSON object.",
        );
    };
    let result = match shared.stateless_latency {
        Some(_) => run_stateless(operation, region, &input),
        None => run(&mut lock(&shared.pools), operation, region, &input),
    };
    match result {
        Ok(output) => Answer::json(StatusCode::OK, Bytes::from(output.to_string())),
        Err(ErrorAnswer {
            error_type,
            message,
        }) => {
            let status = if error_type == "InternalErrorException" {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::BAD_REQUEST
            };
            Answer::error(status, error_type, &message)
        }
    }
}

/// The answer as an HTTP response, with Cognito's headers.
fn respond(answer: Answer) -> Response<Body> {
    let body = Full::new(answer.body.clone())
        .map_err(|never| match never {})
        .boxed();
    with_headers(&answer, body)
}

/// The answer's status and headers, with `body` in place of its body.
fn respond_streamed(answer: Answer, body: Streamed) -> Response<Body> {
    let length = body.announced.then_some(body.length);
    let mut response = with_headers(&answer, body.boxed());
    if let Some(length) = length {
        response.headers_mut().insert(CONTENT_LENGTH, length.into());
    }
    response
}

fn with_headers(answer: &Answer, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = answer.status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        http::HeaderValue::from_static(CONTENT_TYPE_JSON),
    );
    if let Some(value) = answer.error_type.as_deref().and_then(|t| t.parse().ok()) {
        headers.insert("x-amzn-errortype", value);
    }
    response
}

/// Filler for padded answers, sent from here as often as needed.
static FILLER: [u8; 64 * 1024] = [b'a'; 64 * 1024];

/// A response body sent a chunk at a time: `head`, `padding` bytes of
/// filler, `tail`; or, when cut short, `head` and then a failure, on which
/// hyper closes the connection short of the announced length.
struct Streamed {
    head: Option<Bytes>,
    padding: usize,
    tail: Option<Bytes>,
    cut_short: bool,
    /// The length, announced in `Content-Length` unless not `announced`
    /// (then the body is sent chunked).
    length: u64,
    announced: bool,
    /// What is left of it to send.
    remaining: u64,
}

impl Streamed {
    /// `answer`, a JSON object, with a first member of filler that brings it
    /// to `bytes` bytes (or a little more, if it is longer already).
    fn padded(answer: &[u8], bytes: usize) -> Self {
        const HEAD: &[u8] = b"{\"EmulatorPadding\":\"";
        let rest = answer.strip_prefix(b"{").unwrap_or(b"}");
        let mut tail = b"\"".to_vec();
        if rest != b"}" {
            tail.push(b',');
        }
        tail.extend_from_slice(rest);
        let padding = bytes.saturating_sub(HEAD.len() + tail.len());
        let length = (HEAD.len() + padding + tail.len()) as u64;
        Self {
            length,
            remaining: length,
            head: Some(Bytes::from_static(HEAD)),
            padding,
            tail: Some(Bytes::from(tail)),
            cut_short: false,
            announced: true,
        }
    }

    /// `sent`, announced as the first part of `length` bytes.
    fn cut_short(sent: Bytes, length: usize) -> Self {
        Self {
            head: Some(sent),
            padding: 0,
            tail: None,
            cut_short: true,
            length: length as u64,
            remaining: length as u64,
            announced: true,
        }
    }
}

impl hyper::body::Body for Streamed {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let chunk = if let Some(head) = this.head.take() {
            head
        } else if this.padding > 0 {
            let n = this.padding.min(FILLER.len());
            this.padding -= n;
            Bytes::from_static(&FILLER[..n])
        } else if this.cut_short {
            this.cut_short = false;
            return Poll::Ready(Some(Err("fault injected: body cut short".into())));
        } else if let Some(tail) = this.tail.take() {
            tail
        } else {
            return Poll::Ready(None);
        };
        this.remaining = this.remaining.saturating_sub(chunk.len() as u64);
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_none() && self.padding == 0 && self.tail.is_none() && !self.cut_short
    }

    fn size_hint(&self) -> SizeHint {
        match self.announced {
            true => SizeHint::with_exact(self.remaining),
            false => SizeHint::default(),
        }
    }
}

/// An error as Cognito answers one: its type and message.
struct ErrorAnswer {
    error_type: &'static str,
    message: String,
}

impl From<jobs::Rejection> for ErrorAnswer {
    fn from(rejection: jobs::Rejection) -> Self {
        Self {
            error_type: rejection.error_type,
            message: rejection.message,
        }
    }
}

fn invalid(message: String) -> ErrorAnswer {
    ErrorAnswer {
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
) -> Result<Value, ErrorAnswer> {
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
        "" => Err(ErrorAnswer {
            error_type: "UnknownOperationException",
            message: "Missing or unknown X-Amz-Target.".to_owned(),
        }),
        other => Err(ErrorAnswer {
            error_type: "UnknownOperationException",
            message: format!("The emulator does not implement {other}."),
        }),
    }
}

/// Benchmark mode: the pool holds just the job the call names, running, so a
/// valid stop goes through the same path as with state, and succeeds.
fn run_stateless(
    operation: &str,
    region: Option<&str>,
    input: &Input,
) -> Result<Value, ErrorAnswer> {
    let mut pools = Pools::default();
    if let Ok((pool, job_id)) = pool_and_job_ids(input, region) {
        pools.put_job(Job::in_status(&pool, &job_id, JobStatus::InProgress));
    }
    run(&mut pools, operation, region, input)
}

fn required_string(input: &Input, member: &str) -> Result<String, ErrorAnswer> {
    input.get(member).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| {
        invalid(format!("1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null", camel(member)))
    })
}

/// The pool id, valid by Cognito's constraints and hosted in the region the
/// call was signed for.
fn pool_id(input: &Input, region: Option<&str>) -> Result<String, ErrorAnswer> {
    let value = required_string(input, "UserPoolId")?;
    let pool =
        UserPoolId::parse(&value).map_err(|violation| invalid(cognito_message(&[violation])))?;
    in_region(pool, region)
}

/// The pool id and job id. Once both are present, every constraint they
/// break is reported at once, as Cognito does.
fn pool_and_job_ids(input: &Input, region: Option<&str>) -> Result<(String, String), ErrorAnswer> {
    let pool = required_string(input, "UserPoolId")?;
    let job = required_string(input, "JobId")?;
    let request = StopRequest::parse(&pool, &job)
        .map_err(|violations| invalid(cognito_message(&violations)))?;
    Ok((in_region(request.user_pool_id, region)?, job))
}

fn in_region(pool: UserPoolId, region: Option<&str>) -> Result<String, ErrorAnswer> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_region_from_the_signature_scope() {
        let auth = "AWS4-HMAC-SHA256 Credential=AKID/20261121/eu-west-1/cognito-idp/aws4_request, SignedHeaders=host, Signature=abc";
        assert_eq!(signed_region(auth).as_deref(), Some("eu-west-1"));
        assert_eq!(signed_region("Bearer x"), None);
    }

    /// The body's frames, polled to the end: data, then an error if any.
    fn frames(mut body: Streamed) -> (Vec<u8>, Option<String>) {
        use hyper::body::Body as _;
        let mut context = Context::from_waker(std::task::Waker::noop());
        let mut data = Vec::new();
        loop {
            match Pin::new(&mut body).poll_frame(&mut context) {
                Poll::Ready(Some(Ok(frame))) => {
                    data.extend_from_slice(frame.data_ref().expect("data frames only"))
                }
                Poll::Ready(Some(Err(error))) => return (data, Some(error.to_string())),
                Poll::Ready(None) => return (data, None),
                Poll::Pending => panic!("the filler is always ready"),
            }
        }
    }

    #[test]
    fn a_padded_answer_is_the_answer_at_the_size_announced() {
        let answer = br#"{"UserImportJob":{"JobId":"import-1"}}"#;
        for (answer, bytes) in [(&answer[..], 300_000), (b"{}", 100)] {
            let body = Streamed::padded(answer, bytes);
            let announced = body.length;
            let (data, error) = frames(body);
            assert_eq!(error, None);
            assert_eq!(data.len(), bytes);
            assert_eq!(announced, bytes as u64);
            let value: Value = serde_json::from_slice(&data).expect("still JSON");
            let mut original: Value = serde_json::from_slice(answer).unwrap();
            original["EmulatorPadding"] = value["EmulatorPadding"].clone();
            assert_eq!(value, original);
        }
    }

    #[test]
    fn a_body_cut_short_sends_part_and_fails() {
        let (data, error) = frames(Streamed::cut_short(Bytes::from_static(b"{\"Us"), 40));
        assert_eq!(data, b"{\"Us");
        assert!(error.is_some());
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
