#!/usr/bin/env python3
"""ONNX models with model-local functions, for functions.test.ts.

  functions.py build DIR        writes DIR/<case>.onnx for every case below
  functions.py inspect FILE...  prints a JSON line of facts about each FILE:
                                the full checker's verdict, the sha1 of each
                                function's FunctionProto and its op types, the
                                main graph's op types, the unknown fields of
                                each function (the fields onnx 1.12 does not know)

onnx 1.12 writes IR version 8 functions: name, inputs, outputs, attribute
names, nodes, doc_string, opset_import, domain. The fields of IR 10
(attribute_proto defaults, value_info, overload, metadata_props) are added as
encoded bytes, which protobuf keeps as unknown fields and writes back.
"""
import hashlib, json, os, sys
import numpy as np
import onnx
from onnx import TensorProto as TP, helper as h, numpy_helper as nh
from google.protobuf import unknown_fields

LOCAL = 'local'


def varint(v):
    out = b''
    while True:
        b, v = v & 0x7f, v >> 7
        if not v:
            return out + bytes([b])
        out += bytes([b | 0x80])


def ld(field, data):
    data = data.encode() if isinstance(data, str) else data
    return varint(field << 3 | 2) + varint(len(data)) + data


def const(name, array):
    return h.make_node('Constant', [], [name], name=name, value=nh.from_array(array, name))


def conv_bn_relu(rng):
    """Conv -> BatchNormalization -> Relu, its weights and statistics Constant nodes of the body."""
    nodes = [const('w', rng.uniform(-0.5, 0.5, (3, 3, 3, 3)).astype(np.float32)),
             const('scale', rng.uniform(0.5, 1.5, 3).astype(np.float32)),
             const('bias', rng.uniform(-0.5, 0.5, 3).astype(np.float32)),
             const('mean', rng.uniform(-0.5, 0.5, 3).astype(np.float32)),
             const('var', rng.uniform(0.2, 1.0, 3).astype(np.float32)),
             h.make_node('Conv', ['X', 'w'], ['c'], name='conv', pads=[1, 1, 1, 1]),
             h.make_node('BatchNormalization', ['c', 'scale', 'bias', 'mean', 'var'], ['b'], name='bn', epsilon=1e-3),
             h.make_node('Relu', ['b'], ['Y'], name='relu')]
    return h.make_function(LOCAL, 'ConvBnRelu', ['X'], ['Y'], nodes, [h.make_opsetid('', 15)], doc_string='conv, batchnorm, relu')


def bn_eps(rng):
    """A BatchNormalization whose epsilon is the caller's (ref_attr_name)."""
    bn = h.make_node('BatchNormalization', ['X', 'scale', 'bias', 'mean', 'var'], ['Y'], name='bn_ref')
    eps = bn.attribute.add()
    eps.name, eps.type, eps.ref_attr_name = 'epsilon', onnx.AttributeProto.FLOAT, 'eps'
    nodes = [const('scale', rng.uniform(0.5, 1.5, 3).astype(np.float32)),
             const('bias', rng.uniform(-0.5, 0.5, 3).astype(np.float32)),
             const('mean', rng.uniform(-0.5, 0.5, 3).astype(np.float32)),
             const('var', rng.uniform(0.2, 1.0, 3).astype(np.float32)),
             bn]
    return h.make_function(LOCAL, 'BnEps', ['X'], ['Y'], nodes, [h.make_opsetid('', 15)], attributes=['eps'])


def leaky():
    """LeakyRelu with the caller's alpha: no rule of core/batchnorm touches it."""
    node = h.make_node('LeakyRelu', ['X'], ['Y'], name='leaky')
    alpha = node.attribute.add()
    alpha.name, alpha.type, alpha.ref_attr_name = 'alpha', onnx.AttributeProto.FLOAT, 'alpha'
    return h.make_function(LOCAL, 'Leaky', ['X'], ['Y'], [node], [h.make_opsetid('', 15)], attributes=['alpha'])


