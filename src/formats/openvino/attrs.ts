import type { Attr } from '../../ir/attr';
import type { Node } from '../../ir/graph';

/**
 * OpenVINO stores every `<data>` attribute as text (`strides="1,1"`,
 * `auto_pad="explicit"`, `epsilon="9.9999997473787516e-06"`). The reader keeps
 * each one as a `string` attribute exactly as written, so an unchanged
 * attribute is written back byte for byte; these helpers read and set them as
 * numbers for rules and built-in actions.
 */

/** The text of attribute `name`, whatever kind it is stored as; undefined when absent. */
export function ovStringAttr(node: Node, name: string): string | undefined {
  const a = node.attrs.get(name);
  return a === undefined ? undefined : formatOvAttr(a);
}

/** A comma-separated integer list (`strides`, `pads_begin`); `""` is the empty list. */
export function ovIntsAttr(node: Node, name: string): number[] | undefined {
  const s = ovStringAttr(node, name);
  if (s === undefined) return undefined;
  if (s.trim() === '') return [];
  return s.split(',').map((x) => {
    const n = Number(x.trim());
    if (!Number.isInteger(n)) throw new RangeError(`attribute ${name}="${s}" of '${node.name}' is not a list of integers`);
    return n;
  });
}

/** A single integer (`group`, `axis`). */
export function ovIntAttr(node: Node, name: string): number | undefined {
  const list = ovIntsAttr(node, name);
  if (list === undefined) return undefined;
  if (list.length !== 1) throw new RangeError(`attribute ${name} of '${node.name}' is not a single integer`);
  return list[0];
}

/** A comma-separated float list. */
export function ovFloatsAttr(node: Node, name: string): number[] | undefined {
  const s = ovStringAttr(node, name);
  if (s === undefined) return undefined;
  if (s.trim() === '') return [];
  return s.split(',').map((x) => {
    const text = x.trim().toLowerCase();
    // OpenVINO writes infinities as inf (its default LSTM clip, Clamp bounds); C++ streams also read "infinity".
    const special = SPECIAL_NUMBERS.get(text.replace(/^\+/, ''));
    if (special !== undefined) return special;
    const n = Number(text);
    if (Number.isNaN(n)) throw new RangeError(`attribute ${name}="${s}" of '${node.name}' is not a list of numbers`);
    return n;
  });
}

const SPECIAL_NUMBERS = new Map<string, number>([
  ['nan', NaN],
  ['inf', Infinity],
  ['infinity', Infinity],
  ['-inf', -Infinity],
  ['-infinity', -Infinity],
]);

/** A single float (`epsilon`, `min`, `max`). */
export function ovFloatAttr(node: Node, name: string): number | undefined {
  const list = ovFloatsAttr(node, name);
  if (list === undefined) return undefined;
  if (list.length !== 1) throw new RangeError(`attribute ${name} of '${node.name}' is not a single number`);
  return list[0];
}

/** Sets attribute `name` in OpenVINO's text form: lists comma-separated, booleans `true`/`false`. */
export function ovSetAttr(node: Node, name: string, value: string | number | boolean | readonly number[]): void {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'boolean') text = value ? 'true' : 'false';
  else if (typeof value === 'number') text = formatNumber(value);
  else text = value.map(formatNumber).join(',');
  node.attrs.set(name, { kind: 'string', value: text });
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  return String(n);
}

/** The `<data>` text of an attribute of any kind (a rule may set ints or floats directly). */
export function formatOvAttr(a: Attr): string {
  switch (a.kind) {
    case 'string': return a.value;
    case 'int': return String(a.value);
    case 'float': return formatNumber(a.value);
    case 'bool': return a.value ? 'true' : 'false';
    case 'ints': return a.value.map(String).join(',');
    case 'floats': return a.value.map(formatNumber).join(',');
    case 'strings': return a.value.join(',');
    default:
      throw new RangeError(`an OpenVINO <data> attribute cannot hold a ${a.kind}`);
  }
}
