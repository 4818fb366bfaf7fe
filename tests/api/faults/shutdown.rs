//! SIGTERM's drain under load, with Cognito slow: no call in flight lost.

use super::*;

#[tokio::test]
async fn shutdown_in_the_middle_of_load_loses_no_call_in_flight() {
    const CALLS: usize = 50;
    // Limits high enough that every call is in flight at Cognito at once:
    // this test is about the drain, limits.rs about the limits.
    let mut probe = Probe::start(&[
        "--max-calls-in-flight-per-caller",
        "64",
        "--cognito-burst",
        "64",
    ])
    .await;
    let jobs: Vec<Job> = (0..CALLS).map(|_| probe.job()).collect();
    probe
        .app
        .inject(Fault::Delay(Duration::from_millis(500)), CALLS);
    let deadline = Duration::from_secs(5);

    let calls: Vec<_> = jobs
        .iter()
        .map(|job| {
            let mut client = probe.client.clone();
            let mut call = Request::new(request(DEMO_POOL, &job.job_id));
            call.set_timeout(deadline);
            tokio::spawn(async move {
                let started = Instant::now();
                let answer = client.stop_user_import_job(call).await;
                (answer, started.elapsed())
            })
        })
        .collect();
    wait_for(|| probe.app.emulator.calls_in_flight() == CALLS).await;

    // What SIGTERM does (main.rs hands `startup::shutdown_signal` to the
    // same `run_until`; binary.rs sends the real signal).
    probe.app.begin_shutdown();
    // The drain began while every call was still waiting on Cognito: the
    // listener is closed.
    let addr = probe.app.addr;
    wait_for_async(|| async move { tokio::net::TcpStream::connect(addr).await.is_err() }).await;
    assert_eq!(probe.app.emulator.calls_in_flight(), CALLS);

    for (call, job) in calls.into_iter().zip(&jobs) {
        let (answer, elapsed) = call.await.unwrap();
        let stopped = answer
            .unwrap_or_else(|status| panic!("{} lost in the shutdown: {status:?}", job.job_id))
            .into_inner()
            .user_import_job
            .unwrap();
        assert_eq!(stopped.job_id, job.job_id);
        assert_eq!(stopped.status(), UserImportJobStatus::Stopped);
        assert!(elapsed < deadline, "answered after {elapsed:?}");
    }
    tokio::time::timeout(Duration::from_secs(3), probe.app.server_task())
        .await
        .expect("the server stops once the calls are answered")
        .expect("a clean shutdown");
    assert_eq!(probe.app.emulator.abandoned_calls(), 0);
    probe.assert_nothing_left_behind().await;
}

/// Waits up to two seconds for an asynchronous `condition`.
async fn wait_for_async<F: std::future::Future<Output = bool>>(condition: impl Fn() -> F) {
    let started = Instant::now();
    while !condition().await {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "condition not met within 2s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