def calls_model():
    """x -> ConvBnRelu -> ConvBnRelu -> BnEps{eps} -> Leaky{alpha} -> y: two calls of one function, two with attribute references."""
    rng = np.random.default_rng(7)
    nodes = [h.make_node('ConvBnRelu', ['x'], ['h1'], name='call1', domain=LOCAL),
             h.make_node('ConvBnRelu', ['h1'], ['h2'], name='call2', domain=LOCAL),
             h.make_node('BnEps', ['h2'], ['h3'], name='call3', domain=LOCAL, eps=1e-2),
             h.make_node('Leaky', ['h3'], ['y'], name='call4', domain=LOCAL, alpha=0.2)]
    g = h.make_graph(nodes, 'main', [h.make_tensor_value_info('x', TP.FLOAT, ['N', 3, 8, 8])],
                     [h.make_tensor_value_info('y', TP.FLOAT, ['N', 3, 8, 8])])
    m = h.make_model(g, opset_imports=[h.make_opsetid('', 15), h.make_opsetid(LOCAL, 1)],
                     functions=[conv_bn_relu(rng), bn_eps(rng), leaky()], producer_name='functions.py')
    m.ir_version = 8
    return m


def ir10_model():
    """IR 10: a function with an attribute default, value_info, an overload and metadata, called by its overload."""
    rng = np.random.default_rng(11)
    fn = conv_bn_relu(rng)
    node = fn.node[-1]
    node.CopyFrom(h.make_node('LeakyRelu', ['b'], ['Y'], name='leaky'))
    alpha = node.attribute.add()
    alpha.name, alpha.type, alpha.ref_attr_name = 'alpha', onnx.AttributeProto.FLOAT, 'alpha'
    default = h.make_attribute('alpha', 0.1)
    fn.MergeFromString(ld(11, default.SerializeToString())
                       + ld(12, h.make_tensor_value_info('X', TP.FLOAT, ['N', 3, 8, 8]).SerializeToString())
                       + ld(12, h.make_tensor_value_info('b', TP.FLOAT, ['N', 3, 8, 8]).SerializeToString())
                       + ld(13, 'v2')
                       + ld(14, ld(1, 'fk') + ld(2, 'fv')))
    call = h.make_node('ConvBnRelu', ['x'], ['y'], name='call', domain=LOCAL)
    call.MergeFromString(ld(8, 'v2'))
    g = h.make_graph([call], 'main', [h.make_tensor_value_info('x', TP.FLOAT, ['N', 3, 8, 8])],
                     [h.make_tensor_value_info('y', TP.FLOAT, ['N', 3, 8, 8])])
    m = h.make_model(g, opset_imports=[h.make_opsetid('', 21), h.make_opsetid(LOCAL, 1)], functions=[fn], producer_name='functions.py')
    m.ir_version = 10
    return m


def build(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for name, m in [('calls', calls_model()), ('ir10', ir10_model())]:
        with open(os.path.join(out_dir, name + '.onnx'), 'wb') as f:
            f.write(m.SerializeToString())


def inspect(path):
    m = onnx.load(path)
    try:
        onnx.checker.check_model(m, full_check=True)
        checker = None
    except Exception as e:  # the checker's verdict, for the test to compare
        checker = str(e).splitlines()[0][:300]
    print(json.dumps({
        'checker': checker,
        'main_ops': [n.op_type for n in m.graph.node],
        'functions': {f.name: {
            'sha1': hashlib.sha1(f.SerializeToString()).hexdigest(),
            'ops': [n.op_type for n in f.node],
            'unknown': len(unknown_fields.UnknownFieldSet(f)),
        } for f in m.functions},
    }), flush=True)


if __name__ == '__main__':
    if sys.argv[1] == 'build':
        build(sys.argv[2])
    else:
        for p in sys.argv[2:]:
            inspect(p)
