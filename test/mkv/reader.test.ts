// needs: ffmpeg, mkvtoolnix
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { Decoder, type EBMLElementDetail } from 'ts-ebml';
import {
  ID,
  MkvError,
  MkvReader,
  UNKNOWN_SIZE_SEGMENT_HEADER,
  element,
  kvsTags,
  stringElement,
  uintElement,
} from '../../src/mkv/index.js';
import type { FrameEvent, MkvEvent, TrackHeader } from '../../src/mkv/index.js';
import { ffmpegMkvFile, gstMkvFile, mkvinfoClusters, splitRandom, mulberry32 } from '../helpers/media.js';

/** What a parse produced: every event but clusterData, and each cluster's concatenated clusterData. */
interface Parsed {
  events: MkvEvent[];
  clusters: Buffer[];
}

/** Collects events as they come, copying cluster bytes into one growing buffer (cheap even byte by byte). */
class Collector {
  readonly events: MkvEvent[] = [];
  private data = Buffer.alloc(1 << 16);
  private length = 0;
  private readonly spans: Array<[start: number, end: number]> = [];
  private clusterStart: number | undefined;

  add(events: MkvEvent[]): void {
    for (const event of events) {
      if (event.kind === 'clusterData') {
        assert.notEqual(this.clusterStart, undefined, 'clusterData outside a cluster');
        this.append(event.bytes);
        continue;
      }
      if (event.kind === 'clusterStart') {
        assert.equal(this.clusterStart, undefined, 'clusterStart inside a cluster');
        this.clusterStart = this.length;
      } else if (event.kind === 'clusterEnd') {
        assert.notEqual(this.clusterStart, undefined, 'clusterEnd outside a cluster');
        this.spans.push([this.clusterStart!, this.length]);
        this.clusterStart = undefined;
      }
      this.events.push(event);
    }
  }

  result(): Parsed {
    assert.equal(this.clusterStart, undefined, 'cluster left open');
    return { events: this.events, clusters: this.spans.map(([start, end]) => this.data.subarray(start, end)) };
  }

  private append(bytes: Buffer): void {
    if (this.length + bytes.length > this.data.length) {
      const bigger = Buffer.alloc(Math.max(this.data.length * 2, this.length + bytes.length));
      this.data.copy(bigger, 0, 0, this.length);
      this.data = bigger;
    }
    this.length += bytes.copy(this.data, this.length);
  }
}

function parse(chunks: Iterable<Buffer>, opts?: { maxHeaderElementBytes?: number }): Parsed {
  const reader = new MkvReader(opts);
  const collector = new Collector();
  for (const chunk of chunks) collector.add(reader.push(chunk));
  collector.add(reader.end());
  return collector.result();
}

function* bytewise(buf: Buffer): Generator<Buffer> {
  for (let i = 0; i < buf.length; i++) yield buf.subarray(i, i + 1);
}

function ofKind<K extends MkvEvent['kind']>(events: MkvEvent[], kind: K): Extract<MkvEvent, { kind: K }>[] {
  return events.filter((e): e is Extract<MkvEvent, { kind: K }> => e.kind === kind);
}

/** Each cluster's events (clusterStart..clusterEnd). */
function clusterEvents(events: MkvEvent[]): MkvEvent[][] {
  const clusters: MkvEvent[][] = [];
  let current: MkvEvent[] | undefined;
  for (const event of events) {
    if (event.kind === 'clusterStart') clusters.push((current = []));
    current?.push(event);
    if (event.kind === 'clusterEnd') current = undefined;
  }
  return clusters;
}

function headerOf(parsed: Parsed): TrackHeader {
  const headers = ofKind(parsed.events, 'header');
  assert.equal(headers.length, 1);
  return headers[0].header;
}

function decodeWithTsEbml(buf: Buffer): EBMLElementDetail[] {
  return new Decoder().decode(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer);
}

/**
 * Cluster extents according to ts-ebml. It never closes an unknown-size Cluster, so such a cluster is taken
 * to end where the next one starts (or at the end of the input: true of the muxer outputs tested here).
 */
function tsEbmlClusters(buf: Buffer): { offset: number; size: number }[] {
  const starts = decodeWithTsEbml(buf).filter((e) => e.name === 'Cluster' && e.type === 'm' && !e.isEnd);
  return starts.map((e, i) => {
    const unknownSize = e.type === 'm' && e.unknownSize === true;
    const end = unknownSize ? (starts[i + 1]?.tagStart ?? buf.length) : e.dataEnd;
    return { offset: e.tagStart, size: end - e.tagStart };
  });
}

