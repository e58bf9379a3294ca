#!/usr/bin/env python3
"""ONNX models with model-local functions, for functions.test.ts.

  functions.py build DIR        writes DIR/<case>.onnx for every case below
  functions.py hostile DIR      writes DIR/<case>.onnx for every hostile case
                                (see HOSTILE), for functions-hostile.test.ts
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


# ---- hostile cases (functions-hostile.test.ts says what each must give) ----

HOSTILE = {}


def hostile(fn):
    HOSTILE[fn.__name__] = fn
    return fn


def local_fn(name, nodes, inputs=('X',), outputs=('Y',), attributes=(), overload=None):
    f = h.make_function(LOCAL, name, list(inputs), list(outputs), nodes, [h.make_opsetid('', 17), h.make_opsetid(LOCAL, 1)],
                        attributes=list(attributes))
    if overload is not None:
        f.MergeFromString(ld(13, overload))
    return f


def call(op, inputs=('x',), outputs=('y',), overload=None, **attrs):
    node = h.make_node(op, list(inputs), list(outputs), name='call_' + op, domain=LOCAL, **attrs)
    if overload is not None:
        node.MergeFromString(ld(8, overload))
    return node


def one_call_model(main_nodes, functions, ir_version=8, inputs=('x',)):
    """x: float[2, 3] (and c: bool, when asked) -> main_nodes -> y."""
    ins = [h.make_tensor_value_info('x', TP.FLOAT, [2, 3])]
    if 'c' in inputs:
        ins.append(h.make_tensor_value_info('c', TP.BOOL, []))
    g = h.make_graph(main_nodes, 'main', ins, [h.make_tensor_value_info('y', TP.FLOAT, [2, 3])])
    m = h.make_model(g, opset_imports=[h.make_opsetid('', 17), h.make_opsetid(LOCAL, 1)], functions=functions, producer_name='functions.py')
    m.ir_version = ir_version
    return m


def constants(names, n=3):
    return [const(name, np.full(n, 0.5 + k, np.float32)) for k, name in enumerate(names)]


def branch(name, nodes, output):
    return h.make_graph(nodes, name, [], [h.make_tensor_value_info(output, TP.FLOAT, None)])


@hostile
def recursive_self():
    """F's body calls F."""
    return one_call_model([call('F')], [local_fn('F', [h.make_node('F', ['X'], ['Y'], name='again', domain=LOCAL)])])


@hostile
def recursive_mutual():
    """F calls G, and G calls F from inside an If branch."""
    then = branch('then', [h.make_node('F', ['X'], ['t'], name='back_to_F', domain=LOCAL)], 't')
    other = branch('else', [h.make_node('Relu', ['X'], ['e'], name='relu')], 'e')
    g_body = [h.make_node('If', ['C'], ['Y'], name='if', then_branch=then, else_branch=other)]
    return one_call_model([call('F', ['x', 'c'])], [local_fn('F', [h.make_node('G', ['X', 'C'], ['Y'], name='to_G', domain=LOCAL)], inputs=('X', 'C')),
                                                  local_fn('G', g_body, inputs=('X', 'C'))], inputs=('x', 'c'))


@hostile
def recursive_chain():
    """F0 calls F1, which calls F2, ... F999, which calls F0."""
    fns = [local_fn(f'F{i}', [h.make_node(f'F{(i + 1) % 1000}', ['X'], ['Y'], name=f'to_F{(i + 1) % 1000}', domain=LOCAL)]) for i in range(1000)]
    return one_call_model([call('F0')], fns)


@hostile
def overload_calls():
    """IR 10: F overload a calls F overload b, a function of its own: no recursion."""
    to_b = h.make_node('F', ['X'], ['Y'], name='to_b', domain=LOCAL)
    to_b.MergeFromString(ld(8, 'b'))
    return one_call_model([call('F', overload='a')], [local_fn('F', [to_b], overload='a'),
                                                      local_fn('F', [h.make_node('Neg', ['X'], ['Y'], name='neg')], overload='b')], ir_version=10)


@hostile
def duplicate():
    """Two functions local::F (no overloads: IR 8), with different bodies."""
    return one_call_model([call('F')], [local_fn('F', [h.make_node('Relu', ['X'], ['Y'], name='relu')]),
                                        local_fn('F', [h.make_node('Neg', ['X'], ['Y'], name='neg')])])


@hostile
def undefined_name():
    """F's body adds 'ghost', which nothing in it defines (a body sees nothing outside it)."""
    return one_call_model([call('F')], [local_fn('F', [h.make_node('Add', ['X', 'ghost'], ['Y'], name='add')])])


@hostile
def ref_undeclared():
    """A BatchNormalization whose epsilon refers to 'nope', which F does not declare."""
    bn = h.make_node('BatchNormalization', ['X', 'scale', 'bias', 'mean', 'var'], ['Y'], name='bn')
    eps = bn.attribute.add()
    eps.name, eps.type, eps.ref_attr_name = 'epsilon', onnx.AttributeProto.FLOAT, 'nope'
    return one_call_model([call('F')], [local_fn('F', constants(['scale', 'bias', 'mean', 'var']) + [bn])])


