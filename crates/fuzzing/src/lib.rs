//! The bodies of the cargo-fuzz targets in `fuzz/` (see `FUZZING.md`),
//! which drive import-job-service through its public API only.
//!
//! Each entry point takes the fuzzer's bytes, drives the crate's own code
//! with them, and panics when an invariant breaks, which the fuzzer reports
//! as a crash. Besides "it does not panic", each checks what the README
//! promises against a small model written from the README, not from the code:
//!
//! - [`stop_request`]: a StopUserImportJob request body through the
//!   authorization layer (read the body, decode the one gRPC message, decide
//!   with a fixed policy for a fixed caller) and through validation.
//! - [`emulator_request`]: one HTTP request to the embedded Cognito emulator
//!   (its headers and its AWS JSON 1.1 body), over a real loopback socket as
//!   the SDK sends them.
//! - [`policy_file`]: the authorization policy parser, and decisions of every
//!   policy it accepts.
//! - [`jwt_token`]: bearer tokens through `auth::jwt::verify`, as sent, or
//!   with the fuzzer's header and claims signed by the harness's key so that
//!   they reach the claim checks.
//! - [`client_certificate`]: client certificates (DER) through
//!   `auth::mtls::identity` and the name-constraint checks, and strings
//!   through the SPIFFE ID syntax check.

use std::{
    collections::BTreeSet,
    io::{Read, Write},
    net::TcpStream,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full};
use prost::Message;
use serde_json::Value;
use tonic::body::Body;
use tonic_types::StatusExt;
use tower::{Layer, Service};

use import_job_service::{
    audit::AuditTrail,
    auth::{
        Authorizer, Caller, Identity, Proof,
        jwt::{self, JwtSettings, KeySet},
        mtls::{self, CommonName},
        policy::{Call, Decision, Policy},
        reload::Reloadable,
        spiffe,
    },
    emulator::Emulator,
    layers::{AuthenticateLayer, AuthorizeLayer},
    proto::StopUserImportJobRequest,
    tls::{ClientCertificate, TlsConnectionInfo},
    validation::{MAX_ID_LEN, StopRequest, cognito_message},
};

/// The method [`stop_request`] calls.
pub const STOP_PATH: &str = "/importjob.v1.ImportJobService/StopUserImportJob";

/// The README's example policy, which [`stop_request`] decides with.
pub const README_POLICY: &str = r#"{
  "name": "import-jobs",
  "deny_rules": [
    {
      "name": "no-production-from-batch",
      "source": { "principals": ["*-batch"] },
      "request": { "user_pools": ["*_Production"] }
    }
  ],
  "allow_rules": [
    {
      "name": "billing-stops-jobs-in-its-pools",
      "source": { "principals": ["spiffe://demo.test/billing", "billing-batch"] },
      "request": {
        "paths": ["/importjob.v1.ImportJobService/StopUserImportJob"],
        "user_pools": ["us-east-1_ImportDemo"]
      }
    },
    {
      "name": "operators",
      "source": { "principals": ["spiffe://demo.test/ops/*"] },
      "request": { "paths": ["/importjob.v1.ImportJobService/*"] }
    }
  ]
}"#;

/// The fixed callers of [`stop_request`]; the input's first byte picks one.
pub const CALLERS: [&str; 4] = [
    "spiffe://demo.test/billing",
    "billing-batch",
    "spiffe://demo.test/ops/alice",
    "spiffe://demo.test/reports",
];

/// The largest StopUserImportJob message [`stop_request`]'s layer reads:
/// the default of `--max-request-bytes`.
pub const MAX_MESSAGE_BYTES: usize = 4096;
/// The body is whole before the layers see it: no input waits for it.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The first byte's flag that sends the rest of the input as the request
/// body verbatim; without it, the rest is the message, framed correctly.
pub const RAW_BODY: u8 = 0x80;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

/// The authentication and authorization layers as the service builds them,
/// with the README's policy loaded from a file like `--auth-policy` does.
fn auth_layers() -> &'static (AuthenticateLayer, AuthorizeLayer) {
    static LAYERS: OnceLock<(AuthenticateLayer, AuthorizeLayer)> = OnceLock::new();
    LAYERS.get_or_init(|| {
        let path = std::env::temp_dir().join(format!(
            "import-job-service-fuzz-policy-{}.json",
            std::process::id()
        ));
        std::fs::write(&path, README_POLICY).expect("writing the policy file");
        let policy = Reloadable::load("authorization policy", &path, Policy::parse);
        let _ = std::fs::remove_file(&path);
        let authorizer = Arc::new(Authorizer {
            policy: Some(Arc::new(policy.expect("the README's policy parses"))),
            jwt: None,
        });
        let audit = Arc::new(AuditTrail::new(Duration::ZERO));
        (
            AuthenticateLayer::new(Arc::clone(&authorizer), Arc::clone(&audit), Arc::default()),
            AuthorizeLayer::new(
                authorizer,
                audit,
                MAX_MESSAGE_BYTES,
                BODY_TIMEOUT,
                Arc::default(),
            ),
        )
    })
}

/// A gRPC length-prefixed, uncompressed message.
pub fn grpc_frame(message: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(message.len() + 5);
    frame.push(0);
    frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
    frame.extend_from_slice(message);
    frame
}

/// What the README says the layer does with a StopUserImportJob body.
#[derive(Debug, PartialEq)]
enum Expected {
    /// Passed on, unchanged, to the handler.
    Allowed,
    /// PERMISSION_DENIED, CALLER_NOT_ALLOWED.
    Denied,
    /// INVALID_ARGUMENT, MESSAGE_MALFORMED.
    Malformed,
    /// RESOURCE_EXHAUSTED, MESSAGE_TOO_LARGE.
    TooLarge,
}

