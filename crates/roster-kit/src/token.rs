//! One-time and bearer tokens: 256 random bits, shown once, stored only as a SHA-256 hash.
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

/// A freshly minted token: the secret for the caller, the hash for the database.
#[derive(Debug, Clone)]
pub struct MintedToken {
    /// `<prefix>_<43 base64url characters>`; shown once.
    pub secret: String,
    /// SHA-256 of the secret; what is stored and looked up.
    pub hash: Vec<u8>,
}

/// Mints a token whose secret starts with `prefix_` so people can tell kinds apart.
pub fn mint(prefix: &str) -> MintedToken {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{prefix}_{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash(&secret);
    MintedToken { secret, hash }
}

/// The stored form of a token.
pub fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_distinct_and_hashed() {
        let a = mint("rst");
        let b = mint("rst");
        assert!(a.secret.starts_with("rst_"));
        assert_eq!(a.secret.len(), 4 + 43);
        assert_ne!(a.secret, b.secret);
        assert_eq!(a.hash, hash(&a.secret));
        assert_eq!(a.hash.len(), 32);
    }
}
