import * as path from 'node:path';
import { writtenLine } from '../../src/cli/written';

const here = (...parts: string[]) => path.join(process.cwd(), ...parts);

test('a few written files are listed, relative to the working folder', () => {
  expect(writtenLine([here('out', 'm.xml'), here('out', 'm.bin')])).toBe(`wrote ${path.join('out', 'm.xml')}, ${path.join('out', 'm.bin')}`);
});

test('a model stored one tensor per file: the data files are counted, not listed', () => {
  const data = Array.from({ length: 330 }, (_, i) => here('out', `w${i}`));
  expect(writtenLine([here('out', 'm.onnx'), ...data])).toBe(`wrote ${path.join('out', 'm.onnx')} and 330 external data files in out`);
});