/// The README's example policy, evaluated by hand for one caller.
fn readme_policy_allows(principal: &str, user_pool_id: &str) -> bool {
    let denied = principal.ends_with("-batch") && user_pool_id.ends_with("_Production");
    let billing = ["spiffe://demo.test/billing", "billing-batch"].contains(&principal)
        && user_pool_id == "us-east-1_ImportDemo";
    let operators = principal.starts_with("spiffe://demo.test/ops/");
    !denied && (billing || operators)
}

/// Fuzz target `stop_request`. The first byte picks the caller (its low two
/// bits index [`CALLERS`]) and, with [`RAW_BODY`], sends the rest as the
/// HTTP/2 request body verbatim; otherwise the rest is framed as one gRPC
/// message. The body then goes through the authorization layer, and the
/// decoded message through validation and the policy.
pub fn stop_request(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let principal = CALLERS[usize::from(control & 3)];
    let body = if control & RAW_BODY != 0 {
        rest.to_vec()
    } else {
        grpc_frame(rest)
    };

    // The model: one uncompressed message of at most MAX_MESSAGE_BYTES that decodes.
    let message = single_message(&body).and_then(|m| StopUserImportJobRequest::decode(m).ok());
    let expected = match &message {
        _ if body.len() > MAX_MESSAGE_BYTES + 5 => Expected::TooLarge,
        None => Expected::Malformed,
        Some(m) if readme_policy_allows(principal, &m.user_pool_id) => Expected::Allowed,
        Some(_) => Expected::Denied,
    };

    if let Some(message) = &message {
        check_message(message);
        check_policy_decision(principal, message, &expected);
    }
    check_layer(principal, body, &expected);
}

/// The payload of a body that is exactly one uncompressed gRPC message.
fn single_message(body: &[u8]) -> Option<&[u8]> {
    let (header, payload) = body.split_at_checked(5)?;
    let length = u32::from_be_bytes(header[1..5].try_into().ok()?);
    (header[0] == 0 && usize::try_from(length).ok()? == payload.len()).then_some(payload)
}

/// Validation of a decoded message: every violation is reported once per
/// bad field, in Cognito's words, and what passes satisfies the README's
/// table.
fn check_message(message: &StopUserImportJobRequest) {
    // prost round trip: what decoded encodes to something that decodes the same.
    let reencoded = message.encode_to_vec();
    let again = StopUserImportJobRequest::decode(reencoded.as_slice()).expect("re-decodes");
    assert_eq!(&again, message, "prost round trip");

    let (pool, job) = (message.user_pool_id.as_str(), message.job_id.as_str());
    match StopRequest::parse(pool, job) {
        Ok(request) => {
            assert_eq!(request.user_pool_id.as_str(), pool);
            assert_eq!(request.job_id.as_str(), job);
            for id in [pool, job] {
                assert!((1..=MAX_ID_LEN).contains(&id.chars().count()), "{id:?}");
                assert!(id.is_ascii(), "{id:?}");
            }
            let (region, local) = pool.rsplit_once('_').expect("a pool id has an underscore");
            assert!(!region.is_empty(), "{pool:?}");
            assert!(
                !local.is_empty() && local.chars().all(|c| c.is_ascii_alphanumeric()),
                "{pool:?}"
            );
            assert!(
                pool.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
                "{pool:?}"
            );
            assert!(pool.starts_with(request.user_pool_id.region_prefix()));
            let rest = job.strip_prefix("import-").expect("import- prefix");
            assert!(
                !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                "{job:?}"
            );
        }
        Err(violations) => {
            assert!(!violations.is_empty() && violations.len() <= 2);
            let fields: Vec<_> = violations.iter().map(|v| v.field).collect();
            assert!(
                matches!(
                    fields.as_slice(),
                    ["user_pool_id"] | ["job_id"] | ["user_pool_id", "job_id"]
                ),
                "{fields:?}"
            );
            for violation in &violations {
                assert!(!violation.description.is_empty());
                assert!((1..=3).contains(&violation.cognito.len()));
            }
            let phrases: usize = violations.iter().map(|v| v.cognito.len()).sum();
            let plural = if phrases == 1 { "" } else { "s" };
            assert!(
                cognito_message(&violations)
                    .starts_with(&format!("{phrases} validation error{plural} detected: ")),
                "{violations:?}"
            );
        }
    }
}

/// The crate's policy, called directly, agrees with the README's reading of
/// its own example.
fn check_policy_decision(principal: &str, message: &StopUserImportJobRequest, expected: &Expected) {
    let policy = authorize_layer_policy();
    let no_headers = |_: &str| None::<String>;
    let decision = policy.decide(&Call {
        principals: &[principal],
        path: STOP_PATH,
        user_pool_id: Some(&message.user_pool_id),
        header: &no_headers,
    });
    let allowed = readme_policy_allows(principal, &message.user_pool_id);
    assert_eq!(
        matches!(decision, Decision::Allow { .. }),
        allowed,
        "{principal} {message:?}: {decision:?}"
    );
    if *expected != Expected::TooLarge {
        assert_eq!(*expected == Expected::Allowed, allowed);
    }
}

fn authorize_layer_policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(|| Policy::parse(README_POLICY).expect("the README's policy parses"))
}

