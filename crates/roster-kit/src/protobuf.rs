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

/// A JSON object's fields as a protobuf `map<string, Value>` (anything else is empty).
pub fn json_to_map(json: Json) -> std::collections::HashMap<String, Value> {
    json_to_struct(json).fields.into_iter().collect()
}

/// A protobuf `Value` as JSON (a missing kind is null; non-finite numbers are null).
pub fn value_to_json(value: &Value) -> Json {
    match &value.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::BoolValue(b)) => Json::Bool(*b),
        Some(Kind::NumberValue(n)) => {
            serde_json::Number::from_f64(*n).map_or(Json::Null, Json::Number)
        }
        Some(Kind::StringValue(s)) => Json::String(s.clone()),
        Some(Kind::ListValue(list)) => Json::Array(list.values.iter().map(value_to_json).collect()),
        Some(Kind::StructValue(object)) => Json::Object(
            object
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), value_to_json(v)))
                .collect(),
        ),
    }
}

/// A JSON value as a protobuf `Value`.
pub fn json_to_value(json: Json) -> Value {
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
