"""Runs TFLite models with ArmNN's TfLiteParser on the CpuRef backend.

Started by src/verify/armnn.ts for the int8/uint8 models LiteRT.js refuses.
Usage: armnn_runner.py REQUEST RESPONSE, both in the format of runner_wire.js
(a JSON header, then the tensors' raw bytes, each 8-aligned).
request: {"jobs": [{"model", "inputs"?: [{dtype, shape, data}], "inputsFrom"?, "seed"?}]}
response: {"results": [{"ok", "error"?, "inputs", "outputs": [{name, dtype, shape, data}]}]}
"""
import json
import struct
import sys

import numpy as np

import pyarmnn as ann

DTYPES = {
    ann.DataType_Float32: ("float32", np.float32),
    ann.DataType_Float16: ("float16", np.float16),
    ann.DataType_QAsymmU8: ("uint8", np.uint8),
    ann.DataType_QAsymmS8: ("int8", np.int8),
    ann.DataType_QSymmS8: ("int8", np.int8),
    ann.DataType_QSymmS16: ("int16", np.int16),
    ann.DataType_Signed32: ("int32", np.int32),
    ann.DataType_Boolean: ("bool", np.uint8),
}
NUMPY = {"float32": np.float32, "float16": np.float16, "uint8": np.uint8, "int8": np.int8,
         "int16": np.int16, "int32": np.int32, "bool": np.uint8, "int64": np.int64}


MAGIC = b"RCPW"


def align8(n):
    return (n + 7) & ~7


def read_message(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != MAGIC:
        raise RuntimeError("%s is not a runner message" % path)
    (header_length,) = struct.unpack_from("<I", data, 4)
    body = json.loads(data[8:8 + header_length].decode("utf-8"))
    base = align8(8 + header_length)
    view = memoryview(data)
    return body, lambda i: view[base + body["blobs"][i][0]: base + body["blobs"][i][0] + body["blobs"][i][1]]


def write_message(path, body, blobs):
    places, offset = [], 0
    for b in blobs:
        places.append([offset, len(b)])
        offset = align8(offset + len(b))
    header = json.dumps(dict(body, blobs=places)).encode("utf-8")
    base = align8(8 + len(header))
    with open(path, "wb") as f:
        f.write(MAGIC + struct.pack("<I", len(header)) + header)
        for (place, _), b in zip(places, blobs):
            f.seek(base + place)
            f.write(b)


class Blobs:
    def __init__(self):
        self.items = []

    def wire(self, name, array):
        array = np.ascontiguousarray(array)
        self.items.append(array.tobytes())
        return {"name": name, "dtype": str(array.dtype) if array.dtype != np.bool_ else "bool",
                "shape": list(array.shape), "data": len(self.items) - 1}


def unwire(t, data):
    return np.frombuffer(data, dtype=NUMPY[t["dtype"]]).reshape(t["shape"]).copy()


def run(job, previous, blob, blobs):
    parser = ann.ITfLiteParser()
    network = parser.CreateNetworkFromBinaryFile(job["model"])
    graph_id = 0
    input_names = parser.GetSubgraphInputTensorNames(graph_id)
    output_names = parser.GetSubgraphOutputTensorNames(graph_id)
    in_infos = [parser.GetNetworkInputBindingInfo(graph_id, n) for n in input_names]
    out_infos = [parser.GetNetworkOutputBindingInfo(graph_id, n) for n in output_names]

    runtime = ann.IRuntime(ann.CreationOptions())
    optimized, _messages = ann.Optimize(network, [ann.BackendId("CpuRef")], runtime.GetDeviceSpec(), ann.OptimizerOptions())
    net_id, _ = runtime.LoadNetwork(optimized)

    if job.get("inputs") is not None:
        arrays = [unwire(t, blob(t["data"])) for t in job["inputs"]]
    elif job.get("inputsFrom") is not None:
        arrays = [unwire(t, blobs.items[t["data"]]) for t in previous[job["inputsFrom"]]["inputs"]]
    else:
        rng = np.random.default_rng(job.get("seed", 1))
        arrays = []
        for _binding, info in in_infos:
            name, dtype = DTYPES.get(info.GetDataType(), (None, None))
            if dtype is None:
                raise RuntimeError("input data type %s is not supported by this runner" % info.GetDataType())
            shape = [info.GetShape()[i] for i in range(info.GetNumDimensions())]
            if np.issubdtype(dtype, np.floating):
                arrays.append(rng.uniform(-1, 1, shape).astype(dtype))
            else:
                info_min, info_max = np.iinfo(dtype).min, np.iinfo(dtype).max
                arrays.append(rng.integers(info_min, info_max, shape, endpoint=True).astype(dtype))

    for _binding, info in in_infos:
        if hasattr(info, "SetConstant"):  # newer ArmNN wants input infos marked constant
            info.SetConstant(True)
    input_tensors = ann.make_input_tensors(in_infos, arrays)
    output_tensors = ann.make_output_tensors(out_infos)
    runtime.EnqueueWorkload(net_id, input_tensors, output_tensors)
    results = ann.workload_tensors_to_ndarray(output_tensors)
    return {
        "ok": True,
        "inputs": [blobs.wire(n, a) for n, a in zip(input_names, arrays)],
        "outputs": [blobs.wire(n, a) for n, a in zip(output_names, results)],
    }


def main():
    request, blob = read_message(sys.argv[1])
    blobs = Blobs()
    results = []
    for job in request["jobs"]:
        try:
            results.append(run(job, results, blob, blobs))
        except Exception as e:  # the harness reports it per model
            results.append({"ok": False, "error": "%s: %s" % (type(e).__name__, e), "inputs": [], "outputs": []})
    write_message(sys.argv[2], {"results": results}, blobs.items)


if __name__ == "__main__":
    main()
