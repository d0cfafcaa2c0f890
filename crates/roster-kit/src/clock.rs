//! Time as a dependency, so that tests can move it (expiry, lockout, retention).
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, SubsecRound as _, Utc};

/// Where services read the current time from.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// The current time, to the microsecond: what Postgres stores, so an answer built
    /// from it reads the same as the row read back later.
    fn now(&self) -> DateTime<Utc>;
}

/// A shared clock handle.
pub type SharedClock = Arc<dyn Clock>;

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }
}

/// The real clock plus an offset that tests advance.
#[derive(Debug, Default)]
pub struct ShiftedClock {
    offset: Mutex<Duration>,
}

impl ShiftedClock {
    /// Moves time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut offset = self
            .offset
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *offset += by;
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        let offset = *self
            .offset
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (Utc::now() + offset).trunc_subsecs(6)
    }
}

/// `duration` for date arithmetic, capped at a century (longer means "for ever" in any
/// setting) so that adding it to now cannot overflow.
pub fn to_chrono(duration: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration)
        .unwrap_or(chrono::Duration::MAX)
        .min(chrono::Duration::days(36_500))
}

/// Converts to a protobuf timestamp.
pub fn to_timestamp(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: time.timestamp_subsec_nanos().cast_signed(),
    }
}

/// Converts from a protobuf timestamp; `field` names it in the error.
pub fn from_timestamp(
    field: &str,
    timestamp: &prost_types::Timestamp,
) -> crate::Result<DateTime<Utc>> {
    u32::try_from(timestamp.nanos)
        .ok()
        .and_then(|nanos| DateTime::from_timestamp(timestamp.seconds, nanos))
        .ok_or_else(|| crate::Error::invalid(field, "is not a valid timestamp"))
}
