#!/usr/bin/python3
"""Checks the ONNX files tests/test_onnx.cpp wrote (latent's export_onnx) against latent's own outputs.

    /usr/bin/python3 check_onnx.py DIR

DIR holds manifest.txt (one case a line) and, per case, <case>.onnx, its inputs <case>.<input>.npy and
latent's outputs <case>.<output>.npy. For every case:
  1. onnx.checker.check_model(full_check=True) and onnx.shape_inference.infer_shapes(strict_mode=True);
     the inferred shape of every output (from a copy whose outputs declare no shape) must be [N, width]
     with the symbolic batch N, and every shape inferred for an intermediate value must agree with the
     array the interpreter below computes for it;
  2. the graph is evaluated by the small NumPy interpreter below, in float64, of exactly the ops latent
     emits, written from the ONNX operator specification (onnx/docs/Operators.md, opset 17), not from
     latent's code: Conv and ConvTranspose as sums over kernel offsets with explicit pads, strides and
     output_padding;
  3. each output must equal latent's: max |Δ| ≤ tol · max(1, max |latent's|), tol = 1e-5 for float
     models and 1e-9 for double ones (latent computes in the model's type, the interpreter in float64);
     an int64 output (a VQ-VAE's code indices) exactly. The comparison is then shown to fail on latent's
     output moved by 10·tol (an index by 1) at one element.
Before the cases, the interpreter's ArgMin, Gather and ReduceSum are checked on hand-worked examples of
the specification's rules (ties, keepdims, negative axes and indices, omitted axes); when PyTorch imports, the interpreter's Conv, ConvTranspose and AveragePool are
checked against torch.nn.functional on random data (asymmetric pads, output_padding).
Exit status 0 when every case passes; otherwise 1, with one line per failure. (Debian 12's onnx 1.12
has no reference evaluator and there is no onnxruntime: hence the interpreter.)
"""

import math
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference

TOLERANCE = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-9}
ELEM_DTYPE = {onnx.TensorProto.FLOAT: np.dtype(np.float32), onnx.TensorProto.DOUBLE: np.dtype(np.float64)}


class CheckError(Exception):
    pass


# ---- the interpreter -----------------------------------------------------------------------------------

