"""Quantizes an ONNX model the way TensorRT's explicit quantization reads one.

Each Conv's weight becomes int8 behind a DequantizeLinear (per output channel
from opset 13, per tensor before), and its input goes through a
QuantizeLinear / DequantizeLinear pair with a fixed scale: the QDQ form that
quantization tools write. No npm package ships such a model.

usage: qdq.py IN OUT   (prints the number of Convs quantized)
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

model = onnx.load(sys.argv[1])
graph = model.graph
opset = next(o.version for o in model.opset_import if o.domain in ('', 'ai.onnx'))
if opset < 10:
    raise SystemExit(f'opset {opset}: QuantizeLinear needs opset 10')
per_channel = opset >= 13
weights = {t.name: t for t in graph.initializer}
for n in graph.node:
    if n.op_type == 'Constant' and n.attribute[0].name == 'value':
        weights[n.output[0]] = n.attribute[0].t

nodes, added, count = [], [], 0
for n in graph.node:
    if n.op_type == 'Conv':
        k = count
        count += 1
        w = weights.get(n.input[1])
        if w is not None:
            W = numpy_helper.to_array(w).astype(np.float32)
            if per_channel:
                scale = np.maximum(np.abs(W).reshape(W.shape[0], -1).max(axis=1) / 127, 1e-8).astype(np.float32)
                q = np.clip(np.round(W / scale.reshape((-1,) + (1,) * (W.ndim - 1))), -127, 127).astype(np.int8)
            else:
                scale = np.array(max(float(np.abs(W).max()) / 127, 1e-8), np.float32)
                q = np.clip(np.round(W / scale), -127, 127).astype(np.int8)
            added += [numpy_helper.from_array(q, f'qdq{k}/w'), numpy_helper.from_array(scale, f'qdq{k}/w_scale'),
                      numpy_helper.from_array(np.zeros(scale.shape, np.int8), f'qdq{k}/w_zero')]
            nodes.append(helper.make_node('DequantizeLinear', [f'qdq{k}/w', f'qdq{k}/w_scale', f'qdq{k}/w_zero'], [f'qdq{k}/w_dq'],
                                          name=f'qdq{k}/w_DQ', **({'axis': 0} if per_channel else {})))
            n.input[1] = f'qdq{k}/w_dq'
        added += [numpy_helper.from_array(np.array(0.05, np.float32), f'qdq{k}/x_scale'), numpy_helper.from_array(np.array(0, np.int8), f'qdq{k}/x_zero')]
        nodes.append(helper.make_node('QuantizeLinear', [n.input[0], f'qdq{k}/x_scale', f'qdq{k}/x_zero'], [f'qdq{k}/x_q'], name=f'qdq{k}/x_Q'))
        nodes.append(helper.make_node('DequantizeLinear', [f'qdq{k}/x_q', f'qdq{k}/x_scale', f'qdq{k}/x_zero'], [f'qdq{k}/x_dq'], name=f'qdq{k}/x_DQ'))
        n.input[0] = f'qdq{k}/x_dq'
    nodes.append(n)
del graph.node[:]
graph.node.extend(nodes)
graph.initializer.extend(added)
onnx.checker.check_model(model)
onnx.save(model, sys.argv[2])
print(count)
