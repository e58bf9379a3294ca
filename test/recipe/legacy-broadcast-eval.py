"""Runs an opset-6 graph of Mul and Add on a libonnx-testdata case's inputs.

onnxruntime runs no opset below 7, and onnx's version converter aligns a
broadcast operand at the end whatever its `axis`, so neither checks a rewrite
that keeps opset 6. This evaluates the two ops as their opset-6 definition
says: with `broadcast: 1`, B's shape is a contiguous part of A's starting at
`axis` (at the end when `axis` is absent). Prints the largest absolute
difference from the outputs the test case expects (PyTorch's).

usage: legacy-broadcast-eval.py MODEL TEST_DATA_DIR
"""
import glob
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def aligned(a, b, node):
    attrs = {x.name: onnx.helper.get_attribute_value(x) for x in node.attribute}
    if not attrs.get('broadcast', 0) or b.shape == a.shape:
        if b.shape != a.shape:
            raise SystemExit(f'{node.name}: shapes {a.shape} and {b.shape} without broadcast')
        return b
    axis = attrs.get('axis', a.ndim - b.ndim)
    if a.shape[axis:axis + b.ndim] != b.shape and b.size != 1:
        raise SystemExit(f'{node.name}: {b.shape} is not the part of {a.shape} at axis {axis}')
    return b.reshape(b.shape + (1,) * (a.ndim - axis - b.ndim)) if b.size != 1 else b.reshape(())


model = onnx.load(sys.argv[1])
values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
inputs = [i.name for i in model.graph.input if i.name not in values]
files = sorted(glob.glob(os.path.join(sys.argv[2], 'input_*.pb')))
for name, f in zip(inputs, files):
    values[name] = numpy_helper.to_array(onnx.load_tensor(f))
for node in model.graph.node:
    a, b = (values[i] for i in node.input)
    if node.op_type == 'Mul':
        values[node.output[0]] = a * aligned(a, b, node)
    elif node.op_type == 'Add':
        values[node.output[0]] = a + aligned(a, b, node)
    else:
        raise SystemExit(f'{node.op_type} is not evaluated here')
worst = 0.0
for out, f in zip(model.graph.output, sorted(glob.glob(os.path.join(sys.argv[2], 'output_*.pb')))):
    want = numpy_helper.to_array(onnx.load_tensor(f))
    got = values[out.name]
    if got.shape != want.shape:
        raise SystemExit(f'output {out.name}: shape {got.shape}, expected {want.shape}')
    worst = max(worst, float(np.max(np.abs(got - want))))
print(worst)
