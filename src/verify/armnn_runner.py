"""Runs TFLite models with ArmNN's TfLiteParser on the CpuRef backend.

Started by src/verify/armnn.ts for the int8/uint8 models LiteRT.js refuses.
stdin: JSON {"jobs": [{"model", "inputs"?: [{dtype, shape, data(base64)}], "inputsFrom"?, "seed"?}]}
stdout: JSON [{"ok", "error"?, "inputs", "outputs": [{name, dtype, shape, data}]}]
"""
import base64
import json
import os
import sys

import numpy as np

# pyarmnn prints notes about parsers it lacks; keep stdout for our JSON.
_stdout = sys.stdout
sys.stdout = sys.stderr
import pyarmnn as ann  # noqa: E402
sys.stdout = _stdout

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


def wire(name, array):
    array = np.ascontiguousarray(array)
    return {"name": name, "dtype": str(array.dtype) if array.dtype != np.bool_ else "bool",
            "shape": list(array.shape), "data": base64.b64encode(array.tobytes()).decode("ascii")}


def unwire(t):
    return np.frombuffer(base64.b64decode(t["data"]), dtype=NUMPY[t["dtype"]]).reshape(t["shape"]).copy()


def run(job, previous):
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
        arrays = [unwire(t) for t in job["inputs"]]
    elif job.get("inputsFrom") is not None:
        arrays = [unwire(t) for t in previous[job["inputsFrom"]]["inputs"]]
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
        "inputs": [wire(n, a) for n, a in zip(input_names, arrays)],
        "outputs": [wire(n, a) for n, a in zip(output_names, results)],
    }


def main():
    request = json.load(sys.stdin)
    results = []
    for job in request["jobs"]:
        try:
            results.append(run(job, results))
        except Exception as e:  # the harness reports it per model
            results.append({"ok": False, "error": "%s: %s" % (type(e).__name__, e), "inputs": [], "outputs": []})
    sys.stdout.write(json.dumps(results))


if __name__ == "__main__":
    main()
