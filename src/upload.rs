//! The upload of a job's CSV to its pre-signed S3 URL: one HTTP PUT, with
//! the header the URL is signed for and the file's Content-Length, its body
//! streamed as the caller's chunks pass the checks.
//!
//! S3 stores an object only once it has received every byte its
//! Content-Length announced, so an upload that is dropped or aborted before
//! the last byte leaves nothing behind: the service holds back the file's
//! last byte until the whole file passed its checks. The URL is a secret: no
//! error here carries it, or anything that could (hyper's errors name the
//! request's address).

use std::{sync::Arc, time::Duration};

use bytes::{Bytes, BytesMut};
use http::{Method, Request, StatusCode, header};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody, combinators::BoxBody};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use tokio::{sync::mpsc, task::JoinHandle};
use tokio_stream::wrappers::ReceiverStream;

/// The header (and its one value) every Cognito pre-signed URL is signed
/// for: Cognito's bucket encrypts the file with KMS.
const ENCRYPTION: (&str, &str) = ("x-amz-server-side-encryption", "aws:kms");

/// The longest S3 may take to answer once the last byte is sent.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest S3 may take to take the next bytes (its own idle timeout is
/// about 20 s) and to accept a connection.
const SEND_TIMEOUT: Duration = Duration::from_secs(20);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What an S3 error body may hold that is read: its `<Code>`.
const MAX_ERROR_BODY: usize = 16 * 1024;

type UploadBody = BoxBody<Bytes, std::io::Error>;

/// Sends uploads; one per server, so that they share connections.
#[derive(Clone)]
pub(crate) struct S3Uploads {
    client: Client<HttpsConnector<HttpConnector>, UploadBody>,
}

/// Why an upload did not store the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadFailure {
    /// S3 refused the upload (the URL expired, or is not for this upload):
    /// with S3's error code when it sent one.
    Refused { status: u16, code: Option<String> },
    /// S3 failed (5xx), or could not be reached or did not answer in time.
    Unavailable { status: Option<u16> },
    /// The job's pre-signed URL is not a URL: Cognito's answer is wrong.
    BadUrl,
}

/// An upload in progress: its body is fed with [`Upload::send`], which
/// never sends the file's last byte; [`Upload::commit`] sends it and waits
/// for S3's answer. Until then S3 has less than the Content-Length it was
/// promised, so an upload dropped or aborted before the commit stores
/// nothing, whatever the chunks were (an empty last one included).
pub(crate) struct Upload {
    /// `None` once the commit closed the body.
    body: Option<mpsc::Sender<Result<Frame<Bytes>, std::io::Error>>>,
    /// `None` once the commit took S3's answer.
    answer: Option<JoinHandle<Result<(StatusCode, Bytes), UploadFailure>>>,
    content_length: u64,
    /// Bytes sent so far: never more than `content_length - 1` before the
    /// commit.
    sent: u64,
    /// What `send` kept back for the commit.
    held: BytesMut,
}

impl S3Uploads {
    pub(crate) fn new(plain_http: bool) -> Self {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        http.enforce_http(false);
        // The machine's CAs, as the AWS SDK trusts.
        let tls = match HttpsConnectorBuilder::new().with_native_roots() {
            Ok(builder) => builder,
            Err(_) => {
                tracing::warn!("no CA certificates found: uploads to S3 over HTTPS will fail");
                HttpsConnectorBuilder::new().with_tls_config(no_roots())
            }
        };
        // Plain HTTP only for the emulator: a real pre-signed URL is
        // HTTPS, and users' data must not cross the network in the clear.
        let https = match plain_http {
            true => tls.https_or_http(),
            false => tls.https_only(),
        }
        .enable_http1()
        .wrap_connector(http);
        Self {
            client: Client::builder(TokioExecutor::new()).build(https),
        }
    }

    /// Begins the PUT of `content_length` (at least 1) bytes to `url`. The
    /// bytes follow through the [`Upload`].
    pub(crate) fn start(&self, url: &str, content_length: u64) -> Result<Upload, UploadFailure> {
        let (body, frames) = mpsc::channel(1);
        let request = Request::builder()
            .method(Method::PUT)
            .uri(url)
            .header(header::CONTENT_LENGTH, content_length)
            .header(ENCRYPTION.0, ENCRYPTION.1)
            .body(StreamBody::new(ReceiverStream::new(frames)).boxed())
            .map_err(|_| UploadFailure::BadUrl)?;
        let client = self.client.clone();
        let answer = tokio::spawn(async move {
            let response = client.request(request).await.map_err(|error| {
                // Its kind only: hyper's errors name the address.
                tracing::warn!(
                    connect = error.is_connect(),
                    "the upload to S3 failed before an answer"
                );
                UploadFailure::Unavailable { status: None }
            })?;
            let status = response.status();
            let body = http_body_util::Limited::new(response.into_body(), MAX_ERROR_BODY)
                .collect()
                .await
                .map(|collected| collected.to_bytes())
                .unwrap_or_default();
            Ok((status, body))
        });
        Ok(Upload {
            body: Some(body),
            answer: Some(answer),
            content_length,
            sent: 0,
            held: BytesMut::new(),
        })
    }
}

