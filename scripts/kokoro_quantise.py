"""castbook's Kokoro model: the int8 export with its convolutions statically
quantised, so ONNX Runtime runs its fast u8 x s8 convolution kernels.

The shipped `kokoro-v1.0.int8.onnx` quantises every convolution's input on
the fly (`DynamicQuantizeLinear` -> `ConvInteger` -> float), and ONNX
Runtime's `ConvInteger` only has a u8 x u8 kernel, which on AVX2 without VNNI
is ~1.5x slower than the u8 x s8 kernels behind `QLinearConv`. This script
rewrites each of the 87 into

    QuantizeLinear(fixed scale, zero point) -> QLinearConv -> DequantizeLinear

with the float weights (dequantised from the export's uint8 ones) requantised
to int8, symmetric per output channel, on 7 bits: u8 x s8 products are
summed in pairs into int16 on AVX2 without VNNI, and 8-bit weights saturate
there. The activation ranges come from calibration: the model run on
castbook's own phoneme ids for a few dozen varied sentences.

  kokoro_quantise.py calibrate TOKENS.tsv VOICES_DIR MODEL RANGES.json
      (a developer's step, run once; its output is committed) runs MODEL on
      every line of TOKENS.tsv (`voice<TAB>[0, ids..., 0]`, as castbook
      would feed them: a blend `a*0.6+b*0.4` averages the voices' styles;
      the style row is the one castbook picks for the length) and writes the
      range [lo, hi] of every convolution's input and output.
  kokoro_quantise.py build MODEL RANGES.json OUT
      (scripts/setup --kokoro) writes the rewritten model. Pure arithmetic on
      the model's weights and the committed ranges, so the bytes are the
      same on every machine: setup checks their sha256.
"""

import collections
import hashlib
import json
import os
import sys

import numpy as np

# Percentile of each activation's values taken as its range (per end); the
# extreme values beyond it are clipped. Chosen by measurement (README).
PERCENTILE = 99.9
# Values of each tensor kept per calibration run for the percentiles (every
# k-th), besides its exact min and max.
SAMPLES_PER_RUN = 4096
WEIGHT_BITS = 7


def convolutions(model):
    """The model's dynamically quantised convolutions: for each, its float
    input and output tensors, float weights, float bias and attributes."""
    from onnx import helper, numpy_helper

    graph = model.graph
    producer = {out: node for node in graph.node for out in node.output}
    consumers = collections.defaultdict(list)
    for node in graph.node:
        for name in node.input:
            consumers[name].append(node)
    inits = {init.name: init for init in graph.initializer}

    def only(nodes, op):
        if len(nodes) != 1 or nodes[0].op_type != op:
            sys.exit(f"kokoro_quantise: expected one {op}, found {[n.op_type for n in nodes]}")
        return nodes[0]

    found = []
    for conv in graph.node:
        if conv.op_type != "ConvInteger":
            continue
        quant = producer[conv.input[0]]
        if quant.op_type != "DynamicQuantizeLinear":
            sys.exit(f"kokoro_quantise: {conv.name}: input is not dynamically quantised")
        after = consumers[conv.output[0]]
        bias = None
        if len(after) == 1 and after[0].op_type == "Add":
            # Bias in int32: Reshape(Cast(Floor(Div(bias, scale)))).
            other = next(name for name in after[0].input if name != conv.output[0])
            div = producer[producer[producer[producer[other].input[0]].input[0]].input[0]]
            if div.op_type != "Div" or div.input[0] not in inits:
                sys.exit(f"kokoro_quantise: {conv.name}: unexpected bias path")
            bias = numpy_helper.to_array(inits[div.input[0]]).astype(np.float32)
            after = consumers[after[0].output[0]]
        cast = only(after, "Cast")
        mul = only(consumers[cast.output[0]], "Mul")
        scale_node = producer[next(name for name in mul.input if name != cast.output[0])]
        weight_scale = [name for name in scale_node.input if name in inits]
        if scale_node.op_type != "Mul" or len(weight_scale) != 1 or quant.output[1] not in scale_node.input:
            sys.exit(f"kokoro_quantise: {conv.name}: unexpected output scale")
        weights = numpy_helper.to_array(inits[conv.input[1]]).astype(np.int32)
        zero = int(numpy_helper.to_array(inits[conv.input[3]])) if len(conv.input) > 3 and conv.input[3] else 0
        scale = np.float32(numpy_helper.to_array(inits[weight_scale[0]]))
        found.append(
            {
                "x": quant.input[0],
                "y": mul.output[0],
                "weights": (weights - zero).astype(np.float32) * scale,
                "bias": bias,
                "attributes": {a.name: helper.get_attribute_value(a) for a in conv.attribute},
            }
        )
    if not found:
        sys.exit("kokoro_quantise: no ConvInteger in the model: is it kokoro-v1.0.int8.onnx?")
    return found


