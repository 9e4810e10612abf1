/** Fragment numbers: the layout of docs/kvs-wire.md (checked on a real AWS number), and the round trip. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { formatFragmentNumber, parseFragmentNumber } from '../../src/protocol/fragmentNumbers.js';

const reference = (seq: number, serverMs: number, nonce: number) =>
  ((1n << 156n) + (BigInt(seq) << 92n) + (BigInt(serverMs) << 28n) + BigInt(nonce)).toString();

it('formats exactly as 2^156 + seq·2^92 + serverMs·2^28 + nonce, and parses back', () => {
  let state = 7;
  const rnd = (max: number) => {
    state = (state * 48271) % 2147483647;
    return Math.floor((state / 2147483647) * max);
  };
  const cases: [number, number, number][] = [
    [1, 1511852109126, 0xfeeef70],
    [0, 0, 0],
    [1, 0, 0],
    [2 ** 26 - 1, 2 ** 26 - 1, 2 ** 28 - 1],
    [2 ** 26, 2 ** 26, 1],
    [1_700_000_000_000, 2 ** 44 - 1, 2 ** 28 - 1],
    [999_999, 1795284037293, 123],
  ];
  for (let i = 0; i < 20000; i++)
    cases.push([rnd(2 ** 31) * (rnd(2) ? 1 : 4096) + rnd(1000), 1.6e12 + rnd(4e11), rnd(2 ** 28)]);
  for (const [seq, serverMs, nonce] of cases) {
    const text = formatFragmentNumber({ seq, serverMs, nonce });
    assert.equal(text, reference(seq, serverMs, nonce), `seq ${seq} ms ${serverMs} nonce ${nonce}`);
    if (text.length === 47) assert.deepEqual(parseFragmentNumber(text), { seq, serverMs, nonce });
  }
  assert.equal(
    formatFragmentNumber({ seq: 1, serverMs: 1511852109126, nonce: 0xfeeef70 }),
    '91343852333181432392682062607743920146159169392',
  );
});

it('parses only 47-digit numbers of the layout', () => {
  assert.equal(parseFragmentNumber('123'), undefined);
  assert.equal(parseFragmentNumber('1'.repeat(47)), undefined);
  assert.equal(parseFragmentNumber(`9${'a'.repeat(46)}`), undefined);
});
