//! The audit trail: one event per decision to serve a call or not, on the
//! `audit` target, which the log writer queues apart from call lines and
//! writes before them (see `telemetry::writer`). The decisions are the
//! policy's, and the refusals that come before it: a caller that proved no
//! identity, a call over a limit, a message that did not arrive whole.
//!
//! A refused call is recorded by its audit event alone: the call line is
//! not written as well. And a flood of identical refusals is summarized:
//! the first of a kind in each window (`--audit-summary-window`) is written
//! in full, the identical ones that follow are counted, and one
//! `authorization decisions repeated` line gives their number when the
//! window closes. Identical means the same caller (for a caller that proved
//! no identity, the same peer address), method, user pool, reason and rule.
//! So a flood costs two lines per kind and window rather than one per call,
//! and every call is still accounted for. Allowed calls are always written
//! one by one.

use std::{
    collections::HashMap,
    mem,
    net::IpAddr,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use crate::{
    auth::{Caller, policy::Decision},
    telemetry::loggable,
};

/// Kinds of refusal counted per window, at most: past it, refusals of a new
/// kind are only counted, all together, so that neither the summary's memory
/// nor the lines a flood from many addresses writes are unbounded.
const MAX_KINDS: usize = 4096;

/// What a refusal says, but for its job id: refusals that say the same are
/// summarized.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Refusal {
    caller: String,
    peer: Option<IpAddr>,
    method: String,
    user_pool_id: Option<String>,
    reason: &'static str,
    rule: String,
}

/// Who makes a call, from where, and to which method.
pub struct Call<'a> {
    /// `None` when the caller proved no identity.
    pub caller: Option<&'a Caller>,
    pub peer: Option<IpAddr>,
    pub method: &'a str,
}

pub struct AuditTrail {
    /// Zero: every refusal is written in full.
    window: Duration,
    repeats: Mutex<Repeats>,
}

/// This window's refusals.
#[derive(Default)]
struct Repeats {
    /// Kinds written in full, with how many identical ones followed.
    kinds: HashMap<Refusal, u64>,
    /// Refusals of kinds past [`MAX_KINDS`], written not at all.
    beyond: u64,
}

