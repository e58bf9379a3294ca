import * as fs from 'node:fs';
import * as path from 'node:path';
import { readModel, writeModel } from '../../../src/formats';
import { ovSetAttr, ovIntsAttr } from '../../../src/formats/openvino';
import { ModelError, UnsupportedError } from '../../../src/errors';
import { cleanup } from '../../../src/ir/passes';
import { loadBundle } from '../../../src/recipe/bundle';
import { applyBundle } from '../../../src/recipe/run';
import { BytesData, StringData, Tensor } from '../../../src/ir/tensor';
import { ROOT, corpusOpenvinoModels, tempDir } from '../../helpers/corpus';
import { parseXml, sameTree, type XmlElement } from '../../../src/formats/openvino/xml';
import { constRanges, writeOneLayerIr, xmlTreeOf } from '../../helpers/openvino-build';

/** What a rewrite changes is written where the reader finds it again; what it leaves alone stays as it was. */

const work = tempDir('recipe-ov-changes-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const corpus = (name: string): string => corpusOpenvinoModels().find((f) => f.endsWith(name))!;

let n = 0;
function out(): string {
  return path.join(work, `out${n++}.xml`);
}

/** Layers of an IR as `{id, name, type}` in document order. */
function layers(file: string): { id: string; name: string; type: string }[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/<layer id="(\d+)" name="([^"]*)" type="(\w+)"/g)].map((m) => ({ id: m[1]!, name: m[2]!, type: m[3]! }));
}

test('a renamed input with tensor names keeps the layer and changes the first name', () => {
  const model = readModel(corpus('no_name_output/1/model.xml'));
  const v = model.graph.inputs[0]!;
  model.graph.renameValue(v, 'renamed');
  const file = out();
  writeModel(model, file);
  expect(fs.readFileSync(file, 'utf8')).toContain('<port id="0" precision="I8" names="renamed">');
  expect(layers(file).map((l) => l.name)).toContain('input_1');
  expect(readModel(file).graph.inputs.map((x) => x.name)).toEqual(['renamed', 'input_2']);
});

test('a renamed Const without tensor names renames its layer; a renamed node output gets a names attribute', () => {
  const model = readModel(corpus('dummy/1/dummy.xml'));
  const g = model.graph;
  g.renameValue(g.constants[0]!, 'one');
  g.renameValue(g.nodes[0]!.output(0), 'sum');
  const file = out();
  writeModel(model, file);
  expect(layers(file).find((l) => l.id === '1')).toEqual({ id: '1', name: 'one', type: 'Const' });
  const back = readModel(file).graph;
  expect(back.constants[0]!.name).toBe('one');
  expect(back.nodes[0]!.output(0).name).toBe('sum');
  expect(back.outputs[0]!.name).toBe('sum');
});

test('a new input shape is written to the Parameter and to the ports that read it, nothing else', () => {
  const model = readModel(corpus('dummy/1/dummy.xml'));
  const g = model.graph;
  g.inputs[0]!.shape = [null, 10];
  g.nodes[0]!.output(0).shape = [null, 10];
  const file = out();
  writeModel(model, file);
  const text = fs.readFileSync(file, 'utf8');
  expect(text).toContain('<data element_type="f32" shape="-1,10"/>');
  const back = readModel(file).graph;
  expect(back.inputs[0]!.shape).toEqual([null, 10]);
  expect(back.nodes[0]!.input(1)!.shape).toEqual([1, 1]);
  expect(back.outputs[0]!.shape).toEqual([null, 10]);
  // The meta_data block and the Const stay as read.
  expect(text).toContain('<MO_version value="2020.1.0-61-gd349c3ba4a"/>');
  expect(text).toContain('<data element_type="f32" offset="0" shape="1,1" size="4"/>');
});

test('an input of unknown rank is written as shape="..." and read back without a shape', () => {
  const model = readModel(corpus('passthrough_string/1/passthrough.xml'));
  const v = model.graph.inputs[0]!;
  expect(v.shape).toEqual([null]);
  v.shape = undefined;
  const file = out();
  writeModel(model, file);
  const text = fs.readFileSync(file, 'utf8');
  expect(text).toContain('<data shape="..." element_type="string" />');
  expect(text).toContain('<port id="0" precision="STRING" names="my_name" />');
  expect(readModel(file).graph.inputs[0]!.shape).toBeUndefined();
});

