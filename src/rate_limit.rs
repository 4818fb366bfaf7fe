//! The rate the service allows itself toward Cognito: a token bucket per
//! region and quota ([`CognitoRates`]: the calls that change jobs at
//! `--cognito-rate` per second in bursts of `--cognito-burst`, the calls
//! that read them at `--cognito-read-rate` and `--cognito-read-burst`), and
//! a short, fair queue of calls waiting for a turn.
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
//!   the 90th percentile of the region's last 32 calls (a call cut short
//!   counts for as long as it lasted), at least `--cognito-latency-floor`. A
//!   waiting call gives up at the same bounds, but first takes a turn that is
//!   due and not yet handed out: the bucket, not the dispatcher's punctuality,
//!   holds the rate.
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

use crate::{
    metrics::{BucketLabels, Metrics, RateLimitLabels},
    operation::Quota,
};

/// More buckets than AWS has regions: past this many, further region names
/// (only well-formed ones reach here) share one bucket, so hostile pool ids
/// cannot grow the map.
const MAX_BUCKETS: usize = 64;
const SHARED_BUCKET: &str = "";
/// Recent Cognito latencies kept per region for the expected latency.
const LATENCIES_KEPT: usize = 32;
/// How much later than estimated a turn may be granted, at most: a call is
/// admitted only if it can wait that much longer (or a quarter of the
/// maximum wait, if less).
const TURN_SLACK: Duration = Duration::from_millis(20);

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
pub(crate) struct Refused {
    pub reason: Refusal,
    pub retry_after: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
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

/// One limiter per quota: Cognito counts reads and writes of import jobs
/// apart, so a flood of reads (a caller polling a job) never takes the turns
/// of writes, nor the other way round.
pub struct CognitoRates {
    read: CognitoRateLimit,
    write: CognitoRateLimit,
}

impl CognitoRates {
    pub fn new(read: RateSettings, write: RateSettings, metrics: &Arc<Metrics>) -> Self {
        Self {
            read: CognitoRateLimit::new(read, Quota::Read, Arc::clone(metrics)),
            write: CognitoRateLimit::new(write, Quota::Write, Arc::clone(metrics)),
        }
    }

    /// The limiter of the operations that count against `quota`.
    pub(crate) fn of(&self, quota: Quota) -> &CognitoRateLimit {
        match quota {
            Quota::Read => &self.read,
            Quota::Write => &self.write,
        }
    }
}

pub struct CognitoRateLimit {
    settings: RateSettings,
    quota: Quota,
    metrics: Arc<Metrics>,
    regions: Mutex<HashMap<String, Arc<Region>>>,
}

/// One region's bucket and queue (for one quota), and the dispatcher's
/// wake-up call. The
/// dispatcher ends when the region is dropped (its `_stop` with it): when
/// the limiter and every call that holds the region are gone.
struct Region {
    labels: BucketLabels,
    state: Arc<Mutex<State>>,
    wake: Arc<Notify>,
    _stop: oneshot::Sender<()>,
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
    grant: oneshot::Sender<()>,
}

impl CognitoRateLimit {
    pub fn new(settings: RateSettings, quota: Quota, metrics: Arc<Metrics>) -> Self {
        Self {
            settings,
            quota,
            metrics,
            regions: Mutex::default(),
        }
    }

