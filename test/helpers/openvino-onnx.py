"""Builds an ONNX model from a JSON description, for tests that compare the
OpenVINO reference evaluator (test/helpers/openvino-eval.ts) with
onnxruntime-node. Usage: python3 openvino-onnx.py spec.json out.onnx

spec: {"opset": 13,
       "inputs":  [{"name", "shape"}],            float32 inputs
       "outputs": [{"name", "shape"}],
       "initializers": [{"name", "dtype": "float32"|"int64", "shape", "values"}],
       "nodes": [{"op", "inputs", "outputs", "attrs": {name: value}}]}
"""
import json
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main() -> None:
    spec_path, out_path = sys.argv[1], sys.argv[2]
    with open(spec_path) as f:
        spec = json.load(f)
    inputs = [helper.make_tensor_value_info(i["name"], TensorProto.FLOAT, i["shape"]) for i in spec["inputs"]]
    outputs = [helper.make_tensor_value_info(o["name"], TensorProto.FLOAT, o["shape"]) for o in spec["outputs"]]
    inits = []
    for t in spec["initializers"]:
        arr = np.array(t["values"], dtype=np.float32 if t["dtype"] == "float32" else np.int64).reshape(t["shape"])
        inits.append(numpy_helper.from_array(arr, t["name"]))
    nodes = [
        helper.make_node(n["op"], n["inputs"], n["outputs"], name=n.get("name", ""), **n.get("attrs", {}))
        for n in spec["nodes"]
    ]
    graph = helper.make_graph(nodes, "check", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", spec.get("opset", 13))])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, out_path)


if __name__ == "__main__":
    main()