/// The body through the authorization layer, as the service stacks it: the
/// handler sees the body unchanged with the caller, or the call gets the
/// status the README's error table gives.
fn check_layer(principal: &str, body: Vec<u8>, expected: &Expected) {
    let sent = Bytes::from(body);
    let mut request = Request::builder()
        .method("POST")
        .uri(format!("http://localhost{STOP_PATH}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Body::new(Full::new(sent.clone())))
        .expect("a request");
    request.extensions_mut().insert(TlsConnectionInfo {
        tcp: tonic::transport::server::TcpConnectInfo {
            local_addr: None,
            remote_addr: None,
        },
        client_certificate: ClientCertificate::Verified(principal.to_owned()),
    });

    let handler = tower::service_fn(|request: Request<Body>| async move {
        let caller = request.extensions().get::<Caller>().cloned();
        let body = request.into_body().collect().await?.to_bytes();
        let mut response = Response::new(Body::new(Full::new(body)));
        response.extensions_mut().insert(caller);
        Ok::<_, tonic::Status>(response)
    });
    let (authenticate, authorize) = auth_layers();
    let mut service = authenticate.layer(authorize.layer(handler));
    let response = runtime()
        .block_on(async {
            std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
            service.call(request).await
        })
        .expect("the layer answers every call");

    match response.extensions().get::<Option<Caller>>().cloned() {
        Some(caller) => {
            assert_eq!(*expected, Expected::Allowed, "the handler was reached");
            let identity = Identity {
                principal: principal.to_owned(),
                proof: Proof::Mtls,
            };
            assert_eq!(
                caller,
                Some(Caller {
                    identities: vec![identity]
                })
            );
            let passed_on = runtime()
                .block_on(response.into_body().collect())
                .expect("the body")
                .to_bytes();
            assert_eq!(passed_on, sent, "the handler gets the body unchanged");
        }
        None => {
            let status = tonic::Status::from_header_map(response.headers()).expect("a status");
            let reason = status.get_details_error_info().map(|info| info.reason);
            let (code, want) = match expected {
                Expected::Allowed => panic!("allowed, but answered {status:?}"),
                Expected::Denied => (tonic::Code::PermissionDenied, "CALLER_NOT_ALLOWED"),
                Expected::Malformed => (tonic::Code::InvalidArgument, "MESSAGE_MALFORMED"),
                Expected::TooLarge => (tonic::Code::ResourceExhausted, "MESSAGE_TOO_LARGE"),
            };
            assert_eq!(status.code(), code, "{status:?}");
            assert_eq!(reason.as_deref(), Some(want), "{status:?}");
        }
    }
}

/// The emulator [`emulator_request`] talks to, restarted every
/// [`EMULATOR_CALLS`] calls so its state (jobs created, calls recorded) stays
/// small.
struct EmulatorClient {
    runtime: tokio::runtime::Runtime,
    emulator: Option<Emulator>,
    connection: Option<TcpStream>,
    calls: usize,
}

const EMULATOR_CALLS: usize = 2000;

fn emulator_client() -> &'static Mutex<EmulatorClient> {
    static CLIENT: OnceLock<Mutex<EmulatorClient>> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        Mutex::new(EmulatorClient {
            runtime,
            emulator: None,
            connection: None,
            calls: 0,
        })
    })
}

/// Headers the fuzzer may not set: they frame the message, which the harness
/// does itself.
const FRAMING_HEADERS: [&str; 8] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "host",
    "expect",
    "upgrade",
    "te",
    "keep-alive",
];

/// One answer of the emulator.
struct HttpAnswer {
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl HttpAnswer {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}

impl EmulatorClient {
    fn send(&mut self, request: &[u8]) -> HttpAnswer {
        if self.calls.is_multiple_of(EMULATOR_CALLS) {
            self.connection = None;
            self.emulator = None;
        }
        self.calls += 1;
        let emulator = match &self.emulator {
            Some(emulator) => emulator.clone(),
            None => {
                let started = self.runtime.block_on(Emulator::start()).expect("emulator");
                self.emulator = Some(started.clone());
                started
            }
        };
        // One retry on a fresh connection: the emulator may close an idle one.
        for attempt in 0..2 {
            let mut connection = match self.connection.take() {
                Some(connection) => connection,
                None => {
                    let addr = emulator.url().trim_start_matches("http://").to_owned();
                    let stream = TcpStream::connect(addr).expect("connecting to the emulator");
                    stream.set_nodelay(true).expect("nodelay");
                    stream
                        .set_read_timeout(Some(Duration::from_secs(10)))
                        .expect("timeout");
                    stream
                }
            };
            match exchange(&mut connection, request) {
                Ok(answer) => {
                    self.connection = Some(connection);
                    return answer;
                }
                Err(error) if attempt == 0 => {
                    let _ = error;
                    continue;
                }
                Err(error) => panic!("the emulator did not answer: {error}"),
            }
        }
        unreachable!()
    }
}

fn exchange(connection: &mut TcpStream, request: &[u8]) -> std::io::Result<HttpAnswer> {
    connection.write_all(request)?;
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = connection.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buffer[..head_end]).expect("an ASCII response head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {status_line:?}"));
    let headers: Vec<(String, Vec<u8>)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').expect("a header line");
            (name.to_owned(), value.trim().as_bytes().to_vec())
        })
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse().ok())
        .expect("the emulator sends a content-length");
    let mut body = buffer.split_off(head_end + 4);
    while body.len() < length {
        let n = connection.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        body.extend_from_slice(&chunk[..n]);
    }
    assert_eq!(body.len(), length, "no bytes beyond the answer");
    Ok(HttpAnswer {
        status,
        headers,
        body,
    })
}

