//! Authentication and authorization, end to end over real TLS and plaintext
//! sockets: client certificates and tokens made here, a policy with allow and
//! deny rules, reloads, and the audit trail.

mod certificates;
pub mod fixtures;
mod jwt;
mod mtls;
mod policy;
mod reload;
mod stalls;

use std::{path::Path, time::Duration};

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
        let policy = files.write("policy.json", policy);
        Self::start_reading(files, &policy, extra).await
    }

    /// As [`Secured::start_with`], with the policy in the file at `policy`,
    /// wherever it is.
    async fn start_reading(files: Files, policy: &Path, extra: &[&str]) -> Self {
        let pki = Pki::new("Test CA");
        let (rsa, ec, ed) = (
            Signer::new("rsa-1", Algorithm::RS256),
            Signer::new("ec-1", Algorithm::ES256),
            Signer::new("ed-1", Algorithm::EdDSA),
        );
        let mut flags = files.tls_service(&pki);
        flags.extend(["--auth-policy".to_owned(), policy.display().to_string()]);
        flags.extend(files.token_flags(&[&rsa, &ec, &ed]));
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

fn code<T>(result: Result<T, Status>) -> Code {
    result.map_or_else(|status| status.code(), |_| Code::Ok)
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
