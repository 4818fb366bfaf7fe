//! Bearer tokens: every pinned algorithm, every way a token fails, and
//! tokens beside certificates.

use super::*;

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
