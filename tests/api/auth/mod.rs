//! Authentication and authorization, end to end over real TLS and plaintext
//! sockets: client certificates and tokens made here, a policy with allow and
//! deny rules, reloads, and the audit trail.

mod certificates;
pub mod fixtures;
mod stalls;

use std::time::Duration;

use import_job_service::{
    emulator::{DEMO_POOL, Fault, JobStatus},
    proto::{
        StopUserImportJobRequest, StopUserImportJobResponse,
        import_job_service_client::ImportJobServiceClient,
    },
};
use jsonwebtoken::Algorithm;
use serde_json::json;
use tonic::{Code, Request, Response, Status, metadata::MetadataValue, transport::Channel};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::helpers::{LOGS, TestApp, details, request, spawn_app_with, wait_for};
use fixtures::*;

const SERVICE: &str = "importjob.v1.ImportJobService";
const BILLING_POOL: &str = "us-east-1_Billing1";

const POLICY: &str = r#"{
  "name": "import-jobs",
  "deny_rules": [
    { "name": "suspended", "source": { "principals": ["spiffe://corp.test/suspended"] } }
  ],
  "allow_rules": [
    {
      "name": "billing-own-pools",
      "source": { "principals": ["spiffe://corp.test/billing", "billing-batch"] },
      "request": {
        "paths": ["/importjob.v1.ImportJobService/StopUserImportJob"],
        "user_pools": ["us-east-1_Billing*"]
      }
    },
    {
      "name": "operators",
      "source": { "principals": ["ops.corp.test", "cn-caller"] },
      "request": { "paths": ["/importjob.v1.ImportJobService/*"] }
    },
    { "name": "suspended-otherwise-allowed", "source": { "principals": ["spiffe://corp.test/suspended"] } }
  ]
}"#;

/// A service with TLS, client certificates, tokens and [`POLICY`].
struct Secured {
    app: TestApp,
    pki: Pki,
    files: Files,
    rsa: Signer,
    ec: Signer,
    ed: Signer,
}

/// Who calls: a client certificate, a bearer token (the raw header value),
/// both or neither.
#[derive(Clone, Default)]
struct As {
    cert: Option<ClientCert>,
    authorization: Option<String>,
}

impl As {
    fn cert(cert: ClientCert) -> Self {
        Self {
            cert: Some(cert),
            authorization: None,
        }
    }

    fn token(token: String) -> Self {
        Self {
            cert: None,
            authorization: Some(format!("Bearer {token}")),
        }
    }
}

impl Secured {
    async fn start(policy: &str) -> Self {
        Self::start_with(policy, &[]).await
    }

    async fn start_with(policy: &str, extra: &[&str]) -> Self {
        let files = Files::new();
        let pki = Pki::new("Test CA");
        let (rsa, ec, ed) = (
            Signer::new("rsa-1", Algorithm::RS256),
            Signer::new("ec-1", Algorithm::ES256),
            Signer::new("ed-1", Algorithm::EdDSA),
        );
        let mut flags = files.tls_service(&pki);
        flags.extend(files.token_service(policy, &[&rsa, &ec, &ed]));
        let args: Vec<&str> = flags
            .iter()
            .map(String::as_str)
            .chain(["--auth-reload-interval", "50ms"])
            .chain(extra.iter().copied())
            .collect();
        let app = spawn_app_with(&args).await;
        for pool in [BILLING_POOL, DEMO_POOL] {
            for id in ["import-target", "import-second"] {
                app.emulator
                    .put_job(import_job_service::emulator::Job::in_status(
                        pool,
                        id,
                        JobStatus::InProgress,
                    ));
            }
        }
        Self {
            app,
            pki,
            files,
            rsa,
            ec,
            ed,
        }
    }

    async fn channel(&self, caller: &As) -> Channel {
        tls_channel(self.app.addr, &self.pki.ca_pem(), caller.cert.as_ref()).await
    }

    fn with_auth<T>(caller: &As, message: T) -> Request<T> {
        let mut request = Request::new(message);
        if let Some(value) = &caller.authorization {
            request.metadata_mut().insert(
                "authorization",
                MetadataValue::try_from(value.as_str()).unwrap(),
            );
        }
        request
    }

