//! The upload of a job's CSV to its pre-signed S3 URL: one HTTP PUT, with
//! the header the URL is signed for and the file's Content-Length, its body
//! streamed as the caller's chunks pass the checks.
//!
//! S3 stores an object only once it has received every byte its
//! Content-Length announced, so an upload that is dropped or aborted before
//! the last byte leaves nothing behind: the service holds back the last
//! chunk until the whole file passed its checks. The URL is a secret: no
//! error here carries it, or anything that could (hyper's errors name the
//! request's address).

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
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
}

/// An upload in progress: its body is fed with [`Upload::send`], and it is
/// complete only once [`Upload::finish`] sent the rest. Dropped before, it
/// is aborted and nothing is stored.
pub(crate) struct Upload {
    body: mpsc::Sender<Result<Frame<Bytes>, std::io::Error>>,
    answer: JoinHandle<Result<(StatusCode, Bytes), UploadFailure>>,
}

impl S3Uploads {
    pub(crate) fn new() -> Self {
        // The machine's CAs, as the AWS SDK trusts; a machine with none can
        // still upload over plain HTTP (the emulator).
        let https = match HttpsConnectorBuilder::new().with_native_roots() {
            Ok(builder) => builder,
            Err(_) => HttpsConnectorBuilder::new().with_tls_config(no_roots()),
        }
        .https_or_http()
        .enable_http1()
        .build();
        Self {
            client: Client::builder(TokioExecutor::new()).build(https),
        }
    }

    /// Begins the PUT of `content_length` bytes to `url`. The bytes follow
    /// through the [`Upload`].
    pub(crate) fn start(&self, url: &str, content_length: u64) -> Result<Upload, UploadFailure> {
        let (body, frames) = mpsc::channel(1);
        let request = Request::builder()
            .method(Method::PUT)
            .uri(url)
            .header(header::CONTENT_LENGTH, content_length)
            .header(ENCRYPTION.0, ENCRYPTION.1)
            .body(StreamBody::new(ReceiverStream::new(frames)).boxed())
            .map_err(|_| UploadFailure::Refused {
                status: 0,
                code: Some("InvalidPreSignedUrl".to_owned()),
            })?;
        let client = self.client.clone();
        let answer = tokio::spawn(async move {
            let response = client
                .request(request)
                .await
                .map_err(|_| UploadFailure::Unavailable { status: None })?;
            let status = response.status();
            let body = http_body_util::Limited::new(response.into_body(), MAX_ERROR_BODY)
                .collect()
                .await
                .map(|collected| collected.to_bytes())
                .unwrap_or_default();
            Ok((status, body))
        });
        Ok(Upload { body, answer })
    }
}

impl Upload {
    /// Sends the next bytes, once S3 takes them.
    pub(crate) async fn send(&mut self, bytes: Bytes) -> Result<(), UploadFailure> {
        if self.body.send(Ok(Frame::data(bytes))).await.is_ok() {
            return Ok(());
        }
        // The request ended before its body did: S3 answered early (a
        // refusal), or the connection failed.
        Err(failure((&mut self.answer).await))
    }

    /// Ends the body (every byte was sent) and waits for S3's answer.
    pub(crate) async fn finish(self) -> Result<(), UploadFailure> {
        drop(self.body);
        let answer = tokio::time::timeout(ANSWER_TIMEOUT, self.answer)
            .await
            .map_err(|_| UploadFailure::Unavailable { status: None })?;
        match answer {
            Ok(Ok((status, _))) if status.is_success() => Ok(()),
            other => Err(failure(other)),
        }
    }

    /// Aborts the upload: the body fails, the connection closes short of
    /// the announced length, and S3 stores nothing.
    pub(crate) async fn abort(self) {
        let _ = self
            .body
            .send(Err(std::io::Error::other("the upload was aborted")))
            .await;
        self.answer.abort();
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
fn failure(
    answer: Result<Result<(StatusCode, Bytes), UploadFailure>, tokio::task::JoinError>,
) -> UploadFailure {
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
