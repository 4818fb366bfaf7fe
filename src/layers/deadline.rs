//! Bounds each call by the caller's gRPC deadline (`grpc-timeout`) and answers
//! DEADLINE_EXCEEDED, with the service's ErrorInfo, when it passes.
//!
//! When the deadline passes, the call's future is dropped, and with it the
//! AWS request and any retries the SDK had left. It is the only timer on the
//! caller's deadline (`connections` serves the calls, without tonic's server
//! and its timeout, which would answer CANCELLED). Keep it outside every
//! layer that awaits before calling on (authorization reads the request
//! body), so that the deadline bounds them too.

use std::{
    task::{Context, Poll},
    time::Duration,
};

use http::{HeaderMap, Request, Response};
use tokio::time::Instant;
use tonic::{Status, body::Body};
use tower::{Layer, Service};

use super::BoxFuture;
use crate::error::ApiError;

/// When the call's deadline passes, for the handler: in the request's
/// extensions when the caller set one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallDeadline(pub Instant);

#[derive(Debug, Clone, Copy, Default)]
pub struct DeadlineLayer;

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Deadline { inner }
    }
}

#[derive(Debug, Clone)]
pub struct Deadline<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for Deadline<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let deadline =
            grpc_timeout(request.headers()).and_then(|timeout| Instant::now().checked_add(timeout));
        if let Some(deadline) = deadline {
            request.extensions_mut().insert(CallDeadline(deadline));
        }
        let call = self.inner.call(request);
        Box::pin(async move {
            let Some(deadline) = deadline else {
                return call.await;
            };
            match tokio::time::timeout_at(deadline, call).await {
                Ok(response) => response,
                Err(_elapsed) => Ok(Status::from(ApiError::DeadlineExceeded).into_http()),
            }
        })
    }
}

/// Parses `grpc-timeout`: at most 8 digits and a unit (H, M, S, m, u, n), as
/// the gRPC over HTTP/2 spec defines it. A malformed value is ignored, as
/// gRPC servers do.
pub fn grpc_timeout(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: &str) -> Option<Duration> {
        let mut headers = HeaderMap::new();
        headers.insert("grpc-timeout", value.parse().unwrap());
        grpc_timeout(&headers)
    }

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(parse("3M"), Some(Duration::from_secs(180)));
        assert_eq!(parse("4S"), Some(Duration::from_secs(4)));
        assert_eq!(parse("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse("99999999u"), Some(Duration::from_micros(99_999_999)));
        assert_eq!(parse("7n"), Some(Duration::from_nanos(7)));
    }

    #[test]
    fn ignores_malformed_values() {
        for value in ["", "S", "100", "100x", "123456789S", "-1S", "1.5S", "١S"] {
            assert_eq!(parse(value), None, "{value:?}");
        }
        assert_eq!(grpc_timeout(&HeaderMap::new()), None);
    }
}