    async fn stop(
        &self,
        caller: &As,
        pool: &str,
        job: &str,
    ) -> Result<Response<StopUserImportJobResponse>, Status> {
        let mut client = ImportJobServiceClient::new(self.channel(caller).await);
        client
            .stop_user_import_job(Self::with_auth(caller, request(pool, job)))
            .await
    }

    /// Stops a job that is running, so an allowed call succeeds.
    async fn stop_running(
        &self,
        caller: &As,
        pool: &str,
    ) -> Result<Response<StopUserImportJobResponse>, Status> {
        let job = self.app.job_in(pool, JobStatus::InProgress);
        self.stop(caller, pool, &job.job_id).await
    }
}

/// The code an UNAUTHENTICATED or PERMISSION_DENIED answer must carry, and
/// that it says nothing of the policy.
fn assert_refused(status: &Status, code: Code, reason: &str) {
    details(status, code, reason, SERVICE);
    for word in [
        "billing-own-pools",
        "operators",
        "suspended",
        "import-jobs",
        "us-east-1_Billing*",
    ] {
        assert!(
            !status.message().contains(word),
            "the answer reveals the policy: {}",
            status.message()
        );
    }
}

#[tokio::test]
async fn client_certificates_identify_callers_by_spiffe_id_or_dns_name() {
    let secured = Secured::start(POLICY).await;
    let spiffe = As::cert(secured.pki.client(
        &["spiffe://corp.test/billing", "billing.corp.test"],
        Some("billing"),
    ));
    let dns = As::cert(
        secured
            .pki
            .client(&["ops.corp.test", "other.corp.test"], Some("ops")),
    );
    let cn = As::cert(secured.pki.client(&[], Some("cn-caller")));

    secured
        .stop_running(&spiffe, BILLING_POOL)
        .await
        .expect("the SPIFFE ID is allowed on its pools");
    secured
        .stop_running(&dns, DEMO_POOL)
        .await
        .expect("the first DNS SAN is the identity");
    let status = secured.stop_running(&cn, DEMO_POOL).await.unwrap_err();
    assert_refused(
        &status,
        Code::Unauthenticated,
        "CLIENT_CERTIFICATE_NO_IDENTITY",
    );
    let status = secured.stop_running(&spiffe, DEMO_POOL).await.unwrap_err();
    assert_refused(&status, Code::PermissionDenied, "CALLER_NOT_ALLOWED");
}

#[tokio::test]
async fn with_the_opt_in_a_certificate_without_sans_is_named_by_its_cn() {
    let secured = Secured::start_with(POLICY, &["--client-cn-identity"]).await;
    let cn = As::cert(secured.pki.client(&[], Some("cn-caller")));
    secured
        .stop_running(&cn, DEMO_POOL)
        .await
        .expect("the CN is the identity");
    // A SAN still wins over the CN.
    let dns = As::cert(secured.pki.client(&["ops.corp.test"], Some("cn-caller")));
    let job = secured.app.job_in(BILLING_POOL, JobStatus::InProgress);
    secured
        .stop(&dns, BILLING_POOL, &job.job_id)
        .await
        .expect("named ops.corp.test, an operator");
}

#[tokio::test]
async fn certificates_that_identify_no_one_are_unauthenticated() {
    let secured = Secured::start(POLICY).await;
    let other_ca = Pki::new("Another CA");
    let cases = [
        (
            secured.pki.client(
                &["spiffe://corp.test/billing", "spiffe://corp.test/ops"],
                None,
            ),
            "CLIENT_CERTIFICATE_SEVERAL_URI_SANS",
        ),
        (
            other_ca.client(&["spiffe://corp.test/billing"], None),
            "CLIENT_CERTIFICATE_UNTRUSTED",
        ),
        (
            secured.pki.expired_client("spiffe://corp.test/billing"),
            "CLIENT_CERTIFICATE_EXPIRED",
        ),
        // Only a URI SAN may carry a SPIFFE ID: a CN spelled like one would
        // pass for that identity in the policy.
        (
            secured.pki.client(&[], Some("spiffe://corp.test/billing")),
            "CLIENT_CERTIFICATE_NO_IDENTITY",
        ),
        // A URI SAN outside the SPIFFE ID syntax would match rules written
        // for another identity.
        (
            secured
                .pki
                .client(&["spiffe://corp.test/ops/../billing"], None),
            "CLIENT_CERTIFICATE_SPIFFE_ID_INVALID",
        ),
        (
            secured.pki.client(&["https://corp.test/billing"], None),
            "CLIENT_CERTIFICATE_SPIFFE_ID_INVALID",
        ),
    ];
    for (cert, reason) in cases {
        let caller = As::cert(cert);
        let status = secured
            .stop_running(&caller, BILLING_POOL)
            .await
            .unwrap_err();
        assert_refused(&status, Code::Unauthenticated, reason);
        // Such a connection reaches health, which is open to all, and nothing else.
        let health = HealthClient::new(secured.channel(&caller).await)
            .check(HealthCheckRequest::default())
            .await;
        assert_eq!(code(health), Code::Ok, "{reason}");
        let reflection = list_services(secured.channel(&caller).await).await;
        assert_eq!(code(reflection), Code::Unauthenticated, "{reason}");
    }
    let status = secured
        .stop_running(&As::default(), BILLING_POOL)
        .await
        .unwrap_err();
    assert_refused(&status, Code::Unauthenticated, "CREDENTIALS_MISSING");
    assert_eq!(
        secured.app.cognito_stop_calls(),
        0,
        "Cognito received no call"
    );
}