test('metadata changes go into rt_info: set, add and remove', () => {
  const model = readModel(corpus('scalar/1/saved_model.xml'));
  expect(model.getMetadata('conversion_parameters/layout')).toBe('...');
  model.setMetadata('conversion_parameters/layout', 'NCHW');
  model.setMetadata('recipe/applied', 'fold-bn');
  model.metadata = model.metadata.filter((m) => m.key !== 'legacy_frontend');
  const file = out();
  writeModel(model, file);
  const back = readModel(file);
  expect(back.metadata).toEqual(model.metadata);
  expect(fs.readFileSync(file, 'utf8')).toMatch(/<recipe>\s*<applied value="fold-bn" \/>\s*<\/recipe>/);
});

test('a removed output drops its Result and the layers only it needed; the rest keep their ids', () => {
  const model = readModel(corpus('no_name_output/1/model.xml'));
  const g = model.graph;
  expect(g.outputs.map((v) => v.producer?.name)).toEqual(['MULTIPLY', 'ADD']);
  g.outputs = [g.outputs[1]!];
  cleanup(g);
  const file = out();
  writeModel(model, file);
  expect(layers(file)).toEqual([
    { id: '1', name: 'input_1', type: 'Parameter' },
    { id: '0', name: 'input_2', type: 'Parameter' },
    { id: '2', name: 'ADD', type: 'Add' },
    { id: '3', name: 'Result_6', type: 'Result' },
  ]);
});

test('attributes set as numbers are written in OpenVINO text form', () => {
  const model = readModel(corpus('no_name_output/1/model.xml'));
  const add = model.graph.nodes.find((x) => x.op === 'Add')!;
  ovSetAttr(add, 'strides', [2, 2]);
  add.attrs.set('axes', { kind: 'ints', value: [0, 1n] });
  add.attrs.set('eps', { kind: 'float', value: 1e-5 });
  const file = out();
  writeModel(model, file);
  expect(fs.readFileSync(file, 'utf8')).toContain('<data auto_broadcast="numpy" strides="2,2" axes="0,1" eps="0.00001" />');
  expect(ovIntsAttr(readModel(file).graph.nodes.find((x) => x.op === 'Add')!, 'axes')).toEqual([0, 1]);
});

test('a value that no layer produces is a ModelError on write; a dtype OpenVINO cannot store is UnsupportedError', () => {
  const model = readModel(corpus('dummy/1/dummy.xml'));
  const g = model.graph;
  const orphan = g.addValue('orphan', { dtype: 'float32', shape: [1, 1] });
  g.nodes[0]!.setInput(1, orphan);
  expect(() => writeModel(model, out())).toThrow(ModelError);
  g.nodes[0]!.setInput(1, g.addConstant('c64', new Tensor('complex64', [1], new BytesData(new Uint8Array(8)))));
  expect(() => writeModel(model, out())).toThrow(UnsupportedError);
});

