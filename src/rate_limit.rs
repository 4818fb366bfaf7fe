//! The rate the service allows itself toward Cognito: a token bucket per
//! region (`--cognito-rate` per second, bursts of `--cognito-burst`), and a
//! short, fair queue of calls waiting for a turn.
//!
//! Cognito's quotas are per account and region, shared with every other
//! user of the account: a burst of callers here must not get the whole
//! account throttled. Under overload the limiter's other job is to keep
//! Cognito busy at that rate, and to refuse at once what cannot make it:
//!
//! - A turn is handed out when it is due, to a call waiting for it right
//!   then, by a dispatcher task per region. No turn is promised ahead of
//!   time, so a call that gives up (cancelled by its caller, or out of time)
//!   leaves the queue and the turn goes to the next call; a turn handed to a
//!   call that is gone by the time it looks goes back to the bucket.
//! - A call joins the queue only if its turn, estimated from the calls ahead
//!   of it, is due within `--cognito-max-wait` and early enough to leave the
//!   expected Cognito latency before its deadline; otherwise it is refused at
//!   once, with the estimated wait as its retry delay. The expected latency is
//!   the 90th percentile of the region's last 32 calls, at least
//!   `--cognito-latency-floor`. A waiting call gives up at the same bounds.
//! - Callers take turns round-robin: each caller with calls waiting gets one
//!   turn per round, however many calls it has waiting, so a caller with many
//!   calls in flight cannot take every turn. A new call's estimate counts,
//!   for each other caller, at most one more of its calls than the new
//!   call's caller has waiting.
//!
//! The bucket answers one question, "take a turn now, or when is the next
//! one due", which is also what a bucket shared by replicas (a GCRA in
//! Redis) would answer; the queue, its fairness and its estimates stay in
//! each replica.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard, PoisonError, Weak},
    time::Duration,
};

use tokio::{
    sync::{Notify, oneshot},
    time::Instant,
};

use crate::metrics::{Metrics, RateLimitLabels, RegionLabels};

/// More buckets than AWS has regions: past this many, further region names
/// (only well-formed ones reach here) share one bucket, so hostile pool ids
/// cannot grow the map.
const MAX_BUCKETS: usize = 64;
const SHARED_BUCKET: &str = "";
/// Recent Cognito latencies kept per region for the expected latency.
const LATENCIES_KEPT: usize = 32;

/// The limiter's settings, from the `--cognito-*` flags.
#[derive(Debug, Clone, Copy)]
pub struct RateSettings {
    /// Turns per second, per region.
    pub rate: f64,
    /// Turns a region may take at once after a quiet spell.
    pub burst: u32,
    /// The longest a call waits for its turn.
    pub max_wait: Duration,
    /// The least a Cognito call is expected to take.
    pub latency_floor: Duration,
}

/// Why a call got no turn, and when one may be free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub reason: Refusal,
    pub retry_after: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its turn would come too late to leave the expected latency before
    /// its deadline.
    Deadline,
    /// Its turn would come later than `--cognito-max-wait`.
    MaxWait,
    /// It waited as long as it could and no turn came (other callers' calls,
    /// taking their turns round-robin, came first).
    TimedOut,
}

impl Refusal {
    /// The metrics' name for it.
    fn label(self) -> &'static str {
        match self {
            Refusal::Deadline => "deadline",
            Refusal::MaxWait => "max_wait",
            Refusal::TimedOut => "timed_out",
        }
    }
}

pub struct CognitoRateLimit {
    settings: RateSettings,
    metrics: Arc<Metrics>,
    regions: Mutex<HashMap<String, Arc<Region>>>,
}

/// One region's bucket and queue, and the dispatcher's wake-up call.
struct Region {
    labels: RegionLabels,
    state: Arc<Mutex<State>>,
    wake: Arc<Notify>,
}

struct State {
    bucket: Bucket,
    /// Callers with calls waiting, in the order of their next turns.
    queues: VecDeque<CallerQueue>,
    next_id: u64,
    latencies: VecDeque<Duration>,
}

struct Bucket {
    /// Turns available now, up to the burst.
    tokens: f64,
    updated: Instant,
}

struct CallerQueue {
    caller: String,
    waiters: VecDeque<Waiter>,
}

struct Waiter {
    id: u64,
    /// Past this, a turn is of no use to the call: it is about to give up.
    latest_start: Instant,
    grant: oneshot::Sender<()>,
}

impl CognitoRateLimit {
    pub fn new(settings: RateSettings, metrics: Arc<Metrics>) -> Self {
        Self {
            settings,
            metrics,
            regions: Mutex::default(),
        }
    }

