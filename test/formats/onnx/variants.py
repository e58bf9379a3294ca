#!/usr/bin/env python3
"""ONNX files as exporters and older or newer tools write them, for variants.test.ts.

  variants.py build DIR      writes DIR/<case>.onnx for every case below
  variants.py inspect FILE...  prints a JSON line of facts about each FILE:
                             checker verdict, initializers (name and sha1 of
                             the TensorProto), graph inputs, node names,
                             training and quantization names, denotations of
                             input 0, how many unknown fields each message holds

onnx 1.12 knows neither float8/int4 nor the fields newer onnx versions added
(FunctionProto.attribute_proto/value_info/overload/metadata_props, GraphProto/NodeProto
metadata_props): those are added as encoded bytes, which protobuf keeps as
unknown fields of the message and writes back after its known fields.
"""
import hashlib, json, os, struct, sys
import numpy as np
import onnx
from onnx import TensorProto as TP, helper as h, numpy_helper as nh
from google.protobuf import unknown_fields


def varint(v):
    v &= (1 << 64) - 1
    out = b''
    while True:
        b, v = v & 0x7f, v >> 7
        if not v:
            return out + bytes([b])
        out += bytes([b | 0x80])


def key(field, wire):
    return varint(field << 3 | wire)


def ld(field, data):
    data = data.encode() if isinstance(data, str) else data
    return key(field, 2) + varint(len(data)) + data


def vint(field, v):
    return key(field, 0) + varint(v)


def entry(k, v):
    return ld(1, k) + ld(2, v)


def extra(msg, data):
    """Adds encoded fields to a message; the ones it does not know stay as unknown fields."""
    msg.MergeFromString(data)
    return msg


def unknowns(n):
    """Four unknown fields, one of each wire type, numbered from n."""
    return vint(n, 42) + ld(n + 1, 'zz') + key(n + 2, 5) + b'\1\2\3\4' + key(n + 3, 1) + b'12345678'


def base_graph():
    """Conv -> BatchNormalization -> Abs -> Pow(2) -> Relu: every built-in bundle rewrites some of it."""
    inits = [nh.from_array(np.arange(9, dtype=np.float32).reshape(3, 3, 1, 1) / 10, 'w'),
             nh.from_array(np.array([1, 2, 3], np.float32), 'sc'),
             nh.from_array(np.array([0.1, 0.2, 0.3], np.float32), 'bi'),
             nh.from_array(np.array([0.0, 0.5, 1.0], np.float32), 'mn'),
             nh.from_array(np.array([1.0, 2.0, 0.5], np.float32), 'vr'),
             nh.from_array(np.array(2.0, np.float32), 'e')]
    nodes = [h.make_node('Conv', ['x', 'w'], ['c'], name='conv'),
             h.make_node('BatchNormalization', ['c', 'sc', 'bi', 'mn', 'vr'], ['b'], name='bn'),
             h.make_node('Abs', ['b'], ['a'], name='abs'),
             h.make_node('Pow', ['a', 'e'], ['p'], name='pow'),
             h.make_node('Relu', ['p'], ['y'], name='relu')]
    return h.make_graph(nodes, 'g', [h.make_tensor_value_info('x', TP.FLOAT, ['N', 3, 4, 4])],
                        [h.make_tensor_value_info('y', TP.FLOAT, ['N', 3, 4, 4])], inits)


def model(g, opset=13, ir=8):
    m = h.make_model(g, opset_imports=[h.make_opsetid('', opset)], producer_name='variants')
    m.ir_version = ir
    return m


def tensor(name, dtype, dims, **fields):
    t = TP(name=name, data_type=dtype, dims=dims)
    for k, v in fields.items():
        if k == 'raw_data':
            t.raw_data = v
        else:
            getattr(t, k).extend(v)
    return t


