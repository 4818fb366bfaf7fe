//! The buckets every replica shares (`--cognito-rate-redis`): a GCRA per
//! region and quota in Redis, taken from by one atomic script per ask
//! (`gcra.lua`), under the key `import-job-service:cognito-rate:<region>:<quota>`.
//!
//! Redis is asked only by a region's dispatcher, for as many turns as it has
//! calls waiting, and each ask is bounded by `--cognito-rate-redis-timeout`.
//! An ask that fails or is too slow sends the process to its fallback: each
//! region's own bucket at `--cognito-rate-fallback-share` of the rate,
//! logged once, shown by the `cognito_rate_limit_fallback` gauge. In
//! fallback no call asks Redis: a task tries it once per [`RETRY_INTERVAL`]
//! (with a new connection if the last one failed, since a server gone
//! without a word, or made a read-only replica by a failover, would fail
//! every ask on it), and turns come from Redis again once it answers in
//! time.
//!
//! A turn Redis granted to an ask that timed out is lost, never used twice:
//! an outage can only make the replicas send less than the shared rate, and
//! in fallback at most the share of it each.

use std::{
    sync::{Arc, Mutex, MutexGuard, PoisonError, Weak},
    time::Duration,
};

use redis::{
    Client, IntoConnectionInfo, RedisResult, Script,
    aio::{ConnectionManager, ConnectionManagerConfig},
    io::tcp::TcpSettings,
};
use tokio::time::Instant;

use crate::{
    configuration::RedisUrl,
    metrics::{Metrics, ReasonLabels},
};

/// How often Redis is tried while the replica is in fallback.
const RETRY_INTERVAL: Duration = Duration::from_secs(1);
/// The longest a connection to Redis may take to open (TCP, TLS, AUTH) and
/// load the script. No call waits for it: only the task that tries Redis.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Every key begins with this: deployments that share a Redis database
/// share the quota.
const KEY_PREFIX: &str = "import-job-service:cognito-rate";

/// The Redis side of the shared buckets, one per process.
pub struct SharedBuckets {
    client: Client,
    /// The connection, and whether it failed (then the next try replaces it).
    link: Mutex<(ConnectionManager, bool)>,
    script: Script,
    url: RedisUrl,
    timeout: Duration,
    fallback_share: f64,
    /// Since when turns come from the fallback, if they do.
    fallback_since: Mutex<Option<Instant>>,
    metrics: Arc<Metrics>,
}

/// Redis's answer to an ask.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Answer {
    /// Turns taken for the replica.
    pub taken: u32,
    /// How far the bucket's theoretical arrival time is ahead of Redis's
    /// clock: the turns spent and not yet earned back.
    pub ahead: Duration,
}

/// What a region asks of its shared bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Ask {
    pub take: u32,
    pub give_back: u32,
}

