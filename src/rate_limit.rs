//! The rate the service allows itself toward Cognito: a token bucket per
//! region (`--cognito-rate` per second, bursts of `--cognito-burst`).
//!
//! Cognito's quotas are per account and region, shared with every other
//! user of the account: a burst of callers here must not get the whole
//! account throttled. A call takes a turn before it is sent; if its turn is
//! later than now it waits, unless the wait would outlast its deadline, in
//! which case it is refused at once with the wait as its retry delay.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use tokio::time::Instant;

/// More buckets than AWS has regions: past this many, further region names
/// (only well-formed ones reach here) share one bucket, so hostile pool ids
/// cannot grow the map.
const MAX_BUCKETS: usize = 64;
const SHARED_BUCKET: &str = "";

pub struct CognitoRateLimit {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    /// Turns available now; below zero, turns already promised to calls
    /// that are waiting.
    tokens: f64,
    updated: Instant,
}

impl CognitoRateLimit {
    pub fn new(rate_per_second: f64, burst: u32) -> Self {
        Self {
            rate: rate_per_second,
            burst: f64::from(burst),
            buckets: Mutex::default(),
        }
    }

    /// Takes a turn for a call to `region` that must begin before
    /// `deadline`: how long to wait for it, or, when that would outlast the
    /// deadline, `Err` with that wait, and no turn taken.
    pub fn take(&self, region: &str, deadline: Option<Instant>) -> Result<Duration, Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let key = if buckets.contains_key(region) || buckets.len() < MAX_BUCKETS {
            region
        } else {
            SHARED_BUCKET
        };
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        let refill = now.duration_since(bucket.updated).as_secs_f64() * self.rate;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.updated = now;
        bucket.tokens -= 1.0;
        if bucket.tokens >= 0.0 {
            return Ok(Duration::ZERO);
        }
        let wait = Duration::from_secs_f64(-bucket.tokens / self.rate);
        if deadline.is_some_and(|deadline| now + wait >= deadline) {
            bucket.tokens += 1.0;
            return Err(wait);
        }
        Ok(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_passes_then_calls_are_spaced_at_the_rate() {
        let limit = CognitoRateLimit::new(10.0, 3);
        for _ in 0..3 {
            assert_eq!(limit.take("us-east-1", None), Ok(Duration::ZERO));
        }
        assert_eq!(
            limit.take("us-east-1", None),
            Ok(Duration::from_millis(100))
        );
        assert_eq!(
            limit.take("us-east-1", None),
            Ok(Duration::from_millis(200))
        );
        // Another region has its own bucket.
        assert_eq!(limit.take("eu-west-1", None), Ok(Duration::ZERO));
        // Time refills the bucket, up to the burst.
        tokio::time::advance(Duration::from_secs(10)).await;
        for _ in 0..3 {
            assert_eq!(limit.take("us-east-1", None), Ok(Duration::ZERO));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_turn_after_the_deadline_is_refused_and_not_taken() {
        let limit = CognitoRateLimit::new(1.0, 1);
        assert_eq!(limit.take("us-east-1", None), Ok(Duration::ZERO));
        let soon = Instant::now() + Duration::from_millis(500);
        assert_eq!(
            limit.take("us-east-1", Some(soon)),
            Err(Duration::from_secs(1))
        );
        // The refused call took nothing: the next turn is still a second out.
        let later = Instant::now() + Duration::from_secs(5);
        assert_eq!(
            limit.take("us-east-1", Some(later)),
            Ok(Duration::from_secs(1))
        );
    }

    #[test]
    fn region_names_beyond_the_cap_share_a_bucket() {
        let limit = CognitoRateLimit::new(1.0, 1);
        for i in 0..MAX_BUCKETS + 10 {
            let _ = limit.take(&format!("xx-region-{i}"), None);
        }
        assert_eq!(limit.buckets.lock().unwrap().len(), MAX_BUCKETS + 1);
    }
}