    /// Waits for a turn to call Cognito in `region` on behalf of `caller`,
    /// for a call that must be answered by `deadline`, or says why not.
    /// Dropping the future gives the turn up.
    pub async fn turn(
        &self,
        region: &str,
        caller: &str,
        deadline: Option<Instant>,
    ) -> Result<(), Refused> {
        let region = self.region(region);
        let now = Instant::now();
        let (receiver, id, latest_start) = {
            let mut state = lock(&region.state);
            state.bucket.refill(now, &self.settings);
            if state.queues.is_empty() && state.bucket.tokens >= 1.0 {
                state.bucket.tokens -= 1.0;
                drop(state);
                self.granted(&region, Duration::ZERO);
                return Ok(());
            }
            let expected = state.expected_latency(self.settings.latency_floor);
            let wait = state.estimated_wait(caller, self.settings.rate);
            let refusal = if wait > self.settings.max_wait {
                Some(Refusal::MaxWait)
            } else if deadline.is_some_and(|deadline| now + wait + expected > deadline) {
                Some(Refusal::Deadline)
            } else {
                None
            };
            if let Some(reason) = refusal {
                drop(state);
                return Err(self.refused(&region, reason, wait));
            }
            let mut latest_start = now + self.settings.max_wait;
            if let Some(deadline) = deadline {
                latest_start = latest_start.min(deadline - expected);
            }
            let (grant, receiver) = oneshot::channel();
            let id = state.enqueue(caller, latest_start, grant);
            (receiver, id, latest_start)
        };
        region.wake.notify_one();

        let mut waiting = Waiting {
            region: &region,
            limit: self,
            id,
            receiver,
            done: false,
        };
        let granted = tokio::time::timeout_at(latest_start, &mut waiting.receiver).await;
        waiting.done = true;
        match granted {
            Ok(Ok(())) => {
                self.granted(&region, now.elapsed());
                Ok(())
            }
            // Out of time, or passed over by the dispatcher as out of time.
            Ok(Err(_)) | Err(_) => {
                let wait = {
                    let mut state = lock(&region.state);
                    state.remove(id);
                    state.estimated_wait(caller, self.settings.rate)
                };
                Err(self.refused(&region, Refusal::TimedOut, wait))
            }
        }
    }

    /// Records how long a call to Cognito in `region` took, for the
    /// expected latency.
    pub fn observe(&self, region: &str, latency: Duration) {
        let region = self.region(region);
        let mut state = lock(&region.state);
        if state.latencies.len() == LATENCIES_KEPT {
            state.latencies.pop_front();
        }
        state.latencies.push_back(latency);
    }

    /// The region's bucket and queue, made (with its dispatcher) on first
    /// use.
    fn region(&self, name: &str) -> Arc<Region> {
        let mut regions = lock(&self.regions);
        let key = if regions.contains_key(name) || regions.len() < MAX_BUCKETS {
            name
        } else {
            SHARED_BUCKET
        };
        if let Some(region) = regions.get(key) {
            return Arc::clone(region);
        }
        let region = Arc::new(Region {
            labels: RegionLabels {
                region: key.to_owned(),
            },
            state: Arc::new(Mutex::new(State {
                bucket: Bucket {
                    tokens: f64::from(self.settings.burst),
                    updated: Instant::now(),
                },
                queues: VecDeque::new(),
                next_id: 0,
                latencies: VecDeque::with_capacity(LATENCIES_KEPT),
            })),
            wake: Arc::new(Notify::new()),
        });
        tokio::spawn(dispatch(
            Arc::downgrade(&region.state),
            Arc::clone(&region.wake),
            self.settings,
        ));
        regions.insert(key.to_owned(), Arc::clone(&region));
        region
    }

    fn granted(&self, region: &Region, wait: Duration) {
        self.count_turn(region, "granted");
        self.metrics
            .rate_limit_wait_duration
            .get_or_create(&region.labels)
            .observe(wait.as_secs_f64());
    }

