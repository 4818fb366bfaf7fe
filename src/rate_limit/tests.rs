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
        None,
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
        None,
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
        turns: Turns::Local(Bucket::full(1.0, 1.0, Instant::now())),
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

/// A region's state with a shared bucket of `rate` and `burst` (3), and a
/// fallback at half of them, with `waiting` calls of one caller queued: the
/// receivers of their turns.
fn shared(rate: f64, waiting: usize) -> (State, Vec<oneshot::Receiver<()>>, Instant) {
    let now = Instant::now();
    let mut state = State {
        turns: Turns::Shared(SharedTurns::new(rate, 3.0, 0.5, now)),
        queues: VecDeque::new(),
        next_id: 0,
        latencies: VecDeque::new(),
    };
    let receivers = (0..waiting)
        .map(|_| {
            let (grant, receiver) = oneshot::channel();
            state.enqueue("a", grant);
            receiver
        })
        .collect();
    (state, receivers, now)
}

fn granted(receivers: &mut [oneshot::Receiver<()>]) -> usize {
    receivers
        .iter_mut()
        .map(|receiver| receiver.try_recv().is_ok())
        .filter(|granted| *granted)
        .count()
}

#[test]
fn a_shared_bucket_is_asked_for_a_turn_per_waiting_call_up_to_the_burst() {
    let (mut state, mut receivers, now) = shared(10.0, 5);
    let Step::Ask(ask) = state.next_step(now) else {
        panic!("calls wait: the bucket is asked");
    };
    assert_eq!(
        ask,
        Ask {
            take: 3,
            give_back: 0
        }
    );
    // Redis has two: the bucket is then 300 ms ahead, its next turn 100 ms
    // away.
    let answer = Answer {
        taken: 2,
        ahead: Duration::from_millis(300),
    };
    state.turns.answered(ask, Some(answer), now);
    state.hand_out();
    assert_eq!(granted(&mut receivers), 2);
    let Step::Sleep(Some(next)) = state.next_step(now) else {
        panic!("no ask before the next turn is due");
    };
    assert_eq!(next - now, Duration::from_millis(100));
    // Estimates go by what Redis said: no turn left, 10 a second.
    assert_eq!(state.turns.estimate(), (0.0, 10.0));
    // The turns from Redis were the fallback's too: it has none left.
    let Turns::Shared(turns) = &state.turns else {
        unreachable!()
    };
    assert_eq!(turns.fallback.tokens, 0.0);
}

#[test]
fn without_redis_turns_come_at_the_fallback_share_at_least_one_at_once() {
    let (mut state, mut receivers, now) = shared(10.0, 3);
    let Step::Ask(ask) = state.next_step(now) else {
        panic!("calls wait: the bucket is asked");
    };
    state.turns.answered(ask, None, now);
    state.hand_out();
    // Half of a burst of 3 is one turn, at half the rate.
    assert_eq!(granted(&mut receivers), 1);
    assert_eq!(state.turns.estimate(), (0.0, 5.0));
    let Step::Sleep(Some(next)) = state.next_step(now) else {
        panic!("no ask before the fallback's next turn");
    };
    assert_eq!(next - now, Duration::from_millis(200));
}

#[test]
fn a_shared_turn_no_call_takes_goes_back() {
    let (mut state, receivers, now) = shared(10.0, 1);
    let Step::Ask(ask) = state.next_step(now) else {
        panic!("a call waits: the bucket is asked");
    };
    drop(receivers);
    let answer = Answer {
        taken: 1,
        ahead: Duration::from_millis(100),
    };
    state.turns.answered(ask, Some(answer), now);
    state.hand_out();
    let Step::Ask(give) = state.next_step(now) else {
        panic!("the turn goes back");
    };
    assert_eq!(
        give,
        Ask {
            take: 0,
            give_back: 1
        }
    );
    assert!(matches!(state.next_step(now), Step::Sleep(None)));
}