/// Splits the fuzz input of [`emulator_request`] into headers and body.
pub fn emulator_input(data: &[u8]) -> (Vec<(HeaderName, HeaderValue)>, &[u8]) {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    // hyper answers more than 100 headers itself, without the emulator.
    let headers = head
        .split(|&b| b == b'\n')
        .take(64)
        .filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            let name = HeaderName::from_bytes(&line[..colon]).ok()?;
            let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii()).ok()?;
            (!FRAMING_HEADERS.contains(&name.as_str())).then_some((name, value))
        })
        .collect();
    (headers, body)
}

/// Fuzz target `emulator_request`. The input is header lines (`name: value`,
/// one a line), an empty line, and the body: the harness sends them to the
/// emulator as `POST /` over HTTP/1.1 with a correct `content-length`, as the
/// AWS SDK would, and checks the answer against AWS JSON 1.1 and the
/// README: one request id; an error has its type in `x-amzn-ErrorType` and
/// `__type`; only an application/x-amz-json-1.1 JSON object naming a known
/// operation succeeds; ids are validated with Cognito's words.
pub fn emulator_request(data: &[u8]) {
    let (headers, body) = emulator_input(data);
    let mut request = b"POST / HTTP/1.1\r\nhost: cognito-idp.us-east-1.amazonaws.com\r\n".to_vec();
    for (name, value) in &headers {
        request.extend_from_slice(name.as_str().as_bytes());
        request.extend_from_slice(b": ");
        request.extend_from_slice(value.as_bytes());
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
    request.extend_from_slice(body);

    let answer = emulator_client()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send(&request);
    check_emulator_answer(&headers, body, &answer);
}

fn check_emulator_answer(headers: &[(HeaderName, HeaderValue)], body: &[u8], answer: &HttpAnswer) {
    let first = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.to_str().ok())
    };
    let request_id = answer.header("x-amzn-requestid").expect("a request id");
    assert!(
        std::str::from_utf8(request_id).is_ok_and(|id| uuid::Uuid::parse_str(id).is_ok()),
        "{request_id:?}"
    );
    assert_eq!(
        answer.header("content-type"),
        Some(&b"application/x-amz-json-1.1"[..])
    );
    let Ok(Value::Object(output)) = serde_json::from_slice::<Value>(&answer.body) else {
        panic!(
            "not a JSON object: {:?}",
            String::from_utf8_lossy(&answer.body)
        );
    };

    let operation = first("x-amz-target")
        .and_then(|t| t.strip_prefix("AWSCognitoIdentityProviderService."))
        .unwrap_or_default();
    let is_json =
        first("content-type").is_some_and(|t| t.starts_with("application/x-amz-json-1.1"));
    let input = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(input)) => Some(input),
        _ => None,
    };

    if answer.status != 200 {
        let error_type = output
            .get("__type")
            .and_then(Value::as_str)
            .expect("an error names its type");
        assert!(output.get("message").is_some_and(Value::is_string));
        assert_eq!(
            answer.header("x-amzn-errortype"),
            Some(error_type.as_bytes())
        );
        let want_status = if error_type == "InternalErrorException" {
            500
        } else {
            400
        };
        assert_eq!(answer.status, want_status, "{error_type}");
    } else {
        assert!(is_json, "a success needs the JSON content type");
        assert!(input.is_some(), "a success needs a JSON object");
        assert!(!output.contains_key("__type"));
    }
    let Some(input) = input.filter(|_| is_json) else {
        assert_ne!(answer.status, 200);
        return;
    };

    // Both ids as strings: validation decides, in Cognito's words.
    let ids_operation = matches!(
        operation,
        "StopUserImportJob" | "StartUserImportJob" | "DescribeUserImportJob"
    );
    let pool = input.get("UserPoolId").and_then(Value::as_str);
    let job = input.get("JobId").and_then(Value::as_str);
    if ids_operation && let (Some(pool), Some(job)) = (pool, job) {
        match StopRequest::parse(pool, job) {
            Err(violations) => {
                assert_eq!(answer.status, 400);
                assert_eq!(
                    output.get("__type").and_then(Value::as_str),
                    Some("InvalidParameterException")
                );
                assert_eq!(
                    output.get("message").and_then(Value::as_str),
                    Some(cognito_message(&violations).as_str())
                );
            }
            Ok(request) if answer.status == 200 => {
                let job_out = output.get("UserImportJob").expect("the job");
                assert_eq!(
                    job_out.get("UserPoolId").and_then(Value::as_str),
                    Some(pool)
                );
                assert_eq!(job_out.get("JobId").and_then(Value::as_str), Some(job));
                let region = first("authorization").and_then(signed_region_model);
                assert!(
                    region.is_none_or(|r| r == request.user_pool_id.region_prefix()),
                    "a pool exists in one region"
                );
            }
            Ok(_) => {}
        }
    }
    if answer.status == 200 {
        match operation {
            "ListUserImportJobs" => {
                let max = input.get("MaxResults").and_then(Value::as_u64);
                let jobs = output
                    .get("UserImportJobs")
                    .and_then(Value::as_array)
                    .expect("the jobs");
                assert!(max.is_some_and(|max| (1..=60).contains(&max)));
                assert!(jobs.len() as u64 <= max.unwrap_or_default());
            }
            "CreateUserImportJob"
            | "StopUserImportJob"
            | "StartUserImportJob"
            | "DescribeUserImportJob" => {
                assert!(output.get("UserImportJob").is_some_and(Value::is_object));
            }
            other => panic!("{other:?} succeeded"),
        }
    }
}

