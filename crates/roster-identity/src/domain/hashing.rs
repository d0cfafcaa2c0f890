//! Password policy and hashing.
//!
//! Argon2id at OWASP's parameters (19 MiB, t=2, p=1) runs on threads of its own, fewer
//! than the cores and at a lower scheduling priority, so that during a login storm the
//! async runtime (every other RPC) still gets the CPU. Hashes waiting for a thread are
//! bounded by number and by expected wait, both checked when a hash is asked for: past
//! either, the call is refused at once (`RESOURCE_EXHAUSTED`, with a retry hint) rather
//! than after waiting in vain. Memory is bounded by the threads (19 MiB each).
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng as _;
use roster_kit::{Error, Result};
use roster_proto::types::ErrorReason;
use tokio::sync::oneshot;
use tracing::instrument;
/// Shortest and longest passwords, in characters.
pub(crate) const MIN_PASSWORD_CHARS: usize = 12;
pub(crate) const MAX_PASSWORD_CHARS: usize = 128;

/// Checks a new password against the policy; `field` names it in the error.
pub(crate) fn check_policy(field: &str, password: &str, email: &str) -> Result<()> {
    let length = password.chars().count();
    let weak =
        |why: String| Error::refused(ErrorReason::WeakPassword, why).with_metadata("field", field);
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&length) {
        return Err(weak(format!(
            "{field} must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters long"
        )));
    }
    if !email.is_empty() && password.trim().eq_ignore_ascii_case(email) {
        return Err(weak(format!("{field} must not be the email address")));
    }
    Ok(())
}

/// Generates a temporary password: 20 characters from an alphabet without look-alikes
/// (about 115 bits).
pub(crate) fn generate_temporary() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// How the hashing pool is sized and bounded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HashingLimits {
    /// Hashing threads.
    pub(crate) threads: usize,
    /// Hashes that may wait for a thread.
    pub(crate) queue: usize,
    /// Longest expected wait for a thread before a hash is refused.
    pub(crate) wait: Duration,
}

/// The nice value of hashing threads: the runtime's workers (nice 0) get about ten times
/// their share of a contended core.
#[cfg(target_os = "linux")]
const HASHING_NICENESS: i32 = 10;

/// One hash to run, unless its caller gave up first.
struct Job {
    work: Box<dyn FnOnce() + Send>,
    /// Set by whoever comes first: the thread starting the job, or its caller giving up
    /// (so a thread skips it).
    taken: Arc<AtomicBool>,
}

/// What the callers and the hashing threads share.
#[derive(Debug)]
struct Load {
    threads: usize,
    queue: usize,
    wait: Duration,
    /// Jobs queued or running.
    pending: AtomicUsize,
    /// A moving average of one hash's duration, in nanoseconds (0 until the first).
    mean_hash_nanos: AtomicU64,
}

impl Load {
    /// How long a job queued now would wait for a thread, with `pending` jobs ahead.
    fn expected_wait(&self, pending: usize) -> Duration {
        let ahead = pending.saturating_sub(self.threads.saturating_sub(1));
        let nanos = self.mean_hash_nanos.load(Ordering::Relaxed);
        Duration::from_nanos(nanos.saturating_mul(ahead as u64) / self.threads as u64)
    }

    /// Takes a place for one job, or refuses at once when the queue is full or the wait
    /// for a thread would be too long.
    fn admit(&self) -> Result<()> {
        let pending = self.pending.fetch_add(1, Ordering::AcqRel);
        let waiting = pending.saturating_sub(self.threads);
        let expected = self.expected_wait(pending);
        if pending < self.threads || (waiting < self.queue && expected <= self.wait) {
            return Ok(());
        }
        self.pending.fetch_sub(1, Ordering::AcqRel);
        let retry_after = expected.as_secs().max(1);
        Err(Error::refused(
            ErrorReason::Overloaded,
            "too many password checks waiting; retry shortly",
        )
        .with_metadata("retry_after_seconds", retry_after.to_string()))
    }

    fn record(&self, took: Duration) {
        let sample = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let mean = self.mean_hash_nanos.load(Ordering::Relaxed);
        let next = if mean == 0 {
            sample
        } else {
            // An exponential moving average over about the last eight hashes.
            mean - mean / 8 + sample / 8
        };
        self.mean_hash_nanos.store(next, Ordering::Relaxed);
    }
}

/// Hashes and verifies passwords on the hashing threads, within [`HashingLimits`].
#[derive(Debug, Clone)]
pub(crate) struct PasswordHasher {
    jobs: SyncSender<Job>,
    load: Arc<Load>,
}

