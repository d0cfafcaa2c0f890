//! Password policy and hashing.
//!
//! Argon2id at OWASP's parameters (19 MiB, t=2, p=1) runs on the blocking pool; a
//! semaphore bounds hashes in flight so a login storm is shed with `RESOURCE_EXHAUSTED`
//! instead of exhausting memory.
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng as _;
use roster_kit::{Error, Result};
use roster_proto::types::ErrorReason;
use tokio::sync::Semaphore;
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

/// Hashes and verifies passwords with a bound on work in flight.
#[derive(Debug, Clone)]
pub(crate) struct PasswordHasher {
    permits: Arc<Semaphore>,
    wait: Duration,
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

impl PasswordHasher {
    /// At most `concurrency` hashes at once; a request waits up to `wait` for a turn.
    pub(crate) fn new(concurrency: usize, wait: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            wait,
        }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let permit = tokio::time::timeout(self.wait, Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(|_| {
                Error::refused(
                    ErrorReason::Overloaded,
                    "too many password checks in flight; retry shortly",
                )
            })?
            .map_err(|e| Error::internal("password semaphore", e))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| Error::internal("password hashing task", e))
    }

    /// Hashes a new password into a PHC string.
    #[instrument(skip_all, name = "identity.domain.hash")]
    pub(crate) async fn hash(&self, password: &str) -> Result<String> {
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
    pub(crate) async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool> {
        let password = password.to_owned();
        let (stored, real) = match stored {
            Some(hash) => (hash.to_owned(), true),
            None => (decoy_hash().to_owned(), false),
        };
        self.run(move || {
            PasswordHash::new(&stored).is_ok_and(|parsed| {
                argon2()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            }) && real
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
        let hasher = PasswordHasher::new(2, Duration::from_secs(5));
        let hash = hasher.hash("correct horse battery").await.expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            hasher
                .verify("correct horse battery", Some(&hash))
                .await
                .expect("verify")
        );
        assert!(
            !hasher
                .verify("wrong horse battery", Some(&hash))
                .await
                .expect("verify")
        );
        assert!(
            !hasher
                .verify("anything at all", None)
                .await
                .expect("verify")
        );
    }
}