/// The region of a SigV4 credential scope
/// (`Credential=AKID/20260101/us-east-1/cognito-idp/aws4_request, ...`).
fn signed_region_model(authorization: &str) -> Option<&str> {
    let scope = authorization.split("Credential=").nth(1)?;
    scope.split(',').next()?.split('/').nth(2)
}

/// Fuzz target `policy_file`: any bytes as a policy file. Parsing never
/// panics; a policy it accepts satisfies the README's rules for policy files,
/// survives a JSON round trip unchanged, and decides calls as the README says.
pub fn policy_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = Policy::parse(text);
    let value = serde_json::from_str::<Value>(text).ok();
    let Some(value) = value else {
        assert!(parsed.is_err(), "a policy that is not JSON parsed");
        return;
    };
    let model = PolicyModel::read(&value);
    // The same document written again (duplicate keys collapsed) is judged
    // as the README's rules judge it.
    let rewritten = Policy::parse(&value.to_string());
    assert_eq!(
        rewritten.is_ok(),
        model.is_some(),
        "{text:?}: {rewritten:?}"
    );
    let Ok(policy) = parsed else {
        return;
    };
    let model = model.expect("an accepted policy follows the README's rules");
    assert_eq!(rewritten.as_ref().ok(), Some(&policy), "JSON round trip");
    let pretty = serde_json::to_string_pretty(&value).expect("JSON");
    assert_eq!(Policy::parse(&pretty).ok().as_ref(), Some(&policy));
    assert_eq!(policy.name, model.name);
    assert_eq!(policy.restricts_reflection(), model.restricts_reflection());

    // Values to call with: every string in the file, with and without its
    // wildcards, and a few the service sees.
    let mut strings = BTreeSet::new();
    collect_strings(&value, &mut strings);
    for s in strings.clone() {
        strings.insert(s.trim_matches('*').to_owned());
        strings.insert(format!("x{}", s.trim_matches('*')));
        strings.insert(format!("{}x", s.trim_matches('*')));
        if strings.len() > 48 {
            break;
        }
    }
    for s in [
        "",
        STOP_PATH,
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "spiffe://demo.test/billing",
        "us-east-1_ImportDemo",
    ] {
        strings.insert(s.to_owned());
    }
    let values: Vec<&str> = strings.iter().map(String::as_str).collect();
    let n = values.len();
    for k in 0..n.min(64) {
        let pick = |step: usize, offset: usize| values[(k * step + offset) % n];
        let principals = [pick(1, 0), pick(7, 3)];
        let principals = &principals[..1 + k % 2];
        let pool = (k % 4 != 0).then(|| pick(5, 2));
        let header = |name: &str| {
            let h = name.len() + k;
            (!h.is_multiple_of(3)).then(|| values[h % n].to_owned())
        };
        let call = Call {
            principals,
            path: pick(3, 1),
            user_pool_id: pool,
            header: &header,
        };
        let decision = policy.decide(&call);
        assert_eq!(
            decision,
            model.decide(&call),
            "{call:?}",
            call = (principals, call.path, pool)
        );
        assert_eq!(decision, policy.decide(&call), "deterministic");
    }
}

fn collect_strings(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::String(s) if out.len() < 24 => {
            out.insert(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// A policy file as the README describes it, read from JSON independently of
/// [`Policy`]. A struct may also be written as an array of its fields in
/// order, which serde accepts for every struct.
struct PolicyModel {
    name: String,
    deny_rules: Vec<RuleModel>,
    allow_rules: Vec<RuleModel>,
}

struct RuleModel {
    name: String,
    principals: Vec<String>,
    paths: Vec<String>,
    headers: Vec<(String, Vec<String>)>,
    user_pools: Vec<String>,
}

/// A struct's fields: named in an object, or positional in an array.
/// `None` when the value is neither, has unknown fields, or too many.
fn fields<'v>(value: &'v Value, names: &[&str]) -> Option<Vec<Option<&'v Value>>> {
    match value {
        Value::Object(map) => {
            if map.keys().any(|k| !names.contains(&k.as_str())) {
                return None;
            }
            Some(names.iter().map(|n| map.get(*n)).collect())
        }
        Value::Array(items) if items.len() <= names.len() => {
            Some((0..names.len()).map(|i| items.get(i)).collect())
        }
        _ => None,
    }
}

/// A list of strings, `[]` when absent.
fn string_list(value: Option<&Value>) -> Option<Vec<String>> {
    match value {
        None => Some(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(_) => None,
    }
}

/// A pattern: `exact`, `prefix*`, `*suffix` or `*`.
fn pattern_ok(p: &str) -> bool {
    match p.len() {
        0 => false,
        1 => true,
        _ => {
            let inner = p.strip_prefix('*').unwrap_or(p);
            let inner = inner.strip_suffix('*').unwrap_or(inner);
            !(inner.contains('*') || p.starts_with('*') && p.ends_with('*'))
        }
    }
}

fn patterns(value: Option<&Value>) -> Option<Vec<String>> {
    string_list(value).filter(|list| list.iter().all(|p| pattern_ok(p)))
}

fn pattern_matches(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
        (_, Some(prefix)) => value.starts_with(prefix),
        (Some(suffix), None) => value.ends_with(suffix),
        (None, None) => value == pattern,
    }
}

fn any_matches(patterns: &[String], value: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| pattern_matches(p, value))
}

