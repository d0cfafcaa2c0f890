//! Opaque keyset page tokens and page sizes.
//!
//! A token carries the sort key of the last row returned and a fingerprint of the
//! query's filters, so a token is never an offset and never applies to another query.
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// Default and maximum page sizes.
#[derive(Debug, Clone, Copy)]
pub struct PageSize {
    /// Used when the request says 0.
    pub default: u32,
    /// Larger requests are clamped to this.
    pub max: u32,
}

impl PageSize {
    /// The usual list limits: 50 by default, 1000 at most.
    pub const LIST: Self = Self {
        default: 50,
        max: 1000,
    };

    /// The page size to use for a request's `page_size`.
    pub fn resolve(self, requested: i32) -> Result<u32> {
        match u32::try_from(requested) {
            Err(_) => Err(Error::invalid("page_size", "must not be negative")),
            Ok(0) => Ok(self.default),
            Ok(n) => Ok(n.min(self.max)),
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Envelope<K> {
    /// Fingerprint of the query the token belongs to.
    q: String,
    /// The sort key of the last row of the previous page.
    k: K,
}

/// Encodes the position after `last_key` for the query described by `query`.
pub fn encode<K: Serialize>(query: &impl Serialize, last_key: &K) -> String {
    let envelope = Envelope {
        q: fingerprint(query),
        k: last_key,
    };
    // Serializing plain data structs cannot fail.
    let json = serde_json::to_vec(&envelope).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a request's `page_token`: `None` for the first page.
pub fn decode<K: DeserializeOwned>(query: &impl Serialize, token: &str) -> Result<Option<K>> {
    if token.is_empty() {
        return Ok(None);
    }
    let malformed = || Error::invalid("page_token", "is malformed or belongs to another query");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| malformed())?;
    let envelope: Envelope<K> = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
    if envelope.q != fingerprint(query) {
        return Err(malformed());
    }
    Ok(Some(envelope.k))
}

/// Finishes a page fetched with `limit + 1` rows: keeps `limit` of them and, when more
/// follow, returns the token of the next page made from the last row kept.
pub fn finish_page<T, K: Serialize>(
    mut rows: Vec<T>,
    limit: u32,
    query: &impl Serialize,
    key_of: impl Fn(&T) -> K,
) -> (Vec<T>, String) {
    let limit = limit as usize;
    if rows.len() <= limit {
        return (rows, String::new());
    }
    rows.truncate(limit);
    let next = rows
        .last()
        .map(|last| encode(query, &key_of(last)))
        .unwrap_or_default();
    (rows, next)
}

/// Parses an `order_by` such as `"email desc"` against the sortable `fields` (name and
/// value; the first is used when `order_by` is empty): the field, and whether descending.
pub fn parse_order_by<T: Copy>(order_by: &str, fields: &[(&str, T)]) -> Result<(T, bool)> {
    let order_by = order_by.trim().to_lowercase();
    let (name, direction) = order_by.split_once(' ').unwrap_or((&order_by, ""));
    let field = match fields.iter().find(|(field, _)| *field == name) {
        Some((_, value)) => *value,
        None if name.is_empty() => match fields.first() {
            Some((_, value)) => *value,
            None => return Err(Error::invalid("order_by", "this list cannot be ordered")),
        },
        None => {
            let names: Vec<&str> = fields.iter().map(|(field, _)| *field).collect();
            return Err(Error::invalid(
                "order_by",
                format!("cannot order by {name:?}; use {}", names.join(", ")),
            ));
        }
    };
    let descending = match direction.trim() {
        "" | "asc" => false,
        "desc" => true,
        other => {
            return Err(Error::invalid(
                "order_by",
                format!("direction {other:?} is neither asc nor desc"),
            ));
        }
    };
    Ok((field, descending))
}

fn fingerprint(query: &impl Serialize) -> String {
    let json = serde_json::to_vec(query).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(&Sha256::digest(json)[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_foreign_tokens() {
        let token = encode(&("email", "ali"), &("bob@x.com", 7));
        let key: Option<(String, i32)> = decode(&("email", "ali"), &token).expect("decodes");
        assert_eq!(key, Some(("bob@x.com".to_owned(), 7)));
        assert!(decode::<(String, i32)>(&("email", "bob"), &token).is_err());
        assert!(decode::<(String, i32)>(&("email", "ali"), "not-a-token!").is_err());
        assert_eq!(
            decode::<(String, i32)>(&("email", "ali"), "").expect("empty"),
            None
        );
    }

    #[test]
    fn a_page_has_a_next_token_only_when_more_rows_follow() {
        let (rows, next) = finish_page(vec![1, 2, 3], 2, &"q", |n| *n);
        assert_eq!(rows, [1, 2]);
        assert_eq!(decode::<i32>(&"q", &next).expect("decodes"), Some(2));
        let (rows, next) = finish_page(vec![1, 2], 2, &"q", |n| *n);
        assert_eq!((rows.len(), next.as_str()), (2, ""));
    }

    #[test]
    fn order_by_names_a_field_and_a_direction() {
        let fields = [("name", 1), ("email", 2)];
        assert_eq!(parse_order_by("", &fields).ok(), Some((1, false)));
        assert_eq!(parse_order_by(" Email DESC", &fields).ok(), Some((2, true)));
        assert!(parse_order_by("phone", &fields).is_err());
        assert!(parse_order_by("email sideways", &fields).is_err());
    }

    #[test]
    fn page_size_defaults_and_clamps() {
        assert_eq!(PageSize::LIST.resolve(0).ok(), Some(50));
        assert_eq!(PageSize::LIST.resolve(5000).ok(), Some(1000));
        assert!(PageSize::LIST.resolve(-1).is_err());
    }
}