function rawElement(buf: Buffer, name: string): Buffer {
  const found = decodeWithTsEbml(buf).find((e) => e.name === name);
  assert.ok(found, `ts-ebml found no ${name}`);
  return buf.subarray(found.tagStart, found.dataEnd);
}

const sources = [
  { name: 'ffmpeg with CRC-32', file: () => ffmpegMkvFile() },
  { name: 'ffmpeg without CRC-32', file: () => ffmpegMkvFile({ crc: false }) },
  { name: 'ffmpeg with audio', file: () => ffmpegMkvFile({ audio: true }) },
  { name: 'GStreamer (unknown-size clusters)', file: () => gstMkvFile() },
];

for (const source of sources) {
  describe(`MkvReader on ${source.name}`, () => {
    test('same events whole, in random chunks and byte by byte', async () => {
      const input = await readFile(await source.file());
      const whole = parse([input]);
      assert.ok(whole.clusters.length >= 5);
      for (const [seed, maxChunk] of [
        [1, 7],
        [2, 1400],
        [3, 65536],
        [4, 200_000],
      ]) {
        assert.deepEqual(parse(splitRandom(input, seed, maxChunk)), whole, `seed ${seed}, chunks up to ${maxChunk}`);
      }
      assert.deepEqual(parse(bytewise(input)), whole, 'byte by byte');
    });

    test('cluster offsets, sizes and bytes match ts-ebml and mkvinfo', async () => {
      const file = await source.file();
      const input = await readFile(file);
      const parsed = parse(splitRandom(input, 5, 3000));
      const ends = ofKind(parsed.events, 'clusterEnd');
      assert.deepEqual(
        ofKind(parsed.events, 'clusterStart').map((e) => e.offset),
        ends.map((e) => e.offset),
      );
      const clusters = ends.map(({ offset, size }) => ({ offset, size }));
      assert.deepEqual(clusters, tsEbmlClusters(input));
      const mkvinfo = await mkvinfoClusters(file);
      assert.deepEqual(
        clusters.map((c) => c.offset),
        mkvinfo.map((c) => c.offset),
      );
      mkvinfo.forEach((c, i) => c.size !== undefined && assert.equal(clusters[i].size, c.size));
      clusters.forEach(({ offset, size }, i) =>
        assert.ok(parsed.clusters[i].equals(input.subarray(offset, offset + size))),
      );
      const last = clusters.at(-1)!;
      assert.equal(last.offset + last.size, input.length, 'the last cluster ends the file');
    });

    test('timecodes and frames match mkvinfo', async () => {
      const file = await source.file();
      const parsed = parse([await readFile(file)]);
      const scale = headerOf(parsed).timecodeScaleNs;
      const mkvinfo = await mkvinfoClusters(file);
      const clusters = clusterEvents(parsed.events);
      assert.equal(clusters.length, mkvinfo.length);
      clusters.forEach((events, i) => {
        const timecodes = ofKind(events, 'clusterTimecode');
        assert.equal(timecodes.length, 1);
        const clusterTimecode = timecodes[0].timecode;
        assert.equal(clusterTimecode * scale, mkvinfo[i].timestampNs);
        const frames = ofKind(events, 'frame').map((f) => ({
          track: f.track,
          keyframe: f.keyframe,
          timestampNs: (clusterTimecode + f.relativeTimecode) * scale,
          size: f.size,
        }));
        assert.deepEqual(frames, mkvinfo[i].frames);
      });
    });

    test('header: raw elements and parsed fields', async () => {
      const input = await readFile(await source.file());
      const parsed = parse([input]);
      assert.equal(parsed.events.filter((e) => e.kind === 'header').length, 1);
      const header = headerOf(parsed);
      assert.deepEqual(header.ebmlHeader, rawElement(input, 'EBML'));
      assert.deepEqual(header.info, rawElement(input, 'Info'));
      assert.deepEqual(header.tracks, rawElement(input, 'Tracks'));
      assert.equal(header.timecodeScaleNs, 1_000_000);
      const video = header.trackEntries.find((t) => t.type === 1);
      assert.ok(video);
      assert.equal(video.codecId, 'V_MPEG4/ISO/AVC');
      const codecPrivate = decodeWithTsEbml(input).find((e) => e.name === 'CodecPrivate');
      assert.ok(codecPrivate?.type === 'b' && video.codecPrivate && video.codecPrivate.length > 0);
      assert.deepEqual(video.codecPrivate, codecPrivate.value);
      const headerAt = parsed.events.findIndex((e) => e.kind === 'header');
      assert.equal(parsed.events[headerAt + 1].kind, 'clusterStart', 'the header comes right before the first cluster');
    });
  });
}

