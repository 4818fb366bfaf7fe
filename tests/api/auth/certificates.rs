//! Client certificates under a name-constrained CA, and the service's own
//! certificate and client CAs rotated while it runs.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use import_job_service::{
    emulator::{DEMO_POOL, JobStatus},
    proto::import_job_service_client::ImportJobServiceClient,
};
use tonic::Code;

use super::{As, BILLING_POOL, POLICY, Secured, assert_refused, fixtures::*};
use crate::helpers::LOGS;

/// Waits until `condition` holds, for at most 5 s.
async fn wait_for<F, Fut>(what: &str, condition: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !condition().await {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "waited 5 s for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn under_a_name_constrained_ca_only_sans_within_the_constraint_name_a_caller() {
    // Even with the CN opt-in: a constrained chain never names by CN.
    let secured = Secured::start_with(POLICY, &["--client-cn-identity"]).await;
    let team_a = secured
        .pki
        .constrained_intermediate("Team A CA", "team-a.test");

    // `cn-caller` and `ops.corp.test` are operators in the policy.
    let cn_only = As::cert(team_a.client(&[], Some("cn-caller")));
    let status = secured.stop_running(&cn_only, DEMO_POOL).await.unwrap_err();
    assert_refused(
        &status,
        Code::Unauthenticated,
        "CLIENT_CERTIFICATE_NO_IDENTITY",
    );
    let outside = As::cert(team_a.client(&["ops.corp.test"], Some("cn-caller")));
    let status = secured.stop_running(&outside, DEMO_POOL).await.unwrap_err();
    assert_refused(
        &status,
        Code::Unauthenticated,
        "CLIENT_CERTIFICATE_UNTRUSTED",
    );

    // Within the constraint, the DNS SAN is the identity (the policy does
    // not name it).
    let inside = As::cert(team_a.client(&["batch.team-a.test"], Some("cn-caller")));
    let status = secured.stop_running(&inside, DEMO_POOL).await.unwrap_err();
    assert_refused(&status, Code::PermissionDenied, "CALLER_NOT_ALLOWED");

    // WebPKI holds URI SANs to no DNS constraint: the service holds a
    // SPIFFE ID's trust domain to it.
    let outside_id = As::cert(team_a.client(&["spiffe://corp.test/billing"], None));
    let status = secured
        .stop_running(&outside_id, BILLING_POOL)
        .await
        .unwrap_err();
    assert_refused(
        &status,
        Code::Unauthenticated,
        "CLIENT_CERTIFICATE_OUTSIDE_NAME_CONSTRAINTS",
    );
    let inside_id = As::cert(team_a.client(&["spiffe://team-a.test/batch"], None));
    let status = secured
        .stop_running(&inside_id, DEMO_POOL)
        .await
        .unwrap_err();
    assert_refused(&status, Code::PermissionDenied, "CALLER_NOT_ALLOWED");
    assert_eq!(secured.app.cognito_stop_calls(), 0, "no call got through");

    // The same CN-only certificate from the unconstrained CA is named by
    // its CN, as the opt-in says.
    let unconstrained = As::cert(secured.pki.client(&[], Some("cn-caller")));
    secured
        .stop_running(&unconstrained, DEMO_POOL)
        .await
        .expect("named by its CN");

    // The constrained CA trusted itself, its clients sending no
    // intermediate: its constraints bind them the same.
    let ca = secured
        .files
        .write("ca.pem", &(secured.pki.ca_pem() + &team_a.ca_pem()));
    let ca = ca.display().to_string();
    wait_for("the new client CAs", || async {
        LOGS.lines_with("reloaded the TLS files")
            .iter()
            .any(|line| line["fields"]["files"].as_str().unwrap().contains(&ca))
    })
    .await;
    for (cert, reason) in [
        (
            team_a.client(&[], Some("cn-caller")),
            "CLIENT_CERTIFICATE_NO_IDENTITY",
        ),
        (
            team_a.client(&["spiffe://corp.test/billing"], None),
            "CLIENT_CERTIFICATE_OUTSIDE_NAME_CONSTRAINTS",
        ),
    ] {
        let caller = As::cert(leaf_only(cert));
        let status = secured
            .stop_running(&caller, BILLING_POOL)
            .await
            .unwrap_err();
        assert_refused(&status, Code::Unauthenticated, reason);
    }
}

/// The client's certificate without the intermediates after it.
fn leaf_only(cert: ClientCert) -> ClientCert {
    const END: &str = "-----END CERTIFICATE-----";
    let leaf = &cert.cert[..cert.cert.find(END).unwrap() + END.len()];
    ClientCert {
        cert: format!("{leaf}\n"),
        key: cert.key,
    }
}

#[tokio::test]
async fn the_server_certificate_and_client_cas_rotate_while_connections_stay_open() {
    let secured = Secured::start(POLICY).await;
    let billing = As::cert(secured.pki.client(&["spiffe://corp.test/billing"], None));
    let held = secured.channel(&billing).await;
    let job = secured.app.job_in(BILLING_POOL, JobStatus::InProgress);
    ImportJobServiceClient::new(held.clone())
        .stop_user_import_job(crate::helpers::request(BILLING_POOL, &job.job_id))
        .await
        .expect("allowed before the rotation");

    // A new CA issues the server's certificate, and is the only client CA.
    // The certificate comes first: beside the old key, it is rejected, and
    // the old set stays in force until the key arrives.
    let rotated = Pki::new("Rotated CA");
    let server = rotated.server();
    let addr = secured.app.addr;
    let cert = secured.files.write("server.pem", &server.cert);
    let cert = cert.display().to_string();
    wait_for("the half-rotated set to be rejected", || async {
        LOGS.lines_with("rejected the new TLS files")
            .iter()
            .any(|line| line["fields"]["files"].as_str().unwrap().contains(&cert))
    })
    .await;
    try_tls_channel(addr, &secured.pki.ca_pem(), None)
        .await
        .expect("the old certificate is still presented");
    secured.files.write("ca.pem", &rotated.ca_pem());
    secured.files.write("server.key", &server.key);
    wait_for("new handshakes to present the new certificate", || async {
        try_tls_channel(addr, &rotated.ca_pem(), None).await.is_ok()
    })
    .await;
    assert!(
        try_tls_channel(addr, &secured.pki.ca_pem(), None)
            .await
            .is_err(),
        "the old certificate is no longer presented"
    );

    // The connection opened before keeps working.
    let job = secured.app.job_in(BILLING_POOL, JobStatus::InProgress);
    ImportJobServiceClient::new(held)
        .stop_user_import_job(crate::helpers::request(BILLING_POOL, &job.job_id))
        .await
        .expect("the held connection keeps its verified identity");

    // A certificate of the removed CA is refused on its next connection;
    // the new CA's are trusted.
    let reconnected = try_tls_channel(addr, &rotated.ca_pem(), billing.cert.as_ref())
        .await
        .unwrap();
    let job = secured.app.job_in(BILLING_POOL, JobStatus::InProgress);
    let status = ImportJobServiceClient::new(reconnected)
        .stop_user_import_job(crate::helpers::request(BILLING_POOL, &job.job_id))
        .await
        .unwrap_err();
    assert_refused(
        &status,
        Code::Unauthenticated,
        "CLIENT_CERTIFICATE_UNTRUSTED",
    );
    let renewed = rotated.client(&["spiffe://corp.test/billing"], None);
    let channel = try_tls_channel(addr, &rotated.ca_pem(), Some(&renewed))
        .await
        .unwrap();
    let job = secured.app.job_in(BILLING_POOL, JobStatus::InProgress);
    ImportJobServiceClient::new(channel)
        .stop_user_import_job(crate::helpers::request(BILLING_POOL, &job.job_id))
        .await
        .expect("the new CA's certificate is trusted");

    // An invalid new certificate is logged and ignored.
    let rejections = || {
        LOGS.lines_with("rejected the new TLS files")
            .iter()
            .filter(|line| line["fields"]["files"].as_str().unwrap().contains(&cert))
            .count()
    };
    let before = rejections();
    secured.files.write("server.pem", "not a certificate");
    wait_for("the invalid certificate to be rejected", || async {
        rejections() > before
    })
    .await;
    try_tls_channel(addr, &rotated.ca_pem(), None)
        .await
        .expect("the certificate in force stays");
}
