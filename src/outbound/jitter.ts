import { createHash } from 'node:crypto';

/** A number in [0, 1) from a seed and a key: repeatable jitter (same seed, same row, same delay). */
export function seededUnit(seed: string, key: string | number): number {
  const h = createHash('sha256').update(`${seed}\u0000${key}`).digest();
  return h.readUInt32BE(0) / 0x1_0000_0000;
}

export function seededJitterMs(seed: string, key: string | number, minMs: number, maxMs: number): number {
  if (maxMs <= minMs) return minMs;
  return Math.round(minMs + seededUnit(seed, key) * (maxMs - minMs));
}
