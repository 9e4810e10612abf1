/**
 * Timestamps on the wire are epoch seconds (restJson1 default). The JS SDK sends milliseconds as a
 * fraction (1700000000.123); boto3 and the CLI send whole seconds; numeric strings are accepted too.
 * Internally kvsd works in integer epoch milliseconds.
 */
export function epochSecondsToMs(value: unknown): number | undefined {
  let n: number;
  if (typeof value === 'number') n = value;
  // Strings as the SDKs' own parsers take them, exponent included ("1.705489836421E9", how the real service writes).
  else if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?([eE][+-]?\d+)?\s*$/.test(value)) n = Number(value);
  else return undefined;
  if (!Number.isFinite(n)) return undefined;
  const ms = Math.round(n * 1000);
  // Outside what a JS Date can hold is not a timestamp.
  if (Math.abs(ms) > 8.64e15) return undefined;
  return ms === 0 ? 0 : ms; // never -0 (e.g. from -0.0001)
}

/** Milliseconds to the JSON number the SDKs parse as a Date with millisecond precision. */
export function msToEpochSeconds(ms: number): number {
  return ms / 1000;
}