impl PolicyModel {
    /// `None` when the README's rules reject the file.
    fn read(value: &Value) -> Option<Self> {
        let [name, deny, allow] = fields(value, &["name", "deny_rules", "allow_rules"])?[..] else {
            return None;
        };
        let name = name?.as_str()?.to_owned();
        let rules = |value: Option<&Value>| -> Option<Vec<RuleModel>> {
            match value {
                None => Some(Vec::new()),
                Some(Value::Array(items)) => items.iter().map(RuleModel::read).collect(),
                Some(_) => None,
            }
        };
        let policy = Self {
            name,
            deny_rules: rules(deny)?,
            allow_rules: rules(Some(allow?))?,
        };
        let mut names = BTreeSet::new();
        let unique = policy
            .rules()
            .all(|r| !r.name.is_empty() && names.insert(r.name.as_str()));
        (!policy.name.is_empty() && unique).then_some(policy)
    }

    fn rules(&self) -> impl Iterator<Item = &RuleModel> {
        self.deny_rules.iter().chain(&self.allow_rules)
    }

    fn restricts_reflection(&self) -> bool {
        self.rules()
            .flat_map(|r| &r.paths)
            .any(|p| p.starts_with("/grpc.reflection."))
    }

    fn decide(&self, call: &Call<'_>) -> Decision {
        if let Some(rule) = self.deny_rules.iter().find(|r| r.matches(call)) {
            return Decision::Deny {
                rule: Some(rule.name.clone()),
            };
        }
        match self.allow_rules.iter().find(|r| r.matches(call)) {
            Some(rule) => Decision::Allow {
                rule: rule.name.clone(),
            },
            None => Decision::Deny { rule: None },
        }
    }
}

impl RuleModel {
    fn read(value: &Value) -> Option<Self> {
        let [name, source, request] = fields(value, &["name", "source", "request"])?[..] else {
            return None;
        };
        let [principals] = source.map_or(Some(vec![None]), |s| fields(s, &["principals"]))?[..]
        else {
            return None;
        };
        let [paths, headers, user_pools] = request.map_or(Some(vec![None; 3]), |r| {
            fields(r, &["paths", "headers", "user_pools"])
        })?[..] else {
            return None;
        };
        let headers = match headers {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|h| {
                    let [key, values] = fields(h, &["key", "values"])?[..] else {
                        return None;
                    };
                    let key = key?.as_str()?.to_owned();
                    let lower = key.to_ascii_lowercase();
                    let values = patterns(Some(values?))?;
                    let matchable = !lower.is_empty()
                        && !lower.starts_with(':')
                        && !lower.starts_with("grpc-")
                        && lower != "host";
                    (matchable && !values.is_empty()).then_some((lower, values))
                })
                .collect::<Option<_>>()?,
            Some(_) => return None,
        };
        Some(Self {
            name: name?.as_str()?.to_owned(),
            principals: patterns(principals)?,
            paths: patterns(paths)?,
            headers,
            user_pools: patterns(user_pools)?,
        })
    }

    fn matches(&self, call: &Call<'_>) -> bool {
        let principal = self.principals.is_empty()
            || call
                .principals
                .iter()
                .any(|p| any_matches(&self.principals, p));
        let pool = self.user_pools.is_empty()
            || call
                .user_pool_id
                .is_some_and(|pool| any_matches(&self.user_pools, pool));
        let headers = self.headers.iter().all(|(key, values)| {
            (call.header)(key).is_some_and(|value| any_matches(values, &value))
        });
        principal && any_matches(&self.paths, call.path) && pool && headers
    }
}

/// The key the [`jwt_token`] harness signs the fuzzer's tokens with, and
/// its public half as a JWKS. Made for this harness only; it guards nothing.
const FUZZ_SIGNING_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgHphUlYgBW9ZeeQ/d
W8fGcGk2VygmNVpuPlGjof8d6W6hRANCAAQbCt/pLDMvuN+MuBb7SEWXLCLizo2O
vjfa+CS1unboiVPQP5oGMIdLRYdZHxFEZ9gosvGZBNrPM1fD5VGxS7Xs
-----END PRIVATE KEY-----
";
const FUZZ_JWKS: &str = r#"{"keys": [{"kty": "EC", "crv": "P-256", "kid": "fuzz", "alg": "ES256",
  "x": "Gwrf6SwzL7jfjLgW-0hFlywi4s6Njr432vgktbp26Ik", "y": "U9A_mgYwh0tFh1kfEURn2Ciy8ZkE2s8zV8PlUbFLtew"}]}"#;
/// The issuer and audience the [`jwt_token`] harness's verifier expects.
pub const FUZZ_ISSUER: &str = "https://issuer.fuzz.test";
pub const FUZZ_AUDIENCE: &str = "import-job-service";
/// The clock skew allowed, as `--jwt-leeway`'s default.
const FUZZ_LEEWAY_SECS: u64 = 30;

fn fuzz_jwt() -> &'static (KeySet, JwtSettings, jsonwebtoken::EncodingKey) {
    static JWT: OnceLock<(KeySet, JwtSettings, jsonwebtoken::EncodingKey)> = OnceLock::new();
    JWT.get_or_init(|| {
        let settings = JwtSettings {
            issuer: FUZZ_ISSUER.to_owned(),
            audience: FUZZ_AUDIENCE.to_owned(),
            algorithms: vec![
                jsonwebtoken::Algorithm::ES256,
                jsonwebtoken::Algorithm::RS256,
            ],
            identity_claim: "sub".to_owned(),
            leeway: Duration::from_secs(FUZZ_LEEWAY_SECS),
        };
        let key = jsonwebtoken::EncodingKey::from_ec_pem(FUZZ_SIGNING_KEY.as_bytes())
            .expect("the harness's key");
        (
            KeySet::parse(FUZZ_JWKS).expect("the harness's JWKS"),
            settings,
            key,
        )
    })
}