def attributes(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def as_text(v):
    return v.decode() if isinstance(v, bytes) else v


def conv(x, w, b, a):
    """Conv: y[n, m, i, j] = b[m] + Σ_{c, p, q} xpad[n, c, i·s + p·d, j·s + q·d] · w[m, c, p, q]."""
    if as_text(a.get("auto_pad", "NOTSET")) != "NOTSET" or a.get("group", 1) != 1:
        raise CheckError("Conv: only explicit pads and group 1 are interpreted")
    kh, kw = w.shape[2], w.shape[3]
    if list(a.get("kernel_shape", [kh, kw])) != [kh, kw]:
        raise CheckError("Conv: kernel_shape differs from the weight's")
    sh, sw = a.get("strides", [1, 1])
    dh, dw = a.get("dilations", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((x.shape[0], w.shape[0], oh, ow))
    for p in range(kh):
        for q in range(kw):
            window = xp[:, :, p * dh: p * dh + sh * (oh - 1) + 1: sh, q * dw: q * dw + sw * (ow - 1) + 1: sw]
            y += np.einsum("nchw,mc->nmhw", window, w[:, :, p, q])
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


def conv_transpose(x, w, b, a):
    """ConvTranspose: every input pixel (i, j) adds w[c, m, p, q]·x[n, c, i, j] at full[i·s + p·d, j·s + q·d];
    the full result (extended by output_padding at the end) is cropped by pads: output[o] = full[o + pad_begin],
    output size s·(in − 1) + output_padding + (k − 1)·d + 1 − pad_begin − pad_end."""
    if as_text(a.get("auto_pad", "NOTSET")) != "NOTSET" or a.get("group", 1) != 1 or "output_shape" in a:
        raise CheckError("ConvTranspose: only explicit pads, group 1 and no output_shape are interpreted")
    kh, kw = w.shape[2], w.shape[3]
    sh, sw = a.get("strides", [1, 1])
    dh, dw = a.get("dilations", [1, 1])
    oph, opw = a.get("output_padding", [0, 0])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    n, _, h, wd = x.shape
    fh, fw = sh * (h - 1) + dh * (kh - 1) + 1 + oph, sw * (wd - 1) + dw * (kw - 1) + 1 + opw
    full = np.zeros((n, w.shape[1], fh, fw))
    for p in range(kh):
        for q in range(kw):
            full[:, :, p * dh: p * dh + sh * (h - 1) + 1: sh, q * dw: q * dw + sw * (wd - 1) + 1: sw] += np.einsum(
                "nchw,cm->nmhw", x, w[:, :, p, q])
    y = full[:, :, pt: fh - pb, pl: fw - pr]
    if b is not None:
        y = y + b.reshape(1, -1, 1, 1)
    return y


def average_pool(x, a):
    """AveragePool: the mean over each window; with count_include_pad = 0 (the default) the padding is
    not counted."""
    if as_text(a.get("auto_pad", "NOTSET")) != "NOTSET" or a.get("ceil_mode", 0) != 0:
        raise CheckError("AveragePool: only explicit pads and ceil_mode 0 are interpreted")
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    ones = np.pad(np.ones(x.shape[2:]), ((pt, pb), (pl, pr)))
    if a.get("count_include_pad", 0):
        ones = np.ones_like(ones)
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    total = np.zeros((x.shape[0], x.shape[1], oh, ow))
    count = np.zeros((oh, ow))
    for p in range(kh):
        for q in range(kw):
            total += xp[:, :, p: p + sh * (oh - 1) + 1: sh, q: q + sw * (ow - 1) + 1: sw]
            count += ones[p: p + sh * (oh - 1) + 1: sh, q: q + sw * (ow - 1) + 1: sw]
    return total / count


def max_pool(x, a):
    """MaxPool: the largest element of each window (no padding, dilations 1, ceil_mode 0)."""
    if (as_text(a.get("auto_pad", "NOTSET")) != "NOTSET" or a.get("ceil_mode", 0) != 0 or
            any(d != 1 for d in a.get("dilations", [1, 1])) or a.get("storage_order", 0) != 0):
        raise CheckError("MaxPool: only explicit pads, ceil_mode 0, dilations 1 are interpreted")
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=-np.inf)
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    y = np.full((x.shape[0], x.shape[1], oh, ow), -np.inf)
    for p in range(kh):
        for q in range(kw):
            y = np.maximum(y, xp[:, :, p: p + sh * (oh - 1) + 1: sh, q: q + sw * (ow - 1) + 1: sw])
    return y


def batch_normalization(x, scale, bias, mean, var, a):
    """BatchNormalization in inference (training_mode 0): (x − mean) / √(var + ε) · scale + bias, per
    channel (axis 1)."""
    if a.get("training_mode", 0):
        raise CheckError("BatchNormalization: training_mode is not interpreted")
    shape = (1, -1) + (1,) * (x.ndim - 2)
    eps = a.get("epsilon", 1e-5)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * scale.reshape(shape) + bias.reshape(shape)


def softmax(x, a):
    """Softmax (opset 13): exp(x − max) / Σ exp(x − max) along `axis` (default −1)."""
    axis = a.get("axis", -1)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def reshape(x, shape, a):
    """Reshape: 0 copies the input's dimension (allowzero = 0), −1 is inferred."""
    if a.get("allowzero", 0):
        raise CheckError("Reshape: allowzero is not interpreted")
    target = [x.shape[i] if int(d) == 0 else int(d) for i, d in enumerate(shape)]
    return x.reshape(target)


def arg_min(x, a):
    """ArgMin (opset 13): the index of the smallest element along `axis` (default 0), the first one on a
    tie (select_last_index = 0) or the last (1); int64; keepdims (default 1) keeps the axis with size 1."""
    axis = a.get("axis", 0)
    axis = axis + x.ndim if axis < 0 else axis
    if a.get("select_last_index", 0):
        n = x.shape[axis]
        k = n - 1 - np.argmin(np.flip(x, axis=axis), axis=axis)
    else:
        k = np.argmin(x, axis=axis)
    k = k.astype(np.int64)
    return np.expand_dims(k, axis) if a.get("keepdims", 1) else k


def gather(data, indices, a):
    """Gather (opset 13): out[i..., j..., k...] = data[j..., indices[i...], k...] along `axis` (default 0);
    output shape data.shape[:axis] + indices.shape + data.shape[axis + 1:]; an index in [−s, s − 1], a
    negative one counting from the end; anything outside is an error."""
    axis = a.get("axis", 0)
    axis = axis + data.ndim if axis < 0 else axis
    s = data.shape[axis]
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise CheckError("Gather: indices must be integers, found %s" % idx.dtype)
    if idx.size and (idx.min() < -s or idx.max() > s - 1):
        raise CheckError("Gather: an index outside [%d, %d]" % (-s, s - 1))
    idx = np.where(idx < 0, idx + s, idx)
    moved = np.moveaxis(data, axis, 0)[idx]  # indices.shape + the other axes in order
    return np.moveaxis(moved, list(range(idx.ndim)), list(range(axis, axis + idx.ndim)))


def reduce_sum(x, axes, a):
    """ReduceSum (opset 13: axes an optional int64 input): the sum over `axes` (all of them when omitted
    or empty, unless noop_with_empty_axes), keepdims (default 1) keeping them with size 1."""
    if axes is None or np.asarray(axes).size == 0:
        if a.get("noop_with_empty_axes", 0):
            return x
        axes = tuple(range(x.ndim))
    else:
        axes = tuple(int(i) + x.ndim if int(i) < 0 else int(i) for i in np.asarray(axes).ravel())
    return np.sum(x, axis=axes, keepdims=bool(a.get("keepdims", 1)))


def run_node(node, inputs):
    op, a = node.op_type, attributes(node)
    get = lambda i: inputs[i] if i < len(inputs) else None
    if op == "Gemm":
        A, B, C = get(0), get(1), get(2)
        A = A.T if a.get("transA", 0) else A
        B = B.T if a.get("transB", 0) else B
        y = a.get("alpha", 1.0) * (A @ B)
        return y + a.get("beta", 1.0) * C if C is not None else y
    if op == "Relu":
        return np.maximum(get(0), 0)
    if op == "Sigmoid":
        return 1 / (1 + np.exp(-get(0)))
    if op == "Tanh":
        return np.tanh(get(0))
    if op == "LeakyRelu":
        x, alpha = get(0), a.get("alpha", 0.01)
        return np.where(x >= 0, x, alpha * x)
    if op == "Elu":
        x, alpha = get(0), a.get("alpha", 1.0)
        return np.where(x >= 0, x, alpha * (np.exp(np.minimum(x, 0)) - 1))
    if op == "Softplus":
        return np.logaddexp(0, get(0))  # ln(exp(x) + 1), without the overflow
    if op == "Clip":
        x, lo, hi = get(0), get(1), get(2)
        x = np.maximum(x, lo) if lo is not None else x
        return np.minimum(x, hi) if hi is not None else x
    if op == "Max":
        return np.maximum.reduce([i for i in inputs])
    if op == "Mul":
        return get(0) * get(1)
    if op == "Add":
        return get(0) + get(1)
    if op == "Sub":
        return get(0) - get(1)
    if op == "Div":
        return get(0) / get(1)
    if op == "Sqrt":
        return np.sqrt(get(0))
    if op == "Erf":
        return np.vectorize(math.erf, otypes=[np.float64])(get(0))
    if op == "ReduceMean":  # opset 13-17: axes is an attribute
        axes = a.get("axes")
        return np.mean(get(0), axis=tuple(axes) if axes is not None else None, keepdims=bool(a.get("keepdims", 1)))
    if op == "MatMul":
        return np.matmul(get(0), get(1))
    if op == "Transpose":
        return np.transpose(get(0), a.get("perm"))
    if op == "Softmax":
        return softmax(get(0), a)
    if op == "BatchNormalization":
        return batch_normalization(get(0), get(1), get(2), get(3), get(4), a)
    if op == "MaxPool":
        return max_pool(get(0), a)
    if op == "Identity":
        return get(0)
    if op == "Reshape":
        return reshape(get(0), get(1), a)
    if op == "Concat":
        return np.concatenate(inputs, axis=a["axis"])
    if op == "Expand":
        shape = [int(d) for d in get(1)]
        return np.broadcast_to(get(0), np.broadcast_shapes(get(0).shape, tuple(shape))).copy()
    if op == "Conv":
        return conv(get(0), get(1), get(2), a)
    if op == "ConvTranspose":
        return conv_transpose(get(0), get(1), get(2), a)
    if op == "AveragePool":
        return average_pool(get(0), a)
    if op == "ArgMin":
        return arg_min(get(0), a)
    if op == "Gather":
        return gather(get(0), get(1), a)
    if op == "ReduceSum":
        return reduce_sum(get(0), get(1), a)
    raise CheckError("the interpreter has no rule for op %s" % op)


def evaluate(model, feeds):
    """Every value of the graph, float64 (shapes and scales keep their own types)."""
    values = {}
    for t in model.graph.initializer:
        arr = numpy_helper.to_array(t)
        values[t.name] = arr.astype(np.float64) if arr.dtype.kind == "f" else arr
    for name, arr in feeds.items():
        values[name] = arr.astype(np.float64)
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx"):
            raise CheckError("node %s is in domain %s" % (node.name, node.domain))
        ins = [values[i] if i else None for i in node.input]
        while ins and ins[-1] is None:
            ins.pop()
        if len(node.output) != 1:
            raise CheckError("node %s has %d outputs" % (node.name, len(node.output)))
        values[node.output[0]] = np.asarray(run_node(node, ins))
    return values


def index_ops_test():
    """ArgMin, Gather and ReduceSum on examples worked by hand from the specification (Operators.md,
    opset 17) and its own examples; returns a line to print."""
    x = np.array([[2.0, 1.0, 1.0], [0.0, 5.0, 0.0]])
    expect = [
        (arg_min(x, {}), np.array([[1, 0, 1]])),                             # axis 0, keepdims 1
        (arg_min(x, {"axis": 1, "keepdims": 0}), np.array([1, 0])),          # first on a tie
        (arg_min(x, {"axis": -1, "keepdims": 0, "select_last_index": 1}), np.array([2, 2])),
        (arg_min(x, {"axis": 1}), np.array([[1], [0]])),
        (gather(np.array([[1.0, 1.2], [2.3, 3.4], [4.5, 5.7]]), np.array([[0, 1], [1, 2]]), {}),   # the spec's
         np.array([[[1.0, 1.2], [2.3, 3.4]], [[2.3, 3.4], [4.5, 5.7]]])),                           # example 1
        (gather(np.array([[1.0, 1.2, 1.9], [2.3, 3.4, 3.9], [4.5, 5.7, 5.9]]), np.array([[0, 2]]),  # example 2
                {"axis": 1}), np.array([[[1.0, 1.9]], [[2.3, 3.9]], [[4.5, 5.9]]])),
        (gather(np.array([5.0, 6.0, 7.0]), np.array([-1, 0]), {}), np.array([7.0, 5.0])),
        (reduce_sum(x, np.array([1], dtype=np.int64), {"keepdims": 0}), np.array([4.0, 5.0])),
        (reduce_sum(x, None, {}), np.array([[9.0]])),
        (reduce_sum(x, np.array([-2], dtype=np.int64), {}), np.array([[2.0, 6.0, 1.0]])),
    ]
    for i, (got, want) in enumerate(expect):
        if got.shape != want.shape or not np.array_equal(got, want):
            raise CheckError("index-ops self-test %d: got %s, expected %s" % (i, got.tolist(), want.tolist()))
    if arg_min(x, {"axis": 1}).dtype != np.int64:
        raise CheckError("index-ops self-test: ArgMin must give int64")
    try:
        gather(np.zeros(3), np.array([3]), {})
    except CheckError:
        pass
    else:
        raise CheckError("index-ops self-test: Gather accepted an index out of range")
    return "self-test: ArgMin, Gather and ReduceSum agree with %d worked examples of the specification" % len(expect)


def self_test():
    """The interpreter's convolutions and pooling against PyTorch's (when Debian's python3-torch is
    there): a third implementation, so that the interpreter and latent cannot share a misreading of the
    padding rules unnoticed. Returns a line to print."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return "self-test: no torch, the interpreter's convolutions are not cross-checked"
    rng = np.random.default_rng(0)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))
    count = 0
    for k, s, pads in [(3, 2, (0, 0, 1, 1)), (3, 1, (1, 1, 1, 1)), (2, 1, (0, 0, 0, 0)), (4, 2, (1, 2, 2, 1)),
                       (3, 2, (1, 1, 1, 1))]:
        x, w, b = rng.normal(size=(2, 3, 7, 8)), rng.normal(size=(4, 3, k, k)), rng.normal(size=4)
        want = F.conv2d(F.pad(t(x), (pads[1], pads[3], pads[0], pads[2])), t(w), t(b), stride=s).numpy()
        got = conv(x, w, b, {"kernel_shape": [k, k], "strides": [s, s], "pads": list(pads)})
        if got.shape != want.shape or np.max(np.abs(got - want)) > 1e-9:
            raise CheckError("self-test: Conv k %d s %d pads %s differs from torch's" % (k, s, pads))
        count += 1
    for k, s, p, op in [(3, 2, 1, 1), (3, 2, 0, 0), (1, 2, 0, 1), (4, 2, 1, 0), (3, 1, 1, 0), (3, 3, 2, 2)]:
        x, w, b = rng.normal(size=(2, 3, 5, 4)), rng.normal(size=(3, 2, k, k)), rng.normal(size=2)
        want = F.conv_transpose2d(t(x), t(w), t(b), stride=s, padding=p, output_padding=op).numpy()
        got = conv_transpose(x, w, b, {"kernel_shape": [k, k], "strides": [s, s], "pads": [p, p, p, p],
                                       "output_padding": [op, op]})
        if got.shape != want.shape or np.max(np.abs(got - want)) > 1e-9:
            raise CheckError("self-test: ConvTranspose k %d s %d pad %d output_padding %d differs from torch's" %
                             (k, s, p, op))
        count += 1
    for k, s in [(2, 2), (3, 1), (3, 2)]:
        x = rng.normal(size=(2, 3, 7, 6))
        want = F.avg_pool2d(t(x), k, s).numpy()
        got = average_pool(x, {"kernel_shape": [k, k], "strides": [s, s]})
        if got.shape != want.shape or np.max(np.abs(got - want)) > 1e-9:
            raise CheckError("self-test: AveragePool k %d s %d differs from torch's" % (k, s))
        count += 1
    for k, s in [(2, 2), (3, 1), (3, 2)]:
        x = rng.normal(size=(2, 3, 7, 6))
        want = F.max_pool2d(t(x), k, s).numpy()
        got = max_pool(x, {"kernel_shape": [k, k], "strides": [s, s]})
        if got.shape != want.shape or np.max(np.abs(got - want)) > 1e-12:
            raise CheckError("self-test: MaxPool k %d s %d differs from torch's" % (k, s))
        count += 1
    x, g, b, m, v = rng.normal(size=(4, 3, 5, 2)), rng.normal(size=3), rng.normal(size=3), rng.normal(size=3), \
        rng.uniform(0.5, 2, size=3)
    want = F.batch_norm(t(x), t(m), t(v), t(g), t(b), training=False, eps=1e-3).numpy()
    got = batch_normalization(x, g, b, m, v, {"epsilon": 1e-3})
    if np.max(np.abs(got - want)) > 1e-12:
        raise CheckError("self-test: BatchNormalization differs from torch's batch_norm")
    count += 1
    x = rng.normal(size=(2, 3, 4))
    if np.max(np.abs(softmax(x, {"axis": 2}) - torch.softmax(t(x), 2).numpy())) > 1e-12:
        raise CheckError("self-test: Softmax differs from torch's")
    x = rng.normal(size=(50,))
    if np.max(np.abs(np.vectorize(math.erf)(x) - torch.erf(t(x)).numpy())) > 1e-12:
        raise CheckError("self-test: Erf differs from torch's")
    count += 2
    return "self-test: %d convolutions, poolings and normalisations of the interpreter agree with torch %s" % (
        count, torch.__version__)


# ---- the checks ---------------------------------------------------------------------------------------

def dims(value_info):
    return [d.dim_param if d.HasField("dim_param") else (d.dim_value if d.HasField("dim_value") else None)
            for d in value_info.type.tensor_type.shape.dim]


def within(ref, got, tol):
    """(ok, max |Δ|, bound): max |Δ| ≤ tol · max(1, max |ref|), and both finite."""
    if ref.shape != got.shape:
        return False, float("inf"), 0.0
    bound = tol * max(1.0, float(np.max(np.abs(ref))) if ref.size else 1.0)
    if not (np.all(np.isfinite(ref)) and np.all(np.isfinite(got))):
        return False, float("nan"), bound
    delta = float(np.max(np.abs(ref.astype(np.float64) - got))) if ref.size else 0.0
    return delta <= bound, delta, bound


def check_case(folder, case):
    path = os.path.join(folder, case + ".onnx")
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    if model.ir_version != 8 or [(o.domain, o.version) for o in model.opset_import] != [("", 17)]:
        raise CheckError("expected IR version 8 and opset 17, found %d and %s" %
                         (model.ir_version, [(o.domain, o.version) for o in model.opset_import]))
    inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True)

    # The output shapes shape inference derives on its own: from a copy whose outputs declare none.
    bare = onnx.ModelProto()
    bare.CopyFrom(model)
    for o in bare.graph.output:
        o.type.tensor_type.ClearField("shape")
    bare = shape_inference.infer_shapes(bare, check_type=True, strict_mode=True)
    declared = {o.name: dims(o) for o in model.graph.output}
    for o in bare.graph.output:
        if dims(o) != declared[o.name] or dims(o)[0] != "N" or len(dims(o)) != 2:
            raise CheckError("output %s: shape inference gives %s, the file declares %s" %
                             (o.name, dims(o), declared[o.name]))

    feeds, dtype = {}, None
    for i in model.graph.input:
        arr = np.load(os.path.join(folder, "%s.%s.npy" % (case, i.name)))
        want = ELEM_DTYPE[i.type.tensor_type.elem_type]
        if arr.dtype != want:
            raise CheckError("input %s: the file's type is %s, latent's data is %s" % (i.name, want, arr.dtype))
        if dims(i) != ["N", arr.shape[1]]:
            raise CheckError("input %s: declared %s for data of shape %s" % (i.name, dims(i), arr.shape))
        feeds[i.name], dtype = arr, want
    values = evaluate(model, feeds)

    # Every shape shape inference found must be the shape of the array computed for that value.
    batch = next(iter(feeds.values())).shape[0]
    for v in list(inferred.graph.value_info) + list(inferred.graph.output):
        d = dims(v)
        if not d:
            raise CheckError("shape inference found no shape for %s" % v.name)
        got = values[v.name].shape
        expect = [batch if x == "N" else x for x in d]
        if len(got) != len(expect) or any(e is not None and e != g for e, g in zip(expect, got)):
            raise CheckError("value %s: shape inference gives %s, the interpreter computes %s" % (v.name, d, got))

    lines = []
    for o in model.graph.output:
        ref = np.load(os.path.join(folder, "%s.%s.npy" % (case, o.name)))
        if o.type.tensor_type.elem_type == onnx.TensorProto.INT64:
            # Integer outputs (a quantiser's code indices): equal, element for element.
            got = values[o.name]
            if ref.dtype != np.int64 or got.dtype != np.int64 or ref.shape != got.shape or not np.array_equal(ref, got):
                raise CheckError("output %s: latent's %s %s and the graph's %s %s differ (%d elements)" %
                                 (o.name, ref.dtype, ref.shape, got.dtype, got.shape,
                                  int(np.sum(ref != got)) if ref.shape == got.shape else -1))
            moved = ref.copy()
            moved.flat[moved.size // 2] += 1
            if np.array_equal(moved, got):
                raise CheckError("output %s: the comparison does not see an index moved by 1" % o.name)
            lines.append("%s %s equal (%d distinct)" % (o.name, list(ref.shape), len(np.unique(ref))))
            continue
        if ref.dtype != dtype:
            raise CheckError("output %s: latent's is %s, the graph's input %s" % (o.name, ref.dtype, dtype))
        tol = TOLERANCE[dtype]
        ok, delta, bound = within(ref, values[o.name], tol)
        if not ok:
            raise CheckError("output %s: max |Δ| = %.3g > %.3g (shapes %s and %s)" %
                             (o.name, delta, bound, ref.shape, values[o.name].shape))
        # The comparison can fail: one element of latent's output moved by 10 bounds must be caught.
        moved = ref.astype(np.float64).copy()
        moved.flat[moved.size // 2] += 10 * bound
        if within(moved, values[o.name], tol)[0]:
            raise CheckError("output %s: the comparison does not see a change of 10 bounds" % o.name)
        lines.append("%s %s max|Δ| %.2e (bound %.1e)" % (o.name, list(ref.shape), delta, bound))
    ops = sorted({n.op_type for n in model.graph.node})
    return "%s: %s; ops %s" % (case, "; ".join(lines), " ".join(ops))


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    folder = argv[1]
    try:
        with open(os.path.join(folder, "manifest.txt")) as f:
            cases = [line.strip() for line in f if line.strip()]
    except OSError as e:
        print("check_onnx: cannot read the manifest: %s" % e, file=sys.stderr)
        return 1
    files = sorted(f[:-5] for f in os.listdir(folder) if f.endswith(".onnx"))
    failures = []
    for test in (index_ops_test, self_test):
        try:
            print(test())
        except CheckError as e:
            failures.append(str(e))
    if not cases:
        failures.append("the manifest lists no case")
    if sorted(cases) != files:
        failures.append("the manifest lists %s, the folder holds %s" % (sorted(cases), files))
    for case in cases:
        try:
            print(check_case(folder, case))
        except Exception as e:  # a checker's ValidationError, a missing file, a CheckError
            failures.append("%s: %s: %s" % (case, type(e).__name__, e))
    for f in failures:
        print("FAILED " + f, file=sys.stderr)
    print("check_onnx: %d cases, %d failed (onnx %s, numpy %s)" %
          (len(cases), len(failures), onnx.__version__, np.__version__))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
