import { DTYPES } from '../../ir/dtype';
import { Graph, type Node, type Shape, type Value } from '../../ir/graph';
import { Model } from '../../ir/model';
import { cleanup } from '../../ir/passes';
import { TranslationError, Translation, inOrder, translateLayer } from './translation';
import './ops/elementwise';
import './ops/nn';
import './ops/shape';
import './ops/state';
import './ops/recurrent';
import './ops/detection';
import './ops/control';
import './ops/sequence';
import './ops/signal';
import './ops/embedding';
import './ops/roi-pooling';
import './ops/patches';
import './ops/conversion';
import './ops/proposal';
import './ops/deformable';

export { TranslationError, translatableOps } from './translation';

/** The ONNX opset translations are written for. */
export const TRANSLATION_OPSET = 17;

/**
 * An ONNX model that computes what the OpenVINO model `ov` computes: the same
 * inputs (Parameter names, element types and shapes) and the same outputs (the
 * names of the values the Result layers read). Throws a TranslationError
 * naming the first layer that has no translation.
 */
export function openvinoToOnnx(ov: Model): Model {
  return translate(ov, false).model;
}

/** What `openvinoToOnnxUpTo` could not translate, and what its outputs are instead. */
export interface Cut {
  /** Layers without a translation (or with attributes it cannot match), in graph order. */
  layers: { name: string; op: string; reason: string }[];
  /** Every layer not translated: those, and every layer that reads what they produce. */
  untranslated: Node[];
  /** Outputs of the ONNX model: the model's outputs that were translated, then the values the cut layers read. */
  outputs: string[];
  /** Of those, the values the cut layers read (some may be model outputs too). */
  frontier: string[];
}

/**
 * As openvinoToOnnx, but a layer without a translation does not stop it: that
 * layer and everything after it are left out, and the values the left-out
 * layers read become outputs beside the model's own outputs that do not
 * depend on them. For checking a rewrite up to the layers nothing here can run.
 */
export function openvinoToOnnxUpTo(ov: Model): { model: Model; cut: Cut } {
  return translate(ov, true);
}

function translate(ov: Model, cutAtUntranslatable: boolean): { model: Model; cut: Cut } {
  if (ov.format !== 'openvino') throw new TypeError(`openvinoToOnnx: expected an OpenVINO model, got ${ov.format}`);
  const main = ov.graph;
  const onnx = new Graph(main.name || 'openvino');
  const t = new Translation(onnx);
  for (const p of main.inputs) {
    checkDType(p, `input '${p.name}'`);
    const v = onnx.addValue(onnx.uniqueName(p.name), { dtype: p.dtype, shape: onnxShape(p.shape) });
    onnx.inputs.push(v);
    t.bind(p, v);
  }
  const cut: Cut = { layers: [], untranslated: [], outputs: [], frontier: [] };
  const left = new Set<Node>();
  for (const node of inOrder(main)) {
    if (node.inputs.some((v) => v?.producer && left.has(v.producer))) {
      left.add(node);
      continue;
    }
    try {
      translateLayer(node, t);
    } catch (e) {
      if (!cutAtUntranslatable || !(e instanceof TranslationError)) throw e;
      left.add(node);
      cut.layers.push({ name: node.name, op: node.op, reason: e.message.replace(/^cannot translate OpenVINO layer '[^']*' \([^)]*\) to ONNX: /, '') });
    }
  }
  cut.untranslated = main.nodes.filter((n) => left.has(n));
  // The values the model returns or the left-out layers read, once each, as computed.
  const wanted: Value[] = [];
  const seen = new Set<Value>();
  const want = (v: Value | null): void => {
    if (!v || seen.has(v) || (v.producer && left.has(v.producer))) return;
    seen.add(v);
    wanted.push(v);
  };
  main.outputs.forEach(want);
  // Constants the left-out layers read are compared as bytes (checkSameUntranslated), not run.
  // Model inputs are fed the same data on both sides: nothing to compare.
  const fed = new Set(main.inputs);
  const frontier = new Set<Value>();
  for (const n of cut.untranslated) {
    for (const v of n.inputs) {
      if (!v || v.const || fed.has(v) || (v.producer && left.has(v.producer))) continue;
      frontier.add(v);
      want(v);
    }
  }
  const onnxName = new Map<Value, string>();
  onnx.outputs = wanted.map((v) => {
    checkDType(v, `output '${v.name}'`);
    const computed = t.valueOf(v);
    if (!computed) throw new TranslationError(`cannot translate the OpenVINO model to ONNX: '${v.name}' is not computed`);
    const out = onnx.addValue(onnx.uniqueName(v.name), { dtype: v.dtype, shape: onnxShape(v.shape) });
    onnx.addNode({ op: 'Identity', name: t.freshName('Identity'), inputs: [computed], outputs: [out] });
    onnxName.set(v, out.name);
    return out;
  });
  cut.outputs = onnx.outputs.map((v) => v.name);
  cut.frontier = [...frontier].map((v) => onnxName.get(v)!);
  // A translation that failed half way may have left nodes nothing reads.
  if (cut.layers.length > 0) cleanup(onnx);
  const model = new Model('onnx', onnx);
  model.opsets = [{ domain: '', version: TRANSLATION_OPSET }];
  model.producer = { name: 'recipe verify (OpenVINO IR translated to ONNX)' };
  return { model, cut };
}

/** Element types ONNX and onnxruntime take as graph inputs and outputs. */
function checkDType(v: Value, what: string): void {
  const d = v.dtype;
  if (!d || d === 'undefined') throw new TranslationError(`cannot translate the OpenVINO model to ONNX: ${what} has no declared element type`);
  const kind = DTYPES[d].kind;
  if (kind === 'string') throw new TranslationError(`cannot verify the OpenVINO model: ${what} is string, and recipe verify feeds and compares numeric tensors only`);
  if (kind === 'opaque' || DTYPES[d].bits < 8 && kind !== 'bool') {
    throw new TranslationError(`cannot translate the OpenVINO model to ONNX: ${what} is ${d}, which onnxruntime does not take as a model input or output`);
  }
}

/** OpenVINO dynamic dimensions are null or a name; ONNX takes both. */
function onnxShape(shape: Shape | undefined): Shape | undefined {
  return shape ? [...shape] : undefined;
}
