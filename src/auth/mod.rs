//! Who is calling, and may they: authentication (mTLS client certificates,
//! JWT bearer tokens) and a deny-by-default policy per caller, method and user
//! pool. Two tower layers apply them (`layers::authenticate` and
//! `layers::authorize`); this module decides, they wait and answer.
//!
//! For each call, in order:
//! 1. Health is open to all, whatever they present.
//! 2. Every credential the call carries is verified: a bad one, or more than
//!    one `authorization` header, is UNAUTHENTICATED.
//! 3. Reflection is open, unless the policy names it.
//! 4. A call with no credentials is UNAUTHENTICATED (unless the service runs
//!    with `--insecure-allow-unauthenticated`).
//!
//!    All of this reads headers only, before any limit is taken and before a
//!    byte of the body is awaited: a caller that cannot prove who it is
//!    holds nothing.
//! 5. For an `ImportJobService` method, the request message is read (within
//!    `--request-body-timeout`) to learn its user pool (and job, for the
//!    audit trail).
//! 6. The policy decides; a denial is PERMISSION_DENIED, before the handler
//!    runs, so it reveals nothing about whether the pool or job exists.
//! 7. One audit event records the decision (`audit`), and the handler
//!    receives the [`Caller`] in the request's extensions.
//!
//! The policy names callers by their identities as plain strings, whichever
//! way they were proved: a client certificate's SPIFFE ID or DNS name (or,
//! with `--client-cn-identity`, its CN), a token's identity claim. The client
//! CAs and the token issuer therefore speak for one namespace. Only a URI SAN
//! can give a certificate a `scheme://` identity; a DNS name or CN that looks
//! like one is refused, and so is anything that claims to be a SPIFFE ID and
//! is not one in the standard's syntax.

pub mod jwt;
pub mod mtls;
pub mod policy;
pub mod spiffe;

use std::{fmt, sync::Arc, time::Duration};

use http::HeaderMap;

use crate::reload::{Reload, Reloadable};
use jwt::{JwtSettings, KeySet, TokenError};
use mtls::{CertificateError, ClientCertificate};
use policy::Policy;

use crate::proto::{HEALTH_PREFIX, REFLECTION_PREFIX};

/// Why a caller is not authenticated. The variants are what a caller may
/// learn: nothing about the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    NoCredentials,
    /// An `authorization` header that is not `Bearer <token>`.
    NotBearer,
    /// More than one `authorization` header: which one speaks for the
    /// caller would be a guess.
    SeveralAuthorizationHeaders,
    /// A bearer token, but the service verifies none (no `--jwks`).
    TokensNotAccepted,
    Token(TokenError),
    Certificate(CertificateError),
}

impl AuthFailure {
    /// The ErrorInfo reason for it.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            AuthFailure::NoCredentials => "CREDENTIALS_MISSING",
            AuthFailure::NotBearer => "AUTHORIZATION_NOT_BEARER",
            AuthFailure::SeveralAuthorizationHeaders => "AUTHORIZATION_REPEATED",
            AuthFailure::TokensNotAccepted => "TOKENS_NOT_ACCEPTED",
            AuthFailure::Token(error) => error.reason(),
            AuthFailure::Certificate(error) => error.reason(),
        }
    }
}

/// Why the request message the policy needs was not read. The variants
/// are what a caller may learn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageFailure {
    /// Larger than `--max-request-bytes`: refused unread.
    TooLarge { limit: usize },
    /// Not exactly one uncompressed protobuf message of the method's type.
    Malformed,
    /// Not whole within `--request-body-timeout`.
    TimedOut { limit: Duration },
}

impl MessageFailure {
    /// The ErrorInfo reason for it.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            MessageFailure::TooLarge { .. } => "MESSAGE_TOO_LARGE",
            MessageFailure::Malformed => "MESSAGE_MALFORMED",
            MessageFailure::TimedOut { .. } => "REQUEST_BODY_TIMEOUT",
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
    pub(crate) fn as_str(self) -> &'static str {
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
/// identities both ways at once; it has none only on a call open to all
/// (reflection, unless the policy names it) or with
/// `--insecure-allow-unauthenticated`.
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

impl Caller {
    /// How the caller proved its identities, as `mtls+jwt`.
    pub fn proofs(&self) -> String {
        let proofs: Vec<&str> = self.identities.iter().map(|i| i.proof.as_str()).collect();
        proofs.join("+")
    }
}

/// Bearer-token verification: settings and the reloadable key set.
pub struct Jwt {
    pub settings: JwtSettings,
    pub keys: Arc<Reloadable<KeySet>>,
}

/// Everything the authentication and authorization layers need to decide.
pub struct Authorizer {
    /// `None` only with `--insecure-allow-unauthenticated`: every call is
    /// allowed.
    pub policy: Option<Arc<Reloadable<Policy>>>,
    pub jwt: Option<Jwt>,
}

impl Authorizer {
    /// The policy and key set files, for the reload watcher.
    pub fn files(&self) -> Vec<Arc<dyn Reload>> {
        let mut files: Vec<Arc<dyn Reload>> = Vec::new();
        files.extend(self.policy.clone().map(|p| p as Arc<dyn Reload>));
        files.extend(self.jwt.as_ref().map(|j| j.keys.clone() as Arc<dyn Reload>));
        files
    }

    /// Who calls, from the call's headers and connection alone: a caller
    /// that may go on (anonymous only where the call is open to it), or why
    /// not. Every credential the call carries is verified, and one that fails
    /// fails the call, open or not. Health is not asked: it is open to all,
    /// whatever they present.
    pub fn authenticate(
        &self,
        path: &str,
        headers: &HeaderMap,
        client_certificate: Option<&ClientCertificate>,
    ) -> Result<Caller, AuthFailure> {
        let mut caller = Caller::default();
        match client_certificate {
            Some(ClientCertificate::Verified(principal)) => caller.identities.push(Identity {
                principal: principal.clone(),
                proof: Proof::Mtls,
            }),
            Some(ClientCertificate::Rejected(reason)) => {
                return Err(AuthFailure::Certificate(*reason));
            }
            Some(ClientCertificate::None) | None => {}
        }
        let mut authorizations = headers.get_all(http::header::AUTHORIZATION).iter();
        let authorization = authorizations.next();
        if authorizations.next().is_some() {
            return Err(AuthFailure::SeveralAuthorizationHeaders);
        }
        let mut unverifiable_token = false;
        if let Some(value) = authorization {
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
                // Cannot be verified, so set aside: the call goes on only if
                // it is open, or proved an identity otherwise.
                None => unverifiable_token = true,
            }
        }
        if !caller.identities.is_empty() || self.is_open(path) {
            return Ok(caller);
        }
        Err(if unverifiable_token {
            AuthFailure::TokensNotAccepted
        } else {
            AuthFailure::NoCredentials
        })
    }

    /// Whether a call to `path` needs no identity: any call without a policy
    /// (`--insecure-allow-unauthenticated`); with one, the calls that need
    /// no decision.
    pub fn is_open(&self, path: &str) -> bool {
        self.policy.is_none() || self.needs_no_decision(path)
    }

    /// Whether a call to `path` is decided without reading its message and
    /// without an audit event: health, and reflection where it is open.
    pub fn needs_no_decision(&self, path: &str) -> bool {
        path.starts_with(HEALTH_PREFIX)
            || (path.starts_with(REFLECTION_PREFIX)
                && self
                    .policy
                    .as_ref()
                    .is_none_or(|policy| !policy.current().restricts_reflection()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
