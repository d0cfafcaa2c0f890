//! Email normalization (`roster_kit::email::normalize`): an address it accepts is a fixed
//! point (normalizing it again changes nothing), within 254 bytes, with one `@`, no space
//! and no upper case, and surrounding space does not matter; anything else is refused as
//! `INVALID_ARGUMENT` on the field.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster_fuzz::assert_invalid_argument;
use roster_kit::email::normalize;

fuzz_target!(|raw: &str| {
    match normalize("email", raw) {
        Ok(email) => {
            assert_eq!(
                normalize("email", &email).ok().as_deref(),
                Some(email.as_str()),
                "{raw:?} normalized to {email:?}, which normalizes differently"
            );
            assert!(email.len() <= 254, "{} bytes", email.len());
            assert_eq!(email.matches('@').count(), 1, "{email:?}");
            assert!(!email.chars().any(char::is_whitespace), "{email:?}");
            assert_eq!(email.to_lowercase(), email);
            let padded = format!(" \t{raw}\n ");
            assert_eq!(normalize("email", &padded).ok(), Some(email));
        }
        Err(error) => assert_invalid_argument(error, Some("email")),
    }
});