describe('MkvReader on video-only muxer output', () => {
  const videoOnly = [
    { name: 'ffmpeg', file: () => ffmpegMkvFile() },
    { name: 'GStreamer', file: () => gstMkvFile() },
  ];
  for (const source of videoOnly) {
    test(`${source.name}: 10 s at 25 fps, GOP 50 → 5 clusters of 50 frames starting with the only keyframe`, async () => {
      const parsed = parse([await readFile(await source.file())]);
      const header = headerOf(parsed);
      assert.equal(header.trackEntries.length, 1);
      assert.equal(header.trackEntries[0].number, 1);
      const clusters = clusterEvents(parsed.events);
      assert.equal(clusters.length, 5);
      for (const events of clusters) {
        const frames = ofKind(events, 'frame');
        assert.equal(frames.length, 50);
        assert.equal(frames[0].keyframe, true);
        assert.equal(frames.filter((f) => f.keyframe).length, 1);
        assert.ok(frames.every((f) => f.track === 1 && f.size > 0));
      }
    });
  }
});

describe('MkvReader on composed streams', () => {
  test('level-1 Tags between unknown-size clusters, then a second document', async () => {
    const gst = await readFile(await gstMkvFile());
    const ffmpeg = await readFile(await ffmpegMkvFile({ crc: false }));
    const gstClusters = tsEbmlClusters(gst);
    const tagsAfter = (i: number): Buffer =>
      kvsTags([
        ['AWS_KINESISVIDEO_FRAGMENT_NUMBER', `${i}`],
        ['N', 'v'],
      ]);
    const parts: Buffer[] = [gst.subarray(0, gstClusters[0].offset)];
    gstClusters.forEach(({ offset, size }, i) => parts.push(gst.subarray(offset, offset + size), tagsAfter(i)));
    const first = Buffer.concat(parts);
    const input = Buffer.concat([first, ffmpeg]);

    const parsed = parse([input]);
    for (const [seed, maxChunk] of [
      [6, 5],
      [7, 5000],
    ])
      assert.deepEqual(parse(splitRandom(input, seed, maxChunk)), parsed);

    const kinds = parsed.events.filter((e) => e.kind !== 'frame' && e.kind !== 'clusterTimecode').map((e) => e.kind);
    const cluster = ['clusterStart', 'clusterEnd'];
    assert.deepEqual(kinds, [
      'tags', // GStreamer's own, before Info
      'header',
      ...[0, 1, 2, 3, 4].flatMap(() => [...cluster, 'tags']),
      'tags', // ffmpeg's own, after Tracks
      'header',
      ...[0, 1, 2, 3, 4].flatMap(() => cluster),
    ]);
    const tags = ofKind(parsed.events, 'tags');
    assert.deepEqual(tags[0].simpleTags, [{ name: 'ENCODER', value: 'x264' }]);
    assert.deepEqual(tags[3].simpleTags, [
      { name: 'AWS_KINESISVIDEO_FRAGMENT_NUMBER', value: '2' },
      { name: 'N', value: 'v' },
    ]);

    const headers = ofKind(parsed.events, 'header').map((e) => e.header);
    assert.deepEqual(headers[0].ebmlHeader, rawElement(gst, 'EBML'));
    assert.deepEqual(headers[1].ebmlHeader, rawElement(ffmpeg, 'EBML'));
    assert.deepEqual(headers[1].tracks, rawElement(ffmpeg, 'Tracks'));

    const expected = [
      ...gstClusters.map((c, i) => ({ offset: c.offset + i * tagsAfter(0).length, size: c.size })),
      ...tsEbmlClusters(ffmpeg).map((c) => ({ offset: first.length + c.offset, size: c.size })),
    ];
    assert.deepEqual(
      ofKind(parsed.events, 'clusterEnd').map(({ offset, size }) => ({ offset, size })),
      expected,
    );
    expected.forEach(({ offset, size }, i) =>
      assert.ok(parsed.clusters[i].equals(input.subarray(offset, offset + size))),
    );
  });

  test('BlockGroups, multi-byte track numbers, negative timecodes, Void and CRC-32 inside a cluster', () => {
    const input = Buffer.concat([
      syntheticHeader(),
      element(
        ID.Cluster,
        Buffer.concat([
          element(ID.CRC32, Buffer.alloc(4)),
          uintElement(ID.Timecode, 70_000),
          element(ID.BlockGroup, element(ID.Block, block(1, 0, 0x00, 10))),
          element(
            ID.BlockGroup,
            Buffer.concat([element(ID.Block, block(1, 40, 0x00, 3)), uintElement(ID.ReferenceBlock, 40)]),
          ),
          element(ID.Void, Buffer.alloc(5)),
          element(ID.SimpleBlock, block(200, -5, 0x80, 7)),
          element(ID.SimpleBlock, block(3, 32767, 0x00, 0)),
        ]),
      ),
    ]);
    const parsed = parse([input]);
    assert.deepEqual(parse(bytewise(input)), parsed);
    const frame = (track: number, relativeTimecode: number, keyframe: boolean, size: number): FrameEvent => ({
      kind: 'frame',
      track,
      relativeTimecode,
      keyframe,
      size,
    });
    assert.deepEqual(parsed.events.slice(1), [
      { kind: 'clusterStart', offset: syntheticHeader().length },
      { kind: 'clusterTimecode', timecode: 70_000 },
      frame(1, 0, true, 10),
      frame(1, 40, false, 3),
      frame(200, -5, true, 7),
      frame(3, 32767, false, 0),
      { kind: 'clusterEnd', offset: syntheticHeader().length, size: input.length - syntheticHeader().length },
    ]);
    assert.deepEqual(headerOf(parsed).trackEntries, [{ number: 1, type: 1, codecId: 'V_TEST' }]);
  });

  test('a known-size Segment ends; the next document follows', () => {
    const segmentPayload = Buffer.concat([
      syntheticInfo(),
      syntheticTracks(),
      element(ID.Cluster, uintElement(ID.Timecode, 1)),
    ]);
    const doc = Buffer.concat([syntheticEbml(), element(ID.Segment, segmentPayload)]);
    const parsed = parse([doc, doc]);
    assert.deepEqual(
      parsed.events.map((e) =>
        e.kind === 'clusterStart' || e.kind === 'clusterEnd' ? `${e.kind}@${e.offset}` : e.kind,
      ),
      [0, doc.length].flatMap((base) => {
        const at = base + doc.length - element(ID.Cluster, uintElement(ID.Timecode, 1)).length;
        return ['header', `clusterStart@${at}`, 'clusterTimecode', `clusterEnd@${at}`];
      }),
    );
  });

  test('new Tracks inside a live Segment give a new header before the next cluster', () => {
    const cluster = element(ID.Cluster, uintElement(ID.Timecode, 0));
    const tracks2 = element(
      ID.Tracks,
      element(ID.TrackEntry, Buffer.concat([uintElement(ID.TrackNumber, 2), stringElement(ID.CodecID, 'A_TEST')])),
    );
    const parsed = parse([Buffer.concat([syntheticHeader(), cluster, tracks2, cluster])]);
    const headers = ofKind(parsed.events, 'header').map((e) => e.header);
    assert.equal(headers.length, 2);
    assert.deepEqual(headers[1].trackEntries, [{ number: 2, codecId: 'A_TEST' }]);
    assert.deepEqual(headers[1].tracks, tracks2);
    assert.deepEqual(headers[1].info, headers[0].info);
  });
});

