//! Authentication, from the call's headers and connection alone: who calls
//! goes into the request's extensions as a [`Caller`], or the call is
//! answered UNAUTHENTICATED on the spot.
//!
//! This layer never waits: it reads no body, and it sits before every limit,
//! so a caller that proves no identity is refused before it can hold a slot
//! or make the service wait for bytes that never come.

use std::{
    sync::Arc,
    task::{Context, Poll},
};

use http::{Request, Response};
use tonic::{Status, body::Body};
use tower::{Layer, Service};

use super::{Audited, BoxFuture, peer};
use crate::{
    audit::{self, AuditTrail},
    auth::{Authorizer, Caller},
    error::ApiError,
    metrics::Metrics,
    proto::HEALTH_PREFIX,
    telemetry::traces::ServerSpan,
    tls::TlsConnectionInfo,
};

#[derive(Clone)]
pub struct AuthenticateLayer {
    authorizer: Arc<Authorizer>,
    audit: Arc<AuditTrail>,
    metrics: Arc<Metrics>,
}

impl AuthenticateLayer {
    pub fn new(authorizer: Arc<Authorizer>, audit: Arc<AuditTrail>, metrics: Arc<Metrics>) -> Self {
        Self {
            authorizer,
            audit,
            metrics,
        }
    }
}

impl<S> Layer<S> for AuthenticateLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticate {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Authenticate<S> {
    inner: S,
    layer: AuthenticateLayer,
}

impl<S> Service<Request<Body>> for Authenticate<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let path = request.uri().path();
        // Health answers every caller, probes included, whatever they present.
        if path.starts_with(HEALTH_PREFIX) {
            return Box::pin(self.inner.call(request));
        }
        let authenticated = self.layer.authorizer.authenticate(
            path,
            request.headers(),
            request
                .extensions()
                .get::<TlsConnectionInfo>()
                .map(|info| &info.client_certificate),
        );
        match authenticated {
            Ok(caller) => {
                tracing::Span::current().record("caller", tracing::field::display(&caller));
                if let Some(trace) = request.extensions().get::<ServerSpan>() {
                    trace.record_caller(&caller);
                }
                request.extensions_mut().insert::<Caller>(caller);
                Box::pin(self.inner.call(request))
            }
            Err(failure) => {
                self.layer
                    .metrics
                    .decision("unauthenticated", failure.reason());
                let call = audit::Call {
                    caller: None,
                    peer: peer(&request).map(|peer| peer.ip()),
                    method: path,
                };
                self.layer
                    .audit
                    .refused(&call, failure.reason(), "authentication");
                let mut response = Status::from(ApiError::Unauthenticated(failure)).into_http();
                response.extensions_mut().insert(Audited);
                Box::pin(std::future::ready(Ok(response)))
            }
        }
    }
}