    fn count_turn(&self, region: &Region, outcome: &str) {
        self.metrics
            .rate_limit_turns
            .get_or_create(&RateLimitLabels {
                region: region.labels.region.clone(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    fn refused(&self, region: &Region, reason: Refusal, retry_after: Duration) -> Refused {
        self.metrics
            .rate_limit_refusals
            .get_or_create(&RateLimitLabels {
                region: region.labels.region.clone(),
                outcome: reason.label().to_owned(),
            })
            .inc();
        Refused {
            reason,
            retry_after,
        }
    }
}

impl Drop for CognitoRateLimit {
    /// Wakes the dispatchers, which then find their region gone and end.
    fn drop(&mut self) {
        for region in lock(&self.regions).values() {
            region.wake.notify_one();
        }
    }
}

/// A call in the queue. Dropped before its turn came (the call was
/// cancelled), it leaves the queue; dropped after a turn was handed to it
/// but before it looked, it gives the turn back.
struct Waiting<'a> {
    region: &'a Region,
    limit: &'a CognitoRateLimit,
    id: u64,
    receiver: oneshot::Receiver<()>,
    done: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut state = lock(&self.region.state);
        if self.receiver.try_recv().is_ok() {
            state.bucket.tokens += 1.0;
            drop(state);
            self.limit.count_turn(self.region, "unused");
            self.region.wake.notify_one();
        } else {
            state.remove(self.id);
        }
    }
}

/// Hands out a region's turns as they come due, one per call at the head of
/// the round-robin, until the region is gone.
async fn dispatch(state: Weak<Mutex<State>>, wake: Arc<Notify>, settings: RateSettings) {
    loop {
        let Some(state) = state.upgrade() else {
            return;
        };
        let next_due = {
            let mut state = lock(&state);
            let now = Instant::now();
            state.bucket.refill(now, &settings);
            loop {
                if state.queues.is_empty() {
                    break None;
                }
                if state.bucket.tokens < 1.0 {
                    let due = (1.0 - state.bucket.tokens) / settings.rate;
                    break Some(now + Duration::from_secs_f64(due));
                }
                let Some(waiter) = state.next_waiter() else {
                    continue;
                };
                // A call past its latest start is about to give up; one whose
                // receiver is gone has. Neither takes the turn.
                if waiter.latest_start > now && waiter.grant.send(()).is_ok() {
                    state.bucket.tokens -= 1.0;
                }
            }
        };
        drop(state);
        match next_due {
            None => wake.notified().await,
            Some(due) => {
                tokio::select! {
                    () = tokio::time::sleep_until(due) => {}
                    () = wake.notified() => {}
                }
            }
        }
    }
}

impl Bucket {
    fn refill(&mut self, now: Instant, settings: &RateSettings) {
        let earned = now.duration_since(self.updated).as_secs_f64() * settings.rate;
        self.tokens = (self.tokens + earned).min(f64::from(settings.burst));
        self.updated = now;
    }
}

impl State {
    /// The 90th percentile of the recent latencies, at least `floor`.
    fn expected_latency(&self, floor: Duration) -> Duration {
        let mut recent: Vec<Duration> = self.latencies.iter().copied().collect();
        recent.sort_unstable();
        let p90 = recent
            .get((recent.len() * 9).div_ceil(10).saturating_sub(1))
            .copied()
            .unwrap_or_default();
        p90.max(floor)
    }

    /// When a new call of `caller`'s would get its turn: after the calls of
    /// its caller's already waiting, and, round-robin, at most one more of
    /// each other caller's than that.
    fn estimated_wait(&self, caller: &str, rate: f64) -> Duration {
        let mine = self
            .queues
            .iter()
            .find(|queue| queue.caller == caller)
            .map_or(0, |queue| queue.waiters.len());
        let ahead: usize = self
            .queues
            .iter()
            .map(|queue| match queue.caller == caller {
                true => queue.waiters.len(),
                false => queue.waiters.len().min(mine + 1),
            })
            .sum();
        let short = (ahead as f64 + 1.0 - self.bucket.tokens).max(0.0);
        Duration::from_secs_f64(short / rate)
    }

    fn enqueue(&mut self, caller: &str, latest_start: Instant, grant: oneshot::Sender<()>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let waiter = Waiter {
            id,
            latest_start,
            grant,
        };
        match self.queues.iter_mut().find(|queue| queue.caller == caller) {
            Some(queue) => queue.waiters.push_back(waiter),
            None => self.queues.push_back(CallerQueue {
                caller: caller.to_owned(),
                waiters: VecDeque::from([waiter]),
            }),
        }
        id
    }

    /// The next call to serve: the first of the caller at the head, which
    /// then goes to the back if it has more.
    fn next_waiter(&mut self) -> Option<Waiter> {
        let mut queue = self.queues.pop_front()?;
        let waiter = queue.waiters.pop_front();
        if !queue.waiters.is_empty() {
            self.queues.push_back(queue);
        }
        waiter
    }

    fn remove(&mut self, id: u64) {
        for queue in &mut self.queues {
            queue.waiters.retain(|waiter| waiter.id != id);
        }
        self.queues.retain(|queue| !queue.waiters.is_empty());
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing here is left half-updated by a panic.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(rate: f64, burst: u32, max_wait: Duration) -> Arc<CognitoRateLimit> {
        Arc::new(CognitoRateLimit::new(
            RateSettings {
                rate,
                burst,
                max_wait,
                latency_floor: Duration::from_millis(50),
            },
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
}
