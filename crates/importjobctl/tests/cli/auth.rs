//! importjobctl with credentials: a client certificate, a token from a file
//! or the environment, and the TLS settings that go wrong.

use import_job_service::emulator::{DEMO_POOL, Job, JobStatus, Timings};
use jsonwebtoken::Algorithm;

use crate::{
    aws_cli::importjobctl,
    fixtures::{Files, Pki, Signer, claims},
    helpers::{LOGS, TestApp, spawn_app_with},
};

const BILLING_POOL: &str = "us-east-1_Billing1";

/// Billing's identities may stop jobs in billing's pools, and nothing else.
const POLICY: &str = r#"{
  "name": "importjobctl-tests",
  "allow_rules": [
    {
      "name": "billing-own-pools",
      "source": { "principals": ["spiffe://corp.test/billing", "billing-batch"] },
      "request": {
        "paths": ["/importjob.v1.ImportJobService/StopUserImportJob"],
        "user_pools": ["us-east-1_Billing*"]
      }
    }
  ]
}"#;

/// The service with TLS, client certificates, tokens and [`POLICY`], and
/// two running jobs in each pool.
struct Secured {
    app: TestApp,
    pki: Pki,
    files: Files,
    signer: Signer,
}

impl Secured {
    async fn start() -> Self {
        let files = Files::new();
        let pki = Pki::new("Test CA");
        let signer = Signer::new("ed-1", Algorithm::EdDSA);
        let mut flags = files.tls_service(&pki);
        flags.extend(files.token_service(POLICY, &[&signer]));
        let args: Vec<&str> = flags.iter().map(String::as_str).collect();
        let app = spawn_app_with(&args).await;
        app.emulator.set_timings(Timings::immediate());
        for pool in [BILLING_POOL, DEMO_POOL] {
            for id in ["import-target", "import-second"] {
                app.emulator
                    .put_job(Job::in_status(pool, id, JobStatus::InProgress));
            }
        }
        Self {
            app,
            pki,
            files,
            signer,
        }
    }
}

#[tokio::test]
async fn importjobctl_calls_with_a_client_certificate_or_a_token_file() {
    let secured = Secured::start().await;
    let files = &secured.files;
    let billing = secured.pki.client(&["spiffe://corp.test/billing"], None);
    files.write("billing.pem", &billing.cert);
    files.write("billing.key", &billing.key);
    files.write("token", &secured.signer.sign(&claims("billing-batch")));
    let endpoint = format!("https://{}", secured.app.addr);
    let tls = [
        "--ca-bundle",
        &files.path("ca.pem"),
        "--tls-server-name",
        "localhost",
    ];
    let stop = |job: &'static str| {
        [
            "stop-user-import-job",
            "--user-pool-id",
            BILLING_POOL,
            "--job-id",
            job,
        ]
    };

    let (cert, key) = (files.path("billing.pem"), files.path("billing.key"));
    let with_cert = [
        &tls[..],
        &["--client-cert", &cert, "--client-key", &key],
        &stop("import-target"),
    ]
    .concat();
    let output = importjobctl(&endpoint, &with_cert, &[]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("\"Status\": \"Stopped\""), "{stdout}");

    let token_file = files.path("token");
    let with_token = [
        &tls[..],
        &["--token-file", &token_file],
        &stop("import-second"),
    ]
    .concat();
    let output = importjobctl(&endpoint, &with_token, &[]).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = std::fs::read_to_string(&token_file).unwrap();
    assert!(
        !LOGS.text().contains(&token),
        "the token never reaches a log line"
    );

    // The token from the environment, for a pool the caller does not own.
    let elsewhere = [
        &tls[..],
        &[
            "stop-user-import-job",
            "--user-pool-id",
            DEMO_POOL,
            "--job-id",
            "import-target",
        ],
    ]
    .concat();
    let output = importjobctl(
        &endpoint,
        &elsewhere,
        &[("IMPORTJOBCTL_TOKEN", token.as_str())],
    )
    .await;
    assert_eq!(output.status.code(), Some(254));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "\nAn error occurred (CALLER_NOT_ALLOWED) when calling the StopUserImportJob operation: \
         the caller is not allowed to call /importjob.v1.ImportJobService/StopUserImportJob for this request\n"
    );

    // A CA that did not sign the service's certificate fails the handshake;
    // a file with no certificate in it is a configuration error.
    files.write("other-ca.pem", &Pki::new("Other CA").ca_pem());
    files.write("not-a-ca.pem", "not a certificate\n");
    for (ca, code, says) in [
        ("other-ca.pem", 255, "SSL validation failed for https://"),
        ("not-a-ca.pem", 253, "no PEM certificate in it"),
    ] {
        let ca = files.path(ca);
        let args = [
            &["--ca-bundle", &ca, "--tls-server-name", "localhost"][..],
            &stop("import-target"),
        ]
        .concat();
        let output = importjobctl(&endpoint, &args, &[]).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }

    let anonymous = [&tls[..], &stop("import-target")].concat();
    let output = importjobctl(&endpoint, &anonymous, &[]).await;
    assert_eq!(output.status.code(), Some(254));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("An error occurred (CREDENTIALS_MISSING)"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
