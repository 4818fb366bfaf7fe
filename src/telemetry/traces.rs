//! Traces: with `--otlp-endpoint`, a server span per ImportJobService call,
//! in the caller's trace when it sends W3C `traceparent`, and a client span
//! per call to Cognito under it, sent over OTLP/gRPC in batches.
//!
//! The spans are tracing spans of the target [`TARGET`], made into
//! OpenTelemetry spans by tracing-opentelemetry's layer, which sees those
//! spans only (no event, no other span). They are never entered, so a log
//! line's span is still the call's; and their fields are the attributes,
//! named as OpenTelemetry's RPC conventions name them: ids, codes and names
//! only, never metadata, a message, a token or a URL.
//!
//! The subscriber is global, but each server exports to its own collector
//! ([`Traces`]): the layer's tracer ([`Routed`]) builds each span with the
//! tracer carried in the span's parent context, which the server's call log
//! puts there. A span with no such tracer is not recorded.
//!
//! Exporting never waits in a call: a finished span goes onto the batch
//! processor's bounded queue (or is dropped when it is full), and a thread
//! of its own sends the batches. The OpenTelemetry crates log nothing (their
//! `internal-logs` feature is off); a failing collector is reported here, at
//! most once a minute ([`Reported`]).

use std::{
    fmt,
    sync::{Arc, LazyLock, Mutex, PoisonError},
    time::{Duration, Instant},
};

use http::HeaderMap;
use opentelemetry::{
    Context,
    propagation::{Extractor, TextMapPropagator},
    trace::{SpanBuilder, SpanId, TraceContextExt, TraceId, Tracer, TracerProvider},
};
use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::{
    Resource,
    error::{OTelSdkError, OTelSdkResult},
    propagation::TraceContextPropagator,
    trace::{
        BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracer, SdkTracerProvider, SpanData,
        SpanExporter,
    },
};
use tonic::{
    Code,
    transport::{ClientTlsConfig, Endpoint},
};
use tracing::{Span, field::Empty};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{Layer, filter::filter_fn, registry::LookupSpan};

use super::{loggable, loggable_text};
use crate::configuration::TraceSettings;

/// The target of the spans that become OpenTelemetry spans, and of nothing
/// else.
pub const TARGET: &str = "traces";

/// How long one export may take, retries included (OTLP's default).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting to the collector may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Spans waiting for export, at most: past this, finished spans are dropped.
const MAX_QUEUED_SPANS: usize = 4096;
/// Spans in one export request, at most.
const MAX_BATCH_SPANS: usize = 512;
/// The time the last spans get to be exported at shutdown.
const FLUSH_TIME_MIN: Duration = Duration::from_secs(1);
const FLUSH_TIME_MAX: Duration = Duration::from_secs(5);
/// The least time between two lines saying that export fails.
const REPORT_EVERY: Duration = Duration::from_secs(60);

/// The layer that makes the [`TARGET`] spans into OpenTelemetry spans,
/// exported by the server whose call made them.
pub fn layer<S>() -> impl Layer<S>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
{
    tracing_opentelemetry::layer()
        .with_tracer(Routed)
        // Attributes are the spans' fields alone: no source location,
        // thread, target, or busy and idle times (the spans are never
        // entered).
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_tracked_inactivity(false)
        .with_context_activation(false)
        .with_filter(filter_fn(|metadata| {
            metadata.is_span() && metadata.target() == TARGET
        }))
}

/// The tracer of the server that made a span, in its parent context.
#[derive(Clone)]
struct Route(Arc<SdkTracer>);

/// The layer's tracer: each span is built by the tracer its parent context
/// carries, so that it goes to its own server's collector.
#[derive(Debug, Clone, Copy)]
struct Routed;

impl Tracer for Routed {
    type Span = opentelemetry_sdk::trace::Span;

    fn build_with_context(&self, builder: SpanBuilder, parent_cx: &Context) -> Self::Span {
        /// A tracer whose provider is shut down: its spans record nothing.
        static UNROUTED: LazyLock<SdkTracer> = LazyLock::new(|| {
            let provider = SdkTracerProvider::builder().build();
            let _ = provider.shutdown();
            provider.tracer("unrouted")
        });
        match parent_cx.get::<Route>() {
            Some(route) => route.0.build_with_context(builder, parent_cx),
            None => UNROUTED.build_with_context(builder, parent_cx),
        }
    }
}

