//! The membership service, RPC by RPC and rule by rule.
mod access;
mod accounts;
mod admins;
mod allowance;
mod audit;
mod feed;
mod fields;
mod invitees;
mod listing;
mod members;
mod properties;
mod removal;
mod roles;
mod workspaces;

use prost_types::value::Kind;
use prost_types::{FieldMask, Timestamp, Value};
use roster_proto::membership as pb;
use tonic::{Code, Status};

/// A FieldMask of these paths.
pub(crate) fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

/// `n` days as a protobuf Duration.
pub(crate) fn days(n: i64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: n * 86_400,
        nanos: 0,
    }
}

/// Sorted copies of ids, to compare role sets.
pub(crate) fn sorted<S: AsRef<str>>(ids: &[S]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|s| s.as_ref().to_owned()).collect();
    ids.sort();
    ids
}

/// A string Value.
pub(crate) fn text(value: &str) -> Value {
    Value {
        kind: Some(Kind::StringValue(value.to_owned())),
    }
}

/// A number Value.
pub(crate) fn number(value: f64) -> Value {
    Value {
        kind: Some(Kind::NumberValue(value)),
    }
}

/// A bool Value.
pub(crate) fn boolean(value: bool) -> Value {
    Value {
        kind: Some(Kind::BoolValue(value)),
    }
}

/// A null Value (clears a custom field).
pub(crate) fn null() -> Value {
    Value {
        kind: Some(Kind::NullValue(0)),
    }
}

/// Asserts a stranger was kept out: PERMISSION_DENIED or NOT_FOUND, where the contract
/// allows either.
#[track_caller]
pub(crate) fn assert_kept_out<T: std::fmt::Debug>(result: Result<T, Status>) {
    let status = result.expect_err("a stranger should have been refused");
    assert!(
        matches!(status.code(), Code::PermissionDenied | Code::NotFound),
        "{status:?}"
    );
    let reason = roster_tests::reason(&status);
    assert!(
        reason == "PERMISSION_DENIED" || reason == "NOT_FOUND",
        "reason of {status:?}"
    );
}

/// A member with its timestamps cut to microseconds (what Postgres stores), to compare a
/// mutation's answer with a later read without depending on sub-microsecond digits.
pub(crate) fn to_micros(member: &pb::Member) -> pb::Member {
    let cut = |time: Option<Timestamp>| {
        time.map(|t| Timestamp {
            seconds: t.seconds,
            nanos: t.nanos / 1000 * 1000,
        })
    };
    pb::Member {
        join_time: cut(member.join_time),
        suspend_time: cut(member.suspend_time),
        remove_time: cut(member.remove_time),
        purge_time: cut(member.purge_time),
        update_time: cut(member.update_time),
        ..member.clone()
    }
}
