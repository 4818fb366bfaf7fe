//! A panic while handling a call answers that call INTERNAL, and the process
//! keeps serving the others. (Without this layer the panic would end only
//! the call's task, and its caller would see a reset stream, not a status.)

use std::{
    panic::AssertUnwindSafe,
    task::{Context, Poll},
};

use futures_util::FutureExt;
use http::{Request, Response};
use tonic::{Status, body::Body};
use tower::{Layer, Service};

use super::BoxFuture;
use crate::error::ApiError;

#[derive(Debug, Clone, Copy, Default)]
pub struct CatchPanicLayer;

impl<S> Layer<S> for CatchPanicLayer {
    type Service = CatchPanic<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CatchPanic { inner }
    }
}

#[derive(Debug, Clone)]
pub struct CatchPanic<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for CatchPanic<S>
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

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // Nothing the call shares with other calls is left half-changed by a
        // panic: the service's shared state sits behind locks that recover
        // from poisoning, and atomics.
        let call = std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(request)));
        Box::pin(async move {
            let outcome = match call {
                Ok(call) => AssertUnwindSafe(call).catch_unwind().await,
                Err(panic) => Err(panic),
            };
            outcome.unwrap_or_else(|_| {
                tracing::error!("the call's handling panicked; answered INTERNAL");
                Ok(Status::from(ApiError::Panicked).into_http())
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tonic::Code;
    use tower::{ServiceExt, service_fn};

    use super::*;

    #[tokio::test]
    async fn a_panicking_call_is_answered_internal() {
        let panics = service_fn(|request: Request<()>| async move {
            if request.uri().path() == "/panic" {
                panic!("a bug");
            }
            Ok::<_, Infallible>(Response::new(Body::empty()))
        });
        let mut service = CatchPanicLayer.layer(panics);
        let request = |path: &str| Request::builder().uri(path).body(()).unwrap();

        let response = service
            .ready()
            .await
            .unwrap()
            .call(request("/panic"))
            .await
            .unwrap();
        let status = Status::from_header_map(response.headers()).expect("a gRPC status");
        assert_eq!(status.code(), Code::Internal);

        let response = service
            .ready()
            .await
            .unwrap()
            .call(request("/fine"))
            .await
            .unwrap();
        assert!(Status::from_header_map(response.headers()).is_none());
    }
}
