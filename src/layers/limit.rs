//! Limits on calls in flight: for the whole service, and for each caller.
//! A call over a limit is answered at once, never queued, so a burst can
//! neither pile up memory nor make everyone's calls slow.
//!
//! Both sit after authentication, which reads headers only and never waits,
//! so a caller that proves no identity takes no place in either; and before
//! the message is read and Cognito called. The per-caller limit comes first,
//! so a caller over its allowance is told so (RESOURCE_EXHAUSTED, its own
//! doing) rather than that the service is full, and takes no global place
//! even for an instant. Health checks are never limited: probes must see a
//! busy service as alive.
//!
//! A place is held until the call's answer begins: for a streaming call
//! (reflection, health's Watch), that is when its stream opens, so streams
//! are bounded per connection (`--http2-max-concurrent-streams`) and by the
//! connection's age, not here.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU32, Ordering},
    },
    task::{Context, Poll},
};

use http::{Request, Response};
use tonic::{Status, body::Body};
use tower::{Layer, Service};

use super::{Audited, BoxFuture, peer};
use crate::{
    audit::{self, AuditTrail},
    auth::Caller,
    error::ApiError,
    proto::HEALTH_PREFIX,
};

/// At most `limit` calls in flight in all; more are UNAVAILABLE.
#[derive(Clone)]
pub struct InFlightLimitLayer {
    limit: u32,
    count: Arc<AtomicU32>,
}

impl InFlightLimitLayer {
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            count: Arc::default(),
        }
    }

    /// The layer, recording its refusals in `audit`.
    pub fn audited(self, audit: Arc<AuditTrail>) -> Audit<Self> {
        Audit { limit: self, audit }
    }
}

/// One call's place under the global limit, given back when dropped.
pub struct Slot(Arc<AtomicU32>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// At most `limit` calls in flight per caller; more are RESOURCE_EXHAUSTED
/// with RetryInfo. Callers are told apart by all the identities they proved
/// together (a certificate and a token are one caller); callers that proved
/// none (on open calls, or with `--insecure-allow-unauthenticated`) share
/// one allowance.
#[derive(Clone)]
pub struct CallerLimitLayer {
    limit: u32,
    /// Calls in flight by caller; a caller's entry goes when its count
    /// reaches zero, so the map holds at most one entry per call in flight.
    counts: Arc<Mutex<HashMap<String, u32>>>,
}

impl CallerLimitLayer {
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            counts: Arc::default(),
        }
    }

    /// The layer, recording its refusals in `audit`.
    pub fn audited(self, audit: Arc<AuditTrail>) -> Audit<Self> {
        Audit { limit: self, audit }
    }
}

/// One call's place in its caller's allowance, given back when dropped.
pub struct CallerSlot {
    counts: Arc<Mutex<HashMap<String, u32>>>,
    caller: String,
}

impl Drop for CallerSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.caller) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.caller);
            }
        }
    }
}

/// A limit as a layer: a call it refuses is answered at once, and the
/// refusal is the call's audit event (so it has one line, and a flood of
/// them is summarized like any refusal).
#[derive(Clone)]
pub struct Audit<L> {
    limit: L,
    audit: Arc<AuditTrail>,
}

impl<S, L: Clone> Layer<S> for Audit<L> {
    type Service = Limited<S, L>;

    fn layer(&self, inner: S) -> Self::Service {
        Limited {
            inner,
            limit: self.limit.clone(),
            audit: Arc::clone(&self.audit),
        }
    }
}

/// Why a limit refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Overloaded,
    CallerOverLimit(u32),
}

impl Refusal {
    /// The ErrorInfo reason of the answer, and the limit's flag.
    fn reason_and_rule(self) -> (&'static str, &'static str) {
        match self {
            Refusal::Overloaded => ("SERVICE_OVERLOADED", "max-calls-in-flight"),
            Refusal::CallerOverLimit(_) => ("CALLER_OVER_LIMIT", "max-calls-in-flight-per-caller"),
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Overloaded => ApiError::Overloaded,
            Refusal::CallerOverLimit(limit) => ApiError::CallerOverLimit { limit },
        }
    }
}