/// A server's traces: its tracer, and the provider whose batch processor
/// exports to its collector.
#[derive(Clone)]
pub struct Traces {
    provider: SdkTracerProvider,
    route: Route,
}

impl Traces {
    /// Starts exporting to `endpoint` (checked by `configuration`). Within
    /// a Tokio runtime: the channel to the collector runs on it.
    pub fn start(endpoint: &str, settings: &TraceSettings) -> Result<Self, String> {
        let mut channel = Endpoint::from_shared(endpoint.to_owned())
            .map_err(|e| e.to_string())?
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(EXPORT_TIMEOUT);
        if endpoint.starts_with("https://") {
            channel = channel
                .tls_config(ClientTlsConfig::new().with_native_roots())
                .map_err(|e| e.to_string())?;
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_channel(channel.connect_lazy())
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|e| e.to_string())?;
        let exporter = Reported::new(exporter, endpoint);
        let batches = BatchConfigBuilder::default()
            .with_scheduled_delay(settings.otlp_export_interval)
            .with_max_queue_size(MAX_QUEUED_SPANS)
            .with_max_export_batch_size(MAX_BATCH_SPANS)
            .build();
        let processor = BatchSpanProcessor::builder(exporter)
            .with_batch_config(batches)
            .build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                settings.otlp_sampling_ratio,
            ))))
            .with_resource(resource())
            .build();
        let tracer = provider.tracer_with_scope(
            opentelemetry::InstrumentationScope::builder(env!("CARGO_PKG_NAME"))
                .with_version(env!("CARGO_PKG_VERSION"))
                .build(),
        );
        Ok(Self {
            provider,
            route: Route(Arc::new(tracer)),
        })
    }

    /// Exports the spans still queued and stops, within what is left of the
    /// grace (`grace_ends`, none if the server stopped by itself), but at
    /// least [`FLUSH_TIME_MIN`] and at most [`FLUSH_TIME_MAX`], as the log
    /// writer does. The wait is on a blocking thread: the export needs the
    /// runtime.
    pub async fn shutdown(&self, grace_ends: Option<Instant>) {
        let now = Instant::now();
        let time = grace_ends
            .unwrap_or(now)
            .clamp(now + FLUSH_TIME_MIN, now + FLUSH_TIME_MAX)
            - now;
        let provider = self.provider.clone();
        let stopped =
            tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(time)).await;
        match stopped {
            Ok(Ok(()) | Err(OTelSdkError::AlreadyShutdown)) => {}
            Ok(Err(error)) => tracing::warn!(
                error = loggable_text(&error.to_string()),
                "traces: spans still queued at exit may not have been exported"
            ),
            Err(error) => tracing::warn!(%error, "traces: stopping the export failed"),
        }
    }

    /// The server span of a call of `path`, one of the service's methods, in
    /// the trace its `traceparent` names, if any.
    pub(crate) fn server_span(&self, path: &'static str, headers: &HeaderMap) -> ServerSpan {
        let name = path.trim_start_matches('/');
        let (service, method) = name.split_once('/').unwrap_or((name, ""));
        let span = tracing::info_span!(
            target: TARGET,
            parent: None,
            "server",
            otel.name = name,
            otel.kind = "server",
            otel.status_code = Empty,
            rpc.system = "grpc",
            rpc.service = service,
            rpc.method = method,
            rpc.grpc.status_code = Empty,
            importjob.caller = Empty,
            importjob.user_pool_id = Empty,
            importjob.job_id = Empty,
        );
        // Fails only if the subscriber lacks the layer: nothing is traced.
        let _ = span.set_parent(callers_context(headers).with_value(self.route.clone()));
        ServerSpan(span)
    }
}

/// The resource the spans come from: `OTEL_RESOURCE_ATTRIBUTES` and
/// `OTEL_SERVICE_NAME` when set (a pod's name, a cluster's), and this
/// service's name and version.
fn resource() -> Resource {
    let detected = Resource::builder().build();
    let named = detected
        .get(&opentelemetry::Key::from_static_str("service.name"))
        .is_some_and(|name| !name.as_str().starts_with("unknown_service"));
    let mut builder = Resource::builder().with_attribute(opentelemetry::KeyValue::new(
        "service.version",
        env!("CARGO_PKG_VERSION"),
    ));
    if !named {
        builder = builder.with_service_name(env!("CARGO_PKG_NAME"));
    }
    builder.build()
}

