export * from './dtype';
export * from './tensor';
export * from './attr';
export * from './graph';
export * from './model';
export * from './passes';
export * from './text/print';
export * from './text/parse';
