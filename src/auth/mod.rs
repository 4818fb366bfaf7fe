//! Who is calling, and may they: authentication (mTLS client certificates,
//! JWT bearer tokens) and a deny-by-default policy per caller, method and user
//! pool, as one tower layer in front of every service.
//!
//! For each call, in order:
//! 1. Health is open to all, whatever they present.
//! 2. Every credential the call carries is verified: a bad one is
//!    UNAUTHENTICATED.
//! 3. Reflection is open, unless the policy names it.
//! 4. A call with no credentials is UNAUTHENTICATED (unless the service runs
//!    with `--insecure-allow-unauthenticated`).
//! 5. For StopUserImportJob, the request message is read to learn its user
//!    pool (and job, for the audit trail).
//! 6. The policy decides; a denial is PERMISSION_DENIED, before the handler
//!    runs, so it reveals nothing about whether the pool or job exists.
//! 7. One audit event records the decision (target `audit`), and the handler
//!    receives the [`Caller`] in the request's extensions.
//!
//! The policy names callers by their identities as plain strings, whichever
//! way they were proved: a client certificate's SPIFFE ID, DNS name or CN, a
//! token's identity claim. The client CAs and the token issuer therefore
//! speak for one namespace. Only a URI SAN can give a certificate a
//! `scheme://` identity; a DNS name or CN that looks like one is refused.

pub mod jwt;
pub mod mtls;
pub mod policy;
pub mod reload;

use std::{
    fmt,
    sync::Arc,
    task::{Context, Poll},
};

use bytes::{Buf, Bytes};
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use prost::Message;
use tonic::{Status, body::Body};
use tower::{Layer, Service};

use crate::{
    error::ApiError,
    layers::BoxFuture,
    metrics::Metrics,
    proto::StopUserImportJobRequest,
    telemetry::loggable,
    tls::{ClientCertificate, TlsConnectionInfo},
};
use jwt::{JwtSettings, KeySet, TokenError};
use mtls::CertificateError;
use policy::{Call, Decision, Policy};
use reload::Reloadable;

/// The method whose request names a user pool.
const STOP_PATH: &str = "/importjob.v1.ImportJobService/StopUserImportJob";
const HEALTH_PREFIX: &str = "/grpc.health.v1.Health/";
const REFLECTION_PREFIX: &str = "/grpc.reflection.";

/// Why a caller is not authenticated. The variants are what a caller may
/// learn: nothing about the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    NoCredentials,
    /// An `authorization` header that is not `Bearer <token>`.
    NotBearer,
    /// A bearer token, but the service verifies none (no `--jwks`).
    TokensNotAccepted,
    Token(TokenError),
    Certificate(CertificateError),
}

impl AuthFailure {
    /// The ErrorInfo reason for it.
    pub fn reason(self) -> &'static str {
        match self {
            AuthFailure::NoCredentials => "CREDENTIALS_MISSING",
            AuthFailure::NotBearer => "AUTHORIZATION_NOT_BEARER",
            AuthFailure::TokensNotAccepted => "TOKENS_NOT_ACCEPTED",
            AuthFailure::Token(error) => error.reason(),
            AuthFailure::Certificate(error) => error.reason(),
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            AuthFailure::NoCredentials => {
                "the call carries no credentials: present a client certificate or an `authorization: Bearer <token>` header"
            }
            AuthFailure::NotBearer => "the authorization header must be `Bearer <token>`",
            AuthFailure::TokensNotAccepted => "this service does not accept bearer tokens",
            AuthFailure::Token(error) => error.describe(),
            AuthFailure::Certificate(error) => error.describe(),
        }
    }
}

/// How a caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    Mtls,
    Jwt,
}

impl Proof {
    pub fn as_str(self) -> &'static str {
        match self {
            Proof::Mtls => "mtls",
            Proof::Jwt => "jwt",
        }
    }
}

/// One identity a caller proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// As the policy names it: the SPIFFE ID, DNS name or CN of a client
    /// certificate, or a token's identity claim.
    pub principal: String,
    pub proof: Proof,
}

/// The authenticated caller, as the handler receives it. A caller may prove
/// identities both ways at once; it has none only when the service allows
/// unauthenticated calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    pub identities: Vec<Identity>,
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.identities.is_empty() {
            return f.write_str("anonymous");
        }
        for (i, identity) in self.identities.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{}:{}", identity.proof.as_str(), identity.principal)?;
        }
        Ok(())
    }
}

/// Bearer-token verification: settings and the reloadable key set.
pub struct Jwt {
    pub settings: JwtSettings,
    pub keys: Arc<Reloadable<KeySet>>,
}

/// Everything the layer needs to decide.
pub struct Authorizer {
    /// `None` only with `--insecure-allow-unauthenticated`: every call is
    /// allowed.
    pub policy: Option<Arc<Reloadable<Policy>>>,
    pub jwt: Option<Jwt>,
}

