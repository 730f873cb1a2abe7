//! The few parts of the ONNX protobuf format Neume needs, without a protobuf compiler:
//! a writer for the trainer's exporter and a reader that inspects a model file (inputs,
//! outputs, shapes, metadata) before any runtime sees it. Field numbers follow `onnx.proto`.

use std::collections::BTreeMap;

/// ONNX `TensorProto.DataType.FLOAT`.
pub const DATA_TYPE_FLOAT: i32 = 1;

/// Appends protobuf fields to a buffer.
#[derive(Default)]
pub struct ProtoWriter {
    buf: Vec<u8>,
}

impl ProtoWriter {
    /// An empty message.
    pub fn new() -> Self {
        Self::default()
    }

    /// The encoded message.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    fn key(&mut self, field: u32, wire_type: u8) {
        self.varint(u64::from(field) << 3 | u64::from(wire_type));
    }

    /// An integer field (int32, int64, enum).
    pub fn int(&mut self, field: u32, v: i64) -> &mut Self {
        self.key(field, 0);
        self.varint(v as u64);
        self
    }

    /// A 32-bit float field.
    pub fn float(&mut self, field: u32, v: f32) -> &mut Self {
        self.key(field, 5);
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// A bytes field.
    pub fn bytes(&mut self, field: u32, v: &[u8]) -> &mut Self {
        self.key(field, 2);
        self.varint(v.len() as u64);
        self.buf.extend_from_slice(v);
        self
    }

    /// A string field.
    pub fn string(&mut self, field: u32, v: &str) -> &mut Self {
        self.bytes(field, v.as_bytes())
    }

    /// An embedded message field.
    pub fn message(&mut self, field: u32, m: ProtoWriter) -> &mut Self {
        self.bytes(field, &m.buf)
    }

    /// A packed repeated int64 field.
    pub fn packed_ints(&mut self, field: u32, vs: &[i64]) -> &mut Self {
        let mut inner = ProtoWriter::new();
        for &v in vs {
            inner.varint(v as u64);
        }
        self.bytes(field, &inner.buf)
    }
}

/// A float tensor initializer (`TensorProto`) with raw little-endian data.
pub fn float_tensor(name: &str, dims: &[i64], data: &[f32]) -> ProtoWriter {
    let mut raw = Vec::with_capacity(data.len() * 4);
    for v in data {
        raw.extend_from_slice(&v.to_le_bytes());
    }
    let mut t = ProtoWriter::new();
    t.packed_ints(1, dims).int(2, i64::from(DATA_TYPE_FLOAT)).string(8, name).bytes(9, &raw);
    t
}

/// An int64 tensor initializer (`TensorProto`, data type 7).
pub fn int64_tensor(name: &str, dims: &[i64], data: &[i64]) -> ProtoWriter {
    let mut raw = Vec::with_capacity(data.len() * 8);
    for v in data {
        raw.extend_from_slice(&v.to_le_bytes());
    }
    let mut t = ProtoWriter::new();
    t.packed_ints(1, dims).int(2, 7).string(8, name).bytes(9, &raw);
    t
}

/// A float tensor `ValueInfoProto` with a fixed shape.
pub fn value_info(name: &str, dims: &[i64]) -> ProtoWriter {
    let mut shape = ProtoWriter::new();
    for &d in dims {
        let mut dim = ProtoWriter::new();
        dim.int(1, d);
        shape.message(1, dim);
    }
    let mut tensor_type = ProtoWriter::new();
    tensor_type.int(1, i64::from(DATA_TYPE_FLOAT)).message(2, shape);
    let mut type_proto = ProtoWriter::new();
    type_proto.message(1, tensor_type);
    let mut vi = ProtoWriter::new();
    vi.string(1, name).message(2, type_proto);
    vi
}

