//! Login throttling (DESIGN §4, OWASP ASVS 6.1.1/6.3.1): failed password checks slow the
//! one who fails, never lock the owner out. Counters live in Postgres, so every replica
//! slows the same attacker, and a check counts before it is made, so concurrent guesses
//! cannot all pass as free ones. Refusals come before any hashing, and say when to retry.
use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use roster_kit::{Error, Result};
use roster_proto::types::ErrorReason;

use super::{Identity, to_chrono};
use crate::LoginThrottleConfig;
use crate::store;

/// How long to wait after `failures` failures of which `free` cost nothing: `delay_base`
/// for the first one past them, doubling each time, up to `delay_max`.
fn wait_after(rules: &LoginThrottleConfig, failures: i64, free: u32) -> Duration {
    let Some(past_free) = failures.checked_sub(i64::from(free)).filter(|n| *n >= 0) else {
        return Duration::ZERO;
    };
    let doublings = u32::try_from(past_free).unwrap_or(u32::MAX).min(31);
    rules
        .delay_base
        .saturating_mul(1 << doublings)
        .min(rules.delay_max)
}

/// A password check counted for an email and a source.
#[derive(Debug, Clone, Copy)]
pub(super) struct CountedCheck {
    pub(super) source: IpAddr,
    /// Checks counted for the email from the source, this one included.
    pub(super) failures: i32,
}

impl Identity {
    /// Counts a password check of `email` (normalized, known or not) from `source`, or
    /// refuses it with `RATE_LIMITED` and `retry_after_seconds` while the email from
    /// that source, or that source for any email, has to wait. A source that failed for
    /// an email that fails everywhere (more than `account_free_failures` across sources)
    /// has no free checks left; other sources are not slowed by it.
    pub(super) async fn count_password_check(
        &self,
        email: &str,
        source: IpAddr,
    ) -> Result<CountedCheck> {
        let rules = &self.config.login_throttle;
        let now = self.now();
        let cutoff = now - to_chrono(rules.failure_window);
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        store::forget_stale_login_attempts(&tx, cutoff).await?;
        let attempts = store::lock_login_attempts(&tx, email, source, cutoff).await?;
        let failures = if attempts.last_attempt_at > cutoff {
            attempts.failures
        } else {
            0
        };
        let totals = store::login_failure_totals(&tx, email, source, cutoff).await?;
        let failing_everywhere = totals.account_failures > i64::from(rules.account_free_failures);
        let free = if failing_everywhere {
            1
        } else {
            rules.free_failures
        };
        // A wait runs from the last attempt; none at all while failures are free, however
        // recent the last attempt (a concurrent check may have committed a later `now`).
        let allowed_after = |last: DateTime<Utc>, wait: Duration| {
            if wait.is_zero() {
                now
            } else {
                last + to_chrono(wait)
            }
        };
        let email_allowed_at = allowed_after(
            attempts.last_attempt_at,
            wait_after(rules, failures.into(), free),
        );
        let source_allowed_at = totals.source_last_attempt_at.map_or(now, |last| {
            allowed_after(
                last,
                wait_after(rules, totals.source_failures, rules.source_free_failures),
            )
        });
        let allowed_at = email_allowed_at.max(source_allowed_at);
        if allowed_at > now {
            return Err(rate_limited(now, allowed_at));
        }
        let failures = failures.saturating_add(1);
        store::count_login_attempt(&tx, email, source, failures, now).await?;
        tx.commit().await?;
        Ok(CountedCheck { source, failures })
    }

    /// Forgets the failures of `email` from `source`: its password was right.
    pub(super) async fn forget_password_checks(&self, email: &str, source: IpAddr) -> Result<()> {
        store::forget_login_attempts(&self.pool.get().await?, email, source).await
    }

    /// Whether `check`, a failure, is the one past which its source waits: the user is
    /// told someone is failing to sign in.
    pub(super) fn starts_slowing(&self, check: CountedCheck) -> bool {
        u32::try_from(check.failures).is_ok_and(|n| n == self.config.login_throttle.free_failures)
    }
}

fn rate_limited(now: DateTime<Utc>, allowed_at: DateTime<Utc>) -> Error {
    let wait = (allowed_at - now).to_std().unwrap_or_default();
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    Error::refused(
        ErrorReason::RateLimited,
        "too many failed sign-in attempts; wait before trying again",
    )
    .with_metadata("retry_after_seconds", seconds.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_past_the_free_failures_up_to_the_cap() {
        let rules = LoginThrottleConfig::default();
        let waits: Vec<u64> = (0..=16)
            .map(|failures| wait_after(&rules, failures, 5).as_secs())
            .collect();
        assert_eq!(
            waits,
            [
                0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900
            ]
        );
        assert_eq!(wait_after(&rules, i64::MAX, 5), rules.delay_max);
        assert_eq!(wait_after(&rules, 1, 1), rules.delay_base);
    }

    #[test]
    fn a_refusal_rounds_its_retry_hint_up() {
        let now = Utc::now();
        let refused = rate_limited(now, now + chrono::Duration::milliseconds(1_200));
        let Error::Refused { metadata, .. } = &refused else {
            panic!("a refusal: {refused:?}");
        };
        assert_eq!(metadata["retry_after_seconds"], "2");
        assert_eq!(refused.reason(), Some(ErrorReason::RateLimited));
    }
}
