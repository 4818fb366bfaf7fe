//! One span and one log event per call.
//!
//! The span carries the method, the peer's address, the caller once
//! authenticated and, recorded by the handler as it learns them, the user
//! pool, job, region and AWS request id; the event at the end (when the
//! answer's trailers pass, so a stream has one line, with the status it
//! ended with) adds the gRPC code and the latency. A call refused with an audit event (see `audit`)
//! gets no call line: that event is its one line. Only ids, codes and
//! timings are recorded: never metadata or message bodies, which hold
//! tokens and pre-signed URLs. The same end counts the call in the metrics.
//!
//! With traces exported, a call of the service's gets its server span here
//! too (see `telemetry::traces`), in the trace its `traceparent` names, and
//! ended with the call's code at the same end; the line carries its trace
//! and span ids. Without, the line carries the caller's trace id, if it
//! sent one, so that the caller's trace still finds it.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
    time::Instant,
};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Frame;
use tonic::{Code, Status, body::Body};
use tower::{Layer, Service};
use tracing::{Instrument, Span, field::Empty};

use super::{Audited, BoxFuture, peer};
use crate::{
    error::code_name,
    metrics::{CallLabels, MethodLabels, Metrics},
    proto::{HEALTH_PREFIX, METHODS},
    telemetry::{
        loggable,
        traces::{ServerSpan, Traces, callers_trace_id},
    },
};

#[derive(Clone)]
pub struct CallLogLayer {
    metrics: Arc<Metrics>,
    traces: Option<Traces>,
}

impl CallLogLayer {
    /// `traces`: where the server exports its traces, if it does.
    pub fn new(metrics: Arc<Metrics>, traces: Option<Traces>) -> Self {
        Self { metrics, traces }
    }
}

impl<S> Layer<S> for CallLogLayer {
    type Service = CallLog<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CallLog {
            inner,
            metrics: Arc::clone(&self.metrics),
            traces: self.traces.clone(),
        }
    }
}

#[derive(Clone)]
pub struct CallLog<S> {
    inner: S,
    metrics: Arc<Metrics>,
    traces: Option<Traces>,
}

impl<S, B> Service<Request<B>> for CallLog<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let method = request.uri().path().to_owned();
        let known = METHODS.iter().find(|known| **known == method).copied();
        // The service's methods only: not health checks, reflection or a
        // path the server does not host.
        let trace = known
            .zip(self.traces.as_ref())
            .map(|(path, traces)| traces.server_span(path, request.headers()));
        let (trace_id, span_id) = match &trace {
            Some(trace) => trace.ids().unzip(),
            None => (callers_trace_id(request.headers()), None),
        };
        let span = tracing::info_span!(
            "call",
            method = loggable(&method),
            peer = peer(&request).map(tracing::field::display),
            trace_id = trace_id.map(tracing::field::display),
            span_id = span_id.map(tracing::field::display),
            caller = Empty,
            user_pool_id = Empty,
            job_id = Empty,
            aws_region = Empty,
            aws_request_id = Empty,
            aws_error = Empty,
        );
        if let Some(trace) = &trace {
            request.extensions_mut().insert(trace.clone());
        }
        // Any path the server does not host is `other`: callers cannot add
        // label values.
        let label = MethodLabels {
            method: known.unwrap_or("other").to_owned(),
        };
        self.metrics.calls_in_flight.get_or_create(&label).inc();
        let mut event = CallEvent {
            started: Instant::now(),
            // Health checks come every few seconds from every probe: keep
            // them out of the default log level.
            routine: method.starts_with(HEALTH_PREFIX),
            logged: false,
            metrics: Arc::clone(&self.metrics),
            label,
            trace,
        };
        let call = span.in_scope(|| self.inner.call(request));
        let body_span = span.clone();
        Box::pin(
            async move {
                let result = call.await;
                match result {
                    // Its audit event is the refusal's one line.
                    Ok(response) if response.extensions().get::<Audited>().is_some() => {
                        event.count(Some(response_code(&response)));
                        Ok(response)
                    }
                    // A failure answered in the headers alone.
                    Ok(response) if response.headers().contains_key("grpc-status") => {
                        event.log(response_code(&response));
                        Ok(response)
                    }
                    // The answer's status comes in its trailers, after the
                    // message (or the stream of them): the line is written
                    // then, once per call however many messages it sent.
                    Ok(response) => Ok(response.map(|body| {
                        Body::new(LoggedBody {
                            inner: body,
                            event: Some(event),
                            span: body_span,
                        })
                    })),
                    Err(error) => {
                        tracing::warn!(%error, latency_ms = event.latency_ms(), "call failed in transport");
                        event.count(None);
                        Err(error)
                    }
                }
            }
            .instrument(span),
        )
    }
}

/// A response body that writes the call's line when its trailers pass (with
/// their status), or when it ends without them (OK); dropped before, the
/// call was cancelled, which the event's drop writes.
struct LoggedBody {
    inner: Body,
    event: Option<CallEvent>,
    span: Span,
}

impl LoggedBody {
    fn finish(&mut self, code: Code) {
        if let Some(mut event) = self.event.take() {
            self.span.in_scope(|| event.log(code));
        }
    }
}

impl http_body::Body for LoggedBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                if let Some(trailers) = frame.trailers_ref() {
                    let code = trailers
                        .get("grpc-status")
                        .map_or(Code::Unknown, |value| Code::from_bytes(value.as_bytes()));
                    self.finish(code);
                }
            }
            Some(Err(status)) => self.finish(status.code()),
            None => self.finish(Code::Ok),
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for LoggedBody {
    fn drop(&mut self) {
        // The event's own drop writes CANCELLED, in the call's span.
        let _entered = self.span.enter();
        self.event.take();
    }
}

/// The end-of-call event and count. A call the client cancels is dropped
/// before it ends, inside its span: it is then logged and counted as
/// CANCELLED.
struct CallEvent {
    started: Instant,
    routine: bool,
    logged: bool,
    metrics: Arc<Metrics>,
    label: MethodLabels,
    /// The call's server span, ended with its count.
    trace: Option<ServerSpan>,
}

impl CallEvent {
    fn latency_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }

    fn log(&mut self, code: Code) {
        let latency_ms = self.latency_ms();
        let name = code_name(code);
        if self.routine {
            tracing::debug!(code = name, latency_ms, "call finished");
        } else {
            tracing::info!(code = name, latency_ms, "call finished");
        }
        self.count(Some(code));
    }

    /// `None`: the transport failed.
    fn count(&mut self, code: Option<Code>) {
        self.logged = true;
        if let Some(trace) = self.trace.take() {
            trace.end(code);
        }
        let code = code.map_or("TRANSPORT_ERROR", code_name);
        self.metrics
            .calls
            .get_or_create(&CallLabels {
                method: self.label.method.clone(),
                code: code.to_owned(),
            })
            .inc();
        self.metrics
            .call_duration
            .get_or_create(&self.label)
            .observe(self.started.elapsed().as_secs_f64());
    }
}

impl Drop for CallEvent {
    fn drop(&mut self) {
        if !self.logged {
            self.log(Code::Cancelled);
        }
        self.metrics
            .calls_in_flight
            .get_or_create(&self.label)
            .dec();
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
