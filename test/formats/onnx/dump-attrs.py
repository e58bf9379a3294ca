"""Prints every node's attributes (scalars and lists) of each model given, as JSON, read by python onnx: an
independent view for the test of attributes decoded on first use (lazy-attrs.test.ts)."""
import json, sys
import onnx
from onnx import AttributeProto as A

def value(a):
    if a.type == A.FLOAT: return ['float', a.f]
    if a.type == A.INT: return ['int', a.i]
    if a.type == A.FLOATS: return ['floats', list(a.floats)]
    if a.type == A.INTS: return ['ints', list(a.ints)]
    if a.type == A.STRING: return ['string', a.s.decode('utf-8', 'replace')]
    if a.type == A.STRINGS: return ['strings', [s.decode('utf-8', 'replace') for s in a.strings]]
    if a.type == A.TENSOR: return ['tensor', list(a.t.dims)]
    if a.type == A.TENSORS: return ['tensors', len(a.tensors)]
    if a.type in (A.GRAPH, A.GRAPHS): return ['graph', a.type]
    return ['other', a.type]

def graph(g):
    return [[n.name, n.op_type, [[a.name] + value(a) for a in n.attribute]] for n in g.node]

print(json.dumps({path: graph(onnx.load(path, load_external_data=False).graph) for path in sys.argv[1:]}))
