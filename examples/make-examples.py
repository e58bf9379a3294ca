#!/usr/bin/env python3
"""Makes the example models shipped in examples/ (run with Debian's python3-onnx):

    /usr/bin/python3 examples/make-examples.py

tiny-bn.onnx: Conv -> BatchNormalization -> Relu on a 1x3x8x8 input, with fixed
pseudo-random weights (seeded), a few KB: the model of the README's first command.
"""
import os
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def tiny_bn():
    rng = np.random.default_rng(7)
    inits = [
        numpy_helper.from_array((rng.standard_normal((4, 3, 3, 3)) * 0.3).astype(np.float32), "conv.weight"),
        numpy_helper.from_array(rng.standard_normal(4).astype(np.float32) * 0.1, "conv.bias"),
        numpy_helper.from_array((rng.random(4) + 0.5).astype(np.float32), "bn.scale"),
        numpy_helper.from_array(rng.standard_normal(4).astype(np.float32) * 0.1, "bn.bias"),
        numpy_helper.from_array(rng.standard_normal(4).astype(np.float32) * 0.1, "bn.mean"),
        numpy_helper.from_array((rng.random(4) + 0.5).astype(np.float32), "bn.var"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["conv_out"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["conv_out", "bn.scale", "bn.bias", "bn.mean", "bn.var"], ["bn_out"],
                         name="bn", epsilon=1e-5),
        helper.make_node("Relu", ["bn_out"], ["output"], name="relu"),
    ]
    graph = helper.make_graph(
        nodes, "tiny-bn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 8, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 4, 8, 8])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="recipe-examples")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, "tiny-bn.onnx"))


if __name__ == "__main__":
    tiny_bn()