/// A limit: admits a call, holding its place until the returned guard is
/// dropped, or says why not.
pub trait Admit {
    type Guard: Send + 'static;

    fn admit<B>(&self, request: &Request<B>) -> Result<Option<Self::Guard>, Refusal>;
}

impl Admit for InFlightLimitLayer {
    type Guard = Slot;

    fn admit<B>(&self, request: &Request<B>) -> Result<Option<Slot>, Refusal> {
        if request.uri().path().starts_with(HEALTH_PREFIX) {
            return Ok(None);
        }
        self.count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .map(|_| Some(Slot(Arc::clone(&self.count))))
            .map_err(|_| Refusal::Overloaded)
    }
}

impl Admit for CallerLimitLayer {
    type Guard = CallerSlot;

    fn admit<B>(&self, request: &Request<B>) -> Result<Option<CallerSlot>, Refusal> {
        if request.uri().path().starts_with(HEALTH_PREFIX) {
            return Ok(None);
        }
        let caller = request
            .extensions()
            .get::<Caller>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(caller.clone()).or_default();
        if *count >= self.limit {
            return Err(Refusal::CallerOverLimit(self.limit));
        }
        *count += 1;
        Ok(Some(CallerSlot {
            counts: Arc::clone(&self.counts),
            caller,
        }))
    }
}

#[derive(Clone)]
pub struct Limited<S, L> {
    inner: S,
    limit: L,
    audit: Arc<AuditTrail>,
}

impl<S, L> Service<Request<Body>> for Limited<S, L>
where
    S: Service<Request<Body>, Response = Response<Body>>,
    S::Future: Send + 'static,
    L: Admit,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        match self.limit.admit(&request) {
            Ok(guard) => {
                let call = self.inner.call(request);
                Box::pin(async move {
                    let response = call.await;
                    drop(guard);
                    response
                })
            }
            Err(refusal) => {
                let (reason, rule) = refusal.reason_and_rule();
                let call = audit::Call {
                    caller: request.extensions().get::<Caller>(),
                    peer: peer(&request).map(|peer| peer.ip()),
                    method: request.uri().path(),
                };
                self.audit.refused(&call, reason, rule);
                let mut response = Status::from(ApiError::from(refusal)).into_http();
                response.extensions_mut().insert(Audited);
                Box::pin(async move { Ok(response) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Identity, Proof};

    fn request(path: &str, caller: Option<&str>) -> Request<()> {
        let mut request = Request::builder().uri(path).body(()).unwrap();
        if let Some(principal) = caller {
            request.extensions_mut().insert(Caller {
                identities: vec![Identity {
                    principal: principal.to_owned(),
                    proof: Proof::Jwt,
                }],
            });
        }
        request
    }

    const STOP: &str = "/importjob.v1.ImportJobService/StopUserImportJob";

    #[test]
    fn the_global_limit_admits_up_to_its_size_and_frees_places_on_drop() {
        let limit = InFlightLimitLayer::new(2);
        let first = limit.admit(&request(STOP, None)).unwrap();
        let second = limit.admit(&request(STOP, None)).unwrap();
        assert!(matches!(
            limit.admit(&request(STOP, None)),
            Err(Refusal::Overloaded)
        ));
        assert!(
            limit
                .admit(&request("/grpc.health.v1.Health/Check", None))
                .is_ok()
        );
        drop(first);
        assert!(limit.admit(&request(STOP, None)).is_ok());
        drop(second);
        assert_eq!(limit.count.load(Ordering::Acquire), 0);
    }

    #[test]
    fn each_caller_has_its_own_allowance() {
        let limit = CallerLimitLayer::new(1);
        let billing = limit.admit(&request(STOP, Some("billing"))).unwrap();
        assert!(matches!(
            limit.admit(&request(STOP, Some("billing"))),
            Err(Refusal::CallerOverLimit(1))
        ));
        let ops = limit.admit(&request(STOP, Some("ops"))).unwrap();
        drop(billing);
        drop(ops);
        assert!(
            limit.counts.lock().unwrap().is_empty(),
            "no entry outlives its calls"
        );
        assert!(limit.admit(&request(STOP, Some("billing"))).is_ok());
    }
}