describe('MkvReader on truncated input', () => {
  test('end() throws when a known-size cluster is cut short, after the complete clusters', async () => {
    const input = await readFile(await ffmpegMkvFile());
    const [, , third] = tsEbmlClusters(input);
    const reader = new MkvReader();
    const events = reader.push(input.subarray(0, third.offset + 1000));
    assert.equal(ofKind(events, 'clusterEnd').length, 2);
    assert.equal(ofKind(events, 'clusterStart').length, 3);
    assert.throws(() => reader.end(), MkvError);
  });

  test('end() closes an unknown-size cluster cut anywhere after its header', async () => {
    const input = await readFile(await gstMkvFile());
    const [, second, third] = tsEbmlClusters(input);
    const headerLength = 12; // GStreamer writes 8-byte sizes
    const cuts = [0, 1, 2, 3, 7, 500].map((n) => second.offset + headerLength + n).concat(third.offset - 1);
    for (const cut of [
      ...cuts,
      ...splitRandom(input.subarray(second.offset + headerLength, third.offset), 8, 4000).map(
        (c) => c.byteOffset - input.byteOffset,
      ),
    ]) {
      const parsed = parse(splitRandom(input.subarray(0, cut), cut, 999));
      const last = ofKind(parsed.events, 'clusterEnd').at(-1);
      assert.deepEqual(last, { kind: 'clusterEnd', offset: second.offset, size: cut - second.offset }, `cut at ${cut}`);
      assert.ok(parsed.clusters.at(-1)!.equals(input.subarray(second.offset, cut)));
    }
  });

  test("end() throws when a cluster's header is cut, even after an unknown-size cluster", async () => {
    const input = await readFile(await gstMkvFile());
    const [, second] = tsEbmlClusters(input);
    for (let n = 1; n < 12; n++) {
      const reader = new MkvReader();
      reader.push(input.subarray(0, second.offset + n));
      assert.throws(() => reader.end(), MkvError, `cut ${n} bytes into the header`);
    }
  });

  test('end() throws inside the EBML header, Info or Tracks, and accepts an empty input', async () => {
    const input = await readFile(await ffmpegMkvFile());
    for (const cut of [1, 20, 300, 420]) {
      const reader = new MkvReader();
      assert.deepEqual(reader.push(input.subarray(0, cut)), []);
      assert.throws(() => reader.end(), /input ends inside an element/);
    }
    assert.deepEqual(new MkvReader().end(), []);
  });
});

