//! Email addresses as login identifiers: trimmed, lower-cased, checked for shape.
use crate::error::{Error, Result};

/// The longest address SMTP carries (RFC 5321 path limit).
const MAX_EMAIL_LENGTH: usize = 254;

/// Trims and lower-cases `raw`, then checks it looks like `local@domain.tld`.
/// `field` names the request field in the error.
pub fn normalize(field: &str, raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    let invalid = |why: &str| Error::invalid(field, format!("{why}: {}", crate::error::quote(raw)));
    if email.is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    if email.len() > MAX_EMAIL_LENGTH {
        return Err(invalid("is longer than 254 characters"));
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(invalid("is not an email address"));
    };
    let well_formed = !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>(),;:\\\"[]".contains(c));
    if well_formed {
        Ok(email)
    } else {
        Err(invalid("is not an email address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_case_and_space() {
        assert_eq!(
            normalize("email", "  Joe.Smith@Example.COM ")
                .ok()
                .as_deref(),
            Some("joe.smith@example.com")
        );
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "joe",
            "joe@",
            "@example.com",
            "joe@example",
            "a b@example.com",
            "joe@@example.com",
            "joe@example..com",
            "joe@.example.com",
        ] {
            assert!(
                normalize("email", bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }
}
