//! The wire types of map fields, which the edge's decoder does not check.
//!
//! prost-reflect (the edge's reading of a request) decodes a map entry under any wire type,
//! while prost's generated code (what tonic hands the handler) accepts only a
//! length-delimited one. Without this check such a request passed the edge and then failed
//! in tonic's decoding as `INTERNAL`; the request fuzz target (`fuzz/`) found it.
use prost::encoding::{DecodeContext, WireType, decode_key, decode_varint, skip_field};
use prost_reflect::{FieldDescriptor, MessageDescriptor};

/// Whether every map field in `bytes`, a `message` that prost-reflect decoded, is
/// length-delimited, in nested messages too.
pub fn maps_are_length_delimited(message: &MessageDescriptor, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        let Ok((number, wire_type)) = decode_key(&mut bytes) else {
            return false;
        };
        let field = message.get_field(number);
        if wire_type != WireType::LengthDelimited {
            if field.as_ref().is_some_and(FieldDescriptor::is_map)
                || skip_field(wire_type, number, &mut bytes, DecodeContext::default()).is_err()
            {
                return false;
            }
            continue;
        }
        let Some(length) = decode_varint(&mut bytes)
            .ok()
            .and_then(|length| usize::try_from(length).ok())
            .filter(|length| *length <= bytes.len())
        else {
            return false;
        };
        let (inner, rest) = bytes.split_at(length);
        bytes = rest;
        // Decoding succeeded, so nesting is within prost's recursion limit.
        if let Some(nested) = field
            .as_ref()
            .and_then(|field| field.kind().as_message().cloned())
            && !maps_are_length_delimited(&nested, inner)
        {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use prost_reflect::DescriptorPool;

    use super::*;

    fn set_custom_field_values() -> MessageDescriptor {
        DescriptorPool::decode(roster_proto::FILE_DESCRIPTOR_SET)
            .expect("descriptors")
            .get_message_by_name("roster.membership.v1.SetCustomFieldValuesRequest")
            .expect("the request")
    }

    #[test]
    fn a_map_entry_must_be_length_delimited() {
        let request = set_custom_field_values();
        // values (field 3) as an empty entry, then as a group start: what the fuzzer sent.
        assert!(maps_are_length_delimited(&request, b"\x1a\x00"));
        assert!(!maps_are_length_delimited(&request, b"\x1b\x00"));
        // A map nested in the entry's google.protobuf.Value (struct_value.fields).
        assert!(maps_are_length_delimited(
            &request,
            b"\x1a\x06\x12\x04\x2a\x02\x0a\x00"
        ));
        assert!(!maps_are_length_delimited(
            &request,
            b"\x1a\x06\x12\x04\x2a\x02\x0b\x00"
        ));
    }
}