#[tokio::test]
async fn a_body_of_several_messages_is_refused_before_the_policy() {
    let secured = Secured::start(POLICY).await;
    let operator = As::cert(secured.pki.client(&["ops.corp.test"], None));
    let job = secured.app.job_in(DEMO_POOL, JobStatus::InProgress);
    let mut grpc = tonic::client::Grpc::new(secured.channel(&operator).await);
    grpc.ready().await.unwrap();
    // The first message is what tonic would hand the handler; the policy
    // must not judge the call by anything else.
    let messages = tokio_stream::iter([request(DEMO_POOL, &job.job_id), request("", "")]);
    let path =
        http::uri::PathAndQuery::from_static("/importjob.v1.ImportJobService/StopUserImportJob");
    let codec =
        tonic_prost::ProstCodec::<StopUserImportJobRequest, StopUserImportJobResponse>::default();
    let status = grpc
        .client_streaming(Request::new(messages), path, codec)
        .await
        .unwrap_err();
    details(&status, Code::InvalidArgument, "MESSAGE_MALFORMED", SERVICE);
    assert_eq!(
        secured.app.cognito_stop_calls(),
        0,
        "Cognito received no call"
    );
}

#[tokio::test]
async fn valid_tokens_of_every_pinned_algorithm_identify_their_subject() {
    let secured = Secured::start(POLICY).await;
    for signer in [&secured.rsa, &secured.ec, &secured.ed] {
        let token = signer.sign(&claims("billing-batch"));
        secured
            .stop_running(&As::token(token), BILLING_POOL)
            .await
            .unwrap_or_else(|e| panic!("{:?}: {e:?}", signer.alg));
    }
    // Within the leeway, a token that just expired still counts.
    let just_expired = secured.rsa.sign(&claims_with(
        "billing-batch",
        json!({ "exp": seconds_from_now(-5) }),
    ));
    secured
        .stop_running(&As::token(just_expired), BILLING_POOL)
        .await
        .expect("within the leeway");
    let status = secured
        .stop_running(
            &As::token(secured.rsa.sign(&claims("billing-batch"))),
            DEMO_POOL,
        )
        .await
        .unwrap_err();
    assert_refused(&status, Code::PermissionDenied, "CALLER_NOT_ALLOWED");
}