def cases():
    out = {'base': model(base_graph())}
    # ir_version 3 to 10 with their opsets; IR 3 lists every initializer as a graph input.
    for ir, opset in [(3, 8), (4, 9), (5, 10), (6, 11), (7, 12), (9, 19), (10, 21)]:
        g = base_graph()
        if ir == 3:
            g.input.extend(h.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in g.initializer)
        out[f'ir{ir}'] = model(g, opset, ir)

    # A local function (PyTorch exports them), with the fields of onnx 1.15/1.16 as bytes.
    g = base_graph()
    g.node[4].CopyFrom(h.make_node('MyRelu', ['p'], ['y'], name='myrelu', domain='pkg', alpha=0.5))
    fn = h.make_function('pkg', 'MyRelu', ['X'], ['Y'],
                         [h.make_node('Constant', [], ['k'], value_float=0.0), h.make_node('Max', ['X', 'k'], ['Y'])],
                         [h.make_opsetid('', 13)], [])
    fn.doc_string = 'relu as a function'
    extra(fn, ld(11, h.make_attribute('alpha', 0.5).SerializeToString()) + ld(12, h.make_tensor_value_info('k', TP.FLOAT, []).SerializeToString()) + ld(13, 'v1') + ld(14, entry('fk', 'fv')))
    extra(g.node[4], ld(8, 'v1'))
    m = model(g, 15)
    m.opset_import.append(h.make_opsetid('pkg', 1))
    m.functions.append(fn)
    out['function'] = m

    # Doc strings and metadata_props on every message that has them.
    m = model(base_graph())
    m.doc_string, m.graph.doc_string = 'model doc', 'graph doc'
    m.metadata_props.add(key='mk', value='mv')
    extra(m.graph, ld(16, entry('gk', 'gv')))
    for n in m.graph.node:
        n.doc_string = 'doc of ' + n.name
        extra(n, ld(9, entry('nk', n.name)))
    m.graph.node[0].attribute.append(h.make_attribute('kernel_shape', [1, 1], doc_string='attr doc'))
    m.graph.input[0].doc_string = 'input doc'
    extra(m.graph.input[0], ld(4, entry('vk', 'vv')))
    m.graph.initializer[0].doc_string = 'initializer doc'
    extra(m.graph.initializer[0], ld(16, entry('tk', 'tv')))
    out['metadata'] = m

    # Training info binding two initializers the bundles fold away.
    m = model(base_graph())
    ti = m.training_info.add()
    ti.initialization.CopyFrom(h.make_graph([h.make_node('Identity', ['sc'], ['sc_init'])], 'init', [],
                                            [h.make_tensor_value_info('sc_init', TP.FLOAT, [3])]))
    ti.initialization_binding.add(key='sc', value='sc_init')
    ti.algorithm.CopyFrom(h.make_graph([h.make_node('Mul', ['bi', 'mn'], ['bi_new'])], 'algorithm', [],
                                       [h.make_tensor_value_info('bi_new', TP.FLOAT, [3])]))
    ti.update_binding.add(key='bi', value='bi_new')
    out['training'] = m

    # A quantization annotation naming initializers no node reads.
    g = base_graph()
    g.initializer.extend([nh.from_array(np.array(0.1, np.float32), 'c_scale'), nh.from_array(np.array(0, np.uint8), 'c_zp')])
    qa = g.quantization_annotation.add(tensor_name='c')
    qa.quant_parameter_tensor_names.add(key='SCALE_TENSOR', value='c_scale')
    qa.quant_parameter_tensor_names.add(key='ZERO_POINT_TENSOR', value='c_zp')
    out['quant_annotation'] = model(g)

    # Denotations and unknown fields on input 0's type, at every level of it.
    m = model(base_graph())
    t = m.graph.input[0].type
    t.denotation = 'IMAGE'
    dims = t.tensor_type.shape.dim
    dims[0].denotation, dims[1].denotation = 'DATA_BATCH', 'DATA_CHANNEL'
    for msg in (t, t.tensor_type, t.tensor_type.shape, dims[0], dims[1]):
        extra(msg, unknowns(1000))
    # ... and on every other message kind.
    for msg in (m, m.graph, m.graph.input[0], m.graph.initializer[0], m.opset_import[0], *m.graph.node):
        extra(msg, unknowns(1000))
    extra(m.graph.node[0].attribute.add(), ld(1, 'strides') + vint(20, 7) + vint(8, 1) + vint(8, 1) + unknowns(1000))
    extra(m.graph, key(2000, 3) + vint(1, 5) + key(2000, 4))  # a group
    out['unknown_fields'] = m

    # Inputs and value infos of every type kind, and a sparse initializer.
    g = base_graph()
    seq_type = h.make_sequence_type_proto(h.make_tensor_type_proto(TP.FLOAT, [2, None]))
    map_type = onnx.TypeProto()
    map_type.map_type.key_type = TP.INT64
    map_type.map_type.value_type.CopyFrom(h.make_tensor_type_proto(TP.FLOAT, []))
    g.input.extend([h.make_value_info('seq_in', seq_type), h.make_value_info('map_in', map_type),
                    h.make_value_info('opt_in', h.make_optional_type_proto(h.make_tensor_type_proto(TP.FLOAT, [3]))),
                    h.make_sparse_tensor_value_info('sp_in', TP.FLOAT, [4, 4])])
    g.node.extend([h.make_node('SequenceLength', ['seq_in'], ['seq_len']), h.make_node('OptionalHasElement', ['opt_in'], ['has'])])
    g.output.extend([h.make_tensor_value_info('seq_len', TP.INT64, []), h.make_tensor_value_info('has', TP.BOOL, [])])
    g.value_info.append(h.make_tensor_value_info('c', TP.FLOAT, [None, 3, 4, 4]))
    g.sparse_initializer.append(h.make_sparse_tensor(nh.from_array(np.array([1.0, 2.0], np.float32), 'sw'),
                                                     nh.from_array(np.array([0, 5], np.int64), 'sw_idx'), [3, 3]))
    g.node.append(h.make_node('Add', ['sw', 'sw'], ['sw2']))
    g.output.append(h.make_tensor_value_info('sw2', TP.FLOAT, [3, 3]))
    out['type_kinds'] = model(g, 18)

    # Tensors with their data in the typed fields, of every data type that has one.
    g = base_graph()
    for t in [tensor('t_bf16', TP.BFLOAT16, [3], int32_data=[0x3f80, 0x4000, 0xc040]),
              tensor('t_f16', TP.FLOAT16, [2], int32_data=[0x3c00, 0x4000]),
              tensor('t_bool', TP.BOOL, [3], int32_data=[1, 0, 1]),
              tensor('t_i8', TP.INT8, [3], int32_data=[-1, 5, 127]),
              tensor('t_u16', TP.UINT16, [2], int32_data=[65535, 1]),
              tensor('t_i64', TP.INT64, [2], int64_data=[-2**63, 2**63 - 1]),
              tensor('t_u32', TP.UINT32, [2], uint64_data=[2**32 - 1, 0]),
              tensor('t_u64', TP.UINT64, [2], uint64_data=[2**64 - 1, 7]),
              tensor('t_f64', TP.DOUBLE, [2], double_data=[1.5, -2.25]),
              tensor('t_str', TP.STRING, [3], string_data=[b'a', b'', b'\xff\xfe']),
              tensor('t_empty', TP.FLOAT, [0, 3]),
              tensor('t_scalar', TP.FLOAT, [], float_data=[3.5])]:
        g.initializer.append(t)
        g.node.append(h.make_node('Identity', [t.name], [t.name + '_o']))
        g.output.append(h.make_tensor_value_info(t.name + '_o', t.data_type, list(t.dims)))
    seg = tensor('t_segment', TP.FLOAT, [2], float_data=[1, 2])
    seg.segment.begin, seg.segment.end = 0, 2
    g.initializer.append(seg)
    out['typed_data'] = model(g, 17)

    # float8, int4, uint4 (odd count), float4: raw and in int32_data, cast to float.
    g = base_graph()
    for t in [tensor('f8e4m3fn', 17, [3], raw_data=bytes([0x38, 0xb8, 0x7e])),
              tensor('f8e4m3fnuz', 18, [2], int32_data=[0x40, 0x01]),
              tensor('f8e5m2', 19, [2], raw_data=bytes([0x3c, 0x7b])),
              tensor('f8e5m2fnuz', 20, [2], int32_data=[0x40, 0x80]),
              tensor('u4', 21, [3], raw_data=bytes([0x21, 0x03])),
              tensor('i4', 22, [5], int32_data=[0x21, 0xf3, 0x07]),
              tensor('i4_one', 22, [1], raw_data=bytes([0x0f]))]:
        g.initializer.append(t)
        g.node.append(h.make_node('Cast', [t.name], [t.name + '_f'], to=TP.FLOAT))
        g.output.append(h.make_tensor_value_info(t.name + '_f', TP.FLOAT, list(t.dims)))
    g.initializer.append(tensor('f4', 23, [3], raw_data=bytes([0x21, 0x03])))
    out['float8_int4'] = model(g, 21, 10)

    # Domains: 'ai.onnx' spelled out on nodes and opsets, an opset listed twice.
    m = model(base_graph())
    for n in m.graph.node:
        n.domain = 'ai.onnx'
    m.opset_import.append(h.make_opsetid('ai.onnx', 13))
    out['domain_ai_onnx'] = m
    m = model(base_graph())
    m.opset_import.append(h.make_opsetid('', 13))
    out['opset_twice'] = m

    # A dim with neither value nor name, a value info with -1 and 0 dims, a batch of 0.
    g = base_graph()
    g.input[0].type.tensor_type.shape.dim[2].ClearField('dim_value')
    g.value_info.append(h.make_tensor_value_info('b', TP.FLOAT, [-1, 3, 0, 4]))
    out['odd_dims'] = model(g)
    return out