/// Marks a job taken when its caller stops waiting, whether it got an answer or gave up.
struct Abandon(Arc<AtomicBool>);

impl Drop for Abandon {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT)
}

/// A hash of a random password, verified against when the email is unknown so that
/// unknown and known emails take the same time.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        argon2()
            .hash_password(generate_temporary().as_bytes())
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// A hashing thread: runs jobs until the hasher is dropped.
fn run_jobs(jobs: &Mutex<Receiver<Job>>, load: &Load) {
    #[cfg(target_os = "linux")]
    if let Err(error) =
        rustix::process::setpriority_process(Some(rustix::thread::gettid()), HASHING_NICENESS)
    {
        tracing::warn!(%error, "could not lower the priority of a password hashing thread");
    }
    loop {
        let next = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = next else {
            return;
        };
        if !job.taken.swap(true, Ordering::AcqRel) {
            let started = Instant::now();
            (job.work)();
            load.record(started.elapsed());
        }
        load.pending.fetch_sub(1, Ordering::AcqRel);
    }
}

impl PasswordHasher {
    /// Starts `limits.threads` hashing threads (at least one); they end when the last
    /// clone of the hasher is dropped.
    pub(crate) fn new(limits: HashingLimits) -> Result<Self> {
        let threads = limits.threads.max(1);
        let load = Arc::new(Load {
            threads,
            queue: limits.queue,
            wait: limits.wait,
            pending: AtomicUsize::new(0),
            mean_hash_nanos: AtomicU64::new(0),
        });
        // Admission keeps at most threads + queue jobs in the channel, so a send never
        // finds it full.
        let (jobs, queued) = std::sync::mpsc::sync_channel(threads + limits.queue);
        let queued = Arc::new(Mutex::new(queued));
        for index in 0..threads {
            let (queued, load) = (Arc::clone(&queued), Arc::clone(&load));
            std::thread::Builder::new()
                .name(format!("password-hash-{index}"))
                .spawn(move || run_jobs(&queued, &load))
                .map_err(|e| Error::internal("starting a password hashing thread", e))?;
        }
        Ok(Self { jobs, load })
    }

    /// A turn to hash, taken before any other work of the call so that a refusal comes
    /// first and costs nothing.
    pub(crate) fn turn(&self) -> Result<HashTurn> {
        self.load.admit()?;
        Ok(HashTurn {
            hasher: self.clone(),
            submitted: false,
        })
    }

    /// Hashes a new password into a PHC string.
    pub(crate) async fn hash(&self, password: &str) -> Result<String> {
        self.turn()?.hash(password).await
    }
}

/// A place among the hashes queued or running; given back unused when dropped.
#[derive(Debug)]
pub(crate) struct HashTurn {
    hasher: PasswordHasher,
    submitted: bool,
}

