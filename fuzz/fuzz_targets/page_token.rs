//! Page tokens (`roster_kit::paging`): whatever a caller sends as `page_token` decodes to a
//! key that re-encodes to a token of the same key, or is refused as `INVALID_ARGUMENT`; a
//! token the server made reads back as its key under its own query only.
#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use roster_fuzz::assert_invalid_argument;
use roster_kit::paging;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// The longest text a list sorts by: an email address (254; names are 200).
const MAX_SORT_TEXT: usize = 254;

#[derive(Debug, Arbitrary)]
enum Input {
    /// A token as a caller sends it, read as each kind of key the services page by.
    Sent { query: String, token: String },
    /// The token of a page that ended on `key`, read back under its query and another.
    Made {
        query: String,
        other_query: String,
        key: Key,
    },
}

/// The sort keys of Roster's lists: by name or email, by time, by id.
#[derive(Debug, Arbitrary)]
enum Key {
    Text(String, [u8; 16]),
    Time(i64, [u8; 16]),
    Id([u8; 16]),
}

fuzz_target!(|input: Input| match input {
    Input::Sent { query, token } => {
        decodes_to_a_stable_key::<(String, Uuid)>(&query, &token);
        decodes_to_a_stable_key::<(DateTime<Utc>, Uuid)>(&query, &token);
        decodes_to_a_stable_key::<Uuid>(&query, &token);
    }
    Input::Made {
        query,
        other_query,
        key,
    } => match key {
        Key::Text(text, id) => {
            let bounded = text.chars().count() <= MAX_SORT_TEXT;
            let token = reads_back(&query, &other_query, &(text, Uuid::from_bytes(id)));
            // Requests hold page tokens to 4,096 characters: the next page stays reachable.
            assert!(!bounded || token.len() <= 4_096, "{} bytes", token.len());
        }
        Key::Time(nanos, id) => {
            let key = (DateTime::from_timestamp_nanos(nanos), Uuid::from_bytes(id));
            reads_back(&query, &other_query, &key);
        }
        Key::Id(id) => {
            reads_back(&query, &other_query, &Uuid::from_bytes(id));
        }
    },
});

/// Reads a caller's `token` as a key of type `K`: the first page, a key whose re-encoding
/// reads back as itself, or a refusal of `page_token`.
fn decodes_to_a_stable_key<K>(query: &str, token: &str)
where
    K: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    match paging::decode::<K>(&query, token) {
        Ok(None) => assert!(token.is_empty(), "{token:?} read as the first page"),
        Ok(Some(key)) => {
            let again = paging::encode(&query, &key);
            let key_again = paging::decode::<K>(&query, &again).expect("a token the server made");
            assert_eq!(key_again.as_ref(), Some(&key), "{token:?} then {again:?}");
            assert_eq!(paging::encode(&query, &key_again), again);
        }
        Err(error) => assert_invalid_argument(error, Some("page_token")),
    }
}

/// Reads the token of `key` back under its query and under `other_query`; returns it.
fn reads_back<K>(query: &str, other_query: &str, key: &K) -> String
where
    K: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let token = paging::encode(&query, key);
    assert!(!token.is_empty());
    let read = paging::decode::<K>(&query, &token).expect("a token the server made");
    assert_eq!(read.as_ref(), Some(key));
    assert_eq!(paging::encode(&query, &read), token);
    if other_query != query {
        match paging::decode::<K>(&other_query, &token) {
            Ok(read) => panic!("a token of {query:?} read under {other_query:?} as {read:?}"),
            Err(error) => assert_invalid_argument(error, Some("page_token")),
        }
    }
    token
}