def packed_model():
    """Repeated fields written the other way: float_data unpacked, dims and an ints attribute packed."""
    g = base_graph()
    unpacked = ld(8, 'up') + vint(2, TP.FLOAT) + vint(1, 3) + b''.join(key(4, 5) + struct.pack('<f', v) for v in (1.0, 2.0, 3.0))
    packed = ld(1, varint(2) + varint(2)) + vint(2, TP.INT64) + ld(8, 'pd') + ld(7, b''.join(varint(v) for v in (5, 6, 7, 8)))
    transpose = h.make_node('Transpose', ['pd'], ['pdt']).SerializeToString() + ld(5, ld(1, 'perm') + vint(20, 7) + ld(8, varint(1) + varint(0)))
    gb = g.SerializeToString() + ld(5, unpacked) + ld(5, packed)
    gb += ld(1, h.make_node('Identity', ['up'], ['up_o']).SerializeToString()) + ld(12, h.make_tensor_value_info('up_o', TP.FLOAT, [3]).SerializeToString())
    gb += ld(1, transpose) + ld(12, h.make_tensor_value_info('pdt', TP.INT64, [2, 2]).SerializeToString())
    m = model(onnx.GraphProto())
    m.ClearField('graph')
    return m.SerializeToString() + ld(7, gb)