describe('hand-written IR: strings, u1, a TensorIterator body with its own Const', () => {
  const dir = path.join(work, 'hand');
  const xml = path.join(dir, 'hand.xml');
  // bin: [0,4) body Const, [4,8) unused, [8,10) u1 Const, [10,..) packed strings "ab","cde".
  const strings = Buffer.concat([Buffer.from(new Int32Array([2, 0, 2, 5]).buffer), Buffer.from('abcde')]);
  const bin = Buffer.concat([Buffer.from(new Float32Array([2]).buffer), Buffer.from([9, 9, 9, 9]), Buffer.from([0xa5, 0x03]), strings]);
  const text = `<?xml version="1.0"?>
<net name="hand" version="11">
	<layers>
		<layer id="0" name="x" type="Parameter" version="opset1">
			<data shape="1,3" element_type="f32" />
			<output>
				<port id="0" precision="FP32" names="x"><dim>1</dim><dim>3</dim></port>
			</output>
		</layer>
		<layer id="1" name="ti" type="TensorIterator" version="opset1">
			<input>
				<port id="0" precision="FP32"><dim>1</dim><dim>3</dim></port>
			</input>
			<output>
				<port id="1" precision="FP32"><dim>1</dim><dim>3</dim></port>
			</output>
			<port_map>
				<input external_port_id="0" internal_layer_id="0" />
				<output external_port_id="1" internal_layer_id="3" />
			</port_map>
			<body>
				<layers>
					<layer id="0" name="bx" type="Parameter" version="opset1">
						<data shape="1,3" element_type="f32" />
						<output><port id="0" precision="FP32"><dim>1</dim><dim>3</dim></port></output>
					</layer>
					<layer id="1" name="two" type="Const" version="opset1">
						<data element_type="f32" shape="1,1" offset="0" size="4" />
						<output><port id="0" precision="FP32"><dim>1</dim><dim>1</dim></port></output>
					</layer>
					<layer id="2" name="mul" type="Multiply" version="opset1">
						<input><port id="0" precision="FP32"><dim>1</dim><dim>3</dim></port><port id="1" precision="FP32"><dim>1</dim><dim>1</dim></port></input>
						<output><port id="2" precision="FP32"><dim>1</dim><dim>3</dim></port></output>
					</layer>
					<layer id="3" name="by" type="Result" version="opset1">
						<input><port id="0" precision="FP32"><dim>1</dim><dim>3</dim></port></input>
					</layer>
				</layers>
				<edges>
					<edge from-layer="0" from-port="0" to-layer="2" to-port="0" />
					<edge from-layer="1" from-port="0" to-layer="2" to-port="1" />
					<edge from-layer="2" from-port="2" to-layer="3" to-port="0" />
				</edges>
			</body>
		</layer>
		<layer id="2" name="y" type="Result" version="opset1">
			<input><port id="0" precision="FP32"><dim>1</dim><dim>3</dim></port></input>
		</layer>
		<layer id="3" name="bits" type="Const" version="opset1">
			<data element_type="u1" shape="10" offset="8" size="2" />
			<output><port id="0" precision="U1" names="bits"><dim>10</dim></port></output>
		</layer>
		<layer id="4" name="bits_out" type="Result" version="opset1">
			<input><port id="0" precision="U1"><dim>10</dim></port></input>
		</layer>
		<layer id="5" name="words" type="Const" version="opset1">
			<data element_type="string" shape="2" offset="10" size="${strings.byteLength}" />
			<output><port id="0" precision="STRING" names="words"><dim>2</dim></port></output>
		</layer>
		<layer id="6" name="words_out" type="Result" version="opset1">
			<input><port id="0" precision="STRING"><dim>2</dim></port></input>
		</layer>
	</layers>
	<edges>
		<edge from-layer="0" from-port="0" to-layer="1" to-port="0" />
		<edge from-layer="1" from-port="1" to-layer="2" to-port="0" />
		<edge from-layer="3" from-port="0" to-layer="4" to-port="0" />
		<edge from-layer="5" from-port="0" to-layer="6" to-port="0" />
	</edges>
	<rt_info />
</net>
`;
  beforeAll(() => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(xml, text);
    fs.writeFileSync(xml.replace(/\.xml$/, '.bin'), bin);
  });

  test('writing never edits the tree kept from reading: written twice after changes, the tree is still the text read', () => {
    const model = readModel(xml);
    const native = model.native as { doc: { root: XmlElement } };
    const g = model.graph;
    // Changes of every kind: a renamed input, a new layer before the TensorIterator, metadata.
    g.renameValue(g.inputs[0]!, 'x_renamed');
    const ti = g.nodes[0]!;
    const neg = g.addNode({ op: 'Negative', domain: 'opset1', name: 'neg', inputs: [ti.input(0)!], outputs: ['neg_out'] });
    ti.setInput(0, neg.output(0));
    model.setMetadata('k', 'v');
    const first = out();
    const second = out();
    writeModel(model, first);
    expect(sameTree(native.doc.root, parseXml(text).root)).toBe(true);
    writeModel(model, second);
    expect(sameTree(native.doc.root, parseXml(text).root)).toBe(true);
    expect(fs.readFileSync(second, 'utf8')).toBe(fs.readFileSync(first, 'utf8'));
  });

  test('reads the string Const as strings and the u1 Const as opaque bytes', () => {
    const g = readModel(xml).graph;
    const words = g.constants.find((v) => v.name === 'words')!;
    expect(words.const!.dtype).toBe('string');
    expect((words.const!.data as StringData).strings.map((s) => Buffer.from(s).toString())).toEqual(['ab', 'cde']);
    const bits = g.constants.find((v) => v.name === 'bits')!;
    expect(bits.const!.dtype).toBe('undefined');
    expect([...bits.const!.data.bytes()]).toEqual([0xa5, 0x03]);
    expect(g.nodes.map((x) => x.op)).toEqual(['TensorIterator']);
  });

  test('an untouched model keeps its .bin byte for byte, unused bytes too', () => {
    const file = out();
    writeModel(readModel(xml), file);
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
    expect(fs.readFileSync(file.replace(/\.xml$/, '.bin'))).toEqual(bin);
  });

  test('once a Const is dropped, writes the unused bytes away and moves the body Const, keeping every used byte', () => {
    const model = readModel(xml);
    const g = model.graph;
    const bits = g.constants.find((v) => v.name === 'bits')!;
    g.outputs = g.outputs.filter((v) => v !== bits);
    g.removeValue(bits);
    const file = out();
    writeModel(model, file);
    const before = xmlTreeOf(xml);
    const after = xmlTreeOf(file);
    const newBin = fs.readFileSync(file.replace(/\.xml$/, '.bin'));
    // Without the 4 unused bytes and the 2 of the u1 Const.
    expect(newBin.byteLength).toBe(bin.byteLength - 6);
    const rb = constRanges(before);
    const ra = constRanges(after);
    rb.delete('3');
    expect([...ra.keys()].sort()).toEqual([...rb.keys()].sort());
    // constRanges keys by id: the body Const (id 1) is found inside the TensorIterator.
    for (const [id, r] of rb) {
      const a = ra.get(id)!;
      expect(newBin.subarray(a.offset, a.offset + a.size)).toEqual(bin.subarray(r.offset, r.offset + r.size));
    }
    expect(ra.get('5')!.offset).toBe(4);
    expect(readModel(file).graph.nodes[0]!.op).toBe('TensorIterator');
  });

  test('a new string tensor is packed as OpenVINO packs strings', () => {
    const model = readModel(xml);
    const words = model.graph.constants.find((v) => v.name === 'words')!;
    words.const = new Tensor('string', [3], new StringData(['x', '', 'yz'].map((s) => Buffer.from(s))));
    words.shape = [3];
    const file = out();
    writeModel(model, file);
    const back = readModel(file).graph.constants.find((v) => v.name === 'words')!;
    expect((back.const!.data as StringData).strings.map((s) => Buffer.from(s).toString())).toEqual(['x', '', 'yz']);
    expect(back.shape).toEqual([3]);
  });
});

