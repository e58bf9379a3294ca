#!/usr/bin/env python3
"""Reference checks of the ONNX codec with Python's onnx (C++ protobuf), run once per test file.

  onnx-check.py check PAIRS.json
      PAIRS.json is a list of [original, written]. Prints one JSON object per pair:
      {"equal": the two files decode to equal ModelProto messages,
       "checker_original"/"checker_written": null or onnx.checker's error}.

  onnx-check.py edit IN OUT EDITS.json
      Applies named edits to IN with onnx and saves OUT (the expected bytes of the
      same edit made through the codec). Edits: {"op": "set_int_attr", "node": i,
      "name": n, "value": v}, {"op": "rename_node", "node": i, "name": n},
      {"op": "scale_initializer", "name": n, "factor": f} (float32 raw_data),
      {"op": "set_input_dim", "input": i, "dim": d, "value": v}.
"""
import json, sys
import numpy as np
import onnx
from onnx import numpy_helper


def check(pairs_file):
    for original, written in json.load(open(pairs_file)):
        a = onnx.load(original, load_external_data=False)
        b = onnx.load(written, load_external_data=False)
        out = {"equal": a == b}
        for key, path in (("checker_original", original), ("checker_written", written)):
            try:
                onnx.checker.check_model(path)
                out[key] = None
            except Exception as e:  # the checker's verdict, reported to the test
                out[key] = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        print(json.dumps(out), flush=True)


def edit(src, dst, edits_file):
    m = onnx.load(src)
    for e in json.load(open(edits_file)):
        op = e["op"]
        if op == "set_int_attr":
            node = m.graph.node[e["node"]]
            for a in node.attribute:
                if a.name == e["name"]:
                    a.i = e["value"]
        elif op == "rename_node":
            m.graph.node[e["node"]].name = e["name"]
        elif op == "scale_initializer":
            for i, t in enumerate(m.graph.initializer):
                if t.name == e["name"]:
                    arr = numpy_helper.to_array(t).astype(np.float32) * np.float32(e["factor"])
                    t.raw_data = arr.astype(np.float32).tobytes()
        elif op == "set_input_dim":
            dim = m.graph.input[e["input"]].type.tensor_type.shape.dim[e["dim"]]
            dim.dim_value = e["value"]
        else:
            raise SystemExit(f"unknown edit {op}")
    onnx.save(m, dst)


if __name__ == "__main__":
    if sys.argv[1] == "check":
        check(sys.argv[2])
    elif sys.argv[1] == "edit":
        edit(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        raise SystemExit(__doc__)
