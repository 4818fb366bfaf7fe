//! The emulator's S3 bucket: the PUT of a job's CSV file to its pre-signed
//! URL, answered as S3 answers, the file checked as it streams and kept as
//! its outcome only.
//!
//! S3 stores an object once every byte its Content-Length announced has
//! come, and nothing of a request cut short: so here, nothing is stored
//! unless the body ends whole, and a later upload replaces the earlier one.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{
    HeaderValue, Method, Request, Response, StatusCode,
    header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, ETAG, TRANSFER_ENCODING},
};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;

use crate::{
    answers::{Body, BoxError},
    jobs::{Reading, Upload},
    presigned::{self, Query},
    state::{Shared, lock},
};

/// The header (and its one value) every job's URL is signed for.
const ENCRYPTION: (&str, &str) = ("x-amz-server-side-encryption", "aws:kms");

/// Most bytes S3 takes here: Cognito's limit for a file, so that the
/// checker never meets a file longer than Cognito takes.
pub(crate) const MAX_OBJECT_BYTES: u64 = cognito_csv::MAX_FILE_BYTES;

/// How long S3 waits for the next bytes of a body before it gives up.
const IDLE_TIMEOUT: Duration = Duration::from_secs(20);

/// Whether the request is for the bucket rather than Cognito.
pub(crate) fn is_upload(path: &str) -> bool {
    path.strip_prefix(presigned::UPLOAD_PATH)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// An S3 error: its status, code and message.
struct Refusal(StatusCode, &'static str, &'static str);

const SIGNATURE_DOES_NOT_MATCH: Refusal = Refusal(
    StatusCode::FORBIDDEN,
    "SignatureDoesNotMatch",
    "The request signature we calculated does not match the signature you provided. \
     Check your key and signing method.",
);

/// Answers a PUT to a job's pre-signed URL; `Err` when the body was cut
/// short, so that hyper closes what is left of the connection.
pub(crate) async fn put(
    shared: &Shared,
    request: Request<Incoming>,
) -> Result<Response<Body>, BoxError> {
    let request_id = presigned::random_string(b"0123456789ABCDEF", 16);
    let Admitted {
        pool,
        job,
        content_length,
        reading,
    } = match admit(shared, &request) {
        Ok(admitted) => admitted,
        Err(refusal) => return Ok(refuse(refusal, &request_id)),
    };
    let stored = match receive(reading, content_length, request.into_body()).await? {
        Ok(stored) => stored,
        Err(refusal) => return Ok(refuse(refusal, &request_id)),
    };
    let etag = stored.summary.etag.clone();
    if !lock(&shared.pools).store_upload(&pool, &job, stored) {
        return Ok(refuse(SIGNATURE_DOES_NOT_MATCH, &request_id));
    }
    let mut response = Response::new(empty());
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(ETAG, etag);
    }
    headers.insert(ENCRYPTION.0, HeaderValue::from_static(ENCRYPTION.1));
    insert_request_id(&mut response, &request_id);
    Ok(response)
}

/// An upload admitted: where it goes and the check its body goes through.
struct Admitted {
    pool: String,
    job: String,
    content_length: u64,
    reading: Reading,
}

/// The checks S3 makes before it reads a body, in its order: the query's
/// signature (the job's own, not expired), the signed header, the length.
fn admit(shared: &Shared, request: &Request<Incoming>) -> Result<Admitted, Refusal> {
    let query = Query::read(request.uri().query().unwrap_or_default());
    let signed = match query {
        Query::Anonymous => {
            return Err(Refusal(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                "Access Denied",
            ));
        }
        Query::Incomplete => {
            return Err(Refusal(
                StatusCode::BAD_REQUEST,
                "AuthorizationQueryParametersError",
                "Query-string authentication version 4 requires the X-Amz-Algorithm, \
                 X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and \
                 X-Amz-Expires parameters.",
            ));
        }
        Query::Signed(signed) => signed,
    };
    // The method is signed too: the URL is for a PUT.
    if request.method() != Method::PUT {
        return Err(SIGNATURE_DOES_NOT_MATCH);
    }
    // A job that does not exist has no signature to match: S3 cannot tell
    // the two apart, and says the same.
    let (pool, job) =
        presigned::object_key(request.uri().path()).ok_or(SIGNATURE_DOES_NOT_MATCH)?;
    let (url, header, keys) = lock(&shared.pools)
        .upload_target(pool, job)
        .ok_or(SIGNATURE_DOES_NOT_MATCH)?;
    let own = match url.split_once('?').map(|(_, query)| Query::read(query)) {
        Some(Query::Signed(own)) if own == signed => own,
        _ => return Err(SIGNATURE_DOES_NOT_MATCH),
    };
    if own.expires_at().is_none_or(|at| at < SystemTime::now()) {
        return Err(Refusal(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Request has expired",
        ));
    }
    let encryption = request.headers().get(ENCRYPTION.0);
    if encryption.is_none_or(|value| value.as_bytes() != ENCRYPTION.1.as_bytes()) {
        return Err(SIGNATURE_DOES_NOT_MATCH);
    }
    if request.headers().contains_key(TRANSFER_ENCODING) {
        return Err(Refusal(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            "A header you provided implies functionality that is not implemented",
        ));
    }
    let content_length = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok())
        .ok_or(Refusal(
            StatusCode::LENGTH_REQUIRED,
            "MissingContentLength",
            "You must provide the Content-Length HTTP header.",
        ))?;
    if content_length > MAX_OBJECT_BYTES {
        return Err(Refusal(
            StatusCode::BAD_REQUEST,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
        ));
    }
    Ok(Admitted {
        pool: pool.to_owned(),
        job: job.to_owned(),
        content_length,
        reading: Reading::new(&header, keys, content_length),
    })
}

/// Reads the body a frame at a time into the check, holding no more of it
/// than the frame: what to store, or why not. `Err` when the body failed
/// (the connection closed before its end): nothing to answer, nothing
/// stored.
async fn receive(
    mut reading: Reading,
    content_length: u64,
    mut body: Incoming,
) -> Result<Result<Upload, Refusal>, BoxError> {
    loop {
        let frame = match tokio::time::timeout(IDLE_TIMEOUT, body.frame()).await {
            Err(_) => {
                return Ok(Err(Refusal(
                    StatusCode::BAD_REQUEST,
                    "RequestTimeout",
                    "Your socket connection to the server was not read from or written to \
                     within the timeout period. Idle connections will be closed.",
                )));
            }
            Ok(None) => break,
            Ok(Some(frame)) => frame?,
        };
        if let Ok(data) = frame.into_data() {
            reading.feed(&data);
        }
    }
    // hyper ends a body early only with an error; this is S3's answer if
    // it ever did.
    if reading.bytes() != content_length {
        return Ok(Err(Refusal(
            StatusCode::BAD_REQUEST,
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header",
        )));
    }
    let etag = format!("\"{}\"", presigned::random_string(presigned::HEX, 32));
    Ok(Ok(reading.finish(etag, SystemTime::now())))
}

/// S3's error document.
fn refuse(Refusal(status, code, message): Refusal, request_id: &str) -> Response<Body> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
    );
    let mut response = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    // The body, if any, is left unread: the connection ends with the answer.
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
    insert_request_id(&mut response, request_id);
    response
}

fn empty() -> Body {
    Full::new(Bytes::new())
        .map_err(|never| match never {})
        .boxed()
}

fn insert_request_id(response: &mut Response<Body>, request_id: &str) {
    if let Ok(id) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-amz-request-id", id);
    }
}