impl Authorizer {
    /// Every credential the request carries, verified: one that fails
    /// verification fails the call. A bearer token when no JWKS is configured
    /// cannot be verified and is set aside; if the caller has nothing else,
    /// the policy check says so.
    fn authenticate(
        &self,
        headers: &HeaderMap,
        connection: Option<&TlsConnectionInfo>,
    ) -> Result<Authenticated, AuthFailure> {
        let mut caller = Caller::default();
        match connection.map(|c| &c.client_certificate) {
            Some(ClientCertificate::Verified(principal)) => caller.identities.push(Identity {
                principal: principal.clone(),
                proof: Proof::Mtls,
            }),
            Some(ClientCertificate::Rejected(reason)) => {
                return Err(AuthFailure::Certificate(*reason));
            }
            Some(ClientCertificate::None) | None => {}
        }
        let mut unverifiable_token = false;
        if let Some(value) = headers.get(http::header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .map(str::trim)
                .ok_or(AuthFailure::NotBearer)?;
            match &self.jwt {
                Some(jwt) => {
                    let principal = jwt::verify(token, &jwt.keys.current(), &jwt.settings)
                        .map_err(AuthFailure::Token)?;
                    caller.identities.push(Identity {
                        principal,
                        proof: Proof::Jwt,
                    });
                }
                None => unverifiable_token = true,
            }
        }
        Ok(Authenticated {
            caller,
            unverifiable_token,
        })
    }
}

struct Authenticated {
    caller: Caller,
    unverifiable_token: bool,
}

/// The tower layer.
#[derive(Clone)]
pub struct AuthorizeLayer {
    authorizer: Arc<Authorizer>,
    /// StopUserImportJob messages larger than this are refused unread.
    max_message_bytes: usize,
    metrics: Arc<Metrics>,
}

impl AuthorizeLayer {
    pub fn new(authorizer: Authorizer, max_message_bytes: usize, metrics: Arc<Metrics>) -> Self {
        Self {
            authorizer: Arc::new(authorizer),
            max_message_bytes,
            metrics,
        }
    }

    /// Whether calls must carry credentials: whenever a policy is in force.
    pub fn requires_credentials(&self) -> bool {
        self.authorizer.policy.is_some()
    }
}

impl<S> Layer<S> for AuthorizeLayer {
    type Service = Authorize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authorize {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Authorize<S> {
    inner: S,
    layer: AuthorizeLayer,
}

impl<S> Service<Request<Body>> for Authorize<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The clone is ready only after poll_ready; call the one that is.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let layer = self.layer.clone();
        Box::pin(async move {
            match authorize(&layer, request).await {
                Ok(request) => inner.call(request).await,
                Err(error) => Ok(Status::from(error).into_http()),
            }
        })
    }
}

/// Decides one call; on success, the request to pass on, with its body
/// intact and the [`Caller`] in its extensions.
async fn authorize(
    layer: &AuthorizeLayer,
    request: Request<Body>,
) -> Result<Request<Body>, ApiError> {
    let authorizer = &layer.authorizer;
    let path = request.uri().path().to_owned();
    // Health answers every caller, probes included, whatever they present.
    if path.starts_with(HEALTH_PREFIX) {
        return Ok(request);
    }
    let policy = authorizer.policy.as_ref().map(|p| p.current());

    // Credentials that fail verification fail every other call, open or not.
    let span = tracing::Span::current();
    let authenticated = authorizer.authenticate(
        request.headers(),
        request.extensions().get::<TlsConnectionInfo>(),
    );
    let Authenticated {
        caller,
        unverifiable_token,
    } = match authenticated {
        Ok(authenticated) => authenticated,
        Err(failure) => {
            audit_unauthenticated(&path, failure, &layer.metrics);
            return Err(ApiError::Unauthenticated(failure));
        }
    };
    span.record("caller", tracing::field::display(&caller));

    // Reflection only describes the API: open unless the policy names it.
    if path.starts_with(REFLECTION_PREFIX)
        && policy.as_ref().is_none_or(|p| !p.restricts_reflection())
    {
        return Ok(with_caller(request, caller));
    }

    let (request, message) = if path == STOP_PATH {
        let (request, message) = read_stop_request(request, layer.max_message_bytes).await?;
        (request, Some(message))
    } else {
        (request, None)
    };
    let user_pool_id = message.as_ref().map(|m| m.user_pool_id.as_str());
    let job_id = message.as_ref().map(|m| m.job_id.as_str());

    let Some(policy) = policy else {
        let decision = Decision::Allow {
            rule: "insecure-allow-unauthenticated".to_owned(),
        };
        audit(&caller, &path, user_pool_id, job_id, &decision, "");
        layer.metrics.decision("allow", decision.rule());
        return Ok(with_caller(request, caller));
    };
    if caller.identities.is_empty() {
        let failure = if unverifiable_token {
            AuthFailure::TokensNotAccepted
        } else {
            AuthFailure::NoCredentials
        };
        audit_unauthenticated(&path, failure, &layer.metrics);
        return Err(ApiError::Unauthenticated(failure));
    }
    let principals: Vec<&str> = caller
        .identities
        .iter()
        .map(|i| i.principal.as_str())
        .collect();
    let headers = request.headers();
    let header = |name: &str| {
        let values: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    };
    let decision = policy.decide(&Call {
        principals: &principals,
        path: &path,
        user_pool_id,
        header: &header,
    });
    audit(
        &caller,
        &path,
        user_pool_id,
        job_id,
        &decision,
        &policy.name,
    );
    let outcome = match decision {
        Decision::Allow { .. } => "allow",
        Decision::Deny { .. } => "deny",
    };
    layer.metrics.decision(outcome, decision.rule());
    match decision {
        Decision::Allow { .. } => Ok(with_caller(request, caller)),
        Decision::Deny { .. } => Err(ApiError::PermissionDenied { method: path }),
    }
}

