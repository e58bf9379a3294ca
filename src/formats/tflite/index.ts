import type { FormatAdapter } from '../adapter';
import { UnsupportedError } from '../../errors';

// Placeholder until the codec lands: recognised, but reading says so plainly.
export const tfliteAdapter: FormatAdapter = {
  id: 'tflite',
  extensions: ['.tflite'],
  sniff: () => false,
  read(path) {
    throw new UnsupportedError(`${path}: reading tflite is not implemented yet`);
  },
  write() {
    throw new UnsupportedError('writing tflite is not implemented yet');
  },
};
