import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../../../src/cli/main';
import type { Io } from '../../../src/cli/command';
import { ModelError } from '../../../src/errors';
import { readModel, writeModel } from '../../../src/formats';
import { cleanup } from '../../../src/ir/passes';
import { Tensor } from '../../../src/ir/tensor';
import { ROOT, tempDir } from '../../helpers/corpus';
import { constRanges, xmlTreeOf } from '../../helpers/openvino-build';
import { binary, body, bytes, constLayer, type Edge, floats, int64s, layer, net, param, port, PRECISION, recurrentTensorIterator, result, Weights, ifLayer } from '../../helpers/ir-xml';

/**
 * IR files as the converters write them and as people edit them, built by
 * hand from the IR specification: what `ov.save_model` writes for IR v11
 * (rt_info everywhere, tensor names with escaped commas), what the Model
 * Optimizer wrote for IR v10 (meta_data, quantization_parameters, a .bin
 * not in layer order), compressed and packed weights, dynamic shapes, bodies
 * of TensorIterator/Loop/If, and legal but unusual XML. Each must read, be
 * written back unchanged when untouched, and survive the built-in bundles.
 */

const work = tempDir('recipe-ov-variants-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** An IR pair in the work folder. */
function ir(name: string, xml: string, bin?: Uint8Array): string {
  const file = path.join(work, `${name}.xml`);
  fs.writeFileSync(file, xml);
  if (bin) fs.writeFileSync(file.replace(/\.xml$/, '.bin'), bin);
  return file;
}

const FUSED = (v: string): string => `\t\t\t\t<attribute name="fused_names" version="0" value="${v}" />\n`;
const DECOMPRESSION = '\t\t\t\t<attribute name="decompression" version="0" />\n';

function v11Model(): string {
  const w = new Weights();
  const layout = '\t\t\t\t\t<rt_info>\n\t\t\t\t\t\t<attribute name="layout" version="0" layout="[N,C,H,W]" />\n\t\t\t\t\t</rt_info>\n';
  const L = [
    layer(0, 'input', 'Parameter', 'opset1', {
      data: 'shape="?,3,8,8" element_type="f32"',
      rt: FUSED('input') + '\t\t\t\t<attribute name="old_api_map_element_type" version="0" value="f16" />\n',
      outs: [port(0, 'FP32', [-1, 3, 8, 8], 'input,input\\,alias', layout)],
    }),
    constLayer(w, 1, 'conv.weight', 'f32', [4, 3, 3, 3], floats(108, 1), FUSED('conv.weight')),
    layer(2, '/conv/Conv', 'Convolution', 'opset1', {
      data: 'strides="1,1" dilations="1,1" pads_begin="1,1" pads_end="1,1" auto_pad="explicit"',
      rt: FUSED('/conv/Conv,/bn/BatchNormalization'),
      ins: [port(0, 'FP32', [-1, 3, 8, 8], undefined, layout), port(1, 'FP32', [4, 3, 3, 3])],
      outs: [port(2, 'FP32', [-1, 4, 8, 8], '/conv/Conv_output_0')],
    }),
    layer(3, '/pool/MaxPool', 'MaxPool', 'opset8', {
      data: 'strides="2,2" dilations="1,1" pads_begin="0,0" pads_end="0,0" kernel="2,2" rounding_type="floor" auto_pad="explicit" index_element_type="i64" axis="0"',
      ins: [port(0, 'FP32', [-1, 4, 8, 8])],
      outs: [port(1, 'FP32', [-1, 4, 4, 4], 'pooled'), port(2, 'I64', [-1, 4, 4, 4])],
    }),
    constLayer(w, 4, 'scale', 'f32', [], floats(1, 2)),
    binary(5, '/Mul', 'Multiply', [-1, 4, 4, 4], [], [-1, 4, 4, 4], 'FP32', '/Mul_output_0,out\\,with\\,commas'),
    layer(6, 'custom', 'MyCustomOp', 'extension', {
      data: 'mode="" pads="" note="a &amp; b &quot;q&quot;&#10;line2"',
      ins: [port(0, 'FP32', [-1, 4, 4, 4])],
      outs: [port(1, 'FP32', [-1, 4, 4, 4], 'custom_out')],
    }),
    layer(7, 'custom_out/sink_port_0', 'Result', 'opset1', { rt: FUSED('custom_out/sink_port_0'), ins: [port(0, 'FP32', [-1, 4, 4, 4])] }),
    result(8, 'indices/sink_port_0', 'I64', [-1, 4, 4, 4]),
  ];
  const E: Edge[] = [[0, 0, 2, 0], [1, 0, 2, 1], [2, 2, 3, 0], [3, 1, 5, 0], [3, 2, 8, 0], [4, 0, 5, 1], [5, 2, 6, 0], [6, 1, 7, 0]];
  const rt =
    '\t<rt_info>\n\t\t<MO_version value="2023.3.0-13775-ceeafaf64f3-releases/2023/3" />\n\t\t<Runtime_version value="2023.3.0-13775-ceeafaf64f3-releases/2023/3" />\n' +
    '\t\t<conversion_parameters>\n\t\t\t<framework value="onnx" />\n\t\t\t<is_python_object value="False" />\n\t\t</conversion_parameters>\n' +
    '\t\t<model_info>\n\t\t\t<labels value="" />\n\t\t</model_info>\n\t</rt_info>\n';
  v11Bin = w.bytes();
  return net('Model0', 11, L, E, rt);
}
let v11Bin: Uint8Array = new Uint8Array(0);

/** IR v10 from the Model Optimizer: `<meta_data>`, `<quantization_parameters>`, and Const bytes not in layer order. */
function v10Model(): { xml: string; bin: Buffer } {
  const lo = floats(1, 5);
  const hi = floats(1, 9);
  const bias = floats(4, 3);
  const bin = Buffer.concat([bias, lo, hi]);
  const xml = `<?xml version="1.0" ?>
<net name="resnet" version="10">
	<layers>
		<layer id="0" name="data" type="Parameter" version="opset1">
			<data element_type="f32" shape="1,4"/>
			<output>
				<port id="0" names="data" precision="FP32">
					<dim>1</dim>
					<dim>4</dim>
				</port>
			</output>
		</layer>
		<layer id="1" name="lo" type="Const" version="opset1">
			<data element_type="f32" offset="16" shape="" size="4"/>
			<output>
				<port id="0" precision="FP32"/>
			</output>
		</layer>
		<layer id="2" name="hi" type="Const" version="opset1">
			<data element_type="f32" offset="20" shape="" size="4"/>
			<output>
				<port id="0" precision="FP32"/>
			</output>
		</layer>
		<layer id="3" name="fq" type="FakeQuantize" version="opset1">
			<data auto_broadcast="numpy" levels="256"/>
			<input>
				<port id="0"><dim>1</dim><dim>4</dim></port>
				<port id="1"/>
				<port id="2"/>
				<port id="3"/>
				<port id="4"/>
			</input>
			<output>
				<port id="5" names="fq" precision="FP32">
					<dim>1</dim>
					<dim>4</dim>
				</port>
			</output>
		</layer>
		<layer id="4" name="bias" type="Const" version="opset1">
			<data element_type="f32" offset="0" shape="1,4" size="16"/>
			<output>
				<port id="0" precision="FP32">
					<dim>1</dim>
					<dim>4</dim>
				</port>
			</output>
		</layer>
		<layer id="5" name="add" type="Add" version="opset1">
			<data auto_broadcast="numpy"/>
			<input>
				<port id="0"><dim>1</dim><dim>4</dim></port>
				<port id="1"><dim>1</dim><dim>4</dim></port>
			</input>
			<output>
				<port id="2" names="prob" precision="FP32">
					<dim>1</dim>
					<dim>4</dim>
				</port>
			</output>
		</layer>
		<layer id="6" name="prob/sink_port_0" type="Result" version="opset1">
			<input>
				<port id="0"><dim>1</dim><dim>4</dim></port>
			</input>
		</layer>
	</layers>
	<edges>
		<edge from-layer="0" from-port="0" to-layer="3" to-port="0"/>
		<edge from-layer="1" from-port="0" to-layer="3" to-port="1"/>
		<edge from-layer="2" from-port="0" to-layer="3" to-port="2"/>
		<edge from-layer="1" from-port="0" to-layer="3" to-port="3"/>
		<edge from-layer="2" from-port="0" to-layer="3" to-port="4"/>
		<edge from-layer="3" from-port="5" to-layer="5" to-port="0"/>
		<edge from-layer="4" from-port="0" to-layer="5" to-port="1"/>
		<edge from-layer="5" from-port="2" to-layer="6" to-port="0"/>
	</edges>
	<meta_data>
		<MO_version value="2021.4.2-3976-0943ed67223-refs/pull/539/head"/>
		<cli_parameters>
			<data_type value="float"/>
			<input_model value="DIR/resnet.onnx"/>
			<unset unset_cli_parameters="batch, counts, disable_fusing"/>
		</cli_parameters>
	</meta_data>
	<quantization_parameters>
		<config>{
		'compression': {
			'algorithms': [{'name': 'DefaultQuantization', 'params': {'preset': 'performance'}}]
		}
	}</config>
		<version value="2.0.0"/>
	</quantization_parameters>
</net>
`;
  return { xml, bin };
}

/** Weight compression (f16, u8 and u4 with zero points and scales) and Consts of every packed or rare element type. */
function compressedModel(): { xml: string; bin: Buffer; rare: [string, number[], Buffer][] } {
  const w = new Weights();
  const f16 = (n: number, base: number): Buffer => Buffer.from(Uint16Array.from({ length: n }, (_, i) => base + (i % 100)).buffer);
  const convert = (id: number, name: string, to: string, from: string, dims: number[]): string =>
    layer(id, name, 'Convert', 'opset1', { data: `destination_type="${to}"`, rt: DECOMPRESSION, ins: [port(0, PRECISION[from]!, dims)], outs: [port(1, PRECISION[to]!, dims)] });
  const matmul = (id: number, name: string): string =>
    layer(id, name, 'MatMul', 'opset1', { data: 'transpose_a="false" transpose_b="true"', ins: [port(0, 'FP32', [1, 16]), port(1, 'FP32', [8, 16])], outs: [port(2, 'FP32', [1, 8], name)] });
  const L = [
    param(0, 'x', 'f32', [1, 16]),
    constLayer(w, 1, 'wA', 'f16', [8, 16], f16(128, 0x3c00)),
    convert(2, 'wA/convert', 'f32', 'f16', [8, 16]),
    matmul(3, 'mmA'),
    constLayer(w, 4, 'wB', 'u8', [8, 16], bytes(128, 1)),
    convert(5, 'wB/convert', 'f32', 'u8', [8, 16]),
    constLayer(w, 6, 'wB/zp', 'u8', [8, 1], bytes(8, 2)),
    convert(7, 'wB/zp/convert', 'f32', 'u8', [8, 1]),
    binary(8, 'wB/sub', 'Subtract', [8, 16], [8, 1], [8, 16]),
    constLayer(w, 9, 'wB/scale', 'f16', [8, 1], f16(8, 0x2000)),
    convert(10, 'wB/scale/convert', 'f32', 'f16', [8, 1]),
    binary(11, 'wB/mul', 'Multiply', [8, 16], [8, 1], [8, 16]),
    matmul(12, 'mmB'),
    constLayer(w, 13, 'wC', 'u4', [8, 2, 8], bytes(64, 3)),
    convert(14, 'wC/convert', 'f16', 'u4', [8, 2, 8]),
    constLayer(w, 15, 'wC/zp', 'u4', [8, 2, 1], bytes(8, 4)),
    convert(16, 'wC/zp/convert', 'f16', 'u4', [8, 2, 1]),
    binary(17, 'wC/sub', 'Subtract', [8, 2, 8], [8, 2, 1], [8, 2, 8], 'FP16'),
    constLayer(w, 18, 'wC/scale', 'f16', [8, 2, 1], f16(16, 0x2400)),
    binary(19, 'wC/mul', 'Multiply', [8, 2, 8], [8, 2, 1], [8, 2, 8], 'FP16'),
    constLayer(w, 20, 'wC/shape', 'i64', [2], int64s(8, 16)),
    layer(21, 'wC/reshape', 'Reshape', 'opset1', { data: 'special_zero="false"', ins: [port(0, 'FP16', [8, 2, 8]), port(1, 'I64', [2])], outs: [port(2, 'FP16', [8, 16])] }),
    convert(22, 'wC/f32', 'f32', 'f16', [8, 16]),
    matmul(23, 'mmC'),
  ];
  const E: Edge[] = [
    [0, 0, 3, 0], [1, 0, 2, 0], [2, 1, 3, 1],
    [4, 0, 5, 0], [6, 0, 7, 0], [5, 1, 8, 0], [7, 1, 8, 1], [9, 0, 10, 0], [8, 2, 11, 0], [10, 1, 11, 1], [0, 0, 12, 0], [11, 2, 12, 1],
    [13, 0, 14, 0], [15, 0, 16, 0], [14, 1, 17, 0], [16, 1, 17, 1], [17, 2, 19, 0], [18, 0, 19, 1], [19, 2, 21, 0], [20, 0, 21, 1], [21, 2, 22, 0], [0, 0, 23, 0], [22, 1, 23, 1],
  ];
  // Sizes follow the packing rules: 4-bit and smaller types share bytes, u3 and u6 fill groups of 3 bytes.
  const rare: [string, number[], Buffer][] = [
    ['i4', [5], bytes(3, 5)], ['nf4', [7], bytes(4, 6)], ['u1', [13], bytes(2, 7)], ['u2', [5], bytes(2, 8)],
    ['u3', [9], bytes(6, 9)], ['u6', [5], bytes(6, 10)], ['bf16', [4], bytes(8, 11)], ['f64', [2], floats(4, 12)],
    ['boolean', [3], Buffer.from([1, 0, 1])], ['f8e4m3', [3], bytes(3, 13)], ['i8', [2, 2], bytes(4, 14)],
  ];
  const strings = ['héllo', '', 'a,b'].map((s) => Buffer.from(s));
  const head = Buffer.alloc(4 + 4 * (strings.length + 1));
  head.writeInt32LE(strings.length, 0);
  strings.reduce((at, s, i) => (head.writeInt32LE(at + s.byteLength, 8 + 4 * i), at + s.byteLength), 0);
  rare.push(['string', [3], Buffer.concat([head, ...strings])]);
  let id = 24;
  for (const [et, dims, data] of rare) {
    L.push(constLayer(w, id, `c_${et}`, et, dims, data), result(id + 1, `c_${et}/sink_port_0`, PRECISION[et]!, dims));
    E.push([id, 0, id + 1, 0]);
    id += 2;
  }
  for (const [from, name] of [[3, 'mmA'], [12, 'mmB'], [23, 'mmC']] as const) {
    L.push(result(id, `${name}/sink_port_0`, 'FP32', [1, 8]));
    E.push([from, 2, id++, 0]);
  }
  const rt = '\t<rt_info>\n\t\t<Runtime_version value="2024.4.0" />\n\t\t<nncf>\n\t\t\t<weight_compression>\n\t\t\t\t<mode value="int4_asym" />\n\t\t\t\t<group_size value="8" />\n\t\t\t</weight_compression>\n\t\t</nncf>\n\t</rt_info>\n';
  return { xml: net('compressed', 11, L, E.sort((a, b) => a[0] - b[0]), rt), bin: w.bytes(), rare };
}

function dynamicModel(): string {
  const L = [
    param(0, 'img', 'f32', [-1, 3, -1, 224], '?,3,..224,224'),
    param(1, 'seq', 'i64', [-1, -1], '1..10,-1'),
    param(2, 'scale', 'f32', [], ''),
    param(3, 'anything', 'f32', [], '...'),
    param(4, 'upto5', 'f32', [-1, 4], '..5,4'),
    binary(5, 'mul', 'Multiply', [-1, 3, -1, 224], [], [-1, 3, -1, 224], 'FP32', 'mul'),
    layer(6, 'relu', 'Relu', 'opset1', { ins: [port(0, 'FP32', [])], outs: [port(1, 'FP32', [], 'relu')] }),
    layer(7, 'shapeof', 'ShapeOf', 'opset3', { data: 'output_type="i64"', ins: [port(0, 'I64', [-1, -1])], outs: [port(1, 'I64', [2], 'seq_shape')] }),
    layer(8, 'abs', 'Abs', 'opset1', { ins: [port(0, 'FP32', [-1, 4])], outs: [port(1, 'FP32', [-1, 4], 'abs')] }),
    result(9, 'mul/sink_port_0', 'FP32', [-1, 3, -1, 224]),
    result(10, 'relu/sink_port_0', 'FP32', []),
    result(11, 'seq_shape/sink_port_0', 'I64', [2]),
    result(12, 'abs/sink_port_0', 'FP32', [-1, 4]),
  ];
  const E: Edge[] = [[0, 0, 5, 0], [1, 0, 7, 0], [2, 0, 5, 1], [3, 0, 6, 0], [4, 0, 8, 0], [5, 2, 9, 0], [6, 1, 10, 0], [7, 1, 11, 0], [8, 1, 12, 0]];
  return net('dyn', 11, L, E);
}

/** TensorIterator (opset1) with a back edge, Loop (opset5) and If (opset8), each body with its own Consts. */
function bodiesModel(): { xml: string; bin: Buffer } {
  const w = new Weights();
  const tiLayer = recurrentTensorIterator(w, 3, 5);
  const loop = [
    param(0, 'it', 'i64', [1]),
    param(1, 'acc', 'f32', [1, 4]),
    param(2, 'w_in', 'f32', [1, 4]),
    binary(3, 'acc_add', 'Add', [1, 4], [1, 4], [1, 4]),
    result(4, 'acc_out', 'FP32', [1, 4]),
    constLayer(w, 5, 'true_c', 'boolean', [1], Buffer.from([1])),
    result(6, 'cond_out', 'BOOL', [1]),
  ];
  const loopLayer = layer(6, 'loop', 'Loop', 'opset5', {
    ins: [port(0, 'I64', []), port(1, 'BOOL', []), port(2, 'FP32', [1, 4]), port(3, 'FP32', [1, 4])],
    outs: [port(4, 'FP32', [1, 4], 'loop_acc')],
    extra:
      '\t\t\t<port_map>\n\t\t\t\t<input external_port_id="-1" internal_layer_id="0" purpose="current_iteration" />\n' +
      '\t\t\t\t<input external_port_id="2" internal_layer_id="1" />\n\t\t\t\t<input external_port_id="3" internal_layer_id="2" />\n' +
      '\t\t\t\t<output external_port_id="4" internal_layer_id="4" />\n\t\t\t\t<output external_port_id="-1" internal_layer_id="6" purpose="execution_condition" />\n\t\t\t</port_map>\n' +
      '\t\t\t<back_edges>\n\t\t\t\t<edge from-layer="4" to-layer="1" />\n\t\t\t</back_edges>\n' +
      body('body', loop, [[1, 0, 3, 0], [2, 0, 3, 1], [3, 2, 4, 0], [5, 0, 6, 0]]),
  });
  const thenBody = [param(0, 't_in', 'f32', [1, 4]), constLayer(w, 1, 'two', 'f32', [], floats(1, 40)), binary(2, 't_mul', 'Multiply', [1, 4], [], [1, 4]), result(3, 't_out', 'FP32', [1, 4])];
  const elseBody = [param(0, 'e_in', 'f32', [1, 4]), layer(1, 'e_neg', 'Negative', 'opset1', { ins: [port(0, 'FP32', [1, 4])], outs: [port(1, 'FP32', [1, 4])] }), result(2, 'e_out', 'FP32', [1, 4])];
  const ifL = ifLayer(7, [1, 4], { layers: thenBody, edges: [[0, 0, 2, 0], [1, 0, 2, 1], [2, 2, 3, 0]], result: 3 }, { layers: elseBody, edges: [[0, 0, 1, 0], [1, 1, 2, 0]], result: 2 });
  const L = [
    param(0, 'x', 'f32', [1, 5, 4]),
    param(1, 'h0', 'f32', [1, 4]),
    param(2, 'cond', 'boolean', [], ''),
    tiLayer,
    constLayer(w, 4, 'trip', 'i64', [], int64s(3)),
    constLayer(w, 5, 'w_top', 'f32', [1, 4], floats(4, 20)),
    loopLayer,
    ifL,
    result(8, 'ti_y/sink_port_0', 'FP32', [1, 5, 4]),
    result(9, 'ti_h/sink_port_0', 'FP32', [1, 4]),
    result(10, 'if_out/sink_port_0', 'FP32', [1, 4]),
  ];
  const E: Edge[] = [[0, 0, 3, 0], [1, 0, 3, 1], [1, 0, 6, 2], [2, 0, 6, 1], [2, 0, 7, 0], [3, 2, 8, 0], [3, 3, 9, 0], [4, 0, 6, 0], [5, 0, 6, 3], [6, 4, 7, 1], [7, 2, 10, 0]];
  return { xml: net('bodies', 11, L, E), bin: w.bytes() };
}

/** Legal XML no converter writes: comments everywhere, attributes in any order, entities, ids and edges out of order, a custom opset. */
function unusualModel(): { xml: string; bin: Buffer } {
  const w = floats(4, 50);
  const k = floats(1, 60);
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<!-- written by hand -->
<net version="11" name="odd &amp; &quot;quoted&quot;">
	<!-- layers follow, ids out of order -->
	<layers>
		<layer type="Result" id="20" version="opset1" name="r2"><input><port id="0" precision="FP32"><dim>1</dim><dim>4</dim></port></input></layer>
		<layer name="r1" id="10" type="Result" version="opset1">
			<input>
				<port id="0" precision="FP32"><dim>1</dim><dim>4</dim></port>
			</input>
		</layer>
		<layer id="7" name="k" type="Const" version="opset1">
			<data offset="16" size="4" shape="" element_type="f32"/>
			<output><port id="0" precision="FP32"/></output>
		</layer>
		<layer id="5" name="shared w" type="Const" version="opset1">
			<data element_type="f32" shape="1,4" offset="0" size="16"/>
			<output>
				<port id="0" precision="FP32" names="w&#10;multi-line&#x9;tab"><dim>1</dim><dim>4</dim></port>
			</output>
		</layer>
		<layer id="3" name="in" type="Parameter" version="opset1">
			<data shape="1,4" element_type="f32"/>
			<output><port id="0" precision="FP32" names="in"><dim>1</dim><dim>4</dim></port></output>
		</layer>
		<layer id="4" name="add1" type="Add" version="opset1">
			<data auto_broadcast="numpy"></data>
			<input>
				<port id="0" precision="FP32"><dim>1</dim><dim>4</dim></port>
				<port id="1" precision="FP32"><dim>1</dim><dim>4</dim></port>
			</input>
			<output><port id="2" precision="FP32" names="a1"><dim>1</dim><dim>4</dim></port></output>
		</layer>
		<layer id="6" name="mul &lt;2&gt;" type="Multiply" version="opset1">
			<data auto_broadcast="numpy"/>
			<input>
				<port id="0" precision="FP32"><dim>1</dim><dim>4</dim></port>
				<port id="1" precision="FP32"><dim>1</dim><dim>4</dim></port>
			</input>
			<output><port id="2" precision="FP32" names="m2"><dim>1</dim><dim>4</dim></port></output>
		</layer>
		<layer id="8" name="cust" type="FancyOp" version="my_opset">
			<data alpha="0.5" mode="a,b" empty=""/>
			<input>
				<port id="0" precision="FP32"><dim>1</dim><dim>4</dim></port>
				<port id="1" precision="FP32"/>
			</input>
			<output>
				<port id="2" precision="FP32" names="c_out"><dim>1</dim><dim>4</dim></port>
				<port id="3" precision="I32" names="c_aux"><dim>3</dim></port>
			</output>
		</layer>
		<layer id="9" name="sink" type="Assign" version="opset6">
			<data variable_id="v1"/>
			<input><port id="0" precision="FP32"><dim>1</dim><dim>4</dim></port></input>
		</layer>
	</layers>
	<edges>
		<edge from-layer="8" from-port="2" to-layer="20" to-port="0"/>
		<edge to-port="0" to-layer="10" from-port="2" from-layer="6"/>
		<edge from-layer="3" from-port="0" to-layer="4" to-port="0"/>
		<!-- the shared Const -->
		<edge from-layer="5" from-port="0" to-layer="4" to-port="1"/>
		<edge from-layer="5" from-port="0" to-layer="6" to-port="1"/>
		<edge from-layer="4" from-port="2" to-layer="6" to-port="0"/>
		<edge from-layer="4" from-port="2" to-layer="8" to-port="0"/>
		<edge from-layer="7" from-port="0" to-layer="8" to-port="1"/>
		<edge from-layer="6" from-port="2" to-layer="9" to-port="0"/>
	</edges>
	<rt_info/>
</net>
<!-- end -->
`;
  return { xml, bin: Buffer.concat([w, k]) };
}

const v11 = ir('v11', v11Model(), v11Bin);
const v10Parts = v10Model();
const v10 = ir('v10', v10Parts.xml, v10Parts.bin);
const compressedParts = compressedModel();
const compressed = ir('compressed', compressedParts.xml, compressedParts.bin);
const dynamic = ir('dynamic', dynamicModel());
const bodiesParts = bodiesModel();
const bodies = ir('bodies', bodiesParts.xml, bodiesParts.bin);
const unusualParts = unusualModel();
const unusual = ir('unusual', unusualParts.xml, unusualParts.bin);
const all = { v11, v10, compressed, dynamic, bodies, unusual };

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t), interactive: false };
  const code = await main(argv, io);
  return { code, out, err };
}

function binOf(xml: string): Buffer | undefined {
  const bin = xml.replace(/\.xml$/, '.bin');
  return fs.existsSync(bin) ? fs.readFileSync(bin) : undefined;
}

describe.each(Object.entries(all))('%s', (name, file) => {
  test('recipe copy gives back the same .xml text and the same .bin bytes', async () => {
    const out = path.join(work, `copy-${name}.xml`);
    const r = await run('copy', file, '-o', out);
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: expect.stringContaining('wrote') });
    expect(fs.readFileSync(out, 'utf8')).toBe(fs.readFileSync(file, 'utf8'));
    const before = binOf(file);
    const after = binOf(out);
    expect(after?.byteLength ?? 0).toBe(before?.byteLength ?? 0);
    if (before) expect(Buffer.compare(after!, before)).toBe(0);
  });

  test.each(['edgetpu', 'myriad', 'tensorrt'])('apply %s exits 0 and what it writes reads back', async (target) => {
    const out = path.join(work, `${name}-${target}.xml`);
    const r = await run('apply', path.join(ROOT, 'recipes', `${target}.yaml`), file, '-o', out, '--target', target);
    expect({ code: r.code, err: r.err.split('\n').filter((l) => /error|refused/i.test(l)) }).toEqual({ code: 0, err: [] });
    const back = readModel(out);
    expect(back.graph.outputs.length).toBe(readModel(file).graph.outputs.length);
    // OpenVINO's reader requires a precision on every output port.
    const text = fs.readFileSync(out, 'utf8');
    const outputPorts = [...text.matchAll(/<output>([\s\S]*?)<\/output>/g)].flatMap((m) => [...m[1]!.matchAll(/<port [^>]*>/g)].map((p) => p[0]));
    expect(outputPorts.filter((p) => !/precision="/.test(p))).toEqual([]);
    // Every Const still finds its bytes in the written .bin.
    const bin = binOf(out) ?? Buffer.alloc(0);
    for (const c of constRanges(xmlTreeOf(out)).values()) expect(c.offset + c.size).toBeLessThanOrEqual(bin.byteLength);
  });
});

describe('IR v11 with rt_info', () => {
  test('names with escaped commas split into the tensor names, the first naming the value', () => {
    const g = readModel(v11).graph;
    expect(g.inputs[0]!.name).toBe('input');
    const mul = g.nodes.find((x) => x.op === 'Multiply')!;
    expect(mul.output(0).name).toBe('/Mul_output_0');
    const custom = g.nodes.find((x) => x.op === 'MyCustomOp')!;
    expect(custom.domain).toBe('extension');
    expect(custom.attrs.get('note')).toEqual({ kind: 'string', value: 'a & b "q"\nline2' });
    expect(custom.attrs.get('mode')).toEqual({ kind: 'string', value: '' });
  });

  test('a renamed value keeps its other tensor names, and every rt_info stays', () => {
    const model = readModel(v11);
    const mul = model.graph.nodes.find((x) => x.op === 'Multiply')!;
    model.graph.renameValue(mul.output(0), 'scaled');
    const out = path.join(work, 'v11-renamed.xml');
    writeModel(model, out);
    const text = fs.readFileSync(out, 'utf8');
    expect(text).toContain('names="scaled,out\\,with\\,commas"');
    const count = (t: string, s: string): number => t.split(s).length - 1;
    const before = fs.readFileSync(v11, 'utf8');
    expect(count(text, '<attribute ')).toBe(count(before, '<attribute '));
    expect(count(text, 'layout="[N,C,H,W]"')).toBe(2);
    expect(readModel(out).metadata).toEqual(readModel(v11).metadata);
  });
});

describe('IR v10 from the Model Optimizer', () => {
  test('meta_data is read as metadata and written back with the quantization_parameters text', () => {
    const model = readModel(v10);
    expect(model.producer).toEqual({ name: 'OpenVINO', version: '2021.4.2-3976-0943ed67223-refs/pull/539/head' });
    model.graph.renameValue(model.graph.outputs[0]!, 'probabilities');
    const out = path.join(work, 'v10-renamed.xml');
    writeModel(model, out);
    const text = fs.readFileSync(out, 'utf8');
    expect(text).toContain('<unset unset_cli_parameters="batch, counts, disable_fusing"/>');
    expect(text).toContain("'algorithms': [{'name': 'DefaultQuantization', 'params': {'preset': 'performance'}}]");
  });

  test('Const bytes keep their order in the .bin after a rewrite; new bytes follow them', () => {
    const model = readModel(v10);
    const g = model.graph;
    const hi = g.constants.find((v) => v.name === 'hi')!;
    hi.replaceAllUsesWith(g.addConstant('hi2', Tensor.from('float32', [], [6])));
    cleanup(g);
    const out = path.join(work, 'v10-hi.xml');
    writeModel(model, out);
    const ranges = [...constRanges(xmlTreeOf(out)).values()];
    // Layer order is lo, hi2, bias; the .bin keeps bias before lo as the Model Optimizer wrote them.
    expect(ranges.map((r) => [r.name, r.offset])).toEqual([['lo', 16], ['hi2', 20], ['bias', 0]]);
    const bin = fs.readFileSync(out.replace(/\.xml$/, '.bin'));
    expect(bin.subarray(0, 20)).toEqual(v10Parts.bin.subarray(0, 20));
    expect(bin.byteLength).toBe(24);
  });
});

describe('compressed weights and packed element types', () => {
  test('each Const has the dtype and the bytes of its element type', () => {
    const g = readModel(compressed).graph;
    const dtypes = Object.fromEntries(g.constants.map((v) => [v.name, v.const!.dtype]));
    expect(dtypes).toMatchObject({
      wA: 'float16', wB: 'uint8', wC: 'uint4', 'wC/zp': 'uint4', c_i4: 'int4', c_nf4: 'undefined', c_u1: 'undefined', c_u2: 'uint2',
      c_u3: 'undefined', c_u6: 'undefined', c_bf16: 'bfloat16', c_f64: 'float64', c_boolean: 'bool', c_f8e4m3: 'float8e4m3fn', c_string: 'string',
    });
    for (const [et, , data] of compressedParts.rare.filter(([et]) => et !== 'string')) {
      expect(Buffer.from(g.constants.find((v) => v.name === `c_${et}`)!.const!.data.bytes())).toEqual(data);
    }
    const convert = g.nodes.find((x) => x.name === 'wC/convert')!;
    expect(convert.input(0)!.const!.data.byteLength).toBe(64);
  });

  test('u3 and u6 take whole groups of 3 bytes: one byte short is refused', () => {
    for (const [et, dims, need] of [['u3', [9], 6], ['u6', [5], 6], ['u3', [8], 3], ['u1', [13], 2], ['nf4', [7], 4]] as const) {
      const xml = net('packed', 11, [constLayer(new Weights(), 0, 'c', et, [...dims], bytes(need - 1, 1)), result(1, 'r', PRECISION[et]!, [...dims])], [[0, 0, 1, 0]]);
      const file = ir(`packed-${et}-${dims[0]}`, xml, bytes(need - 1, 1));
      expect(() => readModel(file)).toThrow(new RegExp(`needs ${need} bytes but size is ${need - 1}`));
    }
  });
});

describe('dynamic shapes', () => {
  test('ranges and ? are dynamic dimensions, a scalar has none, shape="..." has no rank', () => {
    const g = readModel(dynamic).graph;
    expect(g.inputs.map((v) => [v.name, v.shape])).toEqual([
      ['img', [null, 3, null, 224]],
      ['seq', [null, null]],
      ['scale', []],
      ['anything', undefined],
      ['upto5', [null, 4]],
    ]);
  });

  test('a bounded dimension in a port is dynamic, not a named one shared with another port', () => {
    const xml = fs.readFileSync(dynamic, 'utf8').replace('<port id="1" precision="FP32" names="abs">\n\t\t\t\t\t<dim>-1</dim>', '<port id="1" precision="FP32" names="abs">\n\t\t\t\t\t<dim>..5</dim>');
    const g = readModel(ir('dynamic-bounded-port', xml)).graph;
    expect(g.outputs.find((v) => v.name === 'abs')!.shape).toEqual([null, 4]);
  });

  test('a symbolic dimension a rewrite sets is written as dynamic, in the syntax OpenVINO reads', () => {
    const model = readModel(dynamic);
    const g = model.graph;
    g.inputs[0]!.shape = ['batch', 3, 'h', 224];
    const abs = g.nodes.find((x) => x.op === 'Abs')!;
    abs.output(0).shape = ['n', 4];
    const out = path.join(work, 'dynamic-symbolic.xml');
    writeModel(model, out);
    const text = fs.readFileSync(out, 'utf8');
    expect(text).toContain('<data shape="?,3,?,224" element_type="f32" />');
    expect(text).not.toMatch(/<dim>[^<]*[a-z][^<]*<\/dim>/);
    expect(readModel(out).graph.inputs[0]!.shape).toEqual([null, 3, null, 224]);
  });
});

describe('new layers', () => {
  test('an output of unknown type gets precision UNSPECIFIED and reads back as unknown', () => {
    const model = readModel(dynamic);
    const g = model.graph;
    const abs = g.nodes.find((x) => x.op === 'Abs')!;
    const relu = g.addNode({ op: 'Relu', domain: 'opset1', name: 'relu2', inputs: [abs.output(0)], outputs: ['relu2_out'] });
    g.outputs.push(relu.output(0));
    const out = path.join(work, 'new-unknown.xml');
    writeModel(model, out);
    expect(fs.readFileSync(out, 'utf8')).toContain('<port id="1" precision="UNSPECIFIED" names="relu2_out" />');
    const v = readModel(out).graph.outputs.find((x) => x.name === 'relu2_out')!;
    expect([v.dtype, v.shape]).toEqual([undefined, undefined]);
  });
});

describe('bodies of TensorIterator, Loop and If', () => {
  test('the bodies and their Consts are kept when a rewrite changes the layers around them', () => {
    const model = readModel(bodies);
    const g = model.graph;
    const loop = g.nodes.find((x) => x.op === 'Loop')!;
    loop.setInput(3, g.addConstant('w_new', Tensor.from('float32', [1, 4], [5, 6, 7, 8])));
    cleanup(g);
    const out = path.join(work, 'bodies-changed.xml');
    writeModel(model, out);
    const bin = fs.readFileSync(out.replace(/\.xml$/, '.bin'));
    const text = fs.readFileSync(out, 'utf8');
    // Body layers have ids of their own (a body Const and an outer one may share one): find Consts by name.
    const bytesOf = (n: string): Buffer => {
      const m = new RegExp(`name="${n}" type="Const" version="opset1">\\s*<data [^>]*offset="(\\d+)" size="(\\d+)"`).exec(text)!;
      return bin.subarray(Number(m[1]), Number(m[1]) + Number(m[2]));
    };
    expect(bytesOf('w_body')).toEqual(floats(4, 30));
    expect(bytesOf('two')).toEqual(floats(1, 40));
    expect(bytesOf('true_c')).toEqual(Buffer.from([1]));
    expect(bytesOf('sq_axis')).toEqual(int64s(1));
    expect(bytesOf('w_new')).toEqual(Buffer.from(Float32Array.from([5, 6, 7, 8]).buffer));
    expect(text).not.toContain('name="w_top"');
    for (const s of ['purpose="current_iteration"', '<edge from-layer="7" to-layer="1" />', '<then_port_map>', '<else_body>']) expect(text).toContain(s);
    expect(readModel(out).graph.nodes.map((x) => x.op)).toEqual(['TensorIterator', 'Loop', 'If']);
  });

  test('recipe show counts the layers and constants of the bodies, as it counts an ONNX subgraph', async () => {
    const r = await run('show', bodies, '--json');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out) as { graphs: number; nodes: number; ops: Record<string, number>; parameters: { tensors: number } };
    // The net, the TensorIterator's and the Loop's bodies, and the If's two branches.
    expect(summary.graphs).toBe(5);
    expect(summary.ops).toEqual({
      'opset1::Add': 2, 'opset1::Multiply': 2, 'opset1::Negative': 1, 'opset1::Squeeze': 1, 'opset1::TensorIterator': 1, 'opset1::Unsqueeze': 1, 'opset5::Loop': 1, 'opset8::If': 1,
    });
    expect(summary.nodes).toBe(10);
    // trip and w_top outside; sq_axis, w_body, unsq_axis, true_c and two inside.
    expect(summary.parameters.tensors).toBe(7);
  });

  test('recipe verify runs all three in onnxruntime (as an ONNX Loop, Loop and If), and tells a changed Loop input from an unchanged model', async () => {
    const r = await run('verify', bodies, bodies);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('outputs agree within the tolerance');
    // The Loop's invariant input replaced: what comes out of the If after it changes.
    const model = readModel(bodies);
    const g = model.graph;
    g.nodes.find((x) => x.op === 'Loop')!.setInput(3, g.addConstant('w_new', Tensor.from('float32', [1, 4], [5, 6, 7, 8])));
    cleanup(g);
    const changed = path.join(work, 'bodies-verify.xml');
    writeModel(model, changed);
    const d = await run('verify', bodies, changed);
    expect(d.code).toBe(5);
    expect(d.out).toMatch(/if_out\s+float32\s+\[1, 4\].*DIFFERS/);
    expect(d.out).toMatch(/ti_h\s+float32\s+\[1, 4\]\s+0\s/);
  });
});

describe('unusual XML', () => {
  test('comments around the root and between edges stay when the model is rewritten', () => {
    const model = readModel(unusual);
    model.graph.renameValue(model.graph.outputs[0]!, 'fancy');
    const out = path.join(work, 'unusual-renamed.xml');
    writeModel(model, out);
    const text = fs.readFileSync(out, 'utf8');
    expect(text).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<!-- written by hand -->\n<net /);
    expect(text).toMatch(/<!-- the shared Const -->\n\t\t<edge from-layer="5" from-port="0" to-layer="4" to-port="1"\/>/);
    expect(text).toContain('<edge to-port="0" to-layer="10" from-port="2" from-layer="6"/>');
    expect(text.trimEnd().endsWith('</net>\n<!-- end -->')).toBe(true);
  });

  test('a byte order mark stays when the model is rewritten', () => {
    const file = ir('bom', `\ufeff${fs.readFileSync(unusual, 'utf8').replace('encoding="UTF-8"?>', 'encoding="UTF-8" ?>')}`, unusualParts.bin);
    const model = readModel(file);
    model.graph.renameValue(model.graph.outputs[0]!, 'fancy');
    const out = path.join(work, 'bom-renamed.xml');
    writeModel(model, out);
    expect(fs.readFileSync(out, 'utf8').split('\n')[0]).toBe('\ufeff<?xml version="1.0" encoding="UTF-8" ?>');
  });

  test('a comment before an edge that went stays with the next edge', () => {
    const model = readModel(unusual);
    const g = model.graph;
    const add = g.nodes.find((x) => x.op === 'Add')!;
    add.setInput(1, g.addConstant('w2', Tensor.from('float32', [1, 4], [1, 1, 1, 1])));
    const out = path.join(work, 'unusual-edge.xml');
    writeModel(model, out);
    expect(fs.readFileSync(out, 'utf8')).toMatch(/<!-- the shared Const -->\n\t\t<edge from-layer="5" from-port="0" to-layer="6" to-port="1"\/>/);
  });
});

describe('layers nothing reads', () => {
  test('a Const no layer reads is copied with its bytes, and cleanup still removes it', () => {
    const text = fs.readFileSync(unusual, 'utf8').replace(
      '<layer name="r1" id="10"',
      '<layer id="31" name="lonely" type="Const" version="opset1"><data element_type="f32" shape="1" offset="20" size="4"/><output><port id="0" precision="FP32"><dim>1</dim></port></output></layer>\n\t\t<layer name="r1" id="10"',
    );
    const bin = Buffer.concat([unusualParts.bin, Buffer.from([1, 2, 3, 4])]);
    const file = ir('lonely', text, bin);
    const out = path.join(work, 'lonely-copy.xml');
    writeModel(readModel(file), out);
    expect(fs.readFileSync(out, 'utf8')).toBe(text);
    expect(fs.readFileSync(out.replace(/\.xml$/, '.bin'))).toEqual(bin);
    const model = readModel(file);
    cleanup(model.graph);
    const cleaned = path.join(work, 'lonely-cleaned.xml');
    writeModel(model, cleaned);
    expect(fs.readFileSync(cleaned, 'utf8')).not.toContain('lonely');
    expect(fs.statSync(cleaned.replace(/\.xml$/, '.bin')).size).toBe(20);
  });

  test('an input port without an edge before one with an edge reads as no input and is copied as read', () => {
    const text = fs.readFileSync(unusual, 'utf8').replace('\t\t<edge from-layer="3" from-port="0" to-layer="4" to-port="0"/>\n', '');
    const file = ir('open-port', text, unusualParts.bin);
    const add = readModel(file).graph.nodes.find((x) => x.op === 'Add')!;
    expect(add.inputs.map((v) => v?.name ?? null)).toEqual([null, 'w\nmulti-line\ttab']);
    const out = path.join(work, 'open-port-copy.xml');
    writeModel(readModel(file), out);
    expect(fs.readFileSync(out, 'utf8')).toBe(text);
  });

  test('a net without <edges> gets none added', () => {
    const text = '<?xml version="1.0"?>\n<net name="n" version="11">\n\t<layers>\n' + param(0, 'p', 'f32', [1]) + '\t</layers>\n</net>\n';
    const out = path.join(work, 'no-edges-copy.xml');
    writeModel(readModel(ir('no-edges', text)), out);
    expect(fs.readFileSync(out, 'utf8')).toBe(text);
  });
});

describe('hostile XML', () => {
  test('elements nested without end are refused with exit 4 and where, not a crash', async () => {
    const deep = fs.readFileSync(unusual, 'utf8').replace('<rt_info/>', `<rt_info>${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}</rt_info>`);
    const file = ir('deep', deep, unusualParts.bin);
    let error: unknown;
    try {
      readModel(file);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ModelError);
    expect((error as ModelError).message).toMatch(/nested deeper than 100 levels/);
    // The <a> that passes the limit: on the line of <rt_info>, after it and 98 others.
    const line = deep.slice(0, deep.indexOf('<rt_info>')).split('\n').length;
    expect((error as ModelError).location.path).toBe(`line ${line}, column ${2 + '<rt_info>'.length + 98 * 3}`);
    const r = await run('show', file);
    expect(r.code).toBe(4);
  });

  test('a <net> without a version is a bad model (exit 4), not an unsupported version', async () => {
    const file = ir('no-version', fs.readFileSync(unusual, 'utf8').replace('<net version="11" ', '<net '), unusualParts.bin);
    const r = await run('show', file);
    expect(r.code).toBe(4);
    expect(r.err).toContain('<net> has no version attribute');
  });
});