impl Upload {
    /// Sends the next bytes, once S3 takes them, but the file's last byte,
    /// which is held for the commit.
    pub(crate) async fn send(&mut self, mut bytes: Bytes) -> Result<(), UploadFailure> {
        let room = self
            .content_length
            .saturating_sub(1)
            .saturating_sub(self.sent);
        if bytes.len() as u64 > room {
            self.held.extend_from_slice(&bytes.split_off(room as usize));
        }
        self.put(bytes).await
    }

    async fn put(&mut self, bytes: Bytes) -> Result<(), UploadFailure> {
        if bytes.is_empty() {
            return Ok(());
        }
        let (Some(body), Some(answer)) = (&self.body, &mut self.answer) else {
            return Err(UploadFailure::Unavailable { status: None });
        };
        let length = bytes.len() as u64;
        match tokio::time::timeout(SEND_TIMEOUT, body.send(Ok(Frame::data(bytes)))).await {
            Ok(Ok(())) => {
                self.sent += length;
                Ok(())
            }
            // The request ended before its body did: S3 answered early (a
            // refusal), or the connection failed.
            Ok(Err(_)) => Err(failure(wait(answer).await)),
            Err(_) => Err(UploadFailure::Unavailable { status: None }),
        }
    }

    /// Sends what was held (the body is then whole) and waits for S3's
    /// answer.
    pub(crate) async fn commit(mut self) -> Result<(), UploadFailure> {
        let held = std::mem::take(&mut self.held).freeze();
        self.put(held).await?;
        self.body = None;
        let Some(mut answer) = self.answer.take() else {
            return Err(UploadFailure::Unavailable { status: None });
        };
        match wait(&mut answer).await {
            Ok(Ok((status, _))) if status.is_success() => Ok(()),
            other => Err(failure(other)),
        }
    }
}

type Answer = Result<Result<(StatusCode, Bytes), UploadFailure>, tokio::task::JoinError>;

/// S3's answer, within [`ANSWER_TIMEOUT`].
async fn wait(answer: &mut JoinHandle<Result<(StatusCode, Bytes), UploadFailure>>) -> Answer {
    tokio::time::timeout(ANSWER_TIMEOUT, answer)
        .await
        .unwrap_or(Ok(Err(UploadFailure::Unavailable { status: None })))
}

/// An upload dropped before its commit (a failed check, the caller gone,
/// the deadline) ends its request at once, short of its length.
impl Drop for Upload {
    fn drop(&mut self) {
        if let Some(answer) = &self.answer {
            answer.abort();
        }
    }
}

fn no_roots() -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("aws-lc-rs supports the default protocol versions")
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth()
}

/// What S3's answer (or its absence) says of a failed upload.
fn failure(answer: Answer) -> UploadFailure {
    match answer {
        Ok(Ok((status, _))) if status.is_server_error() => UploadFailure::Unavailable {
            status: Some(status.as_u16()),
        },
        Ok(Ok((status, body))) => UploadFailure::Refused {
            status: status.as_u16(),
            code: s3_error_code(&body),
        },
        Ok(Err(failure)) => failure,
        Err(_) => UploadFailure::Unavailable { status: None },
    }
}

/// The `<Code>` of an S3 error document, if it is a short, plain word.
fn s3_error_code(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("<Code>")? + "<Code>".len();
    let end = start + text[start..].find("</Code>")?;
    let code = &text[start..end];
    (code.len() <= 64 && code.chars().all(|c| c.is_ascii_alphanumeric())).then(|| code.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3s_error_code_is_read_and_nothing_else() {
        let body = b"<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>";
        assert_eq!(s3_error_code(body).as_deref(), Some("AccessDenied"));
        assert_eq!(s3_error_code(b"<Error><Code>a b</Code></Error>"), None);
        assert_eq!(s3_error_code(b"not xml"), None);
    }
}
