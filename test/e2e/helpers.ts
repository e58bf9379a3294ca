import type { Io } from '../../src/cli/command';

/** An Io that keeps what a command prints, for asserting on it. */
export interface CapturedIo {
  io: Io;
  stdout(): string;
  stderr(): string;
}

export function capturingIo(): CapturedIo {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { out: (text) => void out.push(text), err: (text) => void err.push(text), interactive: false },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

/** `count` floats in [lo, hi) from a seeded linear congruential generator: the same numbers on every run. */
export function seededFloats(count: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + (s / 2 ** 32) * (hi - lo);
  }
  return out;
}