fn with_caller(mut request: Request<Body>, caller: Caller) -> Request<Body> {
    request.extensions_mut().insert(caller);
    request
}

/// Reads the whole (small) request body, decodes the one gRPC message it
/// must hold, and puts the body back for tonic. Anything but exactly one
/// uncompressed message that decodes is refused here: tonic would read the
/// first of several messages, and the policy must judge the request the
/// handler will see.
async fn read_stop_request(
    request: Request<Body>,
    max_message_bytes: usize,
) -> Result<(Request<Body>, StopUserImportJobRequest), ApiError> {
    let (parts, body) = request.into_parts();
    // The 5-byte gRPC frame header, then at most the message limit: reading
    // stops there, whatever the body's length.
    let bytes = match Limited::new(body, max_message_bytes + 5).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return Err(ApiError::MessageTooLarge {
                limit: max_message_bytes,
            });
        }
        Err(_) => return Err(ApiError::MalformedMessage),
    };
    let message = grpc_message(bytes.clone())
        .and_then(|payload| StopUserImportJobRequest::decode(payload).ok())
        .ok_or(ApiError::MalformedMessage)?;
    Ok((
        Request::from_parts(parts, Body::new(Full::new(bytes))),
        message,
    ))
}

/// The payload of a single uncompressed gRPC length-prefixed message.
fn grpc_message(mut frame: Bytes) -> Option<Bytes> {
    if frame.len() < 5 || frame[0] != 0 {
        return None;
    }
    frame.advance(1);
    let length = frame.get_u32() as usize;
    (frame.len() == length).then_some(frame)
}

fn audit(
    caller: &Caller,
    method: &str,
    user_pool_id: Option<&str>,
    job_id: Option<&str>,
    decision: &Decision,
    policy: &str,
) {
    let outcome = match decision {
        Decision::Allow { .. } => "allow",
        Decision::Deny { .. } => "deny",
    };
    let proofs: Vec<&str> = caller.identities.iter().map(|i| i.proof.as_str()).collect();
    tracing::info!(
        target: "audit",
        caller = %caller,
        proof = %proofs.join("+"),
        method,
        user_pool_id = user_pool_id.map(loggable),
        job_id = job_id.map(loggable),
        decision = outcome,
        rule = decision.rule(),
        policy,
        "authorization decision"
    );
}

fn audit_unauthenticated(method: &str, failure: AuthFailure, metrics: &Metrics) {
    metrics.decision("unauthenticated", failure.reason());
    tracing::info!(
        target: "audit",
        caller = "unauthenticated",
        method,
        decision = "deny",
        reason = failure.reason(),
        rule = "authentication",
        "authorization decision"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_grpc_message_is_unframed() {
        let message = StopUserImportJobRequest {
            user_pool_id: "us-east-1_A".to_owned(),
            job_id: "import-a".to_owned(),
        };
        let payload = message.encode_to_vec();
        let mut frame = vec![0];
        frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        frame.extend_from_slice(&payload);
        let decoded =
            StopUserImportJobRequest::decode(grpc_message(Bytes::from(frame.clone())).unwrap())
                .unwrap();
        assert_eq!(decoded, message);

        frame[0] = 1;
        assert_eq!(grpc_message(Bytes::from(frame)), None, "compressed");
        assert_eq!(
            grpc_message(Bytes::from_static(&[0, 0, 0, 0, 9, 1])),
            None,
            "truncated"
        );
        assert_eq!(grpc_message(Bytes::new()), None);
    }

    #[test]
    fn callers_display_every_identity_with_its_proof() {
        let caller = Caller {
            identities: vec![
                Identity {
                    principal: "spiffe://corp/billing".to_owned(),
                    proof: Proof::Mtls,
                },
                Identity {
                    principal: "billing-batch".to_owned(),
                    proof: Proof::Jwt,
                },
            ],
        };
        assert_eq!(
            caller.to_string(),
            "mtls:spiffe://corp/billing jwt:billing-batch"
        );
        assert_eq!(Caller::default().to_string(), "anonymous");
    }
}
