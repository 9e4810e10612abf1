/**
 * Timestamps on the wire are epoch seconds (restJson1 default). The JS SDK sends milliseconds as a
 * fraction (1700000000.123); boto3 and the CLI send whole seconds; numeric strings are accepted too.
 * Internally kvsd works in integer epoch milliseconds.
 */
export function epochSecondsToMs(value: unknown): number | undefined {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) n = Number(value);
  else return undefined;
  if (!Number.isFinite(n)) return undefined;
  const ms = Math.round(n * 1000);
  // Outside what a JS Date can hold is not a timestamp.
  if (Math.abs(ms) > 8.64e15) return undefined;
  return ms;
}

/** Milliseconds to the JSON number the SDKs parse as a Date with millisecond precision. */
export function msToEpochSeconds(ms: number): number {
  return ms / 1000;
}
