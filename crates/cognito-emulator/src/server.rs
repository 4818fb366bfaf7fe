//! Connections, requests and answers: AWS JSON 1.1 over HTTP/1.1, with the
//! faults the handle queued applied on the way.

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
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
    sync::Notify,
};

use crate::{
    faults::Fault,
    jobs::{self, JobStatus},
    operations::{ErrorAnswer, run, run_stateless},
    state::{ReceivedCall, Shared, lock},
};

const TARGET_PREFIX: &str = "AWSCognitoIdentityProviderService.";
const CONTENT_TYPE_JSON: &str = "application/x-amz-json-1.1";
/// Larger request bodies than any import-job operation needs are refused.
const MAX_REQUEST_BYTES: usize = 64 * 1024;

pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
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
}
