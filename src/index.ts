export * from './ir';
export * from './errors';
export { readModel, writeModel, detectFormat, ADAPTERS } from './formats';
export type { FormatAdapter, ReadOptions, WriteOptions, OutputFiles } from './formats';