#[tokio::test]
async fn tokens_that_fail_verification_are_unauthenticated() {
    let secured = Secured::start(POLICY).await;
    let rsa = &secured.rsa;
    let impostor = Signer::new("rsa-1", Algorithm::RS256);
    let rsa_public_key = serde_json::to_vec(&rsa.jwk).unwrap();
    let cases = [
        (
            rsa.sign(&claims_with(
                "billing-batch",
                json!({ "exp": seconds_from_now(-3600) }),
            )),
            "TOKEN_EXPIRED",
        ),
        (
            rsa.sign(&claims_with(
                "billing-batch",
                json!({ "nbf": seconds_from_now(3600) }),
            )),
            "TOKEN_NOT_YET_VALID",
        ),
        (
            rsa.sign(&claims_with(
                "billing-batch",
                json!({ "iss": "https://evil.test" }),
            )),
            "TOKEN_ISSUER_INVALID",
        ),
        (
            rsa.sign(&claims_with(
                "billing-batch",
                json!({ "aud": "another-service" }),
            )),
            "TOKEN_AUDIENCE_INVALID",
        ),
        (
            rsa.sign(&claims_with("billing-batch", json!({ "exp": null }))),
            "TOKEN_CLAIM_MISSING",
        ),
        (
            impostor.sign(&claims("billing-batch")),
            "TOKEN_SIGNATURE_INVALID",
        ),
        (
            Signer::new("unknown-kid", Algorithm::RS256).sign(&claims("billing-batch")),
            "TOKEN_KEY_UNKNOWN",
        ),
        (
            hs256_token("rsa-1", &rsa_public_key, &claims("billing-batch")),
            "TOKEN_ALGORITHM_NOT_ALLOWED",
        ),
        ("not.a.jwt".to_owned(), "TOKEN_MALFORMED"),
        // `iss` is one string: an array is refused even when it holds the issuer.
        (
            rsa.sign(&claims_with(
                "billing-batch",
                json!({ "iss": [ISSUER, "https://evil.test"] }),
            )),
            "TOKEN_ISSUER_INVALID",
        ),
        (
            rsa.sign(&claims_with("billing-batch", json!({ "iss": [ISSUER] }))),
            "TOKEN_ISSUER_INVALID",
        ),
        // Times are whole seconds, before the year 10000.
        (
            rsa.sign(&claims_with(
                "billing-batch",
                json!({ "exp": seconds_from_now(3600).as_f64().unwrap() + 0.5 }),
            )),
            "TOKEN_CLAIM_INVALID",
        ),
        (
            rsa.sign(&claims_with("billing-batch", json!({ "exp": u64::MAX }))),
            "TOKEN_CLAIM_INVALID",
        ),
        (
            rsa.sign(&claims_with(
                "billing-batch",
                json!({ "nbf": seconds_from_now(-60).as_f64().unwrap() + 0.5 }),
            )),
            "TOKEN_CLAIM_INVALID",
        ),
        // A subject that claims to be a SPIFFE ID must be one.
        (
            rsa.sign(&claims("spiffe://corp.test/billing/../ops")),
            "TOKEN_CLAIM_INVALID",
        ),
        // Extensions the service does not understand, marked critical.
        (
            rsa.sign_with_header(&claims("billing-batch"), |header| {
                header.crit = Some(vec!["exp-extension".to_owned()]);
            }),
            "TOKEN_CRITICAL_EXTENSION_UNSUPPORTED",
        ),
    ];
    for (token, reason) in cases {
        let status = secured
            .stop_running(&As::token(token), BILLING_POOL)
            .await
            .unwrap_err();
        assert_refused(&status, Code::Unauthenticated, reason);
    }
    let none = unsigned_token("rsa-1", &claims("billing-batch"));
    let status = secured
        .stop_running(&As::token(none), BILLING_POOL)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "alg none: {status:?}");

    let basic = As {
        cert: None,
        authorization: Some("Basic YWxpY2U6c2VjcmV0".to_owned()),
    };
    let status = secured
        .stop_running(&basic, BILLING_POOL)
        .await
        .unwrap_err();
    assert_refused(&status, Code::Unauthenticated, "AUTHORIZATION_NOT_BEARER");
    assert_eq!(
        secured.app.cognito_stop_calls(),
        0,
        "Cognito received no call"
    );
}

#[tokio::test]
async fn a_call_with_two_authorization_headers_is_unauthenticated_in_either_order() {
    let secured = Secured::start(POLICY).await;
    let good = format!("Bearer {}", secured.rsa.sign(&claims("billing-batch")));
    let other_issuer = format!(
        "Bearer {}",
        secured.rsa.sign(&claims_with(
            "billing-batch",
            json!({ "iss": "https://other.test" })
        ))
    );
    for second in ["garbage", other_issuer.as_str(), good.as_str()] {
        for (first, then) in [(good.as_str(), second), (second, good.as_str())] {
            let job = secured.app.job_in(BILLING_POOL, JobStatus::InProgress);
            let mut call = Request::new(request(BILLING_POOL, &job.job_id));
            for value in [first, then] {
                call.metadata_mut()
                    .append("authorization", MetadataValue::try_from(value).unwrap());
            }
            let status = ImportJobServiceClient::new(secured.channel(&As::default()).await)
                .stop_user_import_job(call)
                .await
                .unwrap_err();
            assert_refused(&status, Code::Unauthenticated, "AUTHORIZATION_REPEATED");
        }
    }
    assert_eq!(secured.app.cognito_stop_calls(), 0);
}