describe('MkvReader on invalid input', () => {
  const expectError = (input: Buffer, message: RegExp, opts?: { maxHeaderElementBytes?: number }): void => {
    assert.throws(
      () => parse([input], opts),
      (err: unknown) => err instanceof MkvError && message.test(err.message),
    );
  };

  test('garbage', () => {
    const random = mulberry32(9);
    const garbage = Buffer.from(Array.from({ length: 4096 }, () => Math.floor(random() * 256)));
    expectError(garbage, /at offset 0/);
    expectError(Buffer.alloc(100), /invalid element ID .* at offset 0/);
    expectError(Buffer.from('GET / HTTP/1.1\r\n'), /at offset 0/);
  });

  test('garbage in the middle of a cluster, with its offset', async () => {
    const input = Buffer.from(await readFile(await ffmpegMkvFile()));
    const [first] = tsEbmlClusters(input);
    const secondBlock = decodeWithTsEbml(input).filter((e) => e.name === 'SimpleBlock')[1].tagStart;
    assert.ok(secondBlock > first.offset && secondBlock < first.offset + first.size);
    input.fill(0, secondBlock, secondBlock + 8);
    expectError(input, new RegExp(`invalid element ID .* at offset ${secondBlock}$`));
    input.writeUInt32BE(0x42868101, secondBlock); // EBMLVersion = 1: a valid element that a Cluster cannot hold
    expectError(input, new RegExp(`unexpected element 0x4286 at offset ${secondBlock} in Cluster`));
  });

  test('the reader is dead after an error', () => {
    const reader = new MkvReader();
    assert.throws(() => reader.push(Buffer.from([0x00])), MkvError);
    assert.throws(() => reader.push(syntheticHeader()), /earlier error/);
    assert.throws(() => reader.end(), /earlier error/);
  });

  test('a cluster before Tracks', () => {
    const input = Buffer.concat([
      syntheticEbml(),
      UNKNOWN_SIZE_SEGMENT_HEADER,
      syntheticInfo(),
      element(ID.Cluster, uintElement(ID.Timecode, 0)),
    ]);
    expectError(input, /Cluster before Tracks/);
  });

  test('a Segment without EBML header', () => {
    expectError(Buffer.concat([UNKNOWN_SIZE_SEGMENT_HEADER, syntheticInfo()]), /Segment without EBML header/);
  });

  test('unknown size on anything but a Segment or a Cluster', () => {
    const unknownBlockGroup = Buffer.from([0xa0, 0xff]);
    const clusterHeader = Buffer.from([0x1f, 0x43, 0xb6, 0x75, 0xff]);
    expectError(
      Buffer.concat([syntheticHeader(), clusterHeader, unknownBlockGroup]),
      /unknown size not supported for BlockGroup/,
    );
    expectError(
      Buffer.concat([syntheticEbml(), UNKNOWN_SIZE_SEGMENT_HEADER, Buffer.from([0x16, 0x54, 0xae, 0x6b, 0xff])]),
      /unknown size not supported for Tracks/,
    );
  });

  test('a child overrunning its parent', () => {
    const cluster = Buffer.concat([
      Buffer.from([0x1f, 0x43, 0xb6, 0x75, 0x84]),
      element(ID.SimpleBlock, block(1, 0, 0x80, 4)),
    ]);
    expectError(Buffer.concat([syntheticHeader(), cluster]), /SimpleBlock 0xA3 at offset \d+ overruns its parent/);
  });

  test('a block too short for its header', () => {
    const cluster = element(ID.Cluster, element(ID.SimpleBlock, Buffer.from([0x81, 0x00])));
    expectError(Buffer.concat([syntheticHeader(), cluster]), /invalid block header/);
  });

  test('a header element above maxHeaderElementBytes', async () => {
    const input = await readFile(await ffmpegMkvFile());
    expectError(input, /Tracks 0x1654AE6B at offset 282 of 143 bytes exceeds the 120-byte limit/, {
      maxHeaderElementBytes: 120,
    });
    assert.doesNotThrow(() => parse([input], { maxHeaderElementBytes: 143 }));
  });
});

