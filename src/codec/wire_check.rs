//! Is a protobuf body exactly an `Envelope`, field by field?
//!
//! A legacy frame has no format byte, so decoding it is a guess: bytes that
//! prost accepts (it skips unknown fields) are not necessarily ours. The
//! check walks the wire format against the schema (`proto/dashstream.proto`,
//! compiled into [`FILE_DESCRIPTOR_SET`]): every field must be declared, with
//! its declared wire type, in every nested message. Any valid proto3 encoding
//! passes, whichever library wrote it: explicit default values, any field
//! order, packed or unpacked repeated scalars, a map entry with its value
//! written out. Unknown fields, wrong wire types and trailing junk fail.

use std::collections::HashMap;
use std::sync::OnceLock;

use prost::Message;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FileDescriptorSet};

use crate::proto::FILE_DESCRIPTOR_SET;

/// Nesting deeper than this is not an `Envelope` (ours is 3 deep at most).
const MAX_DEPTH: usize = 16;

/// The wire types a declared field may arrive with.
#[derive(Debug, Clone, Copy)]
enum Expect {
    Varint,
    Fixed64,
    Fixed32,
    /// Strings and bytes.
    Bytes,
    /// A nested message, by index into [`Schema::messages`].
    Message(usize),
}

/// Every message of the schema, its fields by number.
struct Schema {
    messages: Vec<HashMap<u32, (Expect, bool)>>,
    envelope: usize,
}

fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let fds = FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("the compiled-in descriptor set decodes");
        let mut named: Vec<(String, &DescriptorProto)> = Vec::new();
        for file in &fds.file {
            let package = file.package();
            for m in &file.message_type {
                collect(&format!(".{package}"), m, &mut named);
            }
        }
        let index: HashMap<&str, usize> = named.iter().enumerate().map(|(i, (n, _))| (n.as_str(), i)).collect();
        let messages = named.iter().map(|(_, m)| fields_of(m, &index)).collect();
        let envelope = index[".dashstream.v1.Envelope"];
        Schema { messages, envelope }
    })
}

fn collect<'a>(scope: &str, m: &'a DescriptorProto, out: &mut Vec<(String, &'a DescriptorProto)>) {
    let name = format!("{scope}.{}", m.name());
    for nested in &m.nested_type {
        collect(&name, nested, out);
    }
    out.push((name, m));
}

/// Field number to (expected wire type, repeated).
fn fields_of(m: &DescriptorProto, index: &HashMap<&str, usize>) -> HashMap<u32, (Expect, bool)> {
    m.field
        .iter()
        .map(|f| {
            let expect = match f.r#type() {
                Type::Double | Type::Fixed64 | Type::Sfixed64 => Expect::Fixed64,
                Type::Float | Type::Fixed32 | Type::Sfixed32 => Expect::Fixed32,
                Type::String | Type::Bytes => Expect::Bytes,
                Type::Message | Type::Group => Expect::Message(index[f.type_name()]),
                _ => Expect::Varint,
            };
            (f.number() as u32, (expect, f.label() == Label::Repeated))
        })
        .collect()
}

/// `Ok` when `body` holds only fields the `Envelope` schema declares, with
/// their declared wire types; else what was found instead.
pub fn only_declared_fields(body: &[u8]) -> Result<(), String> {
    let s = schema();
    check_message(s, s.envelope, body, 0, "Envelope")
}

fn check_message(s: &Schema, message: usize, mut bytes: &[u8], depth: usize, path: &str) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("{path}: nested more than {MAX_DEPTH} deep"));
    }
    while !bytes.is_empty() {
        let key = read_varint(&mut bytes).ok_or_else(|| format!("{path}: truncated field key"))?;
        let (number, wire_type) = ((key >> 3) as u32, (key & 7) as u8);
        let Some(&(expect, repeated)) = s.messages[message].get(&number) else {
            return Err(format!("{path}: field {number} is not in the schema"));
        };
        let field_path = format!("{path}.{number}");
        match (expect, wire_type) {
            (Expect::Varint, 0) => read_varint(&mut bytes).map(drop).ok_or_else(|| format!("{field_path}: truncated varint"))?,
            (Expect::Fixed64, 1) => take(&mut bytes, 8).map(drop).ok_or_else(|| format!("{field_path}: truncated 64-bit value"))?,
            (Expect::Fixed32, 5) => take(&mut bytes, 4).map(drop).ok_or_else(|| format!("{field_path}: truncated 32-bit value"))?,
            (_, 2) => {
                let len = read_varint(&mut bytes).ok_or_else(|| format!("{field_path}: truncated length"))?;
                let inner = take(&mut bytes, len as usize).ok_or_else(|| format!("{field_path}: length {len} runs past the end"))?;
                match expect {
                    Expect::Bytes => {}
                    Expect::Message(m) => check_message(s, m, inner, depth + 1, &field_path)?,
                    scalar if repeated => check_packed(scalar, inner).map_err(|e| format!("{field_path}: {e}"))?,
                    _ => return Err(format!("{field_path}: a scalar field arrived length-delimited")),
                }
            }
            (_, w) => return Err(format!("{field_path}: wire type {w} does not match the schema ({expect:?})")),
        }
    }
    Ok(())
}

/// A packed run of scalars: whole values only.
fn check_packed(expect: Expect, mut run: &[u8]) -> Result<(), String> {
    while !run.is_empty() {
        let ok = match expect {
            Expect::Varint => read_varint(&mut run).is_some(),
            Expect::Fixed64 => take(&mut run, 8).is_some(),
            Expect::Fixed32 => take(&mut run, 4).is_some(),
            _ => false,
        };
        if !ok {
            return Err("packed values do not fill the run exactly".into());
        }
    }
    Ok(())
}

fn read_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for i in 0..10 {
        let (&b, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if bytes.len() < n {
        return None;
    }
    let (head, rest) = bytes.split_at(n);
    *bytes = rest;
    Some(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{Envelope, Header};

    fn envelope() -> Vec<u8> {
        Envelope { header: Some(Header { producer_id: "p".into(), sequence: 7, ..Default::default() }), payload: None }.encode_to_vec()
    }

    #[test]
    fn prost_output_passes() {
        assert_eq!(only_declared_fields(&envelope()), Ok(()));
    }

    #[test]
    fn fields_in_any_order_and_explicit_defaults_pass() {
        // header.sequence = 0 written out, then header.producer_id, inside field 1.
        let header = [0x18, 0x00, 0x0a, 0x01, b'p'];
        let mut frame = vec![0x0a, header.len() as u8];
        frame.extend_from_slice(&header);
        assert_eq!(only_declared_fields(&frame), Ok(()));
    }

    #[test]
    fn unknown_fields_wrong_wire_types_and_junk_fail() {
        let mut unknown = envelope();
        unknown.extend_from_slice(&[0xf8, 0x06, 0x01]); // field 111, varint
        assert!(only_declared_fields(&unknown).unwrap_err().contains("field 111 is not in the schema"));
        let wrong = [0x0d, 0, 0, 0, 0]; // field 1 (a message) as 32-bit
        assert!(only_declared_fields(&wrong).unwrap_err().contains("wire type 5"));
        let mut junk = envelope();
        junk.push(0x0a); // a key with nothing after it
        assert!(only_declared_fields(&junk).is_err());
    }

    #[test]
    fn packed_runs_must_be_whole() {
        assert!(check_packed(Expect::Fixed32, &[0; 8]).is_ok());
        assert!(check_packed(Expect::Fixed32, &[0; 6]).is_err());
        assert!(check_packed(Expect::Varint, &[0x80]).is_err());
    }
}
