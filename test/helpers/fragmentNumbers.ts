/**
 * Fragment numbers built from their parts by the layout in docs/kvs-wire.md (Fragment numbers) (2^156 + counter·2^92 + serverMs·2^28 +
 * rand28), written here independently of src/protocol/fragmentNumbers.ts so that a test can catch it.
 */
export function fragmentNumberOf(seq: bigint | number, serverMs: number, nonce: number): string {
  return ((1n << 156n) + (BigInt(seq) << 92n) + (BigInt(serverMs) << 28n) + BigInt(nonce)).toString();
}
