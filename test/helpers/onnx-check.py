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
      {"op": "set_input_dim", "input": i, "dim": d, "value": v},
      {"op": "rename_value", "from": old, "to": new} (main graph only).

  onnx-check.py external IN OUT LOCATION     (save_as_external_data, threshold 1 KiB)
  onnx-check.py hostile OUT LOCATION OFFSET LENGTH   ("-" leaves an entry out)
  onnx-check.py tensors DIR     (TensorProtos with typed data fields, and their values)
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
        elif op == "rename_value":
            old, new = e["from"], e["to"]
            for n in m.graph.node:
                n.input[:] = [new if x == old else x for x in n.input]
                n.output[:] = [new if x == old else x for x in n.output]
            for vi in list(m.graph.input) + list(m.graph.output) + list(m.graph.value_info):
                if vi.name == old:
                    vi.name = new
            for t in m.graph.initializer:
                if t.name == old:
                    t.name = new
        elif op == "set_input_dim":
            dim = m.graph.input[e["input"]].type.tensor_type.shape.dim[e["dim"]]
            dim.dim_value = e["value"]
        else:
            raise SystemExit(f"unknown edit {op}")
    onnx.save(m, dst)


def external(src, dst, location):
    """Saves SRC with every tensor of 1 KiB or more in one external file LOCATION beside DST."""
    m = onnx.load(src)
    onnx.save_model(m, dst, save_as_external_data=True, all_tensors_to_one_file=True, location=location, size_threshold=1024)


def hostile(dst, location, offset, length):
    """A one-Add model whose initializer 'w' (4 floats) claims to live at LOCATION[offset:offset+length]."""
    from onnx import helper, TensorProto
    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4], data_location=TensorProto.EXTERNAL)
    for k, v in (("location", location), ("offset", offset), ("length", length)):
        if v != "-":
            e = w.external_data.add()
            e.key, e.value = k, v
    g = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"], name="add")], "hostile",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])], [w])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), dst)


def tensors(out_dir):
    """Writes TensorProtos that keep their data in the typed fields (not raw_data), one .pb each,
    and expected.json: name -> {"dtype", "dims", "values"} (numbers as floats, int64 as strings)."""
    import os
    from onnx import helper, TensorProto
    cases = {
        "f32": (TensorProto.FLOAT, [2, 2], [1.5, -2.0, 3.25, 0.0]),
        "f64": (TensorProto.DOUBLE, [3], [1e-300, -2.5, 7.0]),
        "f16": (TensorProto.FLOAT16, [3], [0.5, -1.0, 65504.0]),
        "bf16": (TensorProto.BFLOAT16, [2], [1.0, -3.0]),
        "i8": (TensorProto.INT8, [4], [-128, -1, 0, 127]),
        "u8": (TensorProto.UINT8, [3], [0, 128, 255]),
        "i16": (TensorProto.INT16, [2], [-32768, 32767]),
        "u16": (TensorProto.UINT16, [2], [0, 65535]),
        "i32": (TensorProto.INT32, [3], [-2147483648, 0, 2147483647]),
        "i64": (TensorProto.INT64, [3], [-9223372036854775808, 1, 9223372036854775807]),
        "u32": (TensorProto.UINT32, [2], [0, 4294967295]),
        "u64": (TensorProto.UINT64, [2], [0, 18446744073709551615]),
        "bool": (TensorProto.BOOL, [3], [True, False, True]),
        "str": (TensorProto.STRING, [2], [b"abc", "h\u00e9".encode()]),
    }
    expected = {}
    for name, (dtype, dims, vals) in cases.items():
        t = helper.make_tensor(name, dtype, dims, vals, raw=False)
        assert not t.HasField("raw_data")
        open(os.path.join(out_dir, name + ".pb"), "wb").write(t.SerializeToString())
        arr = onnx.numpy_helper.to_array(t)
        if dtype == TensorProto.STRING:
            values = [v.decode() if isinstance(v, bytes) else v for v in arr.flatten().tolist()]
        elif dtype in (TensorProto.INT64, TensorProto.UINT64):
            values = [str(int(v)) for v in arr.flatten().tolist()]
        else:
            values = [float(v) for v in arr.astype(np.float64).flatten().tolist()]
        expected[name] = {"dims": dims, "values": values}
    json.dump(expected, open(os.path.join(out_dir, "expected.json"), "w"))


if __name__ == "__main__":
    if sys.argv[1] == "check":
        check(sys.argv[2])
    elif sys.argv[1] == "external":
        external(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == "tensors":
        tensors(sys.argv[2])
    elif sys.argv[1] == "hostile":
        hostile(*sys.argv[2:6])
    elif sys.argv[1] == "edit":
        edit(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        raise SystemExit(__doc__)