impl Drop for HashTurn {
    fn drop(&mut self) {
        if !self.submitted {
            self.hasher.load.pending.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl HashTurn {
    async fn run<T: Send + 'static>(
        mut self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let (answer, answered) = oneshot::channel();
        let taken = Arc::new(AtomicBool::new(false));
        let job = Job {
            work: Box::new(move || {
                // A caller that gave up while the job ran no longer listens.
                let _ = answer.send(work());
            }),
            taken: Arc::clone(&taken),
        };
        // From here a hashing thread gives the place back, once it dequeues the job.
        self.submitted = true;
        if let Err(refused) = self.hasher.jobs.try_send(job) {
            self.hasher.load.pending.fetch_sub(1, Ordering::AcqRel);
            let why = match refused {
                TrySendError::Full(_) => "queue full",
                TrySendError::Disconnected(_) => "threads gone",
            };
            return Err(Error::internal("queueing a password hash", why));
        }
        let _abandon = Abandon(taken);
        answered
            .await
            .map_err(|e| Error::internal("password hashing thread", e))
    }

    /// Hashes a new password into a PHC string.
    #[instrument(skip_all, name = "identity.domain.hash")]
    pub(crate) async fn hash(self, password: &str) -> Result<String> {
        let password = password.to_owned();
        self.run(move || {
            argon2()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
        })
        .await?
        .map_err(|e| Error::internal("hashing a password", e))
    }

    /// Whether `password` matches `stored`; with no stored hash, spends the same time and
    /// answers false.
    #[instrument(skip_all, name = "identity.domain.verify")]
    pub(crate) async fn verify(self, password: &str, stored: Option<&str>) -> Result<bool> {
        let password = password.to_owned();
        let stored = stored.map(str::to_owned);
        self.run(move || {
            // The decoy is made on a hashing thread too, the first time it is needed.
            let hash = stored.as_deref().unwrap_or_else(|| decoy_hash());
            PasswordHash::new(hash).is_ok_and(|parsed| {
                argon2()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            }) && stored.is_some()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_bounds_length_and_refuses_the_email() {
        assert!(check_policy("password", "short", "a@b.co").is_err());
        assert!(check_policy("password", &"x".repeat(129), "a@b.co").is_err());
        assert!(check_policy("password", "joe@example.com", "joe@example.com").is_err());
        assert!(check_policy("password", "correct horse battery", "joe@example.com").is_ok());
    }

    #[test]
    fn temporary_passwords_meet_the_policy() {
        let password = generate_temporary();
        assert_eq!(password.len(), 20);
        assert!(check_policy("password", &password, "").is_ok());
        assert_ne!(password, generate_temporary());
    }

    #[tokio::test]
    async fn hashes_verify_and_use_owasp_parameters() {
        let hasher = PasswordHasher::new(HashingLimits {
            threads: 2,
            queue: 4,
            wait: Duration::from_secs(5),
        })
        .expect("hashing threads");
        let hash = hasher.hash("correct horse battery").await.expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            hasher
                .turn()
                .expect("a turn")
                .verify("correct horse battery", Some(&hash))
                .await
                .expect("verify")
        );
        assert!(
            !hasher
                .turn()
                .expect("a turn")
                .verify("wrong horse battery", Some(&hash))
                .await
                .expect("verify")
        );
        assert!(
            !hasher
                .turn()
                .expect("a turn")
                .verify("anything at all", None)
                .await
                .expect("verify")
        );
    }

    fn limits(threads: usize, queue: usize) -> HashingLimits {
        HashingLimits {
            threads,
            queue,
            wait: Duration::from_secs(60),
        }
    }

    /// Waits until `count` jobs are queued or running.
    async fn until_pending(hasher: &PasswordHasher, count: usize) {
        while hasher.load.pending.load(Ordering::Acquire) < count {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// A job that holds its thread until `release` fires.
    fn blocking_job(
        hasher: &PasswordHasher,
    ) -> (
        tokio::task::JoinHandle<Result<()>>,
        std::sync::mpsc::Sender<()>,
    ) {
        let (release, released) = std::sync::mpsc::channel::<()>();
        let hasher = hasher.clone();
        let job = tokio::spawn(async move {
            hasher
                .turn()?
                .run(move || {
                    let _ = released.recv();
                })
                .await
        });
        (job, release)
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_with_a_retry_hint() {
        let hasher = PasswordHasher::new(limits(1, 1)).expect("hashing threads");
        let (running, release) = blocking_job(&hasher);
        until_pending(&hasher, 1).await;
        let (queued, _) = blocking_job(&hasher);
        until_pending(&hasher, 2).await;

        let refused = hasher.turn().expect_err("the queue is full");
        assert_eq!(refused.reason(), Some(ErrorReason::Overloaded));
        let Error::Refused { metadata, .. } = &refused else {
            panic!("a refusal: {refused:?}");
        };
        assert!(metadata.contains_key("retry_after_seconds"), "{metadata:?}");

        release.send(()).expect("release");
        running.await.expect("task").expect("the running job ends");
        queued.abort();
    }

    #[tokio::test]
    async fn a_job_whose_caller_gave_up_is_skipped() {
        let hasher = PasswordHasher::new(limits(1, 2)).expect("hashing threads");
        let (running, release) = blocking_job(&hasher);
        until_pending(&hasher, 1).await;
        let ran = Arc::new(AtomicBool::new(false));
        let abandoned = {
            let (hasher, ran) = (hasher.clone(), Arc::clone(&ran));
            tokio::spawn(async move {
                hasher
                    .turn()?
                    .run(move || ran.store(true, Ordering::Release))
                    .await
            })
        };
        until_pending(&hasher, 2).await;
        abandoned.abort();
        assert!(abandoned.await.is_err(), "the caller gave up");

        release.send(()).expect("release");
        running.await.expect("task").expect("the running job ends");
        hasher
            .turn()
            .expect("a turn")
            .run(|| ())
            .await
            .expect("a later job runs");
        assert!(!ran.load(Ordering::Acquire), "the abandoned job never ran");
        // Every place is given back (a thread does it just after answering).
        tokio::time::timeout(Duration::from_secs(5), async {
            while hasher.load.pending.load(Ordering::Acquire) > 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await
        .expect("no place stays taken");
    }
}