@hostile
def cycle():
    """F's body: two Relus that read each other."""
    nodes = [h.make_node('Relu', ['b'], ['a'], name='relu_a'), h.make_node('Relu', ['a'], ['b'], name='relu_b'),
             h.make_node('Add', ['X', 'a'], ['Y'], name='add')]
    return one_call_model([call('F')], [local_fn('F', nodes)])


@hostile
def zero_outputs():
    """F has no outputs; main calls it with none, and computes y by a Relu of its own."""
    main = [call('F', outputs=()), h.make_node('Relu', ['x'], ['y'], name='relu')]
    return one_call_model(main, [local_fn('F', [h.make_node('Relu', ['X'], ['Y'], name='relu')], outputs=())])


def nested_ifs(depth):
    """F's body: an If whose then branch holds an If, `depth` deep (else branches are flat: the file stays small)."""
    inner = branch('g0', [h.make_node('Relu', ['X'], ['t0'], name='leaf')], 't0')
    for d in range(1, depth + 1):
        flat = branch(f'e{d}', [h.make_node('Neg', ['X'], [f'e{d}'], name=f'neg{d}')], f'e{d}')
        node = h.make_node('If', ['C'], [f't{d}'], name=f'if{d}', then_branch=inner, else_branch=flat)
        inner = branch(f'g{d}', [node], f't{d}')
    body = [inner.node[0], h.make_node('Identity', [inner.output[0].name], ['Y'], name='out')]
    return one_call_model([call('F', ['x', 'c'])], [local_fn('F', body, inputs=('X', 'C'))], inputs=('x', 'c'))


@hostile
def nested_100():
    return nested_ifs(100)


@hostile
def nested_60():
    return nested_ifs(60)


@hostile
def huge_dims():
    """A Constant of F's body whose dims ask for 2^90 floats, holding 3."""
    k = const('k', np.ones(3, np.float32))
    del k.attribute[0].t.dims[:]
    k.attribute[0].t.dims.extend([2 ** 30] * 3)
    return one_call_model([call('F')], [local_fn('F', [k, h.make_node('Add', ['X', 'k'], ['Y'], name='add')])])


@hostile
def huge_shape():
    """IR 10: the BatchNormalization's input declared (value_info) with 100,000 dims of 2^53 - 1."""
    bn = h.make_node('BatchNormalization', ['X', 'scale', 'bias', 'mean', 'var'], ['Y'], name='bn')
    f = local_fn('F', constants(['scale', 'bias', 'mean', 'var']) + [bn])
    f.MergeFromString(ld(12, h.make_tensor_value_info('X', TP.FLOAT, [2 ** 53 - 1] * 100_000).SerializeToString()))
    return one_call_model([call('F')], [f], ir_version=10)


@hostile
def huge_length():
    """A last functions field (ModelProto 25) whose length says 2^40 bytes: the file ends after 3."""
    good = undefined_name().SerializeToString()
    return good + varint(25 << 3 | 2) + varint(2 ** 40) + ld(1, 'F')


def write_hostile(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for name, make in HOSTILE.items():
        m = make()
        with open(os.path.join(out_dir, name + '.onnx'), 'wb') as f:
            f.write(m if isinstance(m, bytes) else m.SerializeToString())


def external_model(out_dir):
    """x -> Shifted -> y: the function's Constant holds its data in external.bin (python onnx writes no such file, some tools do)."""
    w = np.arange(600, dtype=np.float32).reshape(2, 300)
    with open(os.path.join(out_dir, 'external.bin'), 'wb') as f:
        f.write(b'\0' * 64 + w.tobytes())
    t = nh.from_array(w, 'w')
    t.ClearField('raw_data')
    t.data_location = TP.EXTERNAL
    for k, v in [('location', 'external.bin'), ('offset', '64'), ('length', str(w.nbytes))]:
        e = t.external_data.add()
        e.key, e.value = k, v
    body = [h.make_node('Constant', [], ['W'], name='w', value=t), h.make_node('Add', ['X', 'W'], ['Y'], name='add')]
    fn = h.make_function(LOCAL, 'Shifted', ['X'], ['Y'], body, [h.make_opsetid('', 15)])
    g = h.make_graph([h.make_node('Shifted', ['x'], ['y'], name='call', domain=LOCAL)], 'main',
                     [h.make_tensor_value_info('x', TP.FLOAT, [2, 300])], [h.make_tensor_value_info('y', TP.FLOAT, [2, 300])])
    m = h.make_model(g, opset_imports=[h.make_opsetid('', 15), h.make_opsetid(LOCAL, 1)], functions=[fn], producer_name='functions.py')
    m.ir_version = 8
    return m


def build(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for name, m in [('calls', calls_model()), ('ir10', ir10_model()), ('external', external_model(out_dir))]:
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
    elif sys.argv[1] == 'hostile':
        write_hostile(sys.argv[2])
    else:
        for p in sys.argv[2:]:
            inspect(p)