/// Fuzz target `jwt_token`. With the first byte even, the rest is the
/// bearer token as sent. With it odd, the rest is a JWS header (JSON), a
/// newline, and claims (JSON), which the harness signs with its key as
/// ES256 (whatever `alg` the header names), so that forged-looking but
/// correctly signed tokens reach every claim check. A token the verifier
/// accepts must meet the README's rules, checked here on its decoded parts.
pub fn jwt_token(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (keys, settings, signing_key) = fuzz_jwt();
    let token = if mode & 1 == 0 {
        match std::str::from_utf8(rest) {
            Ok(token) => token.to_owned(),
            Err(_) => return,
        }
    } else {
        let split = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let (header, claims) = rest.split_at(split);
        let claims = claims.get(1..).unwrap_or_default();
        let signing_input = format!("{}.{}", base64url(header), base64url(claims));
        match jsonwebtoken::crypto::sign(
            signing_input.as_bytes(),
            signing_key,
            jsonwebtoken::Algorithm::ES256,
        ) {
            Ok(signature) => format!("{signing_input}.{signature}"),
            Err(_) => return,
        }
    };
    let verdict = jwt::verify(&token, keys, settings);
    if let Ok(identity) = &verdict {
        check_accepted_token(&token, identity);
    }
    // A verified token is remembered: the second look must agree.
    assert_eq!(
        jwt::verify(&token, keys, settings),
        verdict,
        "remembered verdict"
    );
}

/// What the README says of a token the service accepts.
fn check_accepted_token(token: &str, identity: &str) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWS in compact form");
    let header: Value = serde_json::from_slice(&unbase64url(parts[0]).expect("base64url header"))
        .expect("a JSON header");
    let claims: Value = serde_json::from_slice(&unbase64url(parts[1]).expect("base64url claims"))
        .expect("JSON claims");
    assert_eq!(header["alg"], "ES256", "only the key's algorithm: {header}");
    assert!(
        header.get("crit").is_none(),
        "crit is never understood: {header}"
    );
    assert!(
        header.get("kid").is_none_or(|kid| kid == "fuzz"),
        "the kid names the key: {header}"
    );
    assert_eq!(
        claims["iss"], FUZZ_ISSUER,
        "iss is the one string: {claims}"
    );
    let audience_ok = match &claims["aud"] {
        Value::String(aud) => aud == FUZZ_AUDIENCE,
        Value::Array(auds) => auds.iter().any(|aud| aud == FUZZ_AUDIENCE),
        _ => false,
    };
    assert!(audience_ok, "aud names the service: {claims}");
    let now = jsonwebtoken::get_current_timestamp();
    const YEAR_10000: u64 = 253_402_300_800;
    let exp = claims["exp"].as_u64().expect("exp is whole seconds");
    assert!(
        exp < YEAR_10000 && exp + FUZZ_LEEWAY_SECS >= now,
        "exp: {claims}"
    );
    if let Some(nbf) = claims.get("nbf") {
        let nbf = nbf.as_u64().expect("nbf is whole seconds");
        assert!(
            nbf < YEAR_10000 && nbf <= now + FUZZ_LEEWAY_SECS,
            "nbf: {claims}"
        );
    }
    assert_eq!(claims["sub"], identity, "the identity is the sub claim");
    assert!(!identity.is_empty());
    if identity.to_ascii_lowercase().starts_with("spiffe:") {
        assert!(
            spiffe_id_model(identity),
            "an invalid SPIFFE ID: {identity:?}"
        );
    }
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

fn unbase64url(text: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for c in text.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        bits = bits << 6 | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    Some(out)
}

/// The SPIFFE ID syntax as the README states it, written apart from
/// `auth::spiffe`: `spiffe://`, a non-empty trust domain of `[a-z0-9._-]`,
/// then `/segment`s of `[A-Za-z0-9._-]`, none empty, `.` or `..`; 2,048
/// bytes at most.
fn spiffe_id_model(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("spiffe://") else {
        return false;
    };
    let mut parts = rest.split('/');
    let domain = parts.next().unwrap_or_default();
    let domain_ok = (1..=255).contains(&domain.len())
        && domain
            .chars()
            .all(|c| matches!(c, 'a'..='z' | '0'..='9' | '.' | '_' | '-'));
    let segments_ok = parts.all(|segment| {
        !matches!(segment, "" | "." | "..")
            && segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    });
    id.len() <= 2048 && domain_ok && segments_ok
}

