//! Read replicas, and reading one's own writes from them.
//!
//! A service may read what can lag (lists, gets, seat usage, audit listings) from a
//! streaming replica. A caller who has just written must still read what it wrote: every
//! transaction committed during a call records the primary's WAL position (LSN) after its
//! commit; the edge answers the call with it in the [`HEADER`] header and remembers it for
//! the caller's credential on this process. A later call that carries the header, or comes
//! from the same credential to this process, reads from the replica only once the replica
//! has replayed that far, else from the primary. Other calls read from the replica as it
//! is.
use std::collections::HashMap;
use std::hash::BuildHasher as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// The header a write's answer carries its LSN in, and a read may send one back in.
pub const HEADER: &str = "roster-read-after";

/// How long a process remembers a credential's last write: far longer than a healthy
/// replica lags, short enough to forget idle callers.
const REMEMBERED: Duration = Duration::from_secs(60);

/// Credentials remembered at most; past it, the expired go, then everything.
const REMEMBERED_CALLERS: usize = 100_000;

/// Set once a pool with a replica opens: only then does the edge track calls.
static REPLICAS: AtomicBool = AtomicBool::new(false);

/// An LSN no replica reaches: the call wrote, but where to is unknown, so it reads from
/// the primary.
pub(crate) const UNKNOWN: u64 = u64::MAX;

tokio::task_local! {
    static CALL: Arc<Consistency>;
}

/// What one call must read after, and how far its own writes reached.
#[derive(Debug, Default)]
pub struct Consistency {
    must_see: Option<u64>,
    written: AtomicU64,
}

impl Consistency {
    /// Runs `call` so that its reads see `must_see` and its commits are recorded.
    pub async fn scope<F: Future>(self: Arc<Self>, call: F) -> F::Output {
        CALL.scope(self, call).await
    }

    /// How far the call's writes reached, if it wrote.
    pub fn written(&self) -> Option<u64> {
        match self.written.load(Ordering::Acquire) {
            0 => None,
            lsn => Some(lsn),
        }
    }
}

/// Whether any pool of this process reads from a replica.
pub fn in_use() -> bool {
    REPLICAS.load(Ordering::Relaxed)
}

pub(crate) fn opened() {
    REPLICAS.store(true, Ordering::Relaxed);
}

/// Whether the current call tracks its writes.
pub(crate) fn tracking() -> bool {
    CALL.try_with(|_| ()).is_ok()
}

/// The LSN the current call's reads must see, if any.
pub(crate) fn must_see() -> Option<u64> {
    CALL.try_with(|call| {
        let written = call.written();
        call.must_see.max(written)
    })
    .ok()
    .flatten()
}

/// Records that the current call committed a write reaching `lsn` ([`UNKNOWN`] if the
/// position could not be read).
pub(crate) fn wrote(lsn: u64) {
    let _ = CALL.try_with(|call| call.written.fetch_max(lsn, Ordering::AcqRel));
}

/// `X/Y`, as Postgres writes an LSN.
pub fn format_lsn(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

/// An LSN as Postgres writes it (`16/B374D848`).
pub fn parse_lsn(text: &str) -> Option<u64> {
    let (high, low) = text.split_once('/')?;
    let high = u32::from_str_radix(high, 16).ok()?;
    let low = u32::from_str_radix(low, 16).ok()?;
    Some((u64::from(high) << 32) | u64::from(low))
}

/// The [`HEADER`] of a request, if it has one.
pub fn requested(headers: &http::HeaderMap) -> Result<Option<u64>> {
    let Some(value) = headers.get(HEADER) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(parse_lsn)
        .map(Some)
        .ok_or_else(|| {
            Error::invalid(
                HEADER,
                "must be a position as an earlier answer gave it (like 16/B374D848)",
            )
        })
}

/// The last write of each credential seen by one process.
#[derive(Debug, Default)]
pub struct Writers {
    keys: std::hash::RandomState,
    last: Mutex<HashMap<u64, (u64, Instant)>>,
}

impl Writers {
    /// The key of the credential a request presents, if any (a keyed hash of it: the
    /// credential itself is not kept).
    pub fn caller(&self, headers: &http::HeaderMap) -> Option<u64> {
        headers
            .get(http::header::AUTHORIZATION)
            .map(|credential| self.keys.hash_one(credential.as_bytes()))
    }

    /// What `caller` last wrote here, if recently.
    pub fn last_write(&self, caller: u64) -> Option<u64> {
        let last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        last.get(&caller)
            .filter(|(_, at)| at.elapsed() < REMEMBERED)
            .map(|(lsn, _)| *lsn)
    }

    /// Remembers that `caller` wrote up to `lsn`.
    pub fn wrote(&self, caller: u64, lsn: u64) {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if last.len() >= REMEMBERED_CALLERS {
            last.retain(|_, (_, at)| at.elapsed() < REMEMBERED);
            if last.len() >= REMEMBERED_CALLERS {
                last.clear();
            }
        }
        let entry = last.entry(caller).or_insert((0, Instant::now()));
        *entry = (entry.0.max(lsn), Instant::now());
    }

    /// The consistency of a call with `headers` from `caller`.
    pub fn call(&self, headers: &http::HeaderMap, caller: Option<u64>) -> Result<Consistency> {
        let requested = requested(headers)?;
        let remembered = caller.and_then(|caller| self.last_write(caller));
        Ok(Consistency {
            must_see: requested.max(remembered),
            written: AtomicU64::new(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsns_read_and_write_as_postgres_does() {
        assert_eq!(parse_lsn("16/B374D848"), Some(0x16_B374_D848));
        assert_eq!(format_lsn(0x16_B374_D848), "16/B374D848");
        assert_eq!(parse_lsn("0/0"), Some(0));
        for bad in ["", "16", "16/", "/1", "G/1", "1/2/3", "100000000/0"] {
            assert_eq!(parse_lsn(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn a_call_must_see_what_it_was_told_and_what_it_wrote() {
        let writers = Writers::default();
        let mut headers = http::HeaderMap::new();
        headers.insert(HEADER, "0/10".parse().expect("header"));
        headers.insert(
            http::header::AUTHORIZATION,
            "Bearer a".parse().expect("header"),
        );
        let caller = writers.caller(&headers);
        let call = Arc::new(writers.call(&headers, caller).expect("valid"));
        let seen = Arc::clone(&call)
            .scope(async {
                let before = must_see();
                wrote(0x20);
                (before, must_see())
            })
            .await;
        assert_eq!(seen, (Some(0x10), Some(0x20)));
        assert_eq!(call.written(), Some(0x20));
        writers.wrote(caller.expect("a credential"), 0x20);
        headers.remove(HEADER);
        let next = writers.call(&headers, caller).expect("valid");
        assert_eq!(next.must_see, Some(0x20), "remembered for the credential");
        headers.insert(
            http::header::AUTHORIZATION,
            "Bearer b".parse().expect("header"),
        );
        let other = writers
            .call(&headers, writers.caller(&headers))
            .expect("valid");
        assert_eq!(
            other.must_see, None,
            "another credential reads from the replica"
        );
        headers.insert(HEADER, "nope".parse().expect("header"));
        assert!(writers.call(&headers, None).is_err());
        assert_eq!(must_see(), None, "outside a call");
    }
}