    /// Waits for a turn to call Cognito in `region` on behalf of `caller`,
    /// for a call that must be answered by `deadline`, or says why not.
    /// Dropping the future gives the turn up.
    pub(crate) async fn turn(
        &self,
        region: &str,
        caller: &str,
        deadline: Option<Instant>,
    ) -> Result<(), Refused> {
        let region = self.region(region);
        let (receiver, id, latest_start) = {
            let mut state = lock(&region.state);
            let now = Instant::now();
            state.bucket.refill(now, &self.settings);
            if state.queues.is_empty() && state.bucket.tokens >= 1.0 {
                state.bucket.tokens -= 1.0;
                drop(state);
                self.granted(&region, Duration::ZERO);
                return Ok(());
            }
            let expected = state.expected_latency(self.settings.latency_floor);
            let wait = state.estimated_wait(caller, self.settings.rate);
            // A turn is granted a little after it is due (timers, the
            // dispatcher's own turn on a thread): admit only calls that can
            // wait that much longer than the estimate.
            let slack = TURN_SLACK.min(self.settings.max_wait / 4);
            let refusal = if wait + slack > self.settings.max_wait {
                Some(Refusal::MaxWait)
            } else if deadline.is_some_and(|deadline| now + wait + slack + expected > deadline) {
                // (`now + wait` cannot overflow: the wait is within the
                // maximum wait, which configuration bounds.)
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
            let id = state.enqueue(caller, grant);
            (receiver, id, latest_start)
        };
        region.wake.notify_one();

        let enqueued = Instant::now();
        let mut waiting = Waiting {
            region: &region,
            limit: self,
            id,
            receiver,
            done: false,
        };
        let granted = tokio::time::timeout_at(latest_start, &mut waiting.receiver).await;
        if let Ok(Ok(())) = granted {
            waiting.done = true;
            self.granted(&region, enqueued.elapsed());
            return Ok(());
        }
        // Out of time. A turn granted meanwhile, after the timer fired, is
        // taken; so is one that is due but not yet handed out (the dispatcher
        // is late, its thread busy): the bucket, not the dispatcher, holds the
        // rate.
        waiting.done = true;
        let mut state = lock(&region.state);
        state.bucket.refill(Instant::now(), &self.settings);
        let granted_late = waiting.receiver.try_recv().is_ok();
        let due = granted_late || state.bucket.tokens >= 1.0;
        if due && !granted_late {
            state.bucket.tokens -= 1.0;
        }
        state.remove(id);
        if due {
            drop(state);
            self.granted(&region, enqueued.elapsed());
            return Ok(());
        }
        let wait = state.estimated_wait(caller, self.settings.rate);
        drop(state);
        Err(self.refused(&region, Refusal::TimedOut, wait))
    }

    /// Times a call to Cognito in `region`, for the expected latency, until
    /// the returned timer is finished or dropped: a call cut short by its
    /// caller's deadline counts for as long as it lasted, so that a slowing
    /// Cognito raises the expected latency.
    pub(crate) fn time_call(&self, region: &str) -> CallTimer {
        CallTimer {
            state: Arc::clone(&self.region(region).state),
            started: Instant::now(),
        }
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
        let (stop, stopped) = oneshot::channel();
        let region = Arc::new(Region {
            labels: BucketLabels {
                region: key.to_owned(),
                quota: self.quota.label(),
            },
            _stop: stop,
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
            stopped,
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
                bucket: region.labels.clone(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    fn refused(&self, region: &Region, reason: Refusal, retry_after: Duration) -> Refused {
        self.metrics
            .rate_limit_refusals
            .get_or_create(&RateLimitLabels {
                bucket: region.labels.clone(),
                outcome: reason.label().to_owned(),
            })
            .inc();
        Refused {
            reason,
            retry_after,
        }
    }
}

/// Times one call to Cognito (see [`CognitoRateLimit::time_call`]).
pub(crate) struct CallTimer {
    state: Arc<Mutex<State>>,
    started: Instant,
}

impl CallTimer {
    /// How long the call took, recorded.
    pub(crate) fn finish(self) -> Duration {
        self.started.elapsed()
    }
}

impl Drop for CallTimer {
    fn drop(&mut self) {
        let mut state = lock(&self.state);
        if state.latencies.len() == LATENCIES_KEPT {
            state.latencies.pop_front();
        }
        state.latencies.push_back(self.started.elapsed());
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
            let burst = f64::from(self.limit.settings.burst);
            state.bucket.tokens = (state.bucket.tokens + 1.0).min(burst);
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
async fn dispatch(
    state: Weak<Mutex<State>>,
    wake: Arc<Notify>,
    mut stopped: oneshot::Receiver<()>,
    settings: RateSettings,
) {
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
                // (`due` is at most 1 / rate, and configuration bounds the
                // rate from below.)
                let Some(waiter) = state.next_waiter() else {
                    continue;
                };
                // A call that is gone does not take the turn. One past its
                // latest start does: it takes a turn granted late rather than
                // give up (the dispatcher, not the call, was late).
                if waiter.grant.send(()).is_ok() {
                    state.bucket.tokens -= 1.0;
                }
            }
        };
        drop(state);
        let due = async {
            match next_due {
                Some(due) => tokio::time::sleep_until(due).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = due => {}
            () = wake.notified() => {}
            _ = &mut stopped => return,
        }
    }
}

impl Bucket {
    fn refill(&mut self, now: Instant, settings: &RateSettings) {
        let now = now.max(self.updated);
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
        Duration::try_from_secs_f64(short / rate).unwrap_or(Duration::MAX)
    }

    fn enqueue(&mut self, caller: &str, grant: oneshot::Sender<()>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let waiter = Waiter { id, grant };
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
mod tests;
