//! Faults the emulator can answer with instead of Cognito's answer.

use std::time::Duration;

/// Something to do instead of answering normally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this AWS error: `error_type` in `x-amzn-ErrorType` and the
    /// body's `__type`, with this HTTP status.
    Error {
        error_type: String,
        status: u16,
        message: String,
    },
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Never answer: hold the call until its caller goes away (it is then
    /// counted in [`Emulator::abandoned_calls`]).
    Hang,
    /// Answer HTTP 200 with a body that is not JSON: a JSON document cut
    /// short, its length announced correctly.
    MalformedBody,
    /// Answer with this HTTP status and JSON body, whatever the call asked.
    Respond { status: u16, body: String },
    /// Answer with this HTTP status, `Content-Type` and body, as a proxy or
    /// load balancer in front of Cognito might (see [`Fault::html_page`]).
    WrongContentType {
        status: u16,
        content_type: String,
        body: String,
    },
    /// Answer HTTP 200 announcing a whole answer's `Content-Length`, send
    /// half of it, and close the connection. The job is left as it was.
    TruncatedBody,
    /// Answer normally, padded to `bytes` bytes in all with a member Cognito
    /// does not send, its length announced in `Content-Length`, or, when
    /// `chunked`, not announced. The padding is streamed a chunk at a time:
    /// the emulator holds no copy of it, so what memory the answer costs is
    /// the receiver's.
    OversizedBody { bytes: usize, chunked: bool },
    /// Close the connection without answering.
    DropConnection,
    /// Reset the connection (TCP RST) without answering.
    ResetConnection,
}

impl Fault {
    /// An AWS error with Cognito's usual HTTP status for it.
    pub fn error(error_type: &str, message: &str) -> Self {
        let status = if error_type == "InternalErrorException" {
            500
        } else {
            400
        };
        Fault::Error {
            error_type: error_type.to_owned(),
            status,
            message: message.to_owned(),
        }
    }

    /// An HTML error page with this HTTP status, as a proxy sends one.
    pub fn html_page(status: u16) -> Self {
        Fault::WrongContentType {
            status,
            content_type: "text/html; charset=utf-8".to_owned(),
            body: format!(
                "<html><head><title>{status}</title></head><body><h1>{status}</h1><p>The proxy could not complete the request.</p></body></html>"
            ),
        }
    }
}