#[tokio::test]
async fn a_bad_token_fails_the_call_even_beside_a_good_certificate() {
    let secured = Secured::start(POLICY).await;
    let caller = As {
        cert: Some(secured.pki.client(&["ops.corp.test"], None)),
        authorization: Some(format!(
            "Bearer {}",
            secured.rsa.sign(&claims_with("ops", json!({ "aud": "x" })))
        )),
    };
    let status = secured.stop_running(&caller, DEMO_POOL).await.unwrap_err();
    assert_refused(&status, Code::Unauthenticated, "TOKEN_AUDIENCE_INVALID");
}

#[tokio::test]
async fn jwt_works_over_plaintext_too() {
    let files = Files::new();
    let signer = Signer::new("k1", Algorithm::ES256);
    let flags = files.token_service(POLICY, &[&signer]);
    let args: Vec<&str> = flags
        .iter()
        .map(String::as_str)
        .chain(["--jwt-algorithms", "ES256"])
        .collect();
    let app = spawn_app_with(&args).await;
    let job = app.job_in(BILLING_POOL, JobStatus::InProgress);
    let mut call = Request::new(request(BILLING_POOL, &job.job_id));
    let token = format!("Bearer {}", signer.sign(&claims("billing-batch")));
    call.metadata_mut().insert(
        "authorization",
        MetadataValue::try_from(token.as_str()).unwrap(),
    );
    app.client
        .clone()
        .stop_user_import_job(call)
        .await
        .expect("allowed over plaintext");

    let status = app
        .stop_job(BILLING_POOL, "import-anything")
        .await
        .unwrap_err();
    assert_refused(&status, Code::Unauthenticated, "CREDENTIALS_MISSING");
}

#[tokio::test]
async fn only_the_pinned_algorithms_are_accepted() {
    let files = Files::new();
    let (rsa, ed) = (
        Signer::new("rsa", Algorithm::RS256),
        Signer::new("ed", Algorithm::EdDSA),
    );
    let flags = files.token_service(POLICY, &[&rsa, &ed]);
    let args: Vec<&str> = flags
        .iter()
        .map(String::as_str)
        .chain(["--jwt-algorithms", "RS256"])
        .collect();
    let app = spawn_app_with(&args).await;
    let mut call = Request::new(request(BILLING_POOL, "import-x"));
    let token = format!("Bearer {}", ed.sign(&claims("billing-batch")));
    call.metadata_mut().insert(
        "authorization",
        MetadataValue::try_from(token.as_str()).unwrap(),
    );
    let status = app
        .client
        .clone()
        .stop_user_import_job(call)
        .await
        .unwrap_err();
    assert_refused(
        &status,
        Code::Unauthenticated,
        "TOKEN_ALGORITHM_NOT_ALLOWED",
    );
}