test('a value a rewrite left undeclared reads back as unknown, not as a scalar', () => {
  const model = readModel(corpus('dummy/1/dummy.xml'));
  const g = model.graph;
  const add = g.nodes[0]!;
  const relu = g.addNode({ op: 'Relu', domain: 'opset1', inputs: [add.output(0)], outputs: ['relu_out'] });
  g.outputs = [relu.output(0)];
  const file = out();
  writeModel(model, file);
  const back = readModel(file).graph;
  const v = back.outputs[0]!;
  expect(v.name).toBe('relu_out');
  expect(v.dtype).toBeUndefined();
  expect(v.shape).toBeUndefined();
  // Declared values keep their declared shape, scalars included.
  expect(back.inputs[0]!.shape).toEqual(g.inputs[0]!.shape);
});

test('bounded dimensions (1..10, ..8) of a Parameter the rewrite changes keep their bounds where they stay dynamic', () => {
  const model = readModel(writeOneLayerIr(path.join(work, 'bounded.xml'), { dims: ['1..10', '4', '-1', '..8'], parameterShape: '1..10,4,?,..8' }));
  const x = model.graph.inputs[0]!;
  expect(x.shape).toEqual([null, 4, null, null]);
  // What fix-batch does: the first dimension becomes 1; the others stay dynamic.
  x.shape = [1, 4, null, null];
  const file = out();
  writeModel(model, file);
  const text = fs.readFileSync(file, 'utf8');
  expect(text).toContain('<data shape="1,4,?,..8" element_type="f32"');
  const parameterPort = /<layer id="0" name="x"[\s\S]*?<\/layer>/.exec(text)![0];
  expect([...parameterPort.matchAll(/<dim>([^<]*)<\/dim>/g)].map((m) => m[1])).toEqual(['1', '4', '-1', '..8']);
});

test('layers a rule adds at the top of the graph follow the Parameter they read, with its precision and dims on their ports', () => {
  const model = readModel(writeOneLayerIr(path.join(work, 'abs-first.xml'), { dims: ['-1', '3'], parameterShape: '?,3' }));
  applyBundle(model, loadBundle([path.join(ROOT, 'recipes/abs/abs.yaml')]));
  const file = out();
  writeModel(model, file);
  expect(layers(file).map((l) => l.type)).toEqual(['Parameter', 'Multiply', 'Sqrt', 'Result']);
  const text = fs.readFileSync(file, 'utf8');
  const multiplyOut = /<layer id="\d+" name="a\/Multiply"[\s\S]*?<output>([\s\S]*?)<\/output>/.exec(text)![1]!;
  expect(multiplyOut.replace(/\s+/g, '')).toBe('<portid="2"precision="FP32"names="a/Multiply/out"><dim>-1</dim><dim>3</dim></port>');
  expect(text).not.toContain('UNSPECIFIED');
});