impl AuditTrail {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            repeats: Mutex::default(),
        }
    }

    /// How often [`AuditTrail::write_repeats`] is to be called; zero if never.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Records the policy's decision on a call.
    pub fn decision(
        &self,
        call: &Call<'_>,
        user_pool_id: Option<&str>,
        job_id: Option<&str>,
        decision: &Decision,
        policy: &str,
    ) {
        let user_pool_id = user_pool_id.map(loggable);
        let job_id = job_id.map(loggable);
        let anonymous = Caller::default();
        let caller = call.caller.unwrap_or(&anonymous);
        if let Decision::Deny { .. } = decision
            && self.is_repeat(call, user_pool_id, "CALLER_NOT_ALLOWED", decision.rule())
        {
            return;
        }
        let outcome = match decision {
            Decision::Allow { .. } => "allow",
            Decision::Deny { .. } => "deny",
        };
        tracing::info!(
            target: "audit",
            caller = %caller,
            proof = %caller.proofs(),
            method = loggable(call.method),
            user_pool_id,
            job_id,
            decision = outcome,
            rule = decision.rule(),
            policy,
            "authorization decision"
        );
    }

    /// Records a call refused before the policy could decide: one that
    /// proved no identity, was over a limit, or whose message did not arrive
    /// whole and in time. `reason` is the answer's ErrorInfo reason; `rule`,
    /// the step or limit that refused it.
    pub fn refused(&self, call: &Call<'_>, reason: &'static str, rule: &'static str) {
        if self.is_repeat(call, None, reason, rule) {
            return;
        }
        match call.caller {
            Some(caller) => tracing::info!(
                target: "audit",
                caller = %caller,
                proof = %caller.proofs(),
                method = loggable(call.method),
                decision = "deny",
                reason,
                rule,
                "authorization decision"
            ),
            None => tracing::info!(
                target: "audit",
                caller = "unauthenticated",
                method = loggable(call.method),
                decision = "deny",
                reason,
                rule,
                "authorization decision"
            ),
        }
    }

    /// Whether an identical refusal was written this window, counting this
    /// one if so.
    fn is_repeat(
        &self,
        call: &Call<'_>,
        user_pool_id: Option<&str>,
        reason: &'static str,
        rule: &str,
    ) -> bool {
        if self.window.is_zero() {
            return false;
        }
        let refusal = Refusal {
            caller: call
                .caller
                .map_or_else(|| "unauthenticated".to_owned(), ToString::to_string),
            peer: call.peer,
            method: loggable(call.method).to_owned(),
            user_pool_id: user_pool_id.map(str::to_owned),
            reason,
            rule: rule.to_owned(),
        };
        let mut repeats = self.repeats.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = repeats.kinds.get_mut(&refusal) {
            *count += 1;
            return true;
        }
        if repeats.kinds.len() >= MAX_KINDS {
            repeats.beyond += 1;
            return true;
        }
        repeats.kinds.insert(refusal, 0);
        false
    }

    /// Closes the window: one line for each kind of refusal that was
    /// repeated in it, and one for the refusals of kinds past the limit.
    pub fn write_repeats(&self) {
        let repeats = mem::take(&mut *self.repeats.lock().unwrap_or_else(PoisonError::into_inner));
        let window_s = self.window.as_secs_f64();
        if repeats.beyond > 0 {
            tracing::warn!(
                target: "audit",
                decision = "deny",
                repeated = repeats.beyond,
                kinds_written = MAX_KINDS,
                window_s,
                "refusals of further kinds, counted only"
            );
        }
        for (refusal, repeated) in repeats.kinds {
            if repeated == 0 {
                continue;
            }
            tracing::info!(
                target: "audit",
                caller = refusal.caller,
                peer = refusal.peer.map(tracing::field::display),
                method = refusal.method,
                user_pool_id = refusal.user_pool_id,
                decision = "deny",
                reason = refusal.reason,
                rule = refusal.rule,
                repeated,
                window_s,
                "authorization decisions repeated"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(address: u32) -> Call<'static> {
        Call {
            caller: None,
            peer: Some(IpAddr::from(address.to_be_bytes())),
            method: "/importjob.v1.ImportJobService/StopUserImportJob",
        }
    }

    #[test]
    fn identical_refusals_are_counted_and_kinds_past_the_bound_only_counted() {
        let audit = AuditTrail::new(Duration::from_secs(10));
        let refused = |address: u32| {
            audit.is_repeat(
                &from(address),
                None,
                "CREDENTIALS_MISSING",
                "authentication",
            )
        };
        assert!(!refused(1), "the first is written");
        assert!(refused(1) && refused(1), "the same again is counted");
        assert!(!audit.is_repeat(&from(1), None, "TOKEN_EXPIRED", "authentication"));
        for address in 2..MAX_KINDS as u32 {
            assert!(!refused(address));
        }
        assert!(
            refused(u32::MAX),
            "past the bound, a new kind is counted only"
        );
        {
            let repeats = audit.repeats.lock().unwrap();
            assert_eq!(repeats.kinds.len(), MAX_KINDS);
            assert_eq!(repeats.beyond, 1);
            assert_eq!(repeats.kinds.values().sum::<u64>(), 2);
        }
        audit.write_repeats();
        assert!(audit.repeats.lock().unwrap().kinds.is_empty());
        assert!(!refused(1), "a new window writes the first again");

        let every = AuditTrail::new(Duration::ZERO);
        assert!(
            !every.is_repeat(&from(1), None, "R", "r")
                && !every.is_repeat(&from(1), None, "R", "r")
        );
    }
}
