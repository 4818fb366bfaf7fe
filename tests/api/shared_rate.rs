//! The Cognito rate shared by replicas through Redis (`--cognito-rate-redis`),
//! against a real redis-server: replicas together send Cognito the rate and
//! burst, no more and hardly less; when Redis dies each falls back to its
//! share, and returns when Redis is back; a slow Redis costs a call at most
//! the Redis timeout, never its deadline; Redis over TLS is verified as any
//! server is, and one that cannot be verified stops nothing.
//!
//! The replicas are Applications in this process, pointed at one emulator:
//! each has its own limiter, metrics and Redis connection, as a process of
//! its own would (only the log is shared).

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use import_job_service::{
    cognito::Connection,
    emulator::{DEMO_POOL, Emulator},
    proto::{DescribeUserImportJobRequest, import_job_service_client::ImportJobServiceClient},
};
use tokio::sync::watch;
use tonic::{Code, Request, transport::Channel};

use crate::{
    auth::fixtures::Pki,
    binary::Running,
    helpers::{LOGS, TestApp, channel, request, spawn_app_connected},
    metrics::{get, sample},
    redis_server::RedisServer,
};

const RATE: f64 = 5.0;
const BURST: usize = 3;
const REPLICAS: usize = 3;

/// `replicas` services sharing `redis`'s rate, sending to `emulator`.
async fn replicas(emulator: &Emulator, redis: &RedisServer, args: &[&str]) -> Vec<TestApp> {
    let url = redis.url();
    let rate = RATE.to_string();
    let burst = BURST.to_string();
    let mut all: Vec<&str> = vec![
        "--cognito-rate",
        &rate,
        "--cognito-burst",
        &burst,
        "--cognito-rate-redis",
        &url,
        "--metrics-listen",
        "127.0.0.1:0",
    ];
    all.extend_from_slice(args);
    let mut apps = Vec::new();
    for _ in 0..REPLICAS {
        let url = emulator.url();
        let app = spawn_app_connected(&all, |_| Connection::emulator(url)).await;
        // A first call opens the connection to Cognito, whose time would
        // blur when the calls that count arrive; a read takes no turn of
        // theirs.
        app.describe_job(DEMO_POOL, "import-created").await;
        apps.push(app);
    }
    apps
}

/// `callers` clients of each replica's.
fn clients(apps: &[TestApp], callers: usize) -> Vec<ImportJobServiceClient<Channel>> {
    apps.iter()
        .flat_map(|app| std::iter::repeat_n(app.client.clone(), callers))
        .collect()
}

/// `clients` stopping a job in a loop until `until` says, each call with a
/// 1 s deadline; the codes they got.
async fn overload(
    clients: Vec<ImportJobServiceClient<Channel>>,
    until: watch::Receiver<Instant>,
) -> HashMap<Code, usize> {
    let loops: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            let until = until.clone();
            tokio::spawn(async move {
                let mut codes: HashMap<Code, usize> = HashMap::new();
                while Instant::now() < *until.borrow() {
                    let mut call = Request::new(request(DEMO_POOL, "import-pending"));
                    call.set_timeout(Duration::from_secs(1));
                    let code = match client.stop_user_import_job(call).await {
                        Ok(_) => Code::Ok,
                        Err(status) => status.code(),
                    };
                    *codes.entry(code).or_default() += 1;
                    if code == Code::ResourceExhausted {
                        // Refused at once: not a hot loop on a small machine.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                codes
            })
        })
        .collect();
    let mut codes = HashMap::new();
    for caller in loops {
        for (code, n) in caller.await.unwrap() {
            *codes.entry(code).or_default() += n;
        }
    }
    codes
}

/// When the emulator received each StopUserImportJob.
fn stops(emulator: &Emulator) -> Vec<Instant> {
    emulator
        .calls()
        .iter()
        .filter(|call| call.operation == "StopUserImportJob")
        .map(|call| call.received_at)
        .collect()
}