/// Fuzz target `client_certificate`. With the first byte's low bit clear,
/// the rest is a certificate (DER) as a client presents it: the identity it
/// names, with the CN allowed and not, and under its own name constraints as
/// if it were its issuer, must follow the README's rules, and
/// the name-constraint and name readers must not panic. With it set, the
/// rest is a string judged by the SPIFFE ID syntax check, which must agree
/// with the README's model.
pub fn client_certificate(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 1 {
        if let Ok(id) = std::str::from_utf8(rest) {
            assert_eq!(spiffe::is_valid(id), spiffe_id_model(id), "{id:?}");
        }
        return;
    }
    let strict = mtls::identity(rest, CommonName::Ignored, &[]);
    let lenient = mtls::identity(rest, CommonName::Allowed, &[]);
    // The input as its own constraining CA: its name constraints parsed,
    // and applied to what it names.
    let constrained = mtls::identity(rest, CommonName::Allowed, &[rest]);
    let _ = mtls::has_name_constraints(rest);
    let _ = mtls::subject_and_issuer(rest);
    if let Ok(identity) = &strict {
        // A SAN names it: the CN never changes that.
        assert_eq!(lenient.as_ref(), Ok(identity), "a SAN wins over the CN");
    }
    if let Ok(identity) = &constrained {
        // Constraints only take away, and never allow the CN.
        assert_eq!(
            strict.as_ref(),
            Ok(identity),
            "constrained, yet named otherwise"
        );
    }
    for identity in [&strict, &lenient, &constrained].into_iter().flatten() {
        assert!(!identity.is_empty(), "an empty identity");
        if identity.contains("://") || identity.to_ascii_lowercase().starts_with("spiffe:") {
            assert!(
                spiffe_id_model(identity),
                "a URI identity must be a SPIFFE ID: {identity:?}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(pool: &str, job: &str) -> Vec<u8> {
        StopUserImportJobRequest {
            user_pool_id: pool.to_owned(),
            job_id: job.to_owned(),
        }
        .encode_to_vec()
    }

    #[test]
    fn stop_requests_meet_the_readme() {
        for (caller, pool, job) in [
            (0, "us-east-1_ImportDemo", "import-pending"),
            (1, "us-east-1_ImportDemo", "import_1"),
            (1, "eu-west-1_Production", "import-x"),
            (2, "eu-west-1_Production", ""),
            (3, "us-east-1_ImportDemo", "import-pending"),
        ] {
            let mut input = vec![caller];
            input.extend(message(pool, job));
            stop_request(&input);
        }
        stop_request(&[RAW_BODY, 1, 0, 0, 0, 0]);
        stop_request(&[RAW_BODY]);
        let mut large = vec![2];
        large.extend(message(&"a".repeat(MAX_MESSAGE_BYTES), "import-a"));
        stop_request(&large);
    }

    #[test]
    fn emulator_requests_meet_the_readme() {
        for input in [
            &b"content-type: application/x-amz-json-1.1\nx-amz-target: AWSCognitoIdentityProviderService.StopUserImportJob\n\n{\"UserPoolId\":\"us-east-1_ImportDemo\",\"JobId\":\"import-pending\"}"[..],
            b"content-type: application/x-amz-json-1.1\nx-amz-target: AWSCognitoIdentityProviderService.DescribeUserImportJob\n\n{\"UserPoolId\":\"us-east-1_ImportDemo\",\"JobId\":\"import_x\"}",
            b"content-type: text/plain\n\n{}",
            b"x-amz-target: AWSCognitoIdentityProviderService.ListUserImportJobs\ncontent-type: application/x-amz-json-1.1\n\n{\"UserPoolId\":\"us-east-1_ImportDemo\",\"MaxResults\":3}",
            b"",
        ] {
            emulator_request(input);
        }
    }

    #[test]
    fn policy_files_meet_the_readme() {
        for input in [
            README_POLICY,
            r#"{"name":"p","allow_rules":[{"name":"r","request":{"headers":[{"key":"X-A","values":["b*"]}]}}]}"#,
            r#"["p",[],[["r",["*"]]]]"#,
            r#"{"name":"p","allow_rules":[],"name":"q"}"#,
            r#"{"name":"p","allow_rules":[{"name":"r","request":{"paths":["a*b"]}}]}"#,
            "not json",
            // Finding 1 of FUZZING.md (fuzz/artifacts/policy_file/).
            r#"{"name":"0","allow_rules":[{"name":"8","source":{"principals":["/**"]}}]}"#,
        ] {
            policy_file(input.as_bytes());
        }
    }

    #[test]
    fn the_jwt_harness_signs_what_the_verifier_accepts() {
        let (keys, settings, key) = fuzz_jwt();
        let input = format!(
            r#"{{"alg":"ES256","kid":"fuzz"}}.{{"sub":"spiffe://demo.test/ops","iss":"{FUZZ_ISSUER}","aud":"{FUZZ_AUDIENCE}","exp":4102444800}}"#
        );
        let (header, claims) = input.split_once('.').unwrap();
        let signing_input = format!(
            "{}.{}",
            base64url(header.as_bytes()),
            base64url(claims.as_bytes())
        );
        let signature = jsonwebtoken::crypto::sign(
            signing_input.as_bytes(),
            key,
            jsonwebtoken::Algorithm::ES256,
        )
        .unwrap();
        let token = format!("{signing_input}.{signature}");
        assert_eq!(
            jwt::verify(&token, keys, settings).as_deref(),
            Ok("spiffe://demo.test/ops")
        );
        assert_eq!(
            unbase64url(&base64url(b"any bytes!")).unwrap(),
            b"any bytes!"
        );
        check_accepted_token(&token, "spiffe://demo.test/ops");
    }

    /// Every committed seed passes its target, so the corpus stays a valid
    /// starting point.
    #[test]
    fn the_seed_corpora_pass() {
        type Target = fn(&[u8]);
        let targets: [(&str, Target); 5] = [
            ("stop_request", stop_request),
            ("emulator_request", emulator_request),
            ("policy_file", policy_file),
            ("jwt_token", jwt_token),
            ("client_certificate", client_certificate),
        ];
        for (target, run) in targets {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../fuzz/corpus")
                .join(target);
            let mut seeds = 0;
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                run(&std::fs::read(&path).unwrap());
                seeds += 1;
            }
            assert!(seeds >= 5, "{}: {seeds} seeds", dir.display());
        }
    }
}
