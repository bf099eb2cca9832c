//! One mapping, two schemas: floe-wire's msgpack mapping walks wasmtime's
//! values (the host) and floe-wire's own `WitValue`s (providers and tools).
//! This pins the two schemas to the same bytes for every sample of the
//! fixture's parameters, and their type names to the same text.

use floe_wire::values::{self, WitType};
use wasmtime::component::Type;

use super::*;

/// The floe-wire form of a wasmtime type (the fixture has no resources).
fn wit(ty: &Type) -> WitType {
    match ty {
        Type::Bool => WitType::Bool,
        Type::S8 => WitType::S8,
        Type::U8 => WitType::U8,
        Type::S16 => WitType::S16,
        Type::U16 => WitType::U16,
        Type::S32 => WitType::S32,
        Type::U32 => WitType::U32,
        Type::S64 => WitType::S64,
        Type::U64 => WitType::U64,
        Type::Float32 => WitType::F32,
        Type::Float64 => WitType::F64,
        Type::Char => WitType::Char,
        Type::String => WitType::String,
        Type::List(l) => WitType::List(Box::new(wit(&l.ty()))),
        Type::Record(r) => WitType::Record(
            r.fields()
                .map(|f| (f.name.to_owned(), wit(&f.ty)))
                .collect(),
        ),
        Type::Tuple(t) => WitType::Tuple(t.types().map(|t| wit(&t)).collect()),
        Type::Variant(v) => WitType::Variant(
            v.cases()
                .map(|c| (c.name.to_owned(), c.ty.as_ref().map(wit)))
                .collect(),
        ),
        Type::Enum(e) => WitType::Enum(e.names().map(str::to_owned).collect()),
        Type::Option(o) => WitType::Option(Box::new(wit(&o.ty()))),
        Type::Result(r) => WitType::Result {
            ok: r.ok().map(|t| Box::new(wit(&t))),
            err: r.err().map(|t| Box::new(wit(&t))),
        },
        Type::Flags(f) => WitType::Flags(f.names().map(str::to_owned).collect()),
        other => panic!("the fixture has no {other:?}"),
    }
}

#[test]
fn the_host_codec_writes_exactly_floe_wires_mapping() {
    let sig = signature(TYPES_WAT, "f");
    let params = WitType::Tuple(sig.params.iter().map(|(_, t)| wit(t)).collect());
    for sample in all_samples() {
        let host = encode_params(Encoding::Msgpack, &sample, &sig.params).expect("host encodes");
        let value = values::decode(&host, &params).expect("floe-wire reads the host's bytes");
        let wire = values::encode(&value, &params).expect("floe-wire encodes");
        assert_eq!(wire, host, "{value:?}");
        let back = decode_params(Encoding::Msgpack, &wire, &sig.params).expect("host reads");
        assert_eq!(back, sample);
    }
    for (_, ty) in &sig.params {
        assert_eq!(wit(ty).describe(), types::type_name(ty));
    }
}
