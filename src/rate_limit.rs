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
//! one due". It is the replica's own ([`Turns::Local`]), or with
//! `--cognito-rate-redis` one shared by every replica ([`Turns::Shared`]: a
//! GCRA in Redis, see [`shared`]), asked by the dispatcher alone for as many
//! turns as calls wait. The queue, its fairness and its estimates stay in
//! each replica: a shared bucket's estimates go by what Redis last said of
//! it, and so do not foresee the other replicas' turns (a call they take the
//! turn of gives up at the same bounds as any other).

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

pub(crate) mod shared;

pub use shared::SharedBuckets;
use shared::{Answer, Ask};

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
/// The least time between two asks of a shared bucket that had no turn:
/// rounding never makes the dispatcher spin.
const MIN_ASK_INTERVAL: Duration = Duration::from_millis(1);

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
    /// The limiters, with buckets of their own, or `shared` in Redis.
    pub fn new(
        read: RateSettings,
        write: RateSettings,
        shared: Option<Arc<SharedBuckets>>,
        metrics: &Arc<Metrics>,
    ) -> Self {
        Self {
            read: CognitoRateLimit::new(read, Quota::Read, shared.clone(), Arc::clone(metrics)),
            write: CognitoRateLimit::new(write, Quota::Write, shared, Arc::clone(metrics)),
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
    shared: Option<Arc<SharedBuckets>>,
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
    turns: Turns,
    /// Callers with calls waiting, in the order of their next turns.
    queues: VecDeque<CallerQueue>,
    next_id: u64,
    latencies: VecDeque<Duration>,
}

/// Where a region's turns come from.
enum Turns {
    /// The replica's own bucket.
    Local(Bucket),
    /// The bucket every replica shares, in Redis.
    Shared(SharedTurns),
}

/// A region's side of its shared bucket.
struct SharedTurns {
    /// The shared bucket as Redis last described it, refilled at the rate
    /// since: what estimates go by.
    seen: Bucket,
    /// The replica's own bucket at the fallback share, for while Redis
    /// cannot be reached. Turns from Redis are taken from it too (down to
    /// none), so that a busy replica does not enter the fallback with a
    /// fresh burst.
    fallback: Bucket,
    /// Whether the last turns came from the fallback.
    falling_back: bool,
    /// Turns taken and not yet handed out, for the next waiting call; given
    /// back when none waits.
    held: u32,
    /// No ask before this: the shared bucket has no turn until then.
    next_ask: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Turns available now, up to the burst.
    tokens: f64,
    updated: Instant,
    rate: f64,
    burst: f64,
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
    pub fn new(
        settings: RateSettings,
        quota: Quota,
        shared: Option<Arc<SharedBuckets>>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            settings,
            quota,
            shared,
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
            state.turns.refill(now);
            if state.queues.is_empty() && state.turns.take() {
                drop(state);
                self.granted(&region, Duration::ZERO);
                return Ok(());
            }
            let expected = state.expected_latency(self.settings.latency_floor);
            let wait = state.estimated_wait(caller);
            // A turn is granted a little after it is due (timers, the
            // dispatcher's own turn on a thread, a shared bucket's round
            // trip): admit only calls that can wait that much longer than
            // the estimate.
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
        state.turns.refill(Instant::now());
        let granted_late = waiting.receiver.try_recv().is_ok();
        let due = granted_late || state.turns.take();
        state.remove(id);
        if due {
            drop(state);
            self.granted(&region, enqueued.elapsed());
            return Ok(());
        }
        let wait = state.estimated_wait(caller);
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
        let now = Instant::now();
        let (rate, burst) = (self.settings.rate, f64::from(self.settings.burst));
        let (turns, asker) = match &self.shared {
            None => (Turns::Local(Bucket::full(rate, burst, now)), None),
            Some(shared) => {
                let turns =
                    Turns::Shared(SharedTurns::new(rate, burst, shared.fallback_share(), now));
                let asker = Asker {
                    shared: Arc::clone(shared),
                    bucket: format!("{key}:{}", self.quota.label()),
                    interval: Duration::from_secs_f64(1.0 / rate),
                    burst: self.settings.burst,
                };
                (turns, Some(asker))
            }
        };
        let region = Arc::new(Region {
            labels: BucketLabels {
                region: key.to_owned(),
                quota: self.quota.label(),
            },
            _stop: stop,
            state: Arc::new(Mutex::new(State {
                turns,
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
            asker,
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
            state.turns.give_back();
            drop(state);
            self.limit.count_turn(self.region, "unused");
            self.region.wake.notify_one();
        } else {
            state.remove(self.id);
        }
    }
}

/// How a region's dispatcher asks its shared bucket.
struct Asker {
    shared: Arc<SharedBuckets>,
    /// `<region>:<quota>`.
    bucket: String,
    interval: Duration,
    burst: u32,
}

/// What a dispatcher does next.
#[derive(Clone, Copy)]
enum Step {
    /// Waits until a turn is due, or, with none waiting, until woken.
    Sleep(Option<Instant>),
    /// Asks the shared bucket.
    Ask(Ask),
}

/// Hands out a region's turns as they come due, one per call at the head of
/// the round-robin, until the region is gone. With a shared bucket (`asker`),
/// it alone asks Redis for turns.
async fn dispatch(
    state: Weak<Mutex<State>>,
    wake: Arc<Notify>,
    mut stopped: oneshot::Receiver<()>,
    asker: Option<Asker>,
) {
    loop {
        let Some(state) = state.upgrade() else {
            return;
        };
        let mut step = {
            let mut state = lock(&state);
            let now = Instant::now();
            state.turns.refill(now);
            state.hand_out();
            state.next_step(now)
        };
        if let (Step::Ask(ask), Some(asker)) = (step, &asker) {
            let answer = asker
                .shared
                .ask(&asker.bucket, asker.interval, asker.burst, ask)
                .await;
            let mut state = lock(&state);
            let now = Instant::now();
            state.turns.refill(now);
            state.turns.answered(ask, answer, now);
            state.hand_out();
            step = state.next_step(now);
        }
        drop(state);
        let due = async {
            match step {
                // Right away: more turns may be taken.
                Step::Ask(_) => {}
                Step::Sleep(Some(due)) => tokio::time::sleep_until(due).await,
                Step::Sleep(None) => std::future::pending().await,
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
    fn full(rate: f64, burst: f64, now: Instant) -> Self {
        Self {
            tokens: burst,
            updated: now,
            rate,
            burst,
        }
    }

    fn refill(&mut self, now: Instant) {
        let now = now.max(self.updated);
        let earned = now.duration_since(self.updated).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + earned).min(self.burst);
        self.updated = now;
    }

    /// When the next whole turn is due (`now` if it is).
    fn due(&self, now: Instant) -> Instant {
        // (At most 1 / rate away: there are never fewer than no turns, and
        // configuration bounds the rate from below.)
        now + Duration::from_secs_f64((1.0 - self.tokens).max(0.0) / self.rate)
    }

    /// Takes up to `wanted` whole turns; how many it took.
    fn take_up_to(&mut self, wanted: u32) -> u32 {
        let taken = self.tokens.floor().clamp(0.0, f64::from(wanted)) as u32;
        self.tokens -= f64::from(taken);
        taken
    }
}

impl SharedTurns {
    fn new(rate: f64, burst: f64, fallback_share: f64, now: Instant) -> Self {
        Self {
            seen: Bucket::full(rate, burst, now),
            // At least one turn at once, or none would ever come.
            fallback: Bucket::full(
                rate * fallback_share,
                (burst * fallback_share).floor().max(1.0),
                now,
            ),
            falling_back: false,
            held: 0,
            next_ask: now,
        }
    }
}

impl Turns {
    fn refill(&mut self, now: Instant) {
        match self {
            Turns::Local(bucket) => bucket.refill(now),
            Turns::Shared(shared) => {
                shared.seen.refill(now);
                shared.fallback.refill(now);
            }
        }
    }

    /// Takes a turn that is due now and not yet handed out, if there is one.
    fn take(&mut self) -> bool {
        match self {
            Turns::Local(bucket) => bucket.take_up_to(1) == 1,
            Turns::Shared(shared) if shared.held > 0 => {
                shared.held -= 1;
                true
            }
            Turns::Shared(_) => false,
        }
    }

    /// A turn taken and not used.
    fn give_back(&mut self) {
        match self {
            Turns::Local(bucket) => bucket.tokens = (bucket.tokens + 1.0).min(bucket.burst),
            Turns::Shared(shared) => shared.held += 1,
        }
    }

    /// The turns due now and the rate, as estimates go by them.
    fn estimate(&self) -> (f64, f64) {
        match self {
            Turns::Local(bucket) => (bucket.tokens, bucket.rate),
            Turns::Shared(shared) => {
                let bucket = match shared.falling_back {
                    true => &shared.fallback,
                    false => &shared.seen,
                };
                (f64::from(shared.held) + bucket.tokens, bucket.rate)
            }
        }
    }

    /// Takes in the shared bucket's answer to `ask`, or with none (Redis
    /// cannot be reached), answers it from the fallback.
    fn answered(&mut self, ask: Ask, answer: Option<Answer>, now: Instant) {
        let Turns::Shared(shared) = self else {
            return;
        };
        let taken = match answer {
            Some(answer) => {
                shared.falling_back = false;
                // (Never below none: a bucket that another deployment's
                // slower rate put further ahead is asked again a turn later.)
                let seen = &mut shared.seen;
                let tokens = seen.burst - answer.ahead.as_secs_f64() * seen.rate;
                seen.tokens = tokens.clamp(0.0, seen.burst);
                seen.updated = now;
                shared.fallback.take_up_to(answer.taken);
                answer.taken
            }
            None => {
                shared.falling_back = true;
                let fallback = &mut shared.fallback;
                fallback.tokens = (fallback.tokens + f64::from(ask.give_back)).min(fallback.burst);
                fallback.take_up_to(ask.take)
            }
        };
        shared.held += taken;
        shared.next_ask = match taken < ask.take {
            true => {
                let bucket = match shared.falling_back {
                    true => &shared.fallback,
                    false => &shared.seen,
                };
                bucket.due(now).max(now + MIN_ASK_INTERVAL)
            }
            false => now,
        };
    }
}

impl State {
    /// Hands the turns due now to the calls at the head of the round-robin.
    /// A call that is gone does not take the turn. One past its latest start
    /// does: it takes a turn granted late rather than give up (the
    /// dispatcher, not the call, was late).
    fn hand_out(&mut self) {
        while !self.queues.is_empty() && self.turns.take() {
            let mut handed = false;
            while let Some(waiter) = self.next_waiter() {
                if waiter.grant.send(()).is_ok() {
                    handed = true;
                    break;
                }
            }
            if !handed {
                self.turns.give_back();
            }
        }
    }

    /// What the dispatcher does once the turns due are handed out.
    fn next_step(&mut self, now: Instant) -> Step {
        let waiting: usize = self.queues.iter().map(|queue| queue.waiters.len()).sum();
        match &mut self.turns {
            Turns::Local(bucket) => Step::Sleep((waiting > 0).then(|| bucket.due(now))),
            Turns::Shared(shared) if waiting == 0 => match std::mem::take(&mut shared.held) {
                0 => Step::Sleep(None),
                held => Step::Ask(Ask {
                    take: 0,
                    give_back: held,
                }),
            },
            Turns::Shared(shared) if now < shared.next_ask => Step::Sleep(Some(shared.next_ask)),
            Turns::Shared(shared) => Step::Ask(Ask {
                take: u32::try_from(waiting)
                    .unwrap_or(u32::MAX)
                    .min(shared.seen.burst as u32),
                give_back: 0,
            }),
        }
    }

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
    fn estimated_wait(&self, caller: &str) -> Duration {
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
        let (tokens, rate) = self.turns.estimate();
        let short = (ahead as f64 + 1.0 - tokens).max(0.0);
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
