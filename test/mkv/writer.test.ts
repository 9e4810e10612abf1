import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decoder } from 'ts-ebml';
import {
  ID,
  MkvReader,
  UNKNOWN,
  UNKNOWN_SIZE_SEGMENT_HEADER,
  element,
  kvsTags,
  readElementHeader,
  stringElement,
  uintElement,
} from '../../src/mkv/index.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('element writers', () => {
  test('element, uintElement, stringElement', () => {
    assert.deepEqual(element(ID.Void, Buffer.alloc(2)), hex('EC 82 0000'));
    assert.deepEqual(element(ID.Void, Buffer.alloc(127)).subarray(0, 3), hex('EC 407F'), '127 needs a 2-byte size');
    assert.deepEqual(element(ID.Tracks, Buffer.alloc(1), 4).subarray(0, 8), hex('1654AE6B 10000001'));
    assert.deepEqual(uintElement(ID.TrackNumber, 1), hex('D7 81 01'));
    assert.deepEqual(uintElement(ID.TrackNumber, 0), hex('D7 81 00'));
    assert.deepEqual(uintElement(ID.TimecodeScale, 1_000_000), hex('2AD7B1 83 0F4240'));
    assert.deepEqual(uintElement(ID.Timecode, 2 ** 40 + 1), hex('E7 86 010000000001'));
    assert.throws(() => uintElement(ID.Timecode, -1), RangeError);
    assert.deepEqual(
      stringElement(ID.CodecID, 'V_MPEG4/ISO/AVC'),
      Buffer.concat([hex('86 8F'), Buffer.from('V_MPEG4/ISO/AVC')]),
    );
    assert.deepEqual(stringElement(ID.TagString, 'é'), hex('4487 82 C3A9'), 'sizes count UTF-8 bytes');
  });

  test('UNKNOWN_SIZE_SEGMENT_HEADER', () => {
    assert.deepEqual(UNKNOWN_SIZE_SEGMENT_HEADER, hex('18538067 01FFFFFFFFFFFFFF'));
    assert.deepEqual(readElementHeader(UNKNOWN_SIZE_SEGMENT_HEADER, 0, 0), {
      id: ID.Segment,
      size: UNKNOWN,
      length: 12,
    });
  });
});

describe('kvsTags', () => {
  test('one pair: Tags → Tag → SimpleTag → TagName, TagString, with 4-byte sizes', () => {
    assert.deepEqual(
      kvsTags([['A', 'B']]),
      hex(`
        1254C367 1000001A
          7373 10000014
            67C8 1000000E
              45A3 10000001 41
              4487 10000001 42`),
    );
  });

  test('the layout Kinesis Video writes for its fragment tags', () => {
    const fragmentNumber = '91343852333181432392682062607743920146264121329';
    const tags = kvsTags([
      ['AWS_KINESISVIDEO_FRAGMENT_NUMBER', fragmentNumber],
      ['AWS_KINESISVIDEO_SERVER_TIMESTAMP', '1700000000.123'],
      ['AWS_KINESISVIDEO_PRODUCER_TIMESTAMP', '1700000000.100'],
    ]);
    const firstSimpleTag = Buffer.concat([
      hex('67C8 1000005B 45A3 10000020'),
      Buffer.from('AWS_KINESISVIDEO_FRAGMENT_NUMBER'),
      hex('4487 1000002F'),
      Buffer.from(fragmentNumber),
    ]);
    assert.deepEqual(tags.subarray(0, 14), hex('1254C367 100000EB 7373 100000E5'));
    assert.deepEqual(tags.subarray(14, 14 + firstSimpleTag.length), firstSimpleTag);
    assert.equal(tags.length, 8 + 0xeb);
  });

  const pairs: Array<[string, string]> = [
    ['AWS_KINESISVIDEO_FRAGMENT_NUMBER', '91343852333181432392682062607743920146264121329'],
    ['EMPTY', ''],
    ['UNICODE', 'välue ✓'],
    ['LONG', 'x'.repeat(1000)],
  ];

  test('round trip through MkvReader', () => {
    const ebml = element(ID.EBML, stringElement(0x4282, 'matroska'));
    const reader = new MkvReader();
    const events = [
      ...reader.push(Buffer.concat([ebml, UNKNOWN_SIZE_SEGMENT_HEADER, kvsTags(pairs)])),
      ...reader.end(),
    ];
    assert.deepEqual(events, [{ kind: 'tags', simpleTags: pairs.map(([name, value]) => ({ name, value })) }]);
  });

  test('round trip through ts-ebml', () => {
    const tags = kvsTags(pairs);
    const decoded = new Decoder().decode(
      tags.buffer.slice(tags.byteOffset, tags.byteOffset + tags.length) as ArrayBuffer,
    );
    const strings = decoded.flatMap((e) => (e.type === 's' || e.type === '8' ? [[e.name, e.value]] : []));
    assert.deepEqual(
      strings,
      pairs.flatMap(([name, value]) => [
        ['TagName', name],
        ['TagString', value],
      ]),
    );
    const tagsElement = decoded.find((e) => e.name === 'Tags');
    assert.ok(tagsElement);
    assert.equal(tagsElement.dataEnd, tags.length);
    assert.equal(decoded.filter((e) => e.name === 'Tag' && e.type === 'm' && !e.isEnd).length, 1);
    assert.equal(decoded.filter((e) => e.name === 'Targets').length, 0);
  });
});
