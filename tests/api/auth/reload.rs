//! The policy and the JWKS changed under a running service.

use super::*;

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
