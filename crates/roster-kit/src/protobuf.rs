//! Conversions between JSON values and protobuf well-known types.
use prost_types::{ListValue, Struct, Value, value::Kind};
use serde_json::Value as Json;

/// A JSON object as a `google.protobuf.Struct` (anything else becomes an empty struct).
pub fn json_to_struct(json: Json) -> Struct {
    match json {
        Json::Object(map) => Struct {
            fields: map
                .into_iter()
                .map(|(k, v)| (k, json_to_value(v)))
                .collect(),
        },
        _ => Struct::default(),
    }
}

fn json_to_value(json: Json) -> Value {
    let kind = match json {
        Json::Null => Kind::NullValue(0),
        Json::Bool(b) => Kind::BoolValue(b),
        Json::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Json::String(s) => Kind::StringValue(s),
        Json::Array(items) => Kind::ListValue(ListValue {
            values: items.into_iter().map(json_to_value).collect(),
        }),
        object @ Json::Object(_) => Kind::StructValue(json_to_struct(object)),
    };
    Value { kind: Some(kind) }
}
