import type { FormatAdapter } from '../adapter';
import { UnsupportedError } from '../../errors';

// Placeholder until the codec lands: recognised, but reading says so plainly.
export const openvinoAdapter: FormatAdapter = {
  id: 'openvino',
  extensions: ['.xml'],
  sniff: () => false,
  read(path) {
    throw new UnsupportedError(`${path}: reading openvino is not implemented yet`);
  },
  write() {
    throw new UnsupportedError('writing openvino is not implemented yet');
  },
};
