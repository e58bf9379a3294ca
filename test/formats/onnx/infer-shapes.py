"""Writes each model given with onnx's own shape inference (onnx.shape_inference,
the reference implementation) as value_info: an input's open dimensions are
set first, 1 for the first (the batch) and 64 for the others. The k-th model
(from 0) is written as OUT_DIR/k-<its name>: two packages ship different
models of one name.
Usage: infer-shapes.py OUT_DIR MODEL..."""
import os
import sys

import onnx
from onnx import shape_inference

out_dir = sys.argv[1]
for index, src in enumerate(sys.argv[2:]):
    model = onnx.load(src)
    initializers = {t.name for t in model.graph.initializer}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        for axis, dim in enumerate(value.type.tensor_type.shape.dim):
            if not dim.HasField("dim_value"):
                dim.Clear()
                dim.dim_value = 1 if axis == 0 else 64
    model = shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    onnx.save(model, os.path.join(out_dir, f"{index}-{os.path.basename(src)}"))
