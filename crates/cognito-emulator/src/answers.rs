//! Answers in AWS JSON 1.1 as HTTP responses, with Cognito's headers; and
//! the bodies faults send instead: padded to a size, or cut short.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use http::{
    Response, StatusCode,
    header::{CONTENT_LENGTH, CONTENT_TYPE},
};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::{Frame, SizeHint};
use serde_json::json;

pub(crate) const CONTENT_TYPE_JSON: &str = "application/x-amz-json-1.1";

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub(crate) type Body = BoxBody<Bytes, BoxError>;

/// An answer in AWS JSON 1.1: its status, body and, for an error, its type.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Bytes,
    error_type: Option<String>,
}

impl Answer {
    pub(crate) fn json(status: StatusCode, body: Bytes) -> Self {
        Self {
            status,
            body,
            error_type: None,
        }
    }

    pub(crate) fn error(status: StatusCode, error_type: &str, message: &str) -> Self {
        let body = json!({ "__type": error_type, "message": message }).to_string();
        Self {
            status,
            body: Bytes::from(body),
            error_type: Some(error_type.to_owned()),
        }
    }
}

/// The answer as an HTTP response, with Cognito's headers.
pub(crate) fn respond(answer: Answer) -> Response<Body> {
    let body = Full::new(answer.body.clone())
        .map_err(|never| match never {})
        .boxed();
    with_headers(&answer, body)
}

/// The answer's status and headers, with `body` in place of its body.
pub(crate) fn respond_streamed(answer: Answer, body: Streamed) -> Response<Body> {
    let length = body.announced.then_some(body.length);
    let mut response = with_headers(&answer, body.boxed());
    if let Some(length) = length {
        response.headers_mut().insert(CONTENT_LENGTH, length.into());
    }
    response
}

fn with_headers(answer: &Answer, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = answer.status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        http::HeaderValue::from_static(CONTENT_TYPE_JSON),
    );
    if let Some(value) = answer.error_type.as_deref().and_then(|t| t.parse().ok()) {
        headers.insert("x-amzn-errortype", value);
    }
    response
}

/// Filler for padded answers, sent from here as often as needed.
static FILLER: [u8; 64 * 1024] = [b'a'; 64 * 1024];

/// A response body sent a chunk at a time: `head`, `padding` bytes of
/// filler, `tail`; or, when cut short, `head` and then a failure, on which
/// hyper closes the connection short of the announced length.
pub(crate) struct Streamed {
    head: Option<Bytes>,
    padding: usize,
    tail: Option<Bytes>,
    cut_short: bool,
    /// The length, announced in `Content-Length` unless not `announced`
    /// (then the body is sent chunked).
    length: u64,
    pub(crate) announced: bool,
    /// What is left of it to send.
    remaining: u64,
}

impl Streamed {
    /// `answer`, a JSON object, with a first member of filler that brings it
    /// to `bytes` bytes (or a little more, if it is longer already).
    pub(crate) fn padded(answer: &[u8], bytes: usize) -> Self {
        const HEAD: &[u8] = b"{\"EmulatorPadding\":\"";
        let rest = answer.strip_prefix(b"{").unwrap_or(b"}");
        let mut tail = b"\"".to_vec();
        if rest != b"}" {
            tail.push(b',');
        }
        tail.extend_from_slice(rest);
        let padding = bytes.saturating_sub(HEAD.len() + tail.len());
        let length = (HEAD.len() + padding + tail.len()) as u64;
        Self {
            length,
            remaining: length,
            head: Some(Bytes::from_static(HEAD)),
            padding,
            tail: Some(Bytes::from(tail)),
            cut_short: false,
            announced: true,
        }
    }

    /// `sent`, announced as the first part of `length` bytes.
    pub(crate) fn cut_short(sent: Bytes, length: usize) -> Self {
        Self {
            head: Some(sent),
            padding: 0,
            tail: None,
            cut_short: true,
            length: length as u64,
            remaining: length as u64,
            announced: true,
        }
    }
}

impl hyper::body::Body for Streamed {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let chunk = if let Some(head) = this.head.take() {
            head
        } else if this.padding > 0 {
            let n = this.padding.min(FILLER.len());
            this.padding -= n;
            Bytes::from_static(&FILLER[..n])
        } else if this.cut_short {
            this.cut_short = false;
            return Poll::Ready(Some(Err("fault injected: body cut short".into())));
        } else if let Some(tail) = this.tail.take() {
            tail
        } else {
            return Poll::Ready(None);
        };
        this.remaining = this.remaining.saturating_sub(chunk.len() as u64);
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_none() && self.padding == 0 && self.tail.is_none() && !self.cut_short
    }

    fn size_hint(&self) -> SizeHint {
        match self.announced {
            true => SizeHint::with_exact(self.remaining),
            false => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    /// The body's frames, polled to the end: data, then an error if any.
    fn frames(mut body: Streamed) -> (Vec<u8>, Option<String>) {
        use hyper::body::Body as _;
        let mut context = Context::from_waker(std::task::Waker::noop());
        let mut data = Vec::new();
        loop {
            match Pin::new(&mut body).poll_frame(&mut context) {
                Poll::Ready(Some(Ok(frame))) => {
                    data.extend_from_slice(frame.data_ref().expect("data frames only"))
                }
                Poll::Ready(Some(Err(error))) => return (data, Some(error.to_string())),
                Poll::Ready(None) => return (data, None),
                Poll::Pending => panic!("the filler is always ready"),
            }
        }
    }

    #[test]
    fn a_padded_answer_is_the_answer_at_the_size_announced() {
        let answer = br#"{"UserImportJob":{"JobId":"import-1"}}"#;
        for (answer, bytes) in [(&answer[..], 300_000), (b"{}", 100)] {
            let body = Streamed::padded(answer, bytes);
            let announced = body.length;
            let (data, error) = frames(body);
            assert_eq!(error, None);
            assert_eq!(data.len(), bytes);
            assert_eq!(announced, bytes as u64);
            let value: Value = serde_json::from_slice(&data).expect("still JSON");
            let mut original: Value = serde_json::from_slice(answer).unwrap();
            original["EmulatorPadding"] = value["EmulatorPadding"].clone();
            assert_eq!(value, original);
        }
    }

    #[test]
    fn a_body_cut_short_sends_part_and_fails() {
        let (data, error) = frames(Streamed::cut_short(Bytes::from_static(b"{\"Us"), 40));
        assert_eq!(data, b"{\"Us");
        assert!(error.is_some());
    }
}
