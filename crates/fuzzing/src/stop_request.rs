//! The `stop_request` target: a StopUserImportJob body through the
//! authorization layer, and its message through validation and the policy.

use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use prost::Message;
use tonic::body::Body;
use tonic_types::StatusExt;
use tower::{Layer, Service};

use import_job_service::{
    audit::AuditTrail,
    auth::{
        Authorizer, Caller, Identity, Proof,
        mtls::ClientCertificate,
        policy::{Call, Decision, Policy},
    },
    layers::{AuthenticateLayer, AuthorizeLayer},
    proto::{Decoded, StopUserImportJobRequest},
    reload::Reloadable,
    tls::TlsConnectionInfo,
    validation::{JobRequest, MAX_ID_LEN, cognito_message},
};

/// The method [`stop_request`] calls.
pub(crate) use import_job_service::proto::STOP_PATH;

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
      "name": "dashboards-read-jobs",
      "source": { "principals": ["spiffe://demo.test/dashboards"] },
      "request": {
        "paths": [
          "/importjob.v1.ImportJobService/DescribeUserImportJob",
          "/importjob.v1.ImportJobService/WatchUserImportJob",
          "/importjob.v1.ImportJobService/ListUserImportJobs",
          "/importjob.v1.ImportJobService/GetCsvHeader"
        ],
        "user_pools": ["us-east-1_*", "eu-west-1_*"]
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
pub(crate) const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The first byte's flag that sends the rest of the input as the request
/// body verbatim; without it, the rest is the message, framed correctly.
pub const RAW_BODY: u8 = 0x80;

pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
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
pub(crate) fn auth_layers() -> &'static (AuthenticateLayer, AuthorizeLayer) {
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
pub(crate) enum Expected {
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
pub(crate) fn readme_policy_allows(principal: &str, user_pool_id: &str) -> bool {
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
pub(crate) fn single_message(body: &[u8]) -> Option<&[u8]> {
    let (header, payload) = body.split_at_checked(5)?;
    let length = u32::from_be_bytes(header[1..5].try_into().ok()?);
    (header[0] == 0 && usize::try_from(length).ok()? == payload.len()).then_some(payload)
}

/// Validation of a decoded message: every violation is reported once per
/// bad field, in Cognito's words, and what passes satisfies the README's
/// table.
pub(crate) fn check_message(message: &StopUserImportJobRequest) {
    // prost round trip: what decoded encodes to something that decodes the same.
    let reencoded = message.encode_to_vec();
    let again = StopUserImportJobRequest::decode(reencoded.as_slice()).expect("re-decodes");
    assert_eq!(&again, message, "prost round trip");

    let (pool, job) = (message.user_pool_id.as_str(), message.job_id.as_str());
    match JobRequest::parse(pool, job) {
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
pub(crate) fn check_policy_decision(
    principal: &str,
    message: &StopUserImportJobRequest,
    expected: &Expected,
) {
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

pub(crate) fn authorize_layer_policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(|| Policy::parse(README_POLICY).expect("the README's policy parses"))
}

/// The body through the authorization layer, as the service stacks it: the
/// handler gets the message sent, decoded once by the layer, with the
/// caller (and tonic an empty message), or the call gets the status the
/// README's error table gives.
pub(crate) fn check_layer(principal: &str, body: Vec<u8>, expected: &Expected) {
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
        let decoded = request
            .extensions()
            .get::<Decoded<StopUserImportJobRequest>>()
            .cloned();
        let body = request.into_body().collect().await?.to_bytes();
        let mut response = Response::new(Body::new(Full::new(body)));
        response.extensions_mut().insert(caller);
        response.extensions_mut().insert(decoded);
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
            let decoded = response
                .extensions()
                .get::<Option<Decoded<StopUserImportJobRequest>>>()
                .cloned()
                .flatten()
                .expect("the layer hands on the message it decoded");
            let sent_message =
                StopUserImportJobRequest::decode(&sent[5..]).expect("an allowed message decodes");
            assert_eq!(decoded.0, sent_message, "the handler gets the message sent");
            let passed_on = runtime()
                .block_on(response.into_body().collect())
                .expect("the body")
                .to_bytes();
            assert_eq!(
                passed_on,
                Bytes::from_static(&[0, 0, 0, 0, 0]),
                "tonic gets an empty message"
            );
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
