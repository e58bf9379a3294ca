import type { FormatAdapter } from '../adapter';
import { UnsupportedError } from '../../errors';

// Placeholder until the codec lands: recognised, but reading says so plainly.
export const onnxAdapter: FormatAdapter = {
  id: 'onnx',
  extensions: ['.onnx'],
  sniff: () => false,
  read(path) {
    throw new UnsupportedError(`${path}: reading onnx is not implemented yet`);
  },
  write() {
    throw new UnsupportedError('writing onnx is not implemented yet');
  },
};