/// The caller's trace, from `traceparent` and `tracestate`, or an empty
/// context when it sends none (or an invalid one).
fn callers_context(headers: &HeaderMap) -> Context {
    if !headers.contains_key("traceparent") {
        return Context::new();
    }
    TraceContextPropagator::new().extract_with_context(&Context::new(), &Headers(headers))
}

/// The trace id of the caller's `traceparent`, for the call's log line when
/// the service exports no traces.
pub(crate) fn callers_trace_id(headers: &HeaderMap) -> Option<TraceId> {
    let context = callers_context(headers);
    let span = context.span();
    let span_context = span.span_context();
    span_context.is_valid().then(|| span_context.trace_id())
}

/// The W3C asks that at least this much of a `tracestate` be passed on. A
/// longer one is dropped whole, so that a caller (even one that fails to
/// authenticate) cannot make each span it causes carry kilobytes.
const TRACESTATE_MAX_BYTES: usize = 512;

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        let value = self.0.get(key).and_then(|value| value.to_str().ok())?;
        if key == "tracestate" && value.len() > TRACESTATE_MAX_BYTES {
            return None;
        }
        Some(value)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// A call's server span, in the request's extensions for the layers and the
/// handler to record what they learn. It ends with [`ServerSpan::end`].
#[derive(Clone)]
pub struct ServerSpan(Span);

impl ServerSpan {
    /// The span's trace and span ids, for the call's log line; none if the
    /// span is off (a filter that names the target).
    pub(crate) fn ids(&self) -> Option<(TraceId, SpanId)> {
        let context = self.0.context();
        let span = context.span();
        let span_context = span.span_context();
        span_context
            .is_valid()
            .then(|| (span_context.trace_id(), span_context.span_id()))
    }

    pub(crate) fn record_caller(&self, caller: &impl fmt::Display) {
        self.0
            .record("importjob.caller", tracing::field::display(caller));
    }

    /// The user pool and job the request names, cut as in a log line (they
    /// are not validated yet).
    pub(crate) fn record_scope(&self, user_pool_id: &str, job_id: Option<&str>) {
        self.0
            .record("importjob.user_pool_id", loggable(user_pool_id));
        if let Some(job_id) = job_id {
            self.record_job(job_id);
        }
    }

    pub(crate) fn record_job(&self, job_id: &str) {
        self.0.record("importjob.job_id", loggable(job_id));
    }

    /// A call to Cognito, a child of this span, from now until
    /// [`CognitoSpan::end`].
    pub(crate) fn cognito_call(&self, operation: &str, region: &str) -> CognitoSpan {
        CognitoSpan::new(tracing::info_span!(
            target: TARGET,
            parent: &self.0,
            "cognito",
            otel.name = format_args!("CognitoIdentityProvider.{operation}"),
            otel.kind = "client",
            otel.status_code = Empty,
            rpc.system = "aws-api",
            rpc.service = "CognitoIdentityProvider",
            rpc.method = operation,
            cloud.region = region,
            aws.request_id = Empty,
            error.type = Empty,
        ))
    }

    /// Ends the span with the call's gRPC code; `None` when the transport
    /// failed. As OpenTelemetry's gRPC conventions say, the server's span is
    /// an error only for the codes that are the server's fault.
    pub(crate) fn end(self, code: Option<Code>) {
        if let Some(code) = code {
            self.0
                .record("rpc.grpc.status_code", i64::from(i32::from(code)));
        }
        let failed = match code {
            None => true,
            Some(code) => matches!(
                code,
                Code::Unknown
                    | Code::DeadlineExceeded
                    | Code::Unimplemented
                    | Code::Internal
                    | Code::Unavailable
                    | Code::DataLoss
            ),
        };
        if failed {
            self.0.record("otel.status_code", "error");
        }
    }
}

