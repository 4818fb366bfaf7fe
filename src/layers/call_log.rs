//! One span and one log event per call.
//!
//! The span carries the method and, recorded by the handler as it learns
//! them, the user pool, job, region and AWS request id; the event at the end
//! adds the gRPC code and the latency. Only ids, codes and timings are
//! recorded: never metadata or message bodies, which hold tokens and
//! pre-signed URLs.

use std::{
    task::{Context, Poll},
    time::Instant,
};

use http::{Request, Response};
use tonic::Code;
use tower::{Layer, Service};
use tracing::{Instrument, field::Empty};

use super::BoxFuture;

#[derive(Debug, Clone, Copy, Default)]
pub struct CallLogLayer;

impl<S> Layer<S> for CallLogLayer {
    type Service = CallLog<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CallLog { inner }
    }
}

#[derive(Debug, Clone)]
pub struct CallLog<S> {
    inner: S,
}

impl<S, B, R> Service<Request<B>> for CallLog<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let method = request.uri().path().to_owned();
        let span = tracing::info_span!(
            "call",
            method = %method,
            caller = Empty,
            user_pool_id = Empty,
            job_id = Empty,
            aws_region = Empty,
            aws_request_id = Empty,
            aws_error = Empty,
        );
        // Health checks come every few seconds from every probe: keep them
        // out of the default log level.
        let mut event = CallEvent {
            started: Instant::now(),
            routine: method.starts_with("/grpc.health.v1."),
            logged: false,
        };
        let call = span.in_scope(|| self.inner.call(request));
        Box::pin(
            async move {
                let result = call.await;
                match &result {
                    Ok(response) => event.log(code_name(response_code(response))),
                    Err(error) => {
                        event.logged = true;
                        tracing::warn!(%error, latency_ms = event.latency_ms(), "call failed in transport");
                    }
                }
                result
            }
            .instrument(span),
        )
    }
}

/// The end-of-call event. A call the client cancels is dropped before it
/// ends, inside its span: the event is then logged as CANCELLED.
struct CallEvent {
    started: Instant,
    routine: bool,
    logged: bool,
}

impl CallEvent {
    fn latency_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }

    fn log(&mut self, code: &'static str) {
        self.logged = true;
        let latency_ms = self.latency_ms();
        if self.routine {
            tracing::debug!(code, latency_ms, "call finished");
        } else {
            tracing::info!(code, latency_ms, "call finished");
        }
    }
}

impl Drop for CallEvent {
    fn drop(&mut self) {
        if !self.logged {
            self.log(code_name(Code::Cancelled));
        }
    }
}

/// The call's gRPC code: in the headers when the call failed (a
/// trailers-only response); a unary call whose headers carry none succeeded.
fn response_code<R>(response: &Response<R>) -> Code {
    response
        .headers()
        .get("grpc-status")
        .map_or(Code::Ok, |value| Code::from_bytes(value.as_bytes()))
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
