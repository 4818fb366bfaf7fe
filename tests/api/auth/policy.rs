//! The policy: per caller, method and user pool; reflection; the message it
//! judges; one audit event per decision.

use super::*;
use crate::operations::{Method, Sent};

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

/// Each method is its own path in the policy, and `user_pools` scopes every
/// one: a reader may describe, list and read the CSV header of its pools and
/// nothing else; an operator may call every method; a caller denied is
/// denied before Cognito is called.
#[tokio::test]
async fn each_method_is_authorized_on_its_own_for_each_pool() {
    const READ_ONLY: &str = r#"{
      "name": "readers-and-operators",
      "allow_rules": [
        {
          "name": "dashboards-read-billing",
          "source": { "principals": ["spiffe://corp.test/dashboards"] },
          "request": {
            "paths": [
              "/importjob.v1.ImportJobService/DescribeUserImportJob",
              "/importjob.v1.ImportJobService/ListUserImportJobs",
              "/importjob.v1.ImportJobService/GetCsvHeader"
            ],
            "user_pools": ["us-east-1_Billing*"]
          }
        },
        {
          "name": "operators",
          "source": { "principals": ["ops.corp.test"] },
          "request": { "paths": ["/importjob.v1.ImportJobService/*"] }
        }
      ]
    }"#;
    let secured = Secured::start(READ_ONLY).await;
    let reader = As::cert(secured.pki.client(&["spiffe://corp.test/dashboards"], None));
    let operator = As::cert(secured.pki.client(&["ops.corp.test"], None));
    for method in Method::ALL {
        for pool in [BILLING_POOL, DEMO_POOL] {
            for (who, caller) in [("reader", &reader), ("operator", &operator)] {
                let calls_before = secured.app.emulator.calls().len();
                let job = method.job_for(&secured.app, pool);
                let mut client = ImportJobServiceClient::new(secured.channel(caller).await);
                let result = method.send(&mut client, pool, &job, &Sent::default()).await;
                let allowed = who == "operator" || (!method.changes_job() && pool == BILLING_POOL);
                let context = format!("{who} {method:?} in {pool}");
                match result {
                    Ok(_) => assert!(allowed, "{context} was allowed"),
                    Err(status) => {
                        assert!(!allowed, "{context}: {status:?}");
                        assert_refused(&status, Code::PermissionDenied, "CALLER_NOT_ALLOWED");
                        assert_eq!(
                            secured.app.emulator.calls().len(),
                            calls_before,
                            "{context}: Cognito was not called"
                        );
                    }
                }
            }
        }
    }
    // The streamed methods too, judged by their first message: a reader
    // may not watch (its rule names no such path) nor upload.
    for (who, caller, allowed) in [("reader", &reader, false), ("operator", &operator, true)] {
        let job = secured
            .app
            .job_in(BILLING_POOL, JobStatus::InProgress)
            .job_id;
        let mut client = ImportJobServiceClient::new(secured.channel(caller).await);
        let watch = client
            .watch_user_import_job(Secured::with_auth(
                caller,
                import_job_service::proto::WatchUserImportJobRequest {
                    user_pool_id: BILLING_POOL.to_owned(),
                    job_id: job.clone(),
                },
            ))
            .await;
        let created = secured.app.job_in(BILLING_POOL, JobStatus::Created).job_id;
        let first = import_job_service::proto::UploadUserImportCsvRequest {
            user_pool_id: BILLING_POOL.to_owned(),
            job_id: created,
            content_length: 1,
            validate_only: true,
            chunk: Vec::new(),
        };
        let upload = client
            .upload_user_import_csv(Secured::with_auth(caller, tokio_stream::iter([first])))
            .await;
        for (what, code) in [("watch", code(watch)), ("upload", code(upload))] {
            match allowed {
                // The upload's one-byte file never came: refused by the
                // service, after the policy let it through.
                true => assert_ne!(code, Code::PermissionDenied, "{who} {what}"),
                false => assert_eq!(code, Code::PermissionDenied, "{who} {what}"),
            }
        }
    }
}

/// The policies in deploy/kubernetes load, and allow what their rules say
/// to whom: the base's no one, the production example's each of its three
/// callers its own methods, in its own pools.
#[tokio::test]
async fn the_policies_deploy_kubernetes_ships_allow_what_they_say() {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes");

    let base = Secured::start_reading(Files::new(), &deploy.join("base/policy.json"), &[]).await;
    let operator = As::cert(base.pki.client(&["ops.corp.test"], None));
    for method in Method::ALL {
        let job = method.job_for(&base.app, DEMO_POOL);
        let mut client = ImportJobServiceClient::new(base.channel(&operator).await);
        let status = method
            .send(&mut client, DEMO_POOL, &job, &Sent::default())
            .await
            .unwrap_err();
        assert_refused(&status, Code::PermissionDenied, "CALLER_NOT_ALLOWED");
    }

    let production = Secured::start_reading(
        Files::new(),
        &deploy.join("overlays/production/policy.json"),
        &[],
    )
    .await;
    const OWN_POOL: &str = "us-east-1_Billing01";
    let caller = |spiffe_id: &str| As::cert(production.pki.client(&[spiffe_id], None));
    use Method::*;
    let callers = [
        (
            "importer",
            caller("spiffe://prod.example.com/ns/billing/sa/user-importer"),
            &[Create, GetCsvHeader, Start, Describe, Stop][..],
            &[][..],
        ),
        (
            "dashboard",
            caller("spiffe://prod.example.com/ns/dashboards/sa/import-dashboard"),
            &[GetCsvHeader, Describe, List][..],
            &[GetCsvHeader, Describe, List][..],
        ),
        (
            "operator",
            caller("spiffe://prod.example.com/ns/operations/sa/on-call"),
            &[Describe, List, Stop][..],
            &[Describe, List, Stop][..],
        ),
        (
            "another account of billing",
            caller("spiffe://prod.example.com/ns/billing/sa/default"),
            &[][..],
            &[][..],
        ),
    ];
    for (who, caller, in_own_pool, elsewhere) in callers {
        for (pool, allowed) in [(OWN_POOL, in_own_pool), (DEMO_POOL, elsewhere)] {
            for method in Method::ALL {
                let job = method.job_for(&production.app, pool);
                let mut client = ImportJobServiceClient::new(production.channel(&caller).await);
                let result = method.send(&mut client, pool, &job, &Sent::default()).await;
                let context = format!("{who} {method:?} in {pool}");
                match result {
                    Ok(_) => assert!(allowed.contains(&method), "{context} was allowed"),
                    Err(status) => {
                        assert!(!allowed.contains(&method), "{context}: {status:?}");
                        assert_refused(&status, Code::PermissionDenied, "CALLER_NOT_ALLOWED");
                    }
                }
            }
        }
    }
}
