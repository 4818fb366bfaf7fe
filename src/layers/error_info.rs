//! Every status the server sends carries exactly one `google.rpc.ErrorInfo`,
//! as the API promises: the service's own statuses are made with one
//! (`error`), but tonic makes some itself (UNIMPLEMENTED for an unknown
//! method, OUT_OF_RANGE for a message over a size limit) and so do the health
//! and reflection services. This layer finds a status without ErrorInfo,
//! in the response's headers (a trailers-only answer) or in its trailers,
//! and gives it one (`error::with_error_info`).

use std::task::{Context, Poll};

use http::{HeaderMap, Request, Response};
use http_body_util::BodyExt;
use hyper::body::Frame;
use tonic::{Status, body::Body};
use tower::{Layer, Service};

use super::BoxFuture;
use crate::error::with_error_info;

#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorInfoLayer;

impl<S> Layer<S> for ErrorInfoLayer {
    type Service = ErrorInfo<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ErrorInfo { inner }
    }
}

#[derive(Debug, Clone)]
pub struct ErrorInfo<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for ErrorInfo<S>
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
        let call = self.inner.call(request);
        Box::pin(async move {
            let mut response = call.await?;
            if response.headers().contains_key("grpc-status") {
                complete(response.headers_mut());
                return Ok(response);
            }
            Ok(response.map(|body| {
                Body::new(body.map_frame(|frame| match frame.into_trailers() {
                    Ok(mut trailers) => {
                        complete(&mut trailers);
                        Frame::trailers(trailers)
                    }
                    Err(frame) => frame,
                }))
            }))
        })
    }
}

/// Gives the status in `headers`, if it is an error without ErrorInfo, one.
fn complete(headers: &mut HeaderMap) {
    let Some(status) = Status::from_header_map(headers) else {
        return;
    };
    if status.code() == tonic::Code::Ok {
        return;
    }
    // The status was valid headers already; with an ErrorInfo added it is
    // too, or it is left as it came.
    if let Err(unencodable) = with_error_info(status).add_header(headers) {
        tracing::warn!(%unencodable, "a status could not be given its ErrorInfo");
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::{BodyExt, StreamBody};
    use tonic::Code;
    use tonic_types::StatusExt;
    use tower::{ServiceExt, service_fn};

    use super::*;

    /// Answers with a status: trailers-only, or after one message, in the
    /// trailers.
    async fn answer(trailers_only: bool, status: Status) -> Response<Body> {
        let service = ErrorInfoLayer.layer(service_fn(move |_: Request<()>| {
            let status = status.clone();
            async move {
                if trailers_only {
                    return Ok::<_, std::convert::Infallible>(status.into_http());
                }
                let mut trailers = HeaderMap::new();
                status.add_header(&mut trailers).unwrap();
                let frames = [
                    Ok::<_, Status>(Frame::data(bytes::Bytes::from_static(b"message"))),
                    Ok(Frame::trailers(trailers)),
                ];
                let body = StreamBody::new(tokio_stream::iter(frames));
                Ok(Response::new(Body::new(body)))
            }
        }));
        service.oneshot(Request::new(())).await.unwrap()
    }

    async fn status_of(response: Response<Body>) -> Status {
        if let Some(status) = Status::from_header_map(response.headers()) {
            return status;
        }
        let collected = response.into_body().collect().await.unwrap();
        Status::from_header_map(collected.trailers().unwrap()).unwrap()
    }

    #[tokio::test]
    async fn a_status_without_error_info_gets_one_where_it_is_sent() {
        for trailers_only in [true, false] {
            let status = status_of(answer(trailers_only, Status::unimplemented("no")).await).await;
            assert_eq!(status.code(), Code::Unimplemented);
            assert_eq!(status.message(), "no");
            let info = status.get_details_error_info().expect("an ErrorInfo");
            assert_eq!(
                info.reason, "METHOD_NOT_FOUND",
                "trailers only: {trailers_only}"
            );
        }
    }

    #[tokio::test]
    async fn ok_and_statuses_with_error_info_are_left_alone() {
        let own = Status::from(crate::error::ApiError::Overloaded);
        for trailers_only in [true, false] {
            let status = status_of(answer(trailers_only, own.clone()).await).await;
            assert_eq!(status.details(), own.details());
        }
        let ok = status_of(answer(false, Status::ok("")).await).await;
        assert_eq!(ok.code(), Code::Ok);
        assert!(ok.details().is_empty());
    }
}
