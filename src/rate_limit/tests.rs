use super::*;

fn limit(rate: f64, burst: u32, max_wait: Duration) -> Arc<CognitoRateLimit> {
    Arc::new(CognitoRateLimit::new(
        RateSettings {
            rate,
            burst,
            max_wait,
            latency_floor: Duration::from_millis(50),
        },
        Quota::Write,
        Arc::default(),
    ))
}

const REGION: &str = "us-east-1";

#[tokio::test(start_paused = true)]
async fn a_burst_passes_then_turns_come_at_the_rate() {
    let limit = limit(10.0, 3, Duration::from_secs(1));
    let started = Instant::now();
    for _ in 0..3 {
        limit.turn(REGION, "a", None).await.unwrap();
    }
    assert_eq!(started.elapsed(), Duration::ZERO);
    limit.turn(REGION, "a", None).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_millis(100));
    limit.turn(REGION, "a", None).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_millis(200));
    // Another region has its own bucket.
    limit.turn("eu-west-1", "a", None).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_millis(200));
}

#[tokio::test(start_paused = true)]
async fn a_turn_too_late_or_too_far_is_refused_at_once_and_takes_nothing() {
    let limit = limit(1.0, 1, Duration::from_secs(3));
    limit.turn(REGION, "a", None).await.unwrap();
    // The next turn is a second away; with 50 ms to spare it needs 1.05 s.
    let soon = Instant::now() + Duration::from_secs(1);
    let refused = limit.turn(REGION, "a", Some(soon)).await.unwrap_err();
    assert_eq!(refused.reason, Refusal::Deadline);
    assert_eq!(refused.retry_after, Duration::from_secs(1));
    // Nothing was taken: with time to spare, the turn is still a second out.
    let started = Instant::now();
    let later = started + Duration::from_secs(5);
    limit.turn(REGION, "a", Some(later)).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(1));

    let limit = self::limit(1.0, 1, Duration::from_millis(500));
    limit.turn(REGION, "a", None).await.unwrap();
    let refused = limit.turn(REGION, "a", None).await.unwrap_err();
    assert_eq!(refused.reason, Refusal::MaxWait);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_waiters_turn_goes_to_the_next() {
    let limit = limit(1.0, 1, Duration::from_secs(5));
    limit.turn(REGION, "a", None).await.unwrap();
    let started = Instant::now();
    let first = tokio::spawn({
        let limit = Arc::clone(&limit);
        async move { limit.turn(REGION, "a", None).await }
    });
    tokio::task::yield_now().await;
    let second = tokio::spawn({
        let limit = Arc::clone(&limit);
        async move { limit.turn(REGION, "a", None).await }
    });
    tokio::task::yield_now().await;
    first.abort();
    second.await.unwrap().unwrap();
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(1),
        "the first's turn"
    );
}

#[tokio::test(start_paused = true)]
async fn a_turn_granted_to_a_call_gone_before_it_looked_goes_back() {
    let metrics = Arc::new(Metrics::default());
    let limit = CognitoRateLimit::new(
        RateSettings {
            rate: 1.0,
            burst: 1,
            max_wait: Duration::from_secs(5),
            latency_floor: Duration::from_millis(50),
        },
        Quota::Read,
        Arc::clone(&metrics),
    );
    limit.turn(REGION, "a", None).await.unwrap();
    let mut waiting = Box::pin(limit.turn(REGION, "a", None));
    // Polled once, it joins the queue.
    assert!(
        tokio::time::timeout(Duration::ZERO, &mut waiting)
            .await
            .is_err()
    );
    // Its turn comes due and is granted, but the call is gone before it
    // looks.
    tokio::time::advance(Duration::from_secs(1)).await;
    tokio::task::yield_now().await;
    drop(waiting);
    let unused = RateLimitLabels {
        bucket: BucketLabels {
            region: REGION.to_owned(),
            quota: "read",
        },
        outcome: "unused".to_owned(),
    };
    assert_eq!(metrics.rate_limit_turns.get_or_create(&unused).get(), 1);
    // The turn went back: the next call has it at once.
    let started = Instant::now();
    limit.turn(REGION, "b", None).await.unwrap();
    assert_eq!(started.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn callers_take_turns_round_robin() {
    let limit = limit(10.0, 1, Duration::from_secs(10));
    limit.turn(REGION, "greedy", None).await.unwrap();
    let (served, mut order) = tokio::sync::mpsc::unbounded_channel();
    let spawn = |caller: &'static str| {
        let (limit, served) = (Arc::clone(&limit), served.clone());
        tokio::spawn(async move {
            limit.turn(REGION, caller, None).await.unwrap();
            served.send(caller).unwrap();
        })
    };
    for _ in 0..5 {
        spawn("greedy");
        tokio::task::yield_now().await;
    }
    spawn("modest");
    tokio::task::yield_now().await;
    let mut turns = Vec::new();
    for _ in 0..6 {
        turns.push(order.recv().await.unwrap());
    }
    assert_eq!(turns[..2], ["greedy", "modest"], "{turns:?}");
}

#[test]
fn the_expected_latency_is_the_recent_90th_percentile_at_least_the_floor() {
    let state = |latencies: &[u64]| State {
        bucket: Bucket {
            tokens: 0.0,
            updated: Instant::now(),
        },
        queues: VecDeque::new(),
        next_id: 0,
        latencies: latencies
            .iter()
            .map(|ms| Duration::from_millis(*ms))
            .collect(),
    };
    let floor = Duration::from_millis(50);
    assert_eq!(state(&[]).expected_latency(floor), floor);
    assert_eq!(state(&[10, 20]).expected_latency(floor), floor);
    let slow: Vec<u64> = (1..=10).map(|n| n * 100).collect();
    assert_eq!(
        state(&slow).expected_latency(floor),
        Duration::from_millis(900)
    );
}
