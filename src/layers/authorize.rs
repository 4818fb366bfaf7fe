//! Authorization: the policy's decision on an authenticated call, with its
//! audit event. For an `ImportJobService` method the decision needs the user
//! pool, so this layer reads the request message first, within
//! `--request-body-timeout` whatever the caller's deadline, and puts the body
//! back for tonic.
//!
//! It sits after authentication and after the limits: only a caller that
//! proved who it is gets here, holding its places, and a body that does not
//! come in time gives them back at once.

use std::{
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use bytes::{Buf, Bytes, BytesMut};
use futures_util::StreamExt;
use http::{Request, Response};
use http_body::Frame;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use tonic::{Status, body::Body};
use tower::{Layer, Service};

use super::{Audited, BoxFuture, peer};
use crate::{
    audit::{self, AuditTrail},
    auth::{
        Authorizer, Caller, MessageFailure,
        policy::{Call, Decision},
    },
    error::ApiError,
    metrics::Metrics,
    operation::Operation,
    proto::Scope,
};

#[derive(Clone)]
pub struct AuthorizeLayer {
    authorizer: Arc<Authorizer>,
    audit: Arc<AuditTrail>,
    /// Request messages larger than this are refused unread.
    max_message_bytes: usize,
    /// How long the message may take to arrive.
    body_timeout: Duration,
    metrics: Arc<Metrics>,
}

impl AuthorizeLayer {
    pub fn new(
        authorizer: Arc<Authorizer>,
        audit: Arc<AuditTrail>,
        max_message_bytes: usize,
        body_timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            authorizer,
            audit,
            max_message_bytes,
            body_timeout,
            metrics,
        }
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
        if self
            .layer
            .authorizer
            .needs_no_decision(request.uri().path())
        {
            return Box::pin(self.inner.call(request));
        }
        // The clone is ready only after poll_ready; call the one that is.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let layer = self.layer.clone();
        Box::pin(async move {
            match authorize(&layer, request).await {
                Ok(request) => inner.call(request).await,
                Err(error) => {
                    let mut response = Status::from(error).into_http();
                    response.extensions_mut().insert(Audited);
                    Ok(response)
                }
            }
        })
    }
}

/// Decides one call; on success, the request to pass on, with its body
/// intact.
async fn authorize(
    layer: &AuthorizeLayer,
    request: Request<Body>,
) -> Result<Request<Body>, ApiError> {
    let path = request.uri().path().to_owned();
    let caller = request
        .extensions()
        .get::<Caller>()
        .cloned()
        .unwrap_or_default();
    let peer = peer(&request).map(|peer| peer.ip());
    let call = audit::Call {
        caller: Some(&caller),
        peer,
        method: &path,
    };

    let (request, scope) = if let Some(operation) = Operation::from_path(&path) {
        let read = match operation.streams_request() {
            true => {
                read_first_scope(
                    request,
                    operation,
                    layer.max_message_bytes,
                    layer.body_timeout,
                )
                .await
            }
            false => {
                read_scope(
                    request,
                    operation,
                    layer.max_message_bytes,
                    layer.body_timeout,
                )
                .await
            }
        };
        match read {
            Ok((request, scope)) => (request, Some(scope)),
            Err(failure) => {
                layer.metrics.decision("refused", failure.reason());
                layer
                    .audit
                    .refused(&call, failure.reason(), "request-message");
                return Err(ApiError::Message(failure));
            }
        }
    } else {
        (request, None)
    };
    let user_pool_id = scope.as_ref().map(|s| s.user_pool_id.as_str());
    let job_id = scope.as_ref().and_then(|s| s.job_id.as_deref());

    let Some(policy) = layer.authorizer.policy.as_ref().map(|p| p.current()) else {
        let decision = Decision::Allow {
            rule: "insecure-allow-unauthenticated".to_owned(),
        };
        layer
            .audit
            .decision(&call, user_pool_id, job_id, &decision, "");
        layer.metrics.decision("allow", decision.rule());
        return Ok(request);
    };
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
    layer
        .audit
        .decision(&call, user_pool_id, job_id, &decision, &policy.name);
    let outcome = match decision {
        Decision::Allow { .. } => "allow",
        Decision::Deny { .. } => "deny",
    };
    layer.metrics.decision(outcome, decision.rule());
    match decision {
        Decision::Allow { .. } => Ok(request),
        Decision::Deny { .. } => Err(ApiError::PermissionDenied { method: path }),
    }
}

