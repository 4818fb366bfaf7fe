//! Reflection, health, and graceful shutdown.

use std::time::Duration;

use import_job_service::emulator::{DEMO_POOL, Fault, JobStatus, Timings};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::helpers::{channel, spawn_app, wait_for};

const SERVICE: &str = "importjob.v1.ImportJobService";

#[tokio::test]
async fn reflection_v1_lists_the_service_and_serves_error_details() {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let app = spawn_app().await;
    let mut client = ServerReflectionClient::new(channel(app.addr).await);
    let requests = vec![
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        },
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(
                "google.rpc.ErrorInfo".to_owned(),
            )),
        },
    ];
    let mut responses = client
        .server_reflection_info(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();

    let Some(MessageResponse::ListServicesResponse(list)) =
        responses.message().await.unwrap().unwrap().message_response
    else {
        panic!("expected a service list");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&SERVICE), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");

    let Some(MessageResponse::FileDescriptorResponse(files)) =
        responses.message().await.unwrap().unwrap().message_response
    else {
        panic!("expected the file declaring google.rpc.ErrorInfo");
    };
    assert!(!files.file_descriptor_proto.is_empty());
}

#[tokio::test]
async fn reflection_v1alpha_lists_the_service_for_older_grpcurl() {
    use tonic_reflection::pb::v1alpha::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let app = spawn_app().await;
    let mut client = ServerReflectionClient::new(channel(app.addr).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) =
        responses.message().await.unwrap().unwrap().message_response
    else {
        panic!("expected a service list");
    };
    assert!(list.service.iter().any(|s| s.name == SERVICE));
}

#[tokio::test]
async fn health_serves_then_turns_not_serving_when_shutdown_begins_and_watches_end() {
    let mut app = spawn_app().await;
    let mut health = HealthClient::new(channel(app.addr).await);
    for service in ["", SERVICE] {
        let response = health
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .unwrap();
        assert_eq!(
            response.into_inner().status(),
            ServingStatus::Serving,
            "{service:?}"
        );
    }
    let mut watch = health
        .watch(HealthCheckRequest {
            service: SERVICE.to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        watch.message().await.unwrap().unwrap().status(),
        ServingStatus::Serving
    );

    app.begin_shutdown();

    let update = tokio::time::timeout(Duration::from_secs(2), watch.message())
        .await
        .expect("an update")
        .unwrap()
        .unwrap();
    assert_eq!(update.status(), ServingStatus::NotServing);
    // The watch ends, so it holds up the drain no longer than that (the
    // grace period here is the default 30 s).
    let end = tokio::time::timeout(Duration::from_secs(2), watch.message())
        .await
        .expect("the watch ends");
    assert!(matches!(end, Ok(None)), "{end:?}");
    let result = tokio::time::timeout(Duration::from_secs(3), app.server_task())
        .await
        .expect("the server stops");
    result.expect("a clean shutdown");
}

#[tokio::test]
async fn calls_in_flight_finish_during_shutdown_and_new_connections_are_refused() {
    let mut app = spawn_app().await;
    app.emulator.set_timings(Timings::immediate());
    let job = app.job_in(DEMO_POOL, JobStatus::InProgress);
    app.inject(Fault::Delay(Duration::from_millis(500)), 1);

    let mut client = app.client.clone();
    let job_id = job.job_id.clone();
    let in_flight = tokio::spawn(async move {
        client
            .stop_user_import_job(crate::helpers::request(DEMO_POOL, &job_id))
            .await
    });
    wait_for(|| app.emulator.calls().len() == 1).await;
    app.begin_shutdown();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let refused = tonic::transport::Channel::from_shared(format!("http://{}", app.addr))
        .unwrap()
        .connect()
        .await;
    assert!(refused.is_err(), "a new connection after shutdown began");

    let response = in_flight
        .await
        .unwrap()
        .expect("the call in flight completes normally");
    assert_eq!(response.into_inner().user_import_job.unwrap().status, 6);
    let server = app.server_task();
    tokio::time::timeout(Duration::from_secs(3), server)
        .await
        .expect("the server stops")
        .expect("a clean shutdown");
}

#[tokio::test]
async fn health_alone_is_served_in_plaintext_on_its_own_listener_through_the_drain() {
    let mut app = crate::helpers::spawn_app_with(&["--health-listen", "127.0.0.1:0"]).await;
    let health_addr = app.health_addr.expect("--health-listen binds");
    let mut health = HealthClient::new(channel(health_addr).await);
    let check = |service: &str| HealthCheckRequest {
        service: service.to_owned(),
    };
    for service in ["", SERVICE] {
        let status = health.check(check(service)).await.unwrap().into_inner();
        assert_eq!(status.status(), ServingStatus::Serving, "{service:?}");
    }
    // Nothing but health: the API is not on this port.
    let mut api = import_job_service::proto::import_job_service_client::ImportJobServiceClient::new(
        channel(health_addr).await,
    );
    let status = api
        .describe_user_import_job(import_job_service::proto::DescribeUserImportJobRequest {
            user_pool_id: DEMO_POOL.to_owned(),
            job_id: "import-in-progress".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unimplemented, "{status:?}");

    // A call in flight keeps the service draining; meanwhile the probe's
    // port answers, NOT_SERVING.
    app.emulator.inject_for_operation(
        "DescribeUserImportJob",
        Fault::Delay(Duration::from_secs(2)),
        1,
    );
    let mut client = app.client.clone();
    let in_flight = tokio::spawn(async move {
        client
            .describe_user_import_job(import_job_service::proto::DescribeUserImportJobRequest {
                user_pool_id: DEMO_POOL.to_owned(),
                job_id: "import-in-progress".to_owned(),
            })
            .await
    });
    wait_for(|| app.emulator.calls_in_flight() == 1).await;
    app.begin_shutdown();
    let mut not_serving = false;
    for _ in 0..50 {
        let status = health.check(check(SERVICE)).await.unwrap().into_inner();
        if status.status() == ServingStatus::NotServing {
            not_serving = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(not_serving, "the health port never said NOT_SERVING");
    assert!(
        in_flight.await.unwrap().is_ok(),
        "the call in flight finished"
    );
}