/// The most calls in any window of a second, and when it began.
fn busiest_second(times: &[Instant]) -> (usize, Option<Instant>) {
    let mut busiest = (0, None);
    for (i, start) in times.iter().enumerate() {
        let count = times[i..]
            .iter()
            .take_while(|t| t.duration_since(*start) < Duration::from_secs(1))
            .count();
        if count > busiest.0 {
            busiest = (count, Some(*start));
        }
    }
    busiest
}

/// Every code is one the rate limit or Cognito answers with: nothing failed
/// because of Redis.
fn assert_served(codes: &HashMap<Code, usize>) {
    for code in codes.keys() {
        assert!(
            matches!(
                code,
                Code::Ok | Code::FailedPrecondition | Code::ResourceExhausted
            ),
            "{codes:?}"
        );
    }
}

/// The replica's `series`, 0 when absent.
async fn metric(app: &TestApp, series: &str) -> f64 {
    let (_, text) = get(app.metrics_addr.expect("metrics are served"), "/metrics").await;
    sample(&text, series).unwrap_or(0.0)
}

async fn falling_back(app: &TestApp) -> bool {
    metric(app, "cognito_rate_limit_fallback").await == 1.0
}

/// Waits up to `limit` for every replica to be in (or out of) fallback.
async fn wait_until_all(apps: &[TestApp], fallback: bool, limit: Duration) {
    let started = Instant::now();
    loop {
        let mut all = true;
        for app in apps {
            all &= falling_back(app).await == fallback;
        }
        if all {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "every replica {} fallback within {limit:?}",
            if fallback { "in" } else { "out of" }
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_together_send_cognito_the_rate_and_burst_and_hardly_less() {
    let redis = RedisServer::start(None).await;
    let emulator = Emulator::start().await.unwrap();
    // A generous Redis timeout: this test is of the shared rate, not of a
    // busy machine's round trips.
    let apps = replicas(
        &emulator,
        &redis,
        &["--cognito-rate-redis-timeout", "500ms"],
    )
    .await;
    let length = Duration::from_secs(4);
    let started = Instant::now();
    let (_, until) = watch::channel(started + length);
    let codes = overload(clients(&apps, 4), until).await;
    let elapsed = started.elapsed().as_secs_f64();

    assert_served(&codes);
    let times = stops(&emulator);
    let (busiest, _) = busiest_second(&times);
    let bound = RATE as usize + BURST;
    assert!(
        busiest <= bound,
        "{busiest} calls reached Cognito in a second, more than {bound}"
    );
    // Alone, each replica would have sent that much: the rate is shared.
    let most = RATE * elapsed + BURST as f64;
    assert!(
        times.len() as f64 >= 0.7 * most,
        "{} calls reached Cognito in {elapsed:.1}s, under 70% of {most:.0}",
        times.len()
    );
    for app in &apps {
        assert!(!falling_back(app).await, "every turn came from Redis");
        assert_eq!(
            metric(
                app,
                r#"cognito_rate_limit_redis_failures_total{reason="error"}"#
            )
            .await
                + metric(
                    app,
                    r#"cognito_rate_limit_redis_failures_total{reason="timeout"}"#
                )
                .await,
            0.0
        );
        assert!(
            metric(
                app,
                r#"cognito_rate_limit_turns_total{region="us-east-1",quota="write",outcome="granted"}"#
            )
            .await
                > 0.0,
            "every replica had turns"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_redis_dies_each_replica_takes_its_share_until_redis_is_back() {
    const PASSWORD: &str = "redis-password-never-logged";
    let mut redis = RedisServer::start(Some(PASSWORD)).await;
    let emulator = Emulator::start().await.unwrap();
    let share = 0.34;
    let apps = replicas(
        &emulator,
        &redis,
        &[
            "--cognito-rate-redis-timeout",
            "500ms",
            "--cognito-rate-fallback-share",
            "0.34",
        ],
    )
    .await;
    let started = Instant::now();
    let (end, until) = watch::channel(started + Duration::from_secs(60));
    let driving = tokio::spawn(overload(clients(&apps, 3), until));

    tokio::time::sleep(Duration::from_secs(2)).await;
    for app in &apps {
        assert!(!falling_back(app).await, "shared before Redis dies");
    }
    redis.kill();
    let killed = Instant::now();
    wait_until_all(&apps, true, Duration::from_secs(3)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    redis.restart().await;
    let restarted = Instant::now();
    wait_until_all(&apps, false, Duration::from_secs(6)).await;
    let back = Instant::now();
    end.send(back + Duration::from_secs(3)).unwrap();
    let codes = driving.await.unwrap();

    assert_served(&codes);
    let times = stops(&emulator);
    // In fallback, the replicas went on calling Cognito, at their shares.
    let during = times
        .iter()
        .filter(|t| **t > killed + Duration::from_millis(500) && **t < restarted)
        .count();
    let outage = restarted.duration_since(killed).as_secs_f64() - 0.5;
    let fallback_rate = REPLICAS as f64 * share * RATE;
    assert!(
        during as f64 >= 0.5 * fallback_rate * outage,
        "{during} calls reached Cognito in {outage:.1}s of fallback"
    );
    // Never more than the documented bound: the shared rate and burst, and
    // each replica's share of them, in the second it switches.
    let fallback_burst = ((share * BURST as f64).floor()).max(1.0);
    let bound = RATE + BURST as f64 + REPLICAS as f64 * (share * RATE + fallback_burst);
    let (busiest, at) = busiest_second(&times);
    assert!(
        busiest as f64 <= bound,
        "{busiest} calls in the second from {:?} after the start, more than {bound}",
        at.map(|at| at.duration_since(started))
    );
    // Back to the shared rate once Redis answers.
    let after: Vec<Instant> = times
        .iter()
        .copied()
        .filter(|t| *t > back + Duration::from_secs(1))
        .collect();
    let (busiest_after, _) = busiest_second(&after);
    assert!(
        after.len() >= 5,
        "{} calls after Redis came back",
        after.len()
    );
    assert!(
        busiest_after <= RATE as usize + BURST,
        "{busiest_after} calls in a second after Redis came back"
    );

    // Logged once per replica each way, the password nowhere.
    let port = redis.url().rsplit(':').next().unwrap().to_owned();
    let redacted = format!("redis://:***@127.0.0.1:{port}");
    let entered = LOGS.lines_with("Redis cannot be reached for the shared Cognito rates");
    let entered: Vec<_> = entered
        .iter()
        .filter(|line| line["fields"]["redis"] == redacted.as_str())
        .collect();
    assert_eq!(entered.len(), REPLICAS, "{entered:?}");
    assert_eq!(entered[0]["level"], "WARN");
    let returned = LOGS.lines_with("Redis answers again");
    let returned = returned
        .iter()
        .filter(|line| line["fields"]["redis"] == redacted.as_str())
        .count();
    assert_eq!(returned, REPLICAS);
    assert!(!LOGS.text().contains(PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_redis_costs_a_call_the_redis_timeout_not_its_deadline() {
    let redis = RedisServer::start(None).await;
    let emulator = Emulator::start().await.unwrap();
    let timeout = Duration::from_secs(1);
    let url = emulator.url();
    let app = spawn_app_connected(
        &[
            "--cognito-read-rate",
            "50",
            "--cognito-read-burst",
            "10",
            "--cognito-rate-redis",
            &redis.url(),
            "--cognito-rate-redis-timeout",
            "1s",
            // A call waits for its turn longer than Redis is waited for.
            "--cognito-max-wait",
            "1500ms",
            "--metrics-listen",
            "127.0.0.1:0",
        ],
        |_| Connection::emulator(url),
    )
    .await;
    let describe = |deadline: Duration| {
        let mut client = app.client.clone();
        async move {
            let mut call = Request::new(DescribeUserImportJobRequest {
                user_pool_id: DEMO_POOL.to_owned(),
                job_id: "import-pending".to_owned(),
            });
            call.set_timeout(deadline);
            let started = Instant::now();
            let result = client.describe_user_import_job(call).await;
            (result.map(|_| ()), started.elapsed())
        }
    };
    let (result, _) = describe(Duration::from_secs(1)).await;
    result.expect("served with Redis answering");
    assert!(!falling_back(&app).await);

    // Redis stops answering anyone for 4 s.
    let pause = Duration::from_secs(4);
    let mut control = redis.connect().await;
    redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(pause.as_millis() as u64)
        .arg("ALL")
        .query_async::<()>(&mut control)
        .await
        .unwrap();
    let paused = Instant::now();
    // A call whose deadline comes before Redis's timeout ends by its
    // deadline, refused, without waiting for Redis.
    let short = Duration::from_millis(200);
    let (result, took) = describe(short).await;
    assert!(result.is_err(), "no turn could come from a paused Redis");
    assert!(
        took < timeout * 7 / 10,
        "a call with a {short:?} deadline took {took:?}, Redis's timeout being {timeout:?}"
    );
    let deadline = Duration::from_secs(3);
    let (result, took) = describe(deadline).await;
    result.expect("served by the fallback");
    assert!(
        took < deadline && took < pause / 2,
        "the call took {took:?}, Redis's timeout being {timeout:?}"
    );
    assert!(falling_back(&app).await);
    assert!(
        metric(
            &app,
            r#"cognito_rate_limit_redis_failures_total{reason="timeout"}"#
        )
        .await
            >= 1.0
    );
    // In fallback, calls do not wait for Redis (each would pay its timeout):
    // it is tried again once a second, by a task of its own.
    let mut total = Duration::ZERO;
    for _ in 0..5 {
        let (result, took) = describe(deadline).await;
        result.expect("served by the fallback");
        total += took;
    }
    assert!(
        paused.elapsed() < pause,
        "the calls were made while Redis was paused"
    );
    assert!(
        total < timeout * 5 / 2,
        "five calls in fallback took {total:?} in all"
    );

    // Back to Redis once it answers again.
    wait_until_all(
        std::slice::from_ref(&app),
        false,
        pause + Duration::from_secs(5),
    )
    .await;
    let (result, _) = describe(deadline).await;
    result.expect("served with Redis answering again");
}

#[tokio::test]
async fn a_redis_over_tls_is_shared_when_its_ca_is_trusted_and_never_stops_the_service() {
    let pki = Pki::new("redis-ca");
    let redis = RedisServer::start_tls(&pki).await;
    let url = redis.url();
    let ca = redis.ca().unwrap().display().to_string();
    let args = [
        "--insecure-allow-unauthenticated",
        "--cognito-rate-redis",
        url.as_str(),
    ];

    // The CA trusted as the system's (rustls-native-certs reads
    // SSL_CERT_FILE): turns come from Redis.
    let mut trusting = Running::start_with_env(&args, &[("SSL_CERT_FILE", &ca)]);
    let line = trusting.wait_for_line("Redis");
    assert!(
        line.contains("the Cognito rates are shared through Redis"),
        "{line}"
    );

    // Not trusted: logged, and the service serves from its fallback.
    let mut doubting = Running::start(&args);
    let line = doubting.wait_for_line("Redis");
    assert!(line.contains("Redis cannot be reached"), "{line}");
    assert!(line.contains("UnknownIssuer"), "{line}");
    let mut client = ImportJobServiceClient::new(channel(doubting.addr).await);
    client
        .stop_user_import_job(request(DEMO_POOL, "import-in-progress"))
        .await
        .expect("served without Redis");
}

/// Runs the service's GCRA script once: the turns taken, and how far ahead
/// of now the bucket's theoretical arrival time is (µs).
async fn gcra(
    redis: &mut redis::aio::MultiplexedConnection,
    interval_us: u64,
    burst: u32,
    take: u32,
    give_back: u32,
) -> (u32, u64) {
    redis::Script::new(include_str!("../../src/rate_limit/gcra.lua"))
        .key(GCRA_KEY)
        .arg(interval_us)
        .arg(burst)
        .arg(take)
        .arg(give_back)
        .invoke_async(redis)
        .await
        .unwrap()
}

const GCRA_KEY: &str = "import-job-service:cognito-rate:us-east-1:write";

#[tokio::test]
async fn the_gcra_script_grants_the_burst_then_a_turn_per_interval_and_takes_back_turns() {
    let server = RedisServer::start(None).await;
    let mut redis = server.connect().await;
    let ttl = async |redis: &mut redis::aio::MultiplexedConnection| -> i64 {
        redis::cmd("PTTL")
            .arg(GCRA_KEY)
            .query_async(redis)
            .await
            .unwrap()
    };

    // A turn every 10 s, 3 at once: nothing comes due while the test runs.
    let slow = 10_000_000;
    assert_eq!(gcra(&mut redis, slow, 3, 5, 0).await, (3, 3 * slow));
    let (taken, ahead) = gcra(&mut redis, slow, 3, 1, 0).await;
    assert_eq!(taken, 0);
    assert!(ahead > 3 * slow - 1_000_000 && ahead <= 3 * slow, "{ahead}");
    // The key lives until the bucket is full again, not longer.
    let left = ttl(&mut redis).await;
    assert!(left > 29_000 && left <= 30_000, "{left} ms");
    // Two given back: two can be taken at once again.
    assert_eq!(gcra(&mut redis, slow, 3, 2, 2).await.0, 2);
    // All given back: the bucket is full, the key gone.
    assert_eq!(gcra(&mut redis, slow, 3, 0, 3).await, (0, 0));
    assert_eq!(ttl(&mut redis).await, -2);

    // A turn every 100 ms, one at once: the next is due when it says.
    let fast = 100_000;
    assert_eq!(gcra(&mut redis, fast, 1, 1, 0).await, (1, fast));
    let (taken, ahead) = gcra(&mut redis, fast, 1, 1, 0).await;
    assert_eq!(taken, 0);
    tokio::time::sleep(Duration::from_micros(ahead)).await;
    assert_eq!(gcra(&mut redis, fast, 1, 1, 0).await.0, 1);
}

#[tokio::test]
async fn a_redis_that_refuses_writes_keeps_the_replica_in_its_fallback() {
    let redis = RedisServer::start(None).await;
    let emulator = Emulator::start().await.unwrap();
    let url = emulator.url();
    let app = spawn_app_connected(
        &[
            "--cognito-read-rate",
            "50",
            "--cognito-rate-redis",
            &redis.url(),
            "--metrics-listen",
            "127.0.0.1:0",
        ],
        |_| Connection::emulator(url),
    )
    .await;
    let describe = || {
        let mut client = app.client.clone();
        async move {
            client
                .describe_user_import_job(DescribeUserImportJobRequest {
                    user_pool_id: DEMO_POOL.to_owned(),
                    job_id: "import-pending".to_owned(),
                })
                .await
        }
    };
    describe().await.expect("served with Redis answering");
    assert!(!falling_back(&app).await);

    // Out of memory, with nothing it may evict: Redis still answers, but
    // refuses every write.
    let mut control = redis.connect().await;
    for (setting, value) in [("maxmemory-policy", "noeviction"), ("maxmemory", "1")] {
        redis::cmd("CONFIG")
            .arg("SET")
            .arg(setting)
            .arg(value)
            .query_async::<()>(&mut control)
            .await
            .unwrap();
    }
    describe().await.expect("served by the fallback");
    assert!(falling_back(&app).await);
    // The task that tries Redis again (once a second) sees the refusal too:
    // the replica stays in its fallback rather than flapping.
    for _ in 0..12 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        describe().await.expect("served by the fallback");
        assert!(
            falling_back(&app).await,
            "back to a Redis that refuses writes"
        );
    }
}
