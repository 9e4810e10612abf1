import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ID, MkvError, UNKNOWN, encodeId, encodeSize, readId, readSize, readUint } from '../../src/mkv/index.js';
import { mulberry32 } from '../helpers/media.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

test('readId keeps the marker bits and waits for missing bytes', () => {
  assert.deepEqual(readId(hex('1A45DFA3'), 0, 0), { value: ID.EBML, length: 4 });
  assert.deepEqual(readId(hex('00 2AD7B1 00'), 1, 0), { value: ID.TimecodeScale, length: 3 });
  assert.deepEqual(readId(hex('A3'), 0, 0), { value: ID.SimpleBlock, length: 1 });
  assert.equal(readId(hex('1F43B6'), 0, 0), undefined);
  assert.equal(readId(hex(''), 0, 0), undefined);
});

test('readId rejects IDs longer than 4 bytes and reserved IDs, naming the offset', () => {
  for (const bad of ['08000000 01', '00', 'FF', '80', '7FFF', '4000', '1FFFFFFF', '10000000']) {
    assert.throws(
      () => readId(hex(bad), 0, 77),
      (err: unknown) => err instanceof MkvError && /at offset 77/.test(err.message),
      bad,
    );
  }
});

test('readSize removes the marker; all ones is unknown in every width', () => {
  assert.deepEqual(readSize(hex('81'), 0, 0), { value: 1, length: 1 });
  assert.deepEqual(readSize(hex('10 00 00 EB'), 0, 0), { value: 0xeb, length: 4 });
  assert.deepEqual(readSize(hex('01 00 00 00 00 00 01 00'), 0, 0), { value: 256, length: 8 });
  for (let width = 1; width <= 8; width++) {
    const allOnes = encodeSize(0, width);
    allOnes.fill(0xff, 1);
    allOnes[0] |= 0xff >> width;
    assert.deepEqual(readSize(allOnes, 0, 0), { value: UNKNOWN, length: width }, `width ${width}`);
    assert.equal(readSize(allOnes.subarray(0, width - 1), 0, 0), undefined);
  }
  assert.throws(() => readSize(hex('00 81'), 0, 5), /invalid element size .* at offset 5/);
  assert.throws(() => readSize(hex('01 FF FF FF FF FF FF FE'), 0, 5), /too large/);
});

test('encodeSize and readSize round trip in every width', () => {
  const random = mulberry32(42);
  for (let width = 1; width <= 8; width++) {
    const max = Math.min(2 ** (7 * width) - 2, Number.MAX_SAFE_INTEGER);
    for (const size of [0, 1, max, Math.floor(random() * max)]) {
      const encoded = encodeSize(size, width);
      assert.equal(encoded.length, width);
      assert.deepEqual(readSize(encoded, 0, 0), { value: size, length: width });
    }
    if (width < 8)
      assert.throws(() => encodeSize(2 ** (7 * width) - 1, width), RangeError, 'the all-ones value is reserved');
  }
  assert.deepEqual(encodeSize(126), hex('FE'));
  assert.deepEqual(encodeSize(127), hex('407F'));
  assert.deepEqual(encodeSize(0xeb, 4), hex('100000EB'));
  assert.deepEqual(encodeSize(1, 8), hex('0100000000000001'));
});

test('encodeId', () => {
  assert.deepEqual(encodeId(ID.EBML), hex('1A45DFA3'));
  assert.deepEqual(encodeId(ID.TimecodeScale), hex('2AD7B1'));
  assert.deepEqual(encodeId(ID.CodecPrivate), hex('63A2'));
  assert.deepEqual(encodeId(ID.Void), hex('EC'));
  for (const bad of [0, 0x7f, 0x0a45dfa3, 0x2000_0000, 0x1ff])
    assert.throws(() => encodeId(bad), RangeError, `0x${bad.toString(16)}`);
});

test('readUint', () => {
  assert.equal(readUint(hex('')), 0);
  assert.equal(readUint(hex('0F4240')), 1_000_000);
  assert.equal(readUint(hex('00 00 01 00 00 00 00 00')), 2 ** 40);
});