def feeds(tokens_path, voices_dir):
    out = []
    with open(tokens_path, encoding="utf-8") as lines:
        for line in lines:
            voice, ids = line.rstrip("\n").split("\t")
            ids = json.loads(ids)
            parts = [(p.split("*")[0], float(p.split("*")[1]) if "*" in p else 1.0) for p in voice.split("+")]
            total = sum(weight for _, weight in parts)
            table = sum(
                np.fromfile(os.path.join(voices_dir, f"{name}.bin"), dtype="<f4").reshape(510, 256)
                * np.float32(weight / total)
                for name, weight in parts
            ).astype(np.float32)
            out.append(
                {
                    "tokens": np.array([ids], dtype=np.int64),
                    # castbook's row for n phonemes (ids hold the two 0 pads).
                    "style": table[len(ids) - 2][None, :].copy(),
                    "speed": np.array([1.0], dtype=np.float32),
                }
            )
    return out


def calibrate(tokens_path, voices_dir, model_path, ranges_path):
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    model = onnx.load(model_path)
    convs = convolutions(model)
    names = sorted({c["x"] for c in convs} | {c["y"] for c in convs})
    for name in names:
        model.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    samples = {name: [] for name in names}
    runs = feeds(tokens_path, voices_dir)
    for i, feed in enumerate(runs):
        for name, value in zip(names, session.run(names, feed)):
            value = value.ravel()
            step = max(1, value.size // SAMPLES_PER_RUN)
            samples[name].append(np.concatenate([[value.min(), value.max()], value[::step]]))
        print(f"kokoro_quantise: calibrated {i + 1}/{len(runs)}", file=sys.stderr, flush=True)
    ranges = {}
    for name in names:
        values = np.concatenate(samples[name]).astype(np.float64)
        lo = min(float(np.percentile(values, 100 - PERCENTILE)), 0.0)
        hi = max(float(np.percentile(values, PERCENTILE)), 0.0)
        ranges[name] = [float(np.float32(lo)), float(np.float32(hi))]
    with open(model_path, "rb") as f:
        source = hashlib.sha256(f.read()).hexdigest()
    with open(ranges_path, "w", encoding="utf-8") as out:
        json.dump(
            {"model_sha256": source, "percentile": PERCENTILE, "runs": len(runs), "ranges": ranges},
            out,
            indent=1,
            sort_keys=True,
        )
        out.write("\n")


def quant_params(lo, hi):
    scale = np.float32((hi - lo) / 255.0) if hi > lo else np.float32(1.0)
    zero = np.uint8(min(255, max(0, round(-lo / float(scale)))))
    return scale, zero


def build(model_path, ranges_path, out_path):
    import onnx
    from onnx import helper, numpy_helper

    with open(ranges_path, encoding="utf-8") as f:
        committed = json.load(f)
    with open(model_path, "rb") as f:
        source = hashlib.sha256(f.read()).hexdigest()
    if source != committed["model_sha256"]:
        sys.exit(f"kokoro_quantise: {model_path} has sha256 {source}; {ranges_path} was calibrated on {committed['model_sha256']}")
    ranges = committed["ranges"]
    model = onnx.load(model_path)
    convs = convolutions(model)
    graph = model.graph
    limit = 2 ** (WEIGHT_BITS - 1) - 1
    inits, quantisers, inputs, replaced = [], {}, {}, {}
    for k, conv in enumerate(convs):
        prefix = f"castbook_qconv{k}"
        if conv["x"] not in inputs:
            scale, zero = quant_params(*ranges[conv["x"]])
            name = f"{prefix}_x"
            inits += [numpy_helper.from_array(np.array(scale), name + "_scale"), numpy_helper.from_array(np.array(zero), name + "_zero")]
            quantisers[conv["x"]] = helper.make_node(
                "QuantizeLinear", [conv["x"], name + "_scale", name + "_zero"], [name + "_q"], name=name + "_quantise"
            )
            inputs[conv["x"]] = (name, scale)
        x, x_scale = inputs[conv["x"]]
        y_scale, y_zero = quant_params(*ranges[conv["y"]])
        weights = conv["weights"]
        channels = weights.shape[0]
        peak = np.abs(weights.reshape(channels, -1)).max(axis=1)
        w_scale = np.where(peak > 0, peak / limit, 1.0).astype(np.float32)
        w_int = np.clip(np.round(weights / w_scale.reshape(-1, *[1] * (weights.ndim - 1))), -limit, limit).astype(np.int8)
        bias = conv["bias"] if conv["bias"] is not None else np.zeros(channels, np.float32)
        b_int = np.round(bias.astype(np.float64) / (np.float64(x_scale) * w_scale.astype(np.float64))).astype(np.int32)
        inits += [
            numpy_helper.from_array(w_int, prefix + "_w"),
            numpy_helper.from_array(w_scale, prefix + "_w_scale"),
            numpy_helper.from_array(np.zeros(channels, np.int8), prefix + "_w_zero"),
            numpy_helper.from_array(np.array(y_scale), prefix + "_y_scale"),
            numpy_helper.from_array(np.array(y_zero), prefix + "_y_zero"),
            numpy_helper.from_array(b_int, prefix + "_bias"),
        ]
        qconv = helper.make_node(
            "QLinearConv",
            [x + "_q", x + "_scale", x + "_zero", prefix + "_w", prefix + "_w_scale", prefix + "_w_zero",
             prefix + "_y_scale", prefix + "_y_zero", prefix + "_bias"],
            [prefix + "_yq"],
            name=prefix,
            **conv["attributes"],
        )
        dequant = helper.make_node(
            "DequantizeLinear", [prefix + "_yq", prefix + "_y_scale", prefix + "_y_zero"], [conv["y"]], name=prefix + "_dequantise"
        )
        replaced[conv["y"]] = [qconv, dequant]
    nodes = []
    for node in graph.node:
        if any(out in replaced for out in node.output):
            for out in node.output:
                nodes += replaced.get(out, [])
            continue
        nodes.append(node)
        nodes += [quantisers[out] for out in node.output if out in quantisers]
    graph_inputs = {i.name for i in graph.input}
    nodes = [quantisers[x] for x in quantisers if x in graph_inputs] + nodes
    # Drop what only the old convolutions used.
    while True:
        used = {name for node in nodes for name in node.input} | {o.name for o in graph.output}
        kept = [node for node in nodes if any(out in used for out in node.output)]
        if len(kept) == len(nodes):
            break
        nodes = kept
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in nodes for name in node.input}
    kept_inits = [init for init in graph.initializer if init.name in used] + inits
    del graph.initializer[:]
    graph.initializer.extend(kept_inits)
    partial = out_path + ".partial"
    onnx.save(model, partial)
    os.replace(partial, out_path)


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "calibrate":
        calibrate(*sys.argv[2:])
    elif len(sys.argv) == 5 and sys.argv[1] == "build":
        build(*sys.argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
