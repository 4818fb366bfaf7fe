//! Client certificates: who they name, and the ones that name no one.

use super::*;

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