/// A call to Cognito's span. Dropped without [`CognitoSpan::end`] (the
/// caller's deadline or cancellation dropped the call), it ends as an error,
/// `CANCELLED`: the call's outcome is unknown.
pub(crate) struct CognitoSpan {
    span: Span,
    ended: bool,
}

impl CognitoSpan {
    fn new(span: Span) -> Self {
        Self { span, ended: false }
    }

    /// Ends the span with the AWS request id, and the AWS error code (or
    /// the service's name for the failure) if the call failed.
    pub(crate) fn end(mut self, request_id: Option<&str>, failure: Option<&str>) {
        self.ended = true;
        if let Some(id) = request_id {
            self.span.record("aws.request_id", loggable(id));
        }
        if let Some(failure) = failure {
            self.fail(failure);
        }
    }

    fn fail(&self, failure: &str) {
        self.span.record("error.type", loggable(failure));
        self.span.record("otel.status_code", "error");
    }
}

impl Drop for CognitoSpan {
    fn drop(&mut self) {
        if !self.ended {
            self.fail("CANCELLED");
        }
    }
}

/// An exporter that says when export fails: at once the first time, then at
/// most once every [`REPORT_EVERY`] with the batches and spans lost since,
/// once when it works again, and at shutdown for what is left untold.
#[derive(Debug)]
struct Reported<E> {
    inner: E,
    endpoint: String,
    state: Mutex<Failures>,
}

#[derive(Debug, Default)]
struct Failures {
    /// When the last line saying that export fails was written.
    told_at: Option<Instant>,
    /// Whether that line was the last one written.
    told_failing: bool,
    /// Failed batches and their spans not yet in a line.
    batches: u64,
    spans: u64,
}

impl<E> Reported<E> {
    fn new(inner: E, endpoint: &str) -> Self {
        Self {
            inner,
            endpoint: endpoint.to_owned(),
            state: Mutex::default(),
        }
    }

    fn note(&self, result: &OTelSdkResult, spans: usize) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match result {
            Ok(()) => {
                if state.told_failing {
                    tracing::info!(
                        endpoint = self.endpoint,
                        failed_batches = state.batches,
                        lost_spans = state.spans,
                        "traces: export works again"
                    );
                    state.told_failing = false;
                    (state.batches, state.spans) = (0, 0);
                }
            }
            Err(error) => {
                state.batches += 1;
                state.spans += spans as u64;
                if state.told_at.is_none_or(|at| at.elapsed() >= REPORT_EVERY) {
                    tracing::warn!(
                        endpoint = self.endpoint,
                        error = loggable_text(&error.to_string()),
                        failed_batches = state.batches,
                        lost_spans = state.spans,
                        "traces: export failed, its spans are lost; told at most once a minute"
                    );
                    state.told_at = Some(Instant::now());
                    state.told_failing = true;
                    (state.batches, state.spans) = (0, 0);
                }
            }
        }
    }
}

impl<E: SpanExporter> SpanExporter for Reported<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        let result = self.inner.export(batch).await;
        self.note(&result, spans);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.batches > 0 {
            tracing::warn!(
                endpoint = self.endpoint,
                failed_batches = state.batches,
                lost_spans = state.spans,
                "traces: export failed since the last line, its spans are lost"
            );
        }
        drop(state);
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(tracestate: &str) -> Context {
        let mut headers = HeaderMap::new();
        headers.insert(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                .parse()
                .unwrap(),
        );
        headers.insert("tracestate", tracestate.parse().unwrap());
        callers_context(&headers)
    }

    fn tracestate(context: &Context) -> String {
        context.span().span_context().trace_state().header()
    }

    #[test]
    fn a_tracestate_is_kept_up_to_the_w3c_minimum_and_dropped_past_it() {
        // 32 members, as many as the W3C allows.
        let members = |value: &str| {
            (0..32)
                .map(|member| format!("k{member:02}={value}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let short = members(&"a".repeat(10));
        assert!(short.len() <= TRACESTATE_MAX_BYTES);
        assert_eq!(tracestate(&context(&short)), short);
        let long = members(&"a".repeat(20));
        assert!(long.len() > TRACESTATE_MAX_BYTES);
        let dropped = context(&long);
        assert_eq!(tracestate(&dropped), "");
        // The trace itself is still the caller's.
        assert!(dropped.span().span_context().is_valid());
    }
}