/// What a caller gets for each method: an allowed Stop succeeds (OK), an
/// allowed call of a method the service lacks is UNIMPLEMENTED, health and
/// reflection are open.
#[tokio::test]
async fn callers_by_methods_by_user_pools() {
    let secured = Secured::start(POLICY).await;
    let token = |subject: &str| secured.rsa.sign(&claims(subject));
    let callers = [
        (
            "billing by mTLS",
            As::cert(secured.pki.client(&["spiffe://corp.test/billing"], None)),
        ),
        ("billing by JWT", As::token(token("billing-batch"))),
        (
            "operators by mTLS",
            As::cert(secured.pki.client(&["ops.corp.test"], None)),
        ),
        (
            "suspended by mTLS",
            As::cert(secured.pki.client(&["spiffe://corp.test/suspended"], None)),
        ),
        ("unknown by JWT", As::token(token("someone-else"))),
        ("anonymous", As::default()),
    ];
    use Code::*;
    //            stop on Billing, stop on Demo, unknown method, health, reflection
    let expected = [
        [Ok, PermissionDenied, PermissionDenied, Ok, Ok],
        [Ok, PermissionDenied, PermissionDenied, Ok, Ok],
        [Ok, Ok, Unimplemented, Ok, Ok],
        [PermissionDenied, PermissionDenied, PermissionDenied, Ok, Ok],
        [PermissionDenied, PermissionDenied, PermissionDenied, Ok, Ok],
        [Unauthenticated, Unauthenticated, Unauthenticated, Ok, Ok],
    ];
    for ((name, caller), expected) in callers.iter().zip(expected) {
        let before = secured.app.cognito_stop_calls();
        let stop_billing = code(secured.stop_running(caller, BILLING_POOL).await);
        let stop_demo = code(secured.stop_running(caller, DEMO_POOL).await);
        let unknown = code(unknown_method(secured.channel(caller).await, caller).await);
        let health = code(
            HealthClient::new(secured.channel(caller).await)
                .check(HealthCheckRequest::default())
                .await,
        );
        let reflection = code(list_services(secured.channel(caller).await).await);
        assert_eq!(
            [stop_billing, stop_demo, unknown, health, reflection],
            expected,
            "{name}"
        );
        let allowed_stops = [stop_billing, stop_demo]
            .iter()
            .filter(|c| **c == Ok)
            .count();
        assert_eq!(
            secured.app.cognito_stop_calls() - before,
            allowed_stops,
            "{name}: only allowed calls reach Cognito"
        );
    }
}

fn code<T>(result: Result<T, Status>) -> Code {
    result.map_or_else(|status| status.code(), |_| Code::Ok)
}

async fn unknown_method(
    channel: Channel,
    caller: &As,
) -> Result<Response<StopUserImportJobResponse>, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path =
        http::uri::PathAndQuery::from_static("/importjob.v1.ImportJobService/DeleteUserImportJob");
    let codec =
        tonic_prost::ProstCodec::<StopUserImportJobRequest, StopUserImportJobResponse>::default();
    grpc.unary(
        Secured::with_auth(caller, request(DEMO_POOL, "import-x")),
        path,
        codec,
    )
    .await
}

async fn list_services(channel: Channel) -> Result<(), Status> {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest,
    };
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([request]))
        .await?
        .into_inner();
    responses
        .message()
        .await?
        .map(|_| ())
        .ok_or_else(|| Status::internal("no answer"))
}

#[tokio::test]
async fn a_policy_that_names_reflection_restricts_it() {
    let policy = r#"{
      "name": "locked",
      "allow_rules": [
        { "name": "ops-reflect", "source": { "principals": ["ops.corp.test"] },
          "request": { "paths": ["/grpc.reflection.v1.ServerReflection/*", "/grpc.reflection.v1alpha.ServerReflection/*"] } }
      ]
    }"#;
    let secured = Secured::start(policy).await;
    let ops = As::cert(secured.pki.client(&["ops.corp.test"], None));
    let other = As::cert(secured.pki.client(&["spiffe://corp.test/billing"], None));
    assert_eq!(
        code(list_services(secured.channel(&ops).await).await),
        Code::Ok
    );
    assert_eq!(
        code(list_services(secured.channel(&other).await).await),
        Code::PermissionDenied
    );
    assert_eq!(
        code(list_services(secured.channel(&As::default()).await).await),
        Code::Unauthenticated
    );
}

