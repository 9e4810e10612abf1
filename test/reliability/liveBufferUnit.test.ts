/**
 * The live buffer's bookkeeping, on the class itself (src/archive/liveBuffer.ts, fragmentMemory.ts): the global
 * cap evicts the fragment buffered first whatever its stream, reservations count and can be refused, the age
 * sweep empties idle streams, the per-stream limit, and a known-size Cluster held in one exact buffer.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LiveBuffer, type BufferedFragment } from '../../src/archive/liveBuffer.js';
import { FragmentMemory, knownClusterSize } from '../../src/archive/fragmentMemory.js';

let seq = 0;
function fragment(size: number, serverMs: number): BufferedFragment {
  return {
    seq: ++seq,
    nonce: 1,
    serverMs,
    producerMs: serverMs,
    header: Buffer.alloc(0),
    cluster: [Buffer.alloc(size)],
    size,
  };
}
const seqs = (b: LiveBuffer, stream: number) => b.after(stream, 0, 100, 0).map((f) => f.seq);

describe('LiveBuffer', () => {
  it('over the global cap, the fragment buffered first goes, whichever stream it is on', () => {
    const b = new LiveBuffer({ maxBytes: 300, maxAgeMs: 1e12 });
    const a1 = fragment(100, 0),
      b1 = fragment(100, 0),
      a2 = fragment(100, 0),
      b2 = fragment(100, 0);
    b.add(1, a1, 0);
    b.add(2, b1, 0);
    b.add(1, a2, 0);
    assert.equal(b.bytes, 300);
    b.add(2, b2, 0);
    assert.deepEqual([seqs(b, 1), seqs(b, 2)], [[a2.seq], [b1.seq, b2.seq]]);
    b.add(2, fragment(250, 0), 0);
    assert.equal(b.bytes, 250);
    assert.deepEqual(seqs(b, 1), []);
  });

  it('reservations count against the cap: they evict buffered fragments, and are refused past it', () => {
    const b = new LiveBuffer({ maxBytes: 300, maxAgeMs: 1e12 });
    b.add(1, fragment(200, 0), 0);
    const r1 = b.reserve();
    assert.equal(r1.grow(150), true);
    assert.deepEqual(seqs(b, 1), [], 'the buffered fragment made room');
    const r2 = b.reserve();
    assert.equal(r2.grow(100), true);
    assert.equal(r2.grow(100), false, 'in-progress fragments alone would exceed the cap');
    assert.equal(r2.grow(1), false, 'a refused reservation stays refused');
    assert.equal(b.bytes, 150);
    r1.release();
    r1.release();
    assert.equal(b.bytes, 0, 'release is idempotent');
  });

  it('the age sweep empties streams nobody writes or reads; the per-stream limit still holds', () => {
    const b = new LiveBuffer({ maxBytes: 1e9, maxAgeMs: 1000, streamMaxBytes: 250 });
    b.add(1, fragment(100, 0), 0);
    b.add(1, fragment(100, 500), 500);
    b.add(1, fragment(100, 900), 900);
    assert.equal(b.bytes, 200, 'per stream: the oldest went past 250 bytes');
    b.sweep(1600);
    assert.equal(b.bytes, 100);
    b.sweep(2000);
    assert.equal(b.bytes, 0);
    assert.equal(b.last(1), undefined);
  });

  it('many evictions leave no fragment referenced from the eviction queue', () => {
    const b = new LiveBuffer({ maxBytes: 1000, maxAgeMs: 1e12, streamMaxBytes: 100 });
    for (let i = 0; i < 5000; i++) b.add(i % 7, fragment(60, 0), 0);
    assert.equal(b.bytes, 7 * 60);
  });
});

describe('FragmentMemory', () => {
  const cluster = (payload: number) =>
    Buffer.concat([
      Buffer.from([0x1f, 0x43, 0xb6, 0x75, 0x40 | (payload >> 8), payload & 0xff]),
      Buffer.alloc(payload, 7),
    ]);

  it('reads the size of a known-size Cluster, not of an unknown-size one', () => {
    assert.equal(knownClusterSize(cluster(300)), 306);
    assert.equal(knownClusterSize(Buffer.from('1f43b67501ffffffffffffff', 'hex')), undefined);
    assert.equal(knownClusterSize(Buffer.from('1f43b6', 'hex')), undefined);
  });

  it('holds a known-size Cluster in one buffer reserved in full, an unknown-size one as chunks until it ends', () => {
    const b = new LiveBuffer({ maxBytes: 1000 });
    const bytes = cluster(300);
    const m = new FragmentMemory(b.reserve(), 1000);
    assert.equal(m.push(bytes.subarray(0, 10)), true);
    assert.equal(b.bytes, 306, 'the whole declared size is reserved at once');
    assert.equal(m.push(bytes.subarray(10)), true);
    const parts = m.finish()!;
    assert.equal(parts.length, 1);
    assert.ok(parts[0]!.equals(bytes));
    assert.equal(b.bytes, 0);
    const unknown = Buffer.concat([Buffer.from('1f43b67501ffffffffffffff', 'hex'), Buffer.alloc(50, 1)]);
    const u = new FragmentMemory(b.reserve(), 1000);
    u.push(unknown.subarray(0, 20));
    u.push(unknown.subarray(20));
    assert.equal(b.bytes, unknown.length);
    assert.ok(u.finish()![0]!.equals(unknown));
    const small = new LiveBuffer({ maxBytes: 100 });
    const refused = new FragmentMemory(small.reserve(), 1000);
    assert.equal(refused.push(cluster(300)), false, 'over the cap: given up');
    assert.equal(refused.finish(), undefined);
    assert.equal(small.bytes, 0);
  });
});
