//! Connections and requests: AWS JSON 1.1 over HTTP/1.1, with the faults
//! the handle queued applied on the way; and uploads to the bucket, which
//! are no Cognito calls (`uploads`).

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use bytes::Bytes;
use http::{Request, Response, StatusCode, header::CONTENT_TYPE};
use http_body_util::{BodyExt, Limited};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::Notify,
};

use crate::{
    answers::{Answer, Body, BoxError, CONTENT_TYPE_JSON, Streamed, respond, respond_streamed},
    faults::{Fault, job_id_of},
    jobs::{JobStatus, STOPPED_MESSAGE},
    operations::{ErrorAnswer, run, run_stateless},
    state::{ReceivedCall, Shared, lock},
    uploads,
};

const TARGET_PREFIX: &str = "AWSCognitoIdentityProviderService.";
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
        service_fn(move |request| route(Arc::clone(&shared), Arc::clone(&control), request))
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

type HttpResult = Result<Response<Body>, BoxError>;

/// An upload goes to the bucket, uncounted and without faults; anything
/// else is a Cognito call.
async fn route(
    shared: Arc<Shared>,
    connection: Arc<ConnectionControl>,
    request: Request<Incoming>,
) -> HttpResult {
    if uploads::is_upload(request.uri().path()) {
        return uploads::put(&shared, request).await;
    }
    handle(shared, connection, request).await
}

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

    let fault = lock(&shared.faults).take(&operation, body.as_deref());
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
            &request_id,
        )),
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            respond(answer(
                &shared,
                &operation,
                region.as_deref(),
                is_json,
                body,
                &request_id,
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
                "CompletionMessage": STOPPED_MESSAGE,
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
            let answer = answer(
                &shared,
                &operation,
                region.as_deref(),
                is_json,
                body,
                &request_id,
            );
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

/// What Cognito would answer: `body` is the request's body, `None` if it
/// was too large or could not be read.
fn answer(
    shared: &Shared,
    operation: &str,
    region: Option<&str>,
    is_json: bool,
    body: Option<Bytes>,
    request_id: &str,
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
        Some(_) => run_stateless(operation, region, &input, request_id),
        None => run(
            &mut lock(&shared.pools),
            operation,
            region,
            &input,
            request_id,
        ),
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
}