/// An operator attribute.
pub enum Attribute<'a> {
    /// `AttributeProto.FLOAT`.
    Float(&'a str, f32),
    /// `AttributeProto.INT`.
    Int(&'a str, i64),
}

/// A graph node (`NodeProto`).
pub fn node(
    op_type: &str,
    name: &str,
    inputs: &[&str],
    outputs: &[&str],
    attributes: &[Attribute<'_>],
) -> ProtoWriter {
    let mut n = ProtoWriter::new();
    for i in inputs {
        n.string(1, i);
    }
    for o in outputs {
        n.string(2, o);
    }
    n.string(3, name).string(4, op_type);
    for a in attributes {
        let mut attr = ProtoWriter::new();
        match a {
            Attribute::Float(key, v) => {
                attr.string(1, key).float(2, *v).int(20, 1);
            }
            Attribute::Int(key, v) => {
                attr.string(1, key).int(3, *v).int(20, 2);
            }
        }
        n.message(5, attr);
    }
    n
}

/// Assembles a `ModelProto` (IR version 8, default domain at `opset`).
pub fn model(
    graph: ProtoWriter,
    opset: i64,
    producer: &str,
    metadata: &BTreeMap<String, String>,
) -> Vec<u8> {
    let mut m = ProtoWriter::new();
    m.int(1, 8).string(2, producer).string(3, env!("CARGO_PKG_VERSION"));
    m.message(7, graph);
    let mut op = ProtoWriter::new();
    op.string(1, "").int(2, opset);
    m.message(8, op);
    for (k, v) in metadata {
        let mut entry = ProtoWriter::new();
        entry.string(1, k).string(2, v);
        m.message(14, entry);
    }
    m.into_bytes()
}

/// Why bytes could not be read as an ONNX model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an ONNX model: {0}")]
pub struct ProtoError(pub &'static str);

/// One field of a protobuf message.
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

/// Iterates over the fields of one protobuf message.
struct ProtoReader<'a> {
    rest: &'a [u8],
}

impl<'a> ProtoReader<'a> {
    fn varint(&mut self) -> Result<u64, ProtoError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.rest.split_first().ok_or(ProtoError("truncated varint"))?;
            self.rest = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(ProtoError("varint too long"))
    }

    fn next_field(&mut self) -> Result<Option<(u32, Field<'a>)>, ProtoError> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = (key >> 3) as u32;
        let value = match key & 7 {
            0 => Field::Varint(self.varint()?),
            1 | 5 => {
                let n = if key & 7 == 1 { 8 } else { 4 };
                if self.rest.len() < n {
                    return Err(ProtoError("truncated fixed-width field"));
                }
                self.rest = &self.rest[n..];
                Field::Fixed
            }
            2 => {
                let len =
                    usize::try_from(self.varint()?).map_err(|_| ProtoError("length overflow"))?;
                if self.rest.len() < len {
                    return Err(ProtoError("truncated length-delimited field"));
                }
                let (bytes, rest) = self.rest.split_at(len);
                self.rest = rest;
                Field::Bytes(bytes)
            }
            _ => return Err(ProtoError("unsupported protobuf wire type")),
        };
        Ok(Some((field, value)))
    }

    /// Calls `f` on every field of `bytes`.
    fn each(
        bytes: &'a [u8],
        mut f: impl FnMut(u32, Field<'a>) -> Result<(), ProtoError>,
    ) -> Result<(), ProtoError> {
        let mut reader = ProtoReader { rest: bytes };
        while let Some((field, value)) = reader.next_field()? {
            f(field, value)?;
        }
        Ok(())
    }
}

fn utf8(bytes: &[u8]) -> Result<String, ProtoError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| ProtoError("string is not UTF-8"))
}

/// A graph input or output as declared in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    /// Name of the value.
    pub name: String,
    /// Element type (`1` = float), `0` if not declared.
    pub elem_type: i32,
    /// Dimensions; `None` for a symbolic or missing dimension.
    pub dims: Vec<Option<i64>>,
}

/// What Neume reads from a model file before handing it to a runtime.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelSummary {
    /// `metadata_props` key/value pairs.
    pub metadata: BTreeMap<String, String>,
    /// Graph inputs that are not initializers.
    pub inputs: Vec<TensorInfo>,
    /// Graph outputs.
    pub outputs: Vec<TensorInfo>,
    /// Operator types used by the graph's nodes; a node outside the default ONNX domain is
    /// listed as `domain:op`, so that an allow-list of default-domain names refuses it.
    pub op_types: Vec<String>,
    /// Each node's attributes, in the order of `op_types`.
    pub attributes: Vec<Vec<(String, AttributeValue)>>,
    /// Initializers whose data lives outside the file (`TensorProto.data_location` =
    /// EXTERNAL, or `external_data` entries): a runtime would open other files for them.
    pub external_tensors: Vec<String>,
    /// Node attributes that carry a graph (`If`, `Loop`, or any node given one).
    pub subgraphs: usize,
    /// Model-local functions (`ModelProto.functions`), which a runtime would expand.
    pub functions: usize,
    /// Opset version of the default domain, 0 if none declared.
    pub opset: i64,
}

