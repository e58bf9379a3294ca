#!/usr/bin/python3
"""Writes src/recipe/ops/onnx-attrs.json: the attributes of every ONNX
default-domain op, with their kinds, the union over all versions of the op.

Source: the operator schemas registered in the installed onnx package (Debian's
python3-onnx, onnx 1.12: opsets up to 17), plus ADDED below: the attributes
that later opsets (18-24) added to ops that onnx 1.12 already has, from the
ONNX changelog. Ops new in those opsets are not listed, and recipe leaves
their attributes unchecked.

Usage: /usr/bin/python3 scripts/gen-onnx-attrs.py > src/recipe/ops/onnx-attrs.json
"""
import json
import sys

import onnx
from onnx import AttributeProto as A
from onnx import defs

KINDS = {
    A.FLOAT: "float", A.INT: "int", A.STRING: "string", A.TENSOR: "tensor", A.GRAPH: "graph",
    A.FLOATS: "floats", A.INTS: "ints", A.STRINGS: "strings", A.TENSORS: "tensors", A.GRAPHS: "graphs",
    A.SPARSE_TENSOR: "sparse_tensor", A.SPARSE_TENSORS: "sparse_tensors", A.TYPE_PROTO: "type_proto", A.TYPE_PROTOS: "type_protos",
}

REDUCE = ["ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare"]

# Attributes added after opset 17 to ops of opsets <= 17 (ONNX docs/Changelog.md).
ADDED = {
    "AveragePool": {"dilations": "ints"},                      # 19
    "Cast": {"saturate": "int", "round_mode": "string"},       # 19, 24
    "CastLike": {"saturate": "int", "round_mode": "string"},   # 19, 24
    "DequantizeLinear": {"block_size": "int", "output_dtype": "int"},  # 21, 23
    "LpPool": {"ceil_mode": "int"},                            # 18
    "QuantizeLinear": {"saturate": "int", "block_size": "int", "output_dtype": "int", "precision": "int"},  # 19, 21, 23
    "Resize": {"antialias": "int", "axes": "ints", "keep_aspect_ratio_policy": "string"},  # 18
    "Split": {"num_outputs": "int"},                           # 18
    **{op: {"noop_with_empty_axes": "int"} for op in REDUCE},  # 18
}


def main() -> None:
    ops: dict = {}
    for schema in defs.get_all_schemas_with_history():
        if schema.domain != "":
            continue
        attrs = ops.setdefault(schema.name, {})
        for name, attr in schema.attributes.items():
            kinds = attrs.setdefault(name, [])
            if KINDS[attr.type] not in kinds:
                kinds.append(KINDS[attr.type])
    for op, added in ADDED.items():
        attrs = ops.setdefault(op, {})
        for name, kind in added.items():
            kinds = attrs.setdefault(name, [])
            if kind not in kinds:
                kinds.append(kind)
    out = {
        "source": f"ONNX operator schemas of onnx {onnx.__version__} (opsets up to {defs.onnx_opset_version()}), union over versions, "
        "plus attributes later opsets added to those ops (scripts/gen-onnx-attrs.py): op -> attribute -> kinds",
        "ops": {op: {name: kinds[0] if len(kinds) == 1 else kinds for name, kinds in sorted(attrs.items())} for op, attrs in sorted(ops.items())},
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