describe('MkvReader speed', () => {
  test('a 5 MB file byte by byte', async () => {
    const { input, clusters } = await repeatClusters(5_000_000);
    const start = performance.now();
    const parsed = parse(bytewise(input));
    const ms = performance.now() - start;
    assert.equal(parsed.clusters.length, clusters);
    assert.equal(
      parsed.clusters.reduce((n, c) => n + c.length, 0),
      input.length - ofKind(parsed.events, 'clusterStart')[0].offset,
    );
    assert.ok(ms < 20_000, `${ms.toFixed(0)} ms`);
  });

  test('60 MB in 1400-byte chunks well under a second', async () => {
    const { input, clusters } = await repeatClusters(60_000_000);
    const chunks = Array.from({ length: Math.ceil(input.length / 1400) }, (_, i) =>
      input.subarray(i * 1400, (i + 1) * 1400),
    );
    const reader = new MkvReader();
    let ended = 0;
    const start = performance.now();
    for (const chunk of chunks) for (const event of reader.push(chunk)) if (event.kind === 'clusterEnd') ended++;
    reader.end();
    const ms = performance.now() - start;
    assert.equal(ended, clusters);
    assert.equal(reader.offset, input.length);
    assert.ok(ms < 1000, `${ms.toFixed(0)} ms for ${(input.length / 1e6).toFixed(0)} MB`);
  });
});

/** ffmpeg's header followed by its clusters repeated until the input reaches `bytes`. */
async function repeatClusters(bytes: number): Promise<{ input: Buffer; clusters: number }> {
  const ffmpeg = await readFile(await ffmpegMkvFile());
  const clusters = tsEbmlClusters(ffmpeg);
  const body = ffmpeg.subarray(clusters[0].offset);
  const parts = [ffmpeg.subarray(0, clusters[0].offset)];
  for (let total = clusters[0].offset; total < bytes; total += body.length) parts.push(body);
  return { input: Buffer.concat(parts), clusters: (parts.length - 1) * clusters.length };
}

/** SimpleBlock/Block payload: track number vint, int16 relative timecode, flags, then `size` frame bytes. */
function block(track: number, relativeTimecode: number, flags: number, size: number): Buffer {
  const trackVint = track < 127 ? Buffer.from([0x80 | track]) : Buffer.from([0x40 | (track >> 8), track & 0xff]);
  const timecodeAndFlags = Buffer.alloc(3);
  timecodeAndFlags.writeInt16BE(relativeTimecode, 0);
  timecodeAndFlags[2] = flags;
  return Buffer.concat([trackVint, timecodeAndFlags, Buffer.alloc(size, 0x55)]);
}

function syntheticEbml(): Buffer {
  return element(ID.EBML, stringElement(0x4282, 'matroska'));
}

function syntheticInfo(): Buffer {
  return element(ID.Info, uintElement(ID.TimecodeScale, 1_000_000));
}

function syntheticTracks(): Buffer {
  const entry = Buffer.concat([
    uintElement(ID.TrackNumber, 1),
    uintElement(ID.TrackType, 1),
    stringElement(ID.CodecID, 'V_TEST'),
  ]);
  return element(ID.Tracks, element(ID.TrackEntry, entry));
}

/** EBML header, live Segment, Info and Tracks: what precedes the first cluster. */
function syntheticHeader(): Buffer {
  return Buffer.concat([syntheticEbml(), UNKNOWN_SIZE_SEGMENT_HEADER, syntheticInfo(), syntheticTracks()]);
}
