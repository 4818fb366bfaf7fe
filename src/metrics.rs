//! Prometheus metrics: what the service counts, and the listener that serves
//! them (`--metrics-listen`), apart from the gRPC port.
//!
//! One [`Metrics`] per server, held by the layers and the handler that
//! record into it, rather than a process-wide recorder: each server (and
//! each test's) counts only its own calls. The text is prometheus-client's
//! OpenMetrics encoding. Label values come from bounded sets (methods,
//! status codes, AWS error codes, regions, policy rule names), never from a
//! caller's input.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header::CONTENT_TYPE};
use http_body_util::Full;
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};
use tokio::{net::TcpListener, task::JoinHandle};

use crate::operation::Operation;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    pub method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub method: String,
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CognitoLabels {
    /// Cognito's name for the operation, as in `StopUserImportJob`.
    pub operation: &'static str,
    pub region: String,
    /// `OK`, the AWS error code Cognito answered with, or why no answer came
    /// (`TIMEOUT`, `UNREACHABLE`, ...).
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RegionLabels {
    pub region: String,
}

/// A rate-limit bucket: a region's, for one of Cognito's quotas.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BucketLabels {
    pub region: String,
    /// `read` or `write`.
    pub quota: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RateLimitLabels {
    #[prometheus(flatten)]
    pub bucket: BucketLabels,
    /// For turns, `granted` or `unused`; for refusals, the reason:
    /// `deadline`, `max_wait` or `timed_out`.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// Why a call to Redis for a turn failed: `timeout` or `error`.
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    /// `allow`, `deny` or `unauthenticated`.
    pub decision: String,
    /// The deciding policy rule, or why the caller is not authenticated.
    pub reason: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Latency buckets from 0.5 ms to about 16 s.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// Everything the service counts.
pub struct Metrics {
    registry: Registry,
    pub calls: Family<CallLabels, Counter>,
    pub call_duration: Histograms<MethodLabels>,
    pub calls_in_flight: Family<MethodLabels, Gauge>,
    pub cognito_calls: Family<CognitoLabels, Counter>,
    pub cognito_duration: Histograms<CognitoLabels>,
    pub cognito_retries: Family<RegionLabels, Counter>,
    pub rate_limit_turns: Family<RateLimitLabels, Counter>,
    pub rate_limit_wait_duration: Histograms<BucketLabels>,
    pub rate_limit_refusals: Family<RateLimitLabels, Counter>,
    pub rate_limit_fallback: Gauge,
    pub rate_limit_redis_failures: Family<ReasonLabels, Counter>,
    pub authorization_decisions: Family<DecisionLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let metrics = Self {
            calls: Family::default(),
            call_duration: Family::new_with_constructor(latency),
            calls_in_flight: Family::default(),
            cognito_calls: Family::default(),
            cognito_duration: Family::new_with_constructor(latency),
            cognito_retries: Family::default(),
            rate_limit_turns: Family::default(),
            rate_limit_wait_duration: Family::new_with_constructor(latency),
            rate_limit_refusals: Family::default(),
            rate_limit_fallback: Gauge::default(),
            rate_limit_redis_failures: Family::default(),
            authorization_decisions: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "grpc_server_calls",
            "gRPC calls finished, by method and status code",
            metrics.calls.clone(),
        );
        registry.register(
            "grpc_server_call_duration_seconds",
            "Time from a call's arrival to its answer, by method",
            metrics.call_duration.clone(),
        );
        registry.register(
            "grpc_server_calls_in_flight",
            "gRPC calls being handled, by method",
            metrics.calls_in_flight.clone(),
        );
        registry.register(
            "cognito_calls",
            "Calls to Cognito, by operation, region and outcome (OK or the AWS error code)",
            metrics.cognito_calls.clone(),
        );
        registry.register(
            "cognito_call_duration_seconds",
            "Time a call to Cognito took, retries included, by operation, region and outcome",
            metrics.cognito_duration.clone(),
        );
        registry.register(
            "cognito_retries",
            "Attempts beyond the first that the AWS SDK made, by region",
            metrics.cognito_retries.clone(),
        );
        registry.register(
            "cognito_rate_limit_turns",
            "Turns under the Cognito rate limit, by region, quota (read or write) and outcome: granted to a call, or unused (granted to a call gone before it looked, and given back)",
            metrics.rate_limit_turns.clone(),
        );
        registry.register(
            "cognito_rate_limit_wait_seconds",
            "How long calls granted a turn under the Cognito rate limit waited for it, by region and quota",
            metrics.rate_limit_wait_duration.clone(),
        );
        registry.register(
            "cognito_rate_limit_refusals",
            "Calls refused a turn under the Cognito rate limit, by region, quota and reason: deadline (too late to finish in time), max_wait (too far off), timed_out (gave up waiting)",
            metrics.rate_limit_refusals.clone(),
        );
        registry.register(
            "cognito_rate_limit_fallback",
            "1 while Redis cannot be reached for the shared Cognito rates (--cognito-rate-redis) and turns come from this replica's fallback share, else 0",
            metrics.rate_limit_fallback.clone(),
        );
        registry.register(
            "cognito_rate_limit_redis_failures",
            "Calls to Redis for turns under the shared Cognito rates that failed, by reason: timeout (no answer within --cognito-rate-redis-timeout) or error",
            metrics.rate_limit_redis_failures.clone(),
        );
        registry.register(
            "authorization_decisions",
            "Authorization decisions, by decision and deciding rule or failure reason",
            metrics.authorization_decisions.clone(),
        );
        // The log writer is the process's, not a server's: every server
        // shows the same count.
        registry.register(
            "log_lines_lost",
            "Log lines not written, by kind (audit, call, other) and reason (queue_full, too_long, write_failed, exit)",
            crate::telemetry::writer::LOST_LINES.clone(),
        );
        Self {
            registry,
            ..metrics
        }
    }
}

impl Metrics {
    /// The OpenMetrics text of every metric.
    pub fn render(&self) -> String {
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }

    /// Records a finished call to Cognito.
    pub(crate) fn cognito_call(
        &self,
        operation: Operation,
        region: &str,
        outcome: &str,
        took: Duration,
    ) {
        let labels = CognitoLabels {
            operation: operation.cognito_name(),
            region: region.to_owned(),
            outcome: outcome.to_owned(),
        };
        self.cognito_calls.get_or_create(&labels).inc();
        self.cognito_duration
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// Records an authorization decision.
    pub fn decision(&self, decision: &str, reason: &str) {
        self.authorization_decisions
            .get_or_create(&DecisionLabels {
                decision: decision.to_owned(),
                reason: reason.to_owned(),
            })
            .inc();
    }
}

/// Serves `GET /metrics` on `listener` until the task is aborted.
pub fn serve(listener: TcpListener, metrics: Arc<Metrics>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let metrics = Arc::clone(&metrics);
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let metrics = Arc::clone(&metrics);
                    async move { Ok::<_, std::convert::Infallible>(answer(&request, &metrics)) }
                });
                // A scraper that stalls mid-request does not hold a task forever.
                let _ = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(10))
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

fn answer<B>(request: &Request<B>, metrics: &Metrics) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match (request.method(), request.uri().path()) {
        (&Method::GET, "/metrics") => (
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.render(),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "metrics are at GET /metrics\n".to_owned(),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    response
}