/// A node attribute's value as read (only the kinds Neume's contract uses are kept).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttributeValue {
    /// `AttributeProto.i`.
    Int(i64),
    /// `AttributeProto.s`, when it is UTF-8.
    String(String),
    /// A float (`f`), kept without its value: Neume's checks only ask whether it is there.
    Float,
    /// Anything else (lists, tensors, graphs).
    Other,
}

fn read_attribute(bytes: &[u8]) -> Result<(String, AttributeValue), ProtoError> {
    let (mut name, mut value) = (String::new(), AttributeValue::Other);
    ProtoReader::each(bytes, |f, v| {
        match (f, v) {
            (1, Field::Bytes(b)) => name = utf8(b)?,
            (2, Field::Fixed) => value = AttributeValue::Float,
            (3, Field::Varint(i)) => value = AttributeValue::Int(i as i64),
            (4, Field::Bytes(b)) => {
                value = String::from_utf8(b.to_vec())
                    .map_or(AttributeValue::Other, AttributeValue::String)
            }
            // The type tag (20) and a reference name (21) say nothing of the value.
            (20 | 21, _) => {}
            _ => value = AttributeValue::Other,
        }
        Ok(())
    })?;
    Ok((name, value))
}

fn read_value_info(bytes: &[u8]) -> Result<TensorInfo, ProtoError> {
    let mut info = TensorInfo { name: String::new(), elem_type: 0, dims: Vec::new() };
    ProtoReader::each(bytes, |f, v| {
        match (f, v) {
            (1, Field::Bytes(b)) => info.name = utf8(b)?,
            (2, Field::Bytes(type_proto)) => ProtoReader::each(type_proto, |f, v| {
                if let (1, Field::Bytes(tensor_type)) = (f, v) {
                    ProtoReader::each(tensor_type, |f, v| {
                        match (f, v) {
                            (1, Field::Varint(t)) => info.elem_type = t as i32,
                            (2, Field::Bytes(shape)) => ProtoReader::each(shape, |f, v| {
                                if let (1, Field::Bytes(dim)) = (f, v) {
                                    let mut value = None;
                                    ProtoReader::each(dim, |f, v| {
                                        if let (1, Field::Varint(d)) = (f, v) {
                                            value = Some(d as i64);
                                        }
                                        Ok(())
                                    })?;
                                    info.dims.push(value);
                                }
                                Ok(())
                            })?,
                            _ => {}
                        }
                        Ok(())
                    })?;
                }
                Ok(())
            })?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(info)
}

/// Reads the inputs, outputs, operators and metadata of an ONNX model.
pub fn summarize(model_bytes: &[u8]) -> Result<ModelSummary, ProtoError> {
    let mut summary = ModelSummary::default();
    let mut saw_graph = false;
    // A message repeated in a file is merged by protobuf readers, so a second `graph`
    // field adds to the first: collect over all of them.
    let (mut initializers, mut inputs) = (Vec::new(), Vec::new());
    ProtoReader::each(model_bytes, |f, v| {
        match (f, v) {
            (7, Field::Bytes(graph)) => {
                saw_graph = true;
                ProtoReader::each(graph, |f, v| {
                    match (f, v) {
                        (1, Field::Bytes(node)) => {
                            let (mut op, mut domain, mut attributes) =
                                (String::new(), String::new(), Vec::new());
                            ProtoReader::each(node, |f, v| {
                                match (f, v) {
                                    (4, Field::Bytes(b)) => op = utf8(b)?,
                                    (7, Field::Bytes(b)) => domain = utf8(b)?,
                                    (5, Field::Bytes(attribute)) => {
                                        ProtoReader::each(attribute, |f, _| {
                                            // AttributeProto.g (6) and .graphs (11).
                                            if f == 6 || f == 11 {
                                                summary.subgraphs += 1;
                                            }
                                            Ok(())
                                        })?;
                                        attributes.push(read_attribute(attribute)?);
                                    }
                                    _ => {}
                                }
                                Ok(())
                            })?;
                            let default_domain = domain.is_empty() || domain == "ai.onnx";
                            summary.op_types.push(if default_domain {
                                op
                            } else {
                                format!("{domain}:{op}")
                            });
                            summary.attributes.push(attributes);
                        }
                        (5, Field::Bytes(tensor)) => {
                            let (mut name, mut external) = (String::new(), false);
                            ProtoReader::each(tensor, |f, v| {
                                match (f, v) {
                                    (8, Field::Bytes(n)) => name = utf8(n)?,
                                    // TensorProto.external_data (13); data_location (14) = EXTERNAL (1).
                                    (13, _) | (14, Field::Varint(1)) => external = true,
                                    _ => {}
                                }
                                Ok(())
                            })?;
                            if external {
                                summary.external_tensors.push(name.clone());
                            }
                            initializers.push(name);
                        }
                        (11, Field::Bytes(vi)) => inputs.push(read_value_info(vi)?),
                        (12, Field::Bytes(vi)) => summary.outputs.push(read_value_info(vi)?),
                        _ => {}
                    }
                    Ok(())
                })?;
            }
            (8, Field::Bytes(opset)) => {
                let mut domain = String::new();
                let mut version = 0;
                ProtoReader::each(opset, |f, v| {
                    match (f, v) {
                        (1, Field::Bytes(d)) => domain = utf8(d)?,
                        (2, Field::Varint(n)) => version = n as i64,
                        _ => {}
                    }
                    Ok(())
                })?;
                if domain.is_empty() || domain == "ai.onnx" {
                    summary.opset = version;
                }
            }
            (25, Field::Bytes(_)) => summary.functions += 1,
            (14, Field::Bytes(entry)) => {
                let (mut key, mut value) = (String::new(), String::new());
                ProtoReader::each(entry, |f, v| {
                    match (f, v) {
                        (1, Field::Bytes(k)) => key = utf8(k)?,
                        (2, Field::Bytes(val)) => value = utf8(val)?,
                        _ => {}
                    }
                    Ok(())
                })?;
                summary.metadata.insert(key, value);
            }
            _ => {}
        }
        Ok(())
    })?;
    if !saw_graph {
        return Err(ProtoError("no graph in the file"));
    }
    summary.inputs = inputs.into_iter().filter(|i| !initializers.contains(&i.name)).collect();
    Ok(summary)
}

/// A float initializer as read back: its dimensions and values.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatTensor {
    /// Dimensions.
    pub dims: Vec<i64>,
    /// Values, row-major.
    pub data: Vec<f32>,
}

/// The float initializers of a model's graph with their data in `raw_data` or `float_data`,
/// by name (what the trainer reads back to start from a shipped model). Other initializers
/// are left out.
pub fn float_initializers(model_bytes: &[u8]) -> Result<BTreeMap<String, FloatTensor>, ProtoError> {
    let mut found = BTreeMap::new();
    ProtoReader::each(model_bytes, |f, v| {
        if let (7, Field::Bytes(graph)) = (f, v) {
            ProtoReader::each(graph, |f, v| {
                if let (5, Field::Bytes(tensor)) = (f, v) {
                    let (mut name, mut dims, mut kind, mut data) =
                        (String::new(), Vec::new(), 0u64, Vec::new());
                    ProtoReader::each(tensor, |f, v| {
                        match (f, v) {
                            (1, Field::Varint(d)) => dims.push(d as i64),
                            (1, Field::Bytes(packed)) => {
                                let mut reader = ProtoReader { rest: packed };
                                while !reader.rest.is_empty() {
                                    dims.push(reader.varint()? as i64);
                                }
                            }
                            (2, Field::Varint(t)) => kind = t,
                            (8, Field::Bytes(n)) => name = utf8(n)?,
                            (9, Field::Bytes(raw)) => {
                                if raw.len() % 4 != 0 {
                                    return Err(ProtoError("raw float data is not whole floats"));
                                }
                                data = raw
                                    .chunks_exact(4)
                                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                                    .collect();
                            }
                            (4, Field::Bytes(packed)) => {
                                if packed.len() % 4 != 0 {
                                    return Err(ProtoError(
                                        "packed float data is not whole floats",
                                    ));
                                }
                                data.extend(
                                    packed
                                        .chunks_exact(4)
                                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                                );
                            }
                            _ => {}
                        }
                        Ok(())
                    })?;
                    if kind == DATA_TYPE_FLOAT as u64 {
                        let count = dims.iter().try_fold(1i64, |n, &d| n.checked_mul(d.max(0)));
                        if count != Some(data.len() as i64) {
                            return Err(ProtoError("initializer data does not match its dims"));
                        }
                        found.insert(name, FloatTensor { dims, data });
                    }
                }
                Ok(())
            })?;
        }
        Ok(())
    })?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_model_reads_back() {
        let mut graph = ProtoWriter::new();
        graph
            .message(1, node("Relu", "relu", &["x"], &["y"], &[Attribute::Float("alpha", 0.5)]))
            .string(2, "g")
            .message(5, float_tensor("w", &[2], &[1.0, 2.0]))
            .message(11, value_info("x", &[1, 4]))
            .message(12, value_info("y", &[1, 4]));
        let meta = BTreeMap::from([("neume.bars".to_string(), "4".to_string())]);
        let bytes = model(graph, 17, "test", &meta);
        let s = summarize(&bytes).unwrap();
        assert_eq!(s.metadata, meta);
        assert_eq!(
            s.inputs,
            vec![TensorInfo { name: "x".into(), elem_type: 1, dims: vec![Some(1), Some(4)] }]
        );
        assert_eq!(s.outputs[0].name, "y");
        assert_eq!(s.op_types, vec!["Relu".to_string()]);
        assert_eq!(s.opset, 17);
    }

    #[test]
    fn foreign_domains_subgraphs_and_functions_are_reported() {
        let mut foreign = node("Gemm", "gemm", &["x"], &["y"], &[]);
        foreign.string(7, "com.microsoft");
        let mut attribute = ProtoWriter::new();
        attribute.string(1, "then_branch").message(6, ProtoWriter::new()).int(20, 5);
        let mut branching = node("Relu", "relu", &["y"], &["z"], &[]);
        branching.message(5, attribute);
        let mut graph = ProtoWriter::new();
        graph.message(1, foreign).message(1, branching).string(2, "g");
        let mut bytes = model(graph, 17, "test", &BTreeMap::new());
        let mut function = ProtoWriter::new();
        function.string(1, "Gemm");
        let mut with_function = ProtoWriter::new();
        with_function.message(25, function);
        bytes.extend(with_function.into_bytes());
        let s = summarize(&bytes).unwrap();
        assert_eq!(s.op_types, vec!["com.microsoft:Gemm".to_string(), "Relu".to_string()]);
        assert_eq!((s.subgraphs, s.functions), (1, 1));
    }

    #[test]
    fn float_initializers_read_back_as_written() {
        let mut graph = ProtoWriter::new();
        graph
            .message(5, float_tensor("w", &[2, 3], &[1.0, -2.0, 3.5, 0.0, 1e-3, 7.0]))
            .message(5, int64_tensor("shape", &[2], &[1, -1]))
            .string(2, "g");
        let bytes = model(graph, 17, "test", &BTreeMap::new());
        let found = float_initializers(&bytes).unwrap();
        assert_eq!(found.len(), 1, "the int64 initializer is left out");
        assert_eq!(found["w"].dims, vec![2, 3]);
        assert_eq!(found["w"].data, vec![1.0, -2.0, 3.5, 0.0, 1e-3, 7.0]);
        let mut lying = ProtoWriter::new();
        lying.message(5, float_tensor("w", &[4, 3], &[1.0, 2.0])).string(2, "g");
        assert!(float_initializers(&model(lying, 17, "test", &BTreeMap::new())).is_err());
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(summarize(b"\xff\xff\xff").is_err());
        assert!(summarize(b"").is_err());
        assert!(summarize(b"hello world, not a model").is_err());
    }
}
