/**
 * Fragment numbers look like AWS's: 47 decimal digits, 2^156 + seq·2^92 + serverMs·2^28 + nonce
 * (the layout found in real fragment numbers). `seq` is a global ingestion sequence, so
 * numbers grow in ingestion order within a stream and are unique across streams; all have the same
 * length, so string order equals numeric order.
 */
const BASE = 1n << 156n;
const SEQ_SHIFT = 92n;
const MS_SHIFT = 28n;
const MS_MASK = (1n << 64n) - 1n;
const NONCE_MASK = (1n << 28n) - 1n;

export interface FragmentNumberParts {
  seq: number;
  serverMs: number;
  nonce: number;
}

export function formatFragmentNumber(p: FragmentNumberParts): string {
  return (BASE + (BigInt(p.seq) << SEQ_SHIFT) + (BigInt(p.serverMs) << MS_SHIFT) + BigInt(p.nonce)).toString();
}

/** Parses a fragment number kvsd issued; undefined for anything else. */
export function parseFragmentNumber(text: string): FragmentNumberParts | undefined {
  if (!/^\d{47}$/.test(text)) return undefined;
  const n = BigInt(text) - BASE;
  if (n < 0n) return undefined;
  const seq = n >> SEQ_SHIFT;
  const serverMs = (n >> MS_SHIFT) & MS_MASK;
  if (seq > BigInt(Number.MAX_SAFE_INTEGER) || serverMs > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return { seq: Number(seq), serverMs: Number(serverMs), nonce: Number(n & NONCE_MASK) };
}