def build(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for name, m in cases().items():
        with open(os.path.join(out_dir, name + '.onnx'), 'wb') as f:
            f.write(m.SerializeToString())
    with open(os.path.join(out_dir, 'packed.onnx'), 'wb') as f:
        f.write(packed_model())


def count_unknown(msg, path, acc):
    n = len(unknown_fields.UnknownFieldSet(msg))
    if n:
        acc[path] = n
    for fd, v in msg.ListFields():
        if fd.type != fd.TYPE_MESSAGE:
            continue
        if fd.label == fd.LABEL_REPEATED:
            for i, x in enumerate(v):
                count_unknown(x, f'{path}.{fd.name}[{i}]', acc)
        else:
            count_unknown(v, f'{path}.{fd.name}', acc)


def inspect(path):
    m = onnx.load(path, load_external_data=False)
    try:
        onnx.checker.check_model(m)
        checker = None
    except Exception as e:  # the checker's verdict, for the test to compare
        checker = str(e).splitlines()[0][:200]
    unknown = {}
    count_unknown(m, 'model', unknown)
    t = m.graph.input[0].type if m.graph.input else onnx.TypeProto()
    print(json.dumps({
        'checker': checker,
        'initializers': {x.name: hashlib.sha1(x.SerializeToString()).hexdigest() for x in m.graph.initializer},
        'inputs': [x.name for x in m.graph.input],
        'nodes': [n.name for n in m.graph.node],
        'training_names': [b.key for ti in m.training_info for b in list(ti.initialization_binding) + list(ti.update_binding)]
        + [i for ti in m.training_info for n in ti.algorithm.node for i in n.input],
        'annotation_names': [q.tensor_name for q in m.graph.quantization_annotation]
        + [p.value for q in m.graph.quantization_annotation for p in q.quant_parameter_tensor_names],
        'input0': {'denotation': t.denotation,
                   'dims': [[d.dim_value if d.HasField('dim_value') else d.dim_param, d.denotation] for d in t.tensor_type.shape.dim]},
        'unknown': unknown,
    }), flush=True)


if __name__ == '__main__':
    if sys.argv[1] == 'build':
        build(sys.argv[2])
    else:
        for path in sys.argv[2:]:
            inspect(path)