test('a rewrite changes only the lines of what it rewrote: the rest keeps its layout to the byte (CRLF, indentation, comments, entities), the replaced layer its id', () => {
  const lines = [
    '<?xml version="1.0"?>',
    '<net name="styled" version="11">',
    '   <layers>',
    '      <layer id="0" name="x" type="Parameter" version="opset1">',
    '         <data shape="1,3" element_type="f32"/>',
    '         <!-- hand-edited -->',
    '         <output><port id="0" precision="FP32" names="x&gt;0, x&#44;"><dim>1</dim><dim>3</dim></port></output>',
    '      </layer>',
    '      <layer id="1" name="a" type="Abs" version="opset1">',
    '         <input><port id="0" precision="FP32"><dim>1</dim><dim>3</dim></port></input>',
    '         <output><port id="1" precision="FP32" names="y"><dim>1</dim><dim>3</dim></port></output>',
    '      </layer>',
    '      <layer id="2" name="r" type="Relu" version="opset1">',
    "         <input><port id='0' precision='FP32'><dim>1</dim><dim>3</dim></port></input>",
    '         <output><port id="1" precision="FP32" names="z"><dim>1</dim><dim>3</dim></port></output>',
    '      </layer>',
    '      <layer id="3" name="out" type="Result" version="opset1">',
    '         <input><port id="0" precision="FP32"><dim>1</dim><dim>3</dim></port></input>',
    '      </layer>',
    '   </layers>',
    '   <edges>',
    '      <edge from-layer="0" from-port="0" to-layer="1" to-port="0"/>',
    '        <edge from-layer="1" from-port="1" to-layer="2" to-port="0"/>',
    '      <edge from-layer="2" from-port="1" to-layer="3" to-port="0"/>',
    '   </edges>',
    '</net>',
  ];
  const xml = path.join(work, 'styled.xml');
  fs.writeFileSync(xml, lines.join('\r\n'));
  fs.writeFileSync(xml.replace(/\.xml$/, '.bin'), '');
  const model = readModel(xml);
  applyBundle(model, loadBundle([path.join(ROOT, 'recipes/abs/abs.yaml')]));
  const file = out();
  writeModel(model, file);
  const text = fs.readFileSync(file, 'utf8');
  expect(text).not.toMatch(/[^\r]\n/);
  expect(text.endsWith('</net>')).toBe(true);
  const written = text.split('\r\n');
  // Kept as written: the Parameter (comment, entities, its own indentation), the Relu (single quotes), the Result,
  // and the edges after the Abs: the Sqrt that ends its replacement keeps its name, so it takes its layer id.
  for (const k of [...Array(20).keys()].filter((k) => k < 8 || k >= 12)) expect(written).toContain(lines[k]);
  expect(written).toContain('      <layer id="1" name="a" type="Sqrt" version="opset1">');
  expect(written).toContain(lines[22]);
  expect(written).toContain(lines[23]);
  expect(written).not.toContain(lines[21]);
  // What the rewrite made: the Multiply and Sqrt layers and their edges, in the file's indentation.
  expect(written.filter((l) => !lines.includes(l)).join('\n')).toMatch(/^ {6}<layer id="\d+" name="a\/Multiply" type="Multiply"/m);
  const back = readModel(file);
  expect(back.graph.nodes.map((n) => n.op)).toEqual(['Multiply', 'Sqrt', 'Relu']);
  expect(back.graph.inputs[0]!.name).toBe('x>0');
});

test('recording recipe.applied in a real IR written on Windows (CRLF, no final line end, odd indentation) adds its rt_info lines and changes nothing else', () => {
  const source = corpus('summator/1/summator.xml');
  const model = readModel(source);
  model.setMetadata('recipe.applied', '[]');
  const file = out();
  writeModel(model, file);
  const before = fs.readFileSync(source, 'utf8');
  const after = fs.readFileSync(file, 'utf8');
  expect(before).toMatch(/\r\n {16}<edge /);
  const at = before.lastIndexOf('</net>');
  expect(after.slice(0, at)).toBe(before.slice(0, at));
  expect(after.slice(at)).toBe('    <rt_info>\r\n        <recipe.applied value="[]"/>\r\n    </rt_info>\r\n</net>');
});
