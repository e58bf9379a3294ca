/** Questions about the graph around a capture and the model: uses(), op(), attr(), format(), opset(), ... */
import { Node, Value as GraphValue } from '../../ir/graph';
import type { FunctionSpec } from '../functions';
import { describeValue, fromAttr } from '../values';
import { graphValueOf, nodeOf, optional, p } from './args';

/** The graph functions. */
export const GRAPH_FUNCTIONS: readonly FunctionSpec[] = [
  // The graph around a capture
  {
    name: 'uses',
    doc: 'how many readers a graph value has (node inputs and graph outputs)',
    category: 'graph',
    params: [p('v', ['value'])],
    result: 'int',
    impl: ([v], ctx) => graphValueOf(v ?? null, ctx, 0).useCount,
  },
  {
    name: 'is_output',
    doc: 'true when the graph value is a graph output (for a node: when one of its outputs is)',
    category: 'graph',
    params: [p('v', ['value', 'node'])],
    result: 'bool',
    impl: ([v], ctx) => (v instanceof Node ? v.outputs.some((o) => o.isGraphOutput) : graphValueOf(v ?? null, ctx, 0).isGraphOutput),
  },
  {
    name: 'num_outputs',
    doc: 'how many outputs a captured node has (a Split: how many parts); read it in let or where: the replacement takes the outputs over',
    category: 'graph',
    params: [p('n', ['node'])],
    result: 'int',
    impl: ([n], ctx) => nodeOf(n ?? null, ctx, 0).outputs.length,
  },
  {
    name: 'output_uses',
    doc: 'how many readers output i of a captured node has (0 when the node has no output i)',
    category: 'graph',
    params: [p('n', ['node']), p('i', ['int'])],
    result: 'int',
    impl: ([n, i], ctx) => {
      const node = nodeOf(n ?? null, ctx, 0);
      const index = Number(i);
      return node.outputs[index]?.useCount ?? 0;
    },
  },
  {
    name: 'is_input',
    doc: 'true when the graph value is a graph input',
    category: 'graph',
    params: [p('v', ['value'])],
    result: 'bool',
    impl: ([v], ctx) => graphValueOf(v ?? null, ctx, 0).isGraphInput,
  },
  {
    name: 'name',
    doc: 'the name of a node or graph value',
    category: 'graph',
    params: [p('x', ['node', 'value'])],
    result: 'string',
    impl: ([x], ctx) => {
      const v = x ?? null;
      if (v instanceof GraphValue || v instanceof Node) return v.name;
      return ctx.fail(`expected a node or a graph value, got ${describeValue(v)}`, 0);
    },
  },
  {
    name: 'op',
    doc: "a node's op type (of the producer, for a graph value); none for a graph input or constant",
    category: 'graph',
    params: [p('x', ['node', 'value'])],
    result: 'string',
    impl: ([x], ctx) => {
      const v = x ?? null;
      if (v instanceof GraphValue) return v.producer?.op ?? null;
      return nodeOf(v, ctx, 0).op;
    },
  },
  {
    name: 'attr',
    doc: "a node's attribute by name (ints as lists, tensors as tensors); none when absent",
    category: 'graph',
    params: [p('node', ['node', 'value']), p('name', ['string'])],
    result: 'unknown',
    impl: ([n, key], ctx) => {
      const node = nodeOf(n ?? null, ctx, 0);
      if (typeof key !== 'string') return ctx.fail(`expected an attribute name, got ${describeValue(key ?? null)}`, 1);
      const a = node.attrs.get(key);
      if (!a) return null;
      const v = fromAttr(a);
      if (v === undefined) return ctx.fail(`attribute '${key}' of node '${node.name}' is a ${a.kind}, which expressions cannot read`, 1);
      return v;
    },
  },
  {
    name: 'has_attr',
    doc: 'true when the node has the attribute',
    category: 'graph',
    params: [p('node', ['node', 'value']), p('name', ['string'])],
    result: 'bool',
    impl: ([n, key], ctx) => typeof key === 'string' && nodeOf(n ?? null, ctx, 0).attrs.has(key),
  },
  {
    name: 'format',
    doc: 'the format of the model being rewritten: "onnx", "tflite" or "openvino"; none without a model',
    category: 'graph',
    params: [],
    result: 'string',
    impl: (_args, ctx) => ctx.context.format ?? null,
  },
  {
    name: 'opset',
    doc: 'the opset version the model imports for a domain (default "": ai.onnx); none if it imports none',
    category: 'graph',
    params: [p('domain', ['string'], { optional: true })],
    result: 'int',
    impl: ([d], ctx) => {
      const domain = optional(d) === undefined ? '' : d;
      if (typeof domain !== 'string') return ctx.fail(`expected a domain name, got ${describeValue(domain ?? null)}`, 0);
      return ctx.context.opsets?.[domain] ?? null;
    },
  },
  {
    name: 'target',
    doc: 'the target the bundle is applied for (--target); none when not given',
    category: 'graph',
    params: [],
    result: 'string',
    impl: (_args, ctx) => ctx.context.target ?? null,
  },
];