/// Why Redis did not answer.
type Failure = (&'static str, String);

impl SharedBuckets {
    /// The shared buckets in the Redis at `url`. Nothing waits for Redis
    /// here: the service starts whether or not Redis answers, in fallback
    /// once it is known not to.
    pub fn new(
        url: &RedisUrl,
        timeout: Duration,
        fallback_share: f64,
        metrics: &Arc<Metrics>,
    ) -> Arc<Self> {
        // Asks are small and wait for their answer: Nagle's algorithm would
        // hold one back behind another's.
        let info = url
            .expose()
            .into_connection_info()
            .expect("the URL was checked with the flags")
            .set_tcp_settings(TcpSettings::default().set_nodelay(true));
        let client = Client::open(info).expect("the URL was checked with the flags");
        let shared = Arc::new(Self {
            link: Mutex::new((connection(&client), false)),
            client,
            script: Script::new(include_str!("gcra.lua")),
            url: url.clone(),
            timeout,
            fallback_share,
            fallback_since: Mutex::new(None),
            metrics: Arc::clone(metrics),
        });
        let started = Arc::clone(&shared);
        tokio::spawn(async move {
            match started.try_redis().await {
                Ok(()) => {
                    tracing::info!(redis = %started.url, "the Cognito rates are shared through Redis");
                }
                Err((reason, error)) => started.unreachable(reason, &error),
            }
        });
        shared
    }

    /// The share of the rates a replica takes on its own while Redis cannot
    /// be reached.
    pub(super) fn fallback_share(&self) -> f64 {
        self.fallback_share
    }

    /// Asks the shared bucket `bucket` (`<region>:<quota>`), of one turn per
    /// `interval` in bursts of `burst`. `None` when Redis cannot answer, or
    /// in fallback: the fallback's turn.
    pub(super) async fn ask(
        self: &Arc<Self>,
        bucket: &str,
        interval: Duration,
        burst: u32,
        ask: Ask,
    ) -> Option<Answer> {
        if lock(&self.fallback_since).is_some() {
            return None;
        }
        let redis = lock(&self.link).0.clone();
        match self.call(redis, bucket, interval, burst, ask).await {
            Ok((taken, ahead)) => Some(Answer {
                taken: u32::try_from(taken).unwrap_or(0).min(ask.take),
                ahead: Duration::from_micros(u64::try_from(ahead).unwrap_or(0)),
            }),
            Err((reason, error)) => {
                lock(&self.link).1 = true;
                self.unreachable(reason, &error);
                None
            }
        }
    }

    /// Runs the script once, within the timeout.
    async fn call(
        &self,
        mut redis: ConnectionManager,
        bucket: &str,
        interval: Duration,
        burst: u32,
        ask: Ask,
    ) -> Result<(i64, i64), Failure> {
        let mut invocation = self.script.key(format!("{KEY_PREFIX}:{bucket}"));
        // Whole microseconds, rounded up: never a faster rate than set.
        let interval = interval.as_nanos().div_ceil(1000).max(1);
        invocation
            .arg(u64::try_from(interval).unwrap_or(u64::MAX))
            .arg(burst)
            .arg(ask.take)
            .arg(ask.give_back);
        let called = invocation.invoke_async::<(i64, i64)>(&mut redis);
        within(self.timeout, called).await
    }

    /// Tries Redis as an ask would, with time to open a connection first: a
    /// new one if the last one failed.
    async fn try_redis(&self) -> Result<(), Failure> {
        let mut redis = {
            let mut link = lock(&self.link);
            if link.1 {
                *link = (connection(&self.client), false);
            }
            link.0.clone()
        };
        let opened = within(CONNECT_TIMEOUT, self.script.load_async(&mut redis)).await;
        // A bucket of its own, a turn taken from it: the ask's own path,
        // its write included, which a read-only replica or a Redis out of
        // memory refuses (asking for nothing would write nothing).
        let answered = match opened {
            Ok(_) => {
                let one = Ask {
                    take: 1,
                    give_back: 0,
                };
                let call = self.call(redis, "probe", Duration::from_secs(1), 1, one);
                call.await.map(|_| ())
            }
            Err(failure) => Err(failure),
        };
        if answered.is_err() {
            lock(&self.link).1 = true;
        }
        answered
    }

    fn unreachable(self: &Arc<Self>, reason: &'static str, error: &str) {
        self.metrics
            .rate_limit_redis_failures
            .get_or_create(&ReasonLabels { reason })
            .inc();
        let since = {
            let mut since = lock(&self.fallback_since);
            if since.is_some() {
                return;
            }
            *since.insert(Instant::now())
        };
        self.metrics.rate_limit_fallback.set(1);
        tracing::warn!(
            redis = %self.url,
            reason,
            error = %self.url.scrub(error),
            fallback_share = self.fallback_share,
            "Redis cannot be reached for the shared Cognito rates: each replica takes turns on its own, at the fallback share, until it answers"
        );
        tokio::spawn(retry(Arc::downgrade(self), since));
    }
}

/// Tries Redis once per [`RETRY_INTERVAL`] until it answers (or the
/// buckets are gone), then leaves the fallback.
async fn retry(shared: Weak<SharedBuckets>, since: Instant) {
    loop {
        tokio::time::sleep(RETRY_INTERVAL).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if let Err((reason, error)) = shared.try_redis().await {
            let error = shared.url.scrub(&error);
            tracing::debug!(redis = %shared.url, reason, %error, "Redis does not answer yet");
            continue;
        }
        *lock(&shared.fallback_since) = None;
        shared.metrics.rate_limit_fallback.set(0);
        tracing::info!(
            redis = %shared.url,
            fallback_seconds = since.elapsed().as_secs_f64(),
            "Redis answers again: the Cognito rates are shared again"
        );
        return;
    }
}

/// A connection to Redis, opened on first use. It tries once: a failed one
/// is replaced, once per [`RETRY_INTERVAL`].
fn connection(client: &Client) -> ConnectionManager {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(None)
        .set_number_of_retries(0);
    ConnectionManager::new_lazy_with_config(client.clone(), config)
        .expect("a connection manager without push messages is valid")
}

/// `call`'s answer, or why there is none within `timeout`.
async fn within<T>(
    timeout: Duration,
    call: impl Future<Output = RedisResult<T>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(timeout, call).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(error)) => Err(("error", error.to_string())),
        Err(_) => Err(("timeout", "no answer in time".to_owned())),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing here is left half-updated by a panic.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