/// Reads the whole (small) request body within `timeout`, decodes the one
/// gRPC message it must hold as `operation`'s request, keeps its scope, and
/// hands the message to the handler in the request's extensions (tonic gets
/// an empty message in its place). Anything but exactly one uncompressed
/// message that decodes is refused here: tonic would read the first of
/// several messages, and the policy must judge the request the handler will
/// see.
async fn read_scope(
    request: Request<Body>,
    operation: Operation,
    max_message_bytes: usize,
    timeout: Duration,
) -> Result<(Request<Body>, Scope), MessageFailure> {
    let (mut parts, body) = request.into_parts();
    // The 5-byte gRPC frame header, then at most the message limit: reading
    // stops there, whatever the body's length.
    let collected =
        tokio::time::timeout(timeout, Limited::new(body, max_message_bytes + 5).collect())
            .await
            .map_err(|_elapsed| MessageFailure::TimedOut { limit: timeout })?;
    let bytes = match collected {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return Err(MessageFailure::TooLarge {
                limit: max_message_bytes,
            });
        }
        Err(_) => return Err(MessageFailure::Malformed),
    };
    let scope = grpc_message(bytes)
        .and_then(|payload| Scope::decode(operation, payload, Some(&mut parts.extensions)).ok())
        .ok_or(MessageFailure::Malformed)?;
    const EMPTY_MESSAGE: &[u8] = &[0, 0, 0, 0, 0];
    Ok((
        Request::from_parts(
            parts,
            Body::new(Full::new(Bytes::from_static(EMPTY_MESSAGE))),
        ),
        scope,
    ))
}

/// Reads a streamed request's first message within `timeout` (at most
/// `max_message_bytes`), decodes it as `operation`'s request for its scope,
/// and hands tonic the body whole: the bytes read, then the rest as it
/// comes. Only the first message names the scope; the handler refuses any
/// later one that names another.
async fn read_first_scope(
    request: Request<Body>,
    operation: Operation,
    max_message_bytes: usize,
    timeout: Duration,
) -> Result<(Request<Body>, Scope), MessageFailure> {
    let (parts, mut body) = request.into_parts();
    let mut head = BytesMut::new();
    let read = async {
        loop {
            if let Some(length) = message_length(&head) {
                if length > max_message_bytes {
                    return Err(MessageFailure::TooLarge {
                        limit: max_message_bytes,
                    });
                }
                if head.len() >= 5 + length {
                    return Ok(length);
                }
            }
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        head.extend_from_slice(&data);
                    }
                }
                Some(Err(_)) | None => return Err(MessageFailure::Malformed),
            }
        }
    };
    let length = tokio::time::timeout(timeout, read)
        .await
        .map_err(|_elapsed| MessageFailure::TimedOut { limit: timeout })??;
    let head = head.freeze();
    let scope = (head[0] == 0)
        .then(|| head.slice(5..5 + length))
        .and_then(|payload| Scope::decode(operation, payload, None).ok())
        .ok_or(MessageFailure::Malformed)?;
    let body = futures_util::stream::once(async move { Ok(Frame::data(head)) })
        .chain(http_body_util::BodyStream::new(body));
    Ok((
        Request::from_parts(parts, Body::new(StreamBody::new(body))),
        scope,
    ))
}

/// A gRPC message's length, once its 5-byte prefix is in.
fn message_length(head: &[u8]) -> Option<usize> {
    let prefix: [u8; 4] = head.get(1..5)?.try_into().ok()?;
    Some(u32::from_be_bytes(prefix) as usize)
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

#[cfg(test)]
mod tests {
    use super::*;

    use prost::Message;

    use crate::proto::{ListUserImportJobsRequest, StopUserImportJobRequest};

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut frame = vec![0];
        frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        frame.extend_from_slice(payload);
        frame
    }

    #[test]
    fn a_single_grpc_message_is_unframed() {
        let message = StopUserImportJobRequest {
            user_pool_id: "us-east-1_A".to_owned(),
            job_id: "import-a".to_owned(),
        };
        let mut frame = frame(&message.encode_to_vec());
        let payload = grpc_message(Bytes::from(frame.clone())).unwrap();
        let scope = Scope::decode(Operation::StopUserImportJob, payload, None).unwrap();
        assert_eq!(scope.user_pool_id, "us-east-1_A");
        assert_eq!(scope.job_id.as_deref(), Some("import-a"));

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
    fn each_method_is_decoded_as_its_own_request() {
        let list = ListUserImportJobsRequest {
            user_pool_id: "us-east-1_A".to_owned(),
            max_results: 10,
            pagination_token: "t".to_owned(),
        }
        .encode_to_vec();
        let scope =
            Scope::decode(Operation::ListUserImportJobs, list.clone().into(), None).unwrap();
        assert_eq!(scope.user_pool_id, "us-east-1_A");
        assert_eq!(scope.job_id, None, "a list names no job");
        // Field 2 is a number in a list request, a string in a stop request.
        assert!(Scope::decode(Operation::StopUserImportJob, list.into(), None).is_err());
    }
}