#[tokio::test]
async fn every_decision_leaves_one_audit_event() {
    let secured = Secured::start(POLICY).await;
    let billing = As::cert(secured.pki.client(&["spiffe://corp.test/billing"], None));
    let allowed = secured.app.job_in(BILLING_POOL, JobStatus::InProgress);
    secured
        .stop(&billing, BILLING_POOL, &allowed.job_id)
        .await
        .unwrap();
    let denied = secured.app.job_in(DEMO_POOL, JobStatus::InProgress);
    let token = secured.rsa.sign(&claims("billing-batch"));
    secured
        .stop(&As::token(token.clone()), DEMO_POOL, &denied.job_id)
        .await
        .unwrap_err();

    let audit_of = |job: &str| -> Vec<serde_json::Value> {
        LOGS.lines_with(job)
            .into_iter()
            .filter(|line| line["target"] == "audit")
            .collect()
    };
    let allow = audit_of(&allowed.job_id);
    assert_eq!(allow.len(), 1, "{allow:?}");
    let fields = &allow[0]["fields"];
    assert_eq!(fields["caller"], "mtls:spiffe://corp.test/billing");
    assert_eq!(fields["proof"], "mtls");
    assert_eq!(
        fields["method"],
        "/importjob.v1.ImportJobService/StopUserImportJob"
    );
    assert_eq!(fields["user_pool_id"], BILLING_POOL);
    assert_eq!(fields["decision"], "allow");
    assert_eq!(fields["rule"], "billing-own-pools");
    assert!(allow[0]["timestamp"].is_string());

    let deny = audit_of(&denied.job_id);
    assert_eq!(deny.len(), 1, "{deny:?}");
    assert_eq!(deny[0]["fields"]["caller"], "jwt:billing-batch");
    assert_eq!(deny[0]["fields"]["proof"], "jwt");
    assert_eq!(deny[0]["fields"]["decision"], "deny");
    assert_eq!(deny[0]["fields"]["rule"], "default deny");

    let logs = LOGS.text();
    assert!(!logs.contains(&token), "a token reached the logs");
    assert!(
        !logs.contains("BEGIN CERTIFICATE"),
        "a certificate reached the logs"
    );

    // The call's own event names the caller too.
    let call = LOGS
        .lines_with(&allowed.job_id)
        .into_iter()
        .find(|l| l["fields"]["message"] == "call finished")
        .unwrap();
    assert_eq!(call["span"]["caller"], "mtls:spiffe://corp.test/billing");
}

/// Waits until `caller` stopping a job in `pool` gets `code`.
async fn wait_for_code(secured: &Secured, caller: &As, pool: &str, code_wanted: Code) {
    for _ in 0..100 {
        if code(secured.stop_running(caller, pool).await) == code_wanted {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never got {code_wanted:?}");
}

#[tokio::test]
async fn a_changed_policy_file_is_swapped_in_and_an_invalid_one_is_ignored() {
    let secured = Secured::start(POLICY).await;
    let billing = As::cert(secured.pki.client(&["spiffe://corp.test/billing"], None));
    assert_eq!(
        code(secured.stop_running(&billing, DEMO_POOL).await),
        Code::PermissionDenied
    );

    let widened = POLICY.replace(
        r#""us-east-1_Billing*""#,
        r#""us-east-1_Billing*", "us-east-1_Import*""#,
    );
    secured.files.write("policy.json", &widened);
    wait_for_code(&secured, &billing, DEMO_POOL, Code::Ok).await;

    secured.files.write(
        "policy.json",
        r#"{"name": "broken", "allow_rules": [{"name": "x", "sauce": {}}]}"#,
    );
    wait_for(|| {
        LOGS.text()
            .contains("rejected the new authorization policy")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        code(secured.stop_running(&billing, DEMO_POOL).await),
        Code::Ok,
        "the old policy stays in force"
    );
}

#[tokio::test]
async fn a_reload_during_calls_in_flight_lets_them_finish_under_the_old_policy() {
    let secured = Secured::start(POLICY).await;
    let billing = As::cert(secured.pki.client(&["spiffe://corp.test/billing"], None));
    secured
        .app
        .inject(Fault::Delay(Duration::from_millis(600)), 1);
    let job = secured.app.job_in(BILLING_POOL, JobStatus::InProgress);
    let channel = secured.channel(&billing).await;
    let in_flight = tokio::spawn(async move {
        ImportJobServiceClient::new(channel)
            .stop_user_import_job(request(BILLING_POOL, &job.job_id))
            .await
    });
    wait_for(|| secured.app.emulator.calls().len() == 1).await;

    secured
        .files
        .write("policy.json", r#"{"name": "closed", "allow_rules": []}"#);
    wait_for_code(&secured, &billing, BILLING_POOL, Code::PermissionDenied).await;

    in_flight
        .await
        .unwrap()
        .expect("the call allowed before the reload completes");
}

#[tokio::test]
async fn a_changed_jwks_is_swapped_in() {
    let secured = Secured::start(POLICY).await;
    let rotated = Signer::new("rsa-2", Algorithm::RS256);
    let caller = As::token(rotated.sign(&claims("billing-batch")));
    assert_eq!(
        code(secured.stop_running(&caller, BILLING_POOL).await),
        Code::Unauthenticated
    );
    secured
        .files
        .write("jwks.json", &jwks(&[&secured.rsa, &rotated]));
    wait_for_code(&secured, &caller, BILLING_POOL, Code::Ok).await;
}
