/**
 * Unit tests of the declarative validator (src/protocol/validator.ts) and the wire timestamp conversions
 * (src/protocol/timestamps.ts). The integration suites check the same rules through real clients; here
 * each rule is pinned down in isolation, including the exact wording of the messages.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validate, type InputShape } from '../../src/protocol/validator.js';
import { epochSecondsToMs, msToEpochSeconds } from '../../src/protocol/timestamps.js';
import { ApiError } from '../../src/protocol/errors.js';
import { operations } from '../../src/api/index.js';
import { StreamName, Tags, TagKey } from '../../src/api/shapes.js';

/** The InvalidArgumentException message validate() throws, or fails the test if it does not throw. */
function problems(shape: InputShape, body: unknown): string {
  try {
    validate(shape, body);
  } catch (err) {
    assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`);
    assert.equal(err.code, 'InvalidArgumentException');
    assert.equal(err.status, 400);
    return err.message;
  }
  assert.fail(`expected ${JSON.stringify(body)} to be rejected`);
}

const one = (detail: string) => `1 validation error detected: ${detail}`;
const op = (name: string) => {
  const found = operations.find((o) => o.name === name);
  assert.ok(found?.input, `operation ${name} is registered with an input shape`);
  return found.input;
};

describe('validator: strings', () => {
  const shape: InputShape = { type: 'structure', members: { StreamName } };

  it('accepts a valid value and returns it unchanged', () => {
    assert.deepEqual(validate(shape, { StreamName: 'cam_1.front-door' }), { StreamName: 'cam_1.front-door' });
  });

  it('words a pattern failure exactly as AWS does', () => {
    assert.equal(
      problems(shape, { StreamName: 'a b' }),
      one(
        "Value 'a b' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
      ),
    );
  });

  it('matches patterns against the whole value, alternatives included', () => {
    const alt: InputShape = { type: 'structure', members: { V: { type: 'string', pattern: 'ab|cd' } } };
    assert.deepEqual(validate(alt, { V: 'cd' }), { V: 'cd' });
    for (const bad of ['abcd', 'xab', 'cdx', 'abd']) {
      assert.match(problems(alt, { V: bad }), /Member must satisfy regular expression pattern: ab\|cd$/);
    }
  });

  it('reports too long and too short (the empty string also fails the + pattern)', () => {
    const long = 'a'.repeat(257);
    const msg = problems(shape, { StreamName: long });
    assert.equal(
      msg,
      one(
        `Value '${'a'.repeat(256)}...' at 'streamName' failed to satisfy constraint: Member must have length less than or equal to 256`,
      ),
    );
    assert.deepEqual(validate(shape, { StreamName: 'a'.repeat(256) }), { StreamName: 'a'.repeat(256) });
    assert.equal(
      problems(shape, { StreamName: '' }),
      "2 validation errors detected: Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
        "Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
    );
  });

  it('counts length in characters (code points), not UTF-16 units', () => {
    const s: InputShape = { type: 'structure', members: { V: { type: 'string', max: 3 } } };
    assert.deepEqual(validate(s, { V: '😀😀😀' }), { V: '😀😀😀' }); // 6 UTF-16 units
    assert.match(problems(s, { V: '😀😀😀😀' }), /Member must have length less than or equal to 3$/);
  });

  it('reports an enum failure with the allowed set', () => {
    assert.equal(
      problems(op('GetDataEndpoint'), { StreamName: 's', APIName: 'NOPE' }),
      one(
        "Value 'NOPE' at 'aPIName' failed to satisfy constraint: Member must satisfy enum value set: " +
          '[PUT_MEDIA, GET_MEDIA, LIST_FRAGMENTS, GET_MEDIA_FOR_FRAGMENT_LIST, GET_HLS_STREAMING_SESSION_URL, ' +
          'GET_DASH_STREAMING_SESSION_URL, GET_CLIP, GET_IMAGES]',
      ),
    );
  });

  it('rejects non-strings', () => {
    for (const v of [5, true, {}, ['a']]) {
      assert.equal(
        problems(shape, { StreamName: v }),
        one(`Value '${JSON.stringify(v)}' at 'streamName' failed to satisfy constraint: Member must be a string`),
      );
    }
  });
});

describe('validator: integers', () => {
  const shape: InputShape = { type: 'structure', members: { MaxResults: { type: 'integer', min: 1, max: 10000 } } };

  it('accepts integers at both ends of the range', () => {
    assert.deepEqual(validate(shape, { MaxResults: 1 }), { MaxResults: 1 });
    assert.deepEqual(validate(shape, { MaxResults: 10000 }), { MaxResults: 10000 });
  });

  it('reports the range with the bound', () => {
    assert.equal(
      problems(shape, { MaxResults: 0 }),
      one("Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"),
    );
    assert.equal(
      problems(shape, { MaxResults: 10001 }),
      one(
        "Value '10001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 10000",
      ),
    );
  });

  it('rejects fractions, non-numeric strings, booleans and unsafe integers', () => {
    for (const v of [1.5, 'abc', '1.5', '', true, 2 ** 53, [1], {}]) {
      assert.match(
        problems(shape, { MaxResults: v }),
        /at 'maxResults' failed to satisfy constraint: Member must be an integer$/,
        String(v),
      );
    }
  });

  it('quotes any value in a bounded message: 100,000 nested levels, a 1 MB array', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = i % 2 ? [deep] : { a: deep };
    const big = Array.from({ length: 1_000_000 }, (_, i) => i);
    for (const v of [deep, big]) {
      const message = problems(shape, { MaxResults: v });
      assert.match(
        message,
        /^1 validation error detected: Value '.{1,300}' at 'maxResults' failed to satisfy constraint: Member must be an integer$/,
      );
    }
    assert.match(problems(shape, { MaxResults: big }), /^1 validation error detected: Value '\[0,1,2,3,/);
  });

  it("refuses numeric strings, as AWS's JSON protocol does", () => {
    for (const v of ['25', '   12  ', '0', '-1']) {
      assert.equal(
        problems(shape, { MaxResults: v }),
        one(`Value '${v}' at 'maxResults' failed to satisfy constraint: Member must be an integer`),
      );
    }
  });
});

describe('validator: timestamps and booleans', () => {
  const shape: InputShape = { type: 'structure', members: { T: { type: 'timestamp' }, B: { type: 'boolean' } } };

  it('normalises epoch seconds to epoch milliseconds', () => {
    assert.deepEqual(validate(shape, { T: 1704067200 }), { T: 1704067200000 });
    assert.deepEqual(validate(shape, { T: 1704067200.5 }), { T: 1704067200500 });
    assert.deepEqual(validate(shape, { T: '1704067200.123' }), { T: 1704067200123 });
  });

  it('rejects what is not a timestamp', () => {
    for (const v of ['yesterday', true, {}, '2024-01-01T00:00:00Z']) {
      assert.match(
        problems(shape, { T: v }),
        /at 't' failed to satisfy constraint: Member must be a timestamp in epoch seconds$/,
      );
    }
  });

  it('checks booleans strictly', () => {
    assert.deepEqual(validate(shape, { B: false }), { B: false });
    for (const v of ['true', 1, 0]) {
      assert.match(problems(shape, { B: v }), /at 'b' failed to satisfy constraint: Member must be a boolean$/);
    }
  });
});

describe('validator: lists and maps', () => {
  it('checks list length and every member, with AWS-style member paths', () => {
    const shape = op('UntagStream');
    assert.deepEqual(validate(shape, { StreamName: 's', TagKeyList: ['a', 'b'] }), {
      StreamName: 's',
      TagKeyList: ['a', 'b'],
    });
    assert.match(
      problems(shape, { StreamName: 's', TagKeyList: [] }),
      /^1 validation error detected: Value '\[\]' at 'tagKeyList' failed to satisfy constraint: Member must have length greater than or equal to 1$/,
    );
    const keys51 = Array.from({ length: 51 }, (_, i) => `k${i}`);
    assert.match(
      problems(shape, { StreamName: 's', TagKeyList: keys51 }),
      /at 'tagKeyList' failed to satisfy constraint: Member must have length less than or equal to 50$/,
    );
    assert.equal(
      problems(shape, { StreamName: 's', TagKeyList: ['ok', 'bad*key'] }),
      one(
        "Value 'bad*key' at 'tagKeyList.2.member' failed to satisfy constraint: Member must satisfy regular expression pattern: ([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)",
      ),
    );
    assert.match(
      problems(shape, { StreamName: 's', TagKeyList: 'a' }),
      /at 'tagKeyList' failed to satisfy constraint: Member must be a list$/,
    );
  });

  it('checks map size, keys and values (tag limits)', () => {
    const shape: InputShape = { type: 'structure', members: { Tags } };
    const tags50 = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, `v${i}`]));
    assert.deepEqual(validate(shape, { Tags: tags50 }), { Tags: tags50 });
    assert.match(
      problems(shape, { Tags: { ...tags50, k50: 'v' } }),
      /at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50$/,
    );
    assert.match(
      problems(shape, { Tags: {} }),
      /at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1$/,
    );
    const longKey = 'k'.repeat(129);
    assert.match(
      problems(shape, { Tags: { [longKey]: 'v' } }),
      new RegExp(
        `at 'tags\\.${longKey}\\.key' failed to satisfy constraint: Member must have length less than or equal to 128$`,
      ),
    );
    assert.match(
      problems(shape, { Tags: { k: 'v'.repeat(257) } }),
      /at 'tags\.k\.value' failed to satisfy constraint: Member must have length less than or equal to 256$/,
    );
    assert.match(
      problems(shape, { Tags: { '': 'v' } }),
      /at 'tags\.\.key' failed to satisfy constraint: Member must have length greater than or equal to 1$/,
    );
    assert.match(
      problems(shape, { Tags: { k: 'a#b' } }),
      /at 'tags\.k\.value' failed to satisfy constraint: Member must satisfy regular expression pattern/,
    );
    assert.match(
      problems(shape, { Tags: { k: 5 } }),
      /at 'tags\.k\.value' failed to satisfy constraint: Member must be a string$/,
    );
    assert.match(problems(shape, { Tags: ['k'] }), /at 'tags' failed to satisfy constraint: Member must be a map$/);
    // Boundaries that pass: 128-char key, 256-char value, empty value.
    const ok = { ['k'.repeat(128)]: 'v'.repeat(256), empty: '' };
    assert.deepEqual(validate(shape, { Tags: ok }), { Tags: ok });
  });

  it('accepts Unicode letters, separators and numbers in tags (\\p{L}\\p{Z}\\p{N})', () => {
    const shape: InputShape = { type: 'structure', members: { Tags } };
    const tags = { ключ: 'значение', 'clé 2': 'été:/=+-@_.', 鍵: '٣' };
    assert.deepEqual(validate(shape, { Tags: tags }), { Tags: tags });
    assert.deepEqual(validate({ type: 'structure', members: { K: TagKey } }, { K: 'a b' }), { K: 'a b' });
  });

  it('keeps a "__proto__" tag key as an ordinary own entry', () => {
    const shape: InputShape = { type: 'structure', members: { Tags } };
    const body = JSON.parse('{"Tags":{"__proto__":"x","constructor":"y"}}') as unknown;
    const out = validate<{ Tags: Record<string, string> }>(shape, body);
    assert.deepEqual(Object.entries(out.Tags), [
      ['__proto__', 'x'],
      ['constructor', 'y'],
    ]);
    assert.equal(Object.getPrototypeOf(out.Tags), Object.prototype);
    assert.equal(JSON.stringify(out.Tags), '{"__proto__":"x","constructor":"y"}');
  });
});

describe('validator: structures', () => {
  it('reports a missing required member as null', () => {
    assert.equal(
      problems(op('DeleteStream'), {}),
      one("Value null at 'streamARN' failed to satisfy constraint: Member must not be null"),
    );
    assert.equal(
      problems(op('DeleteStream'), { StreamARN: null }),
      one("Value null at 'streamARN' failed to satisfy constraint: Member must not be null"),
    );
  });

  it('requires StreamName or StreamARN and names both', () => {
    assert.equal(problems(op('DescribeStream'), {}), one('Either StreamName or StreamARN must be specified'));
    assert.deepEqual(
      validate(op('DescribeStream'), { StreamARN: 'arn:aws:kinesisvideo:us-east-1:000000000000:stream/s/1' }),
      { StreamARN: 'arn:aws:kinesisvideo:us-east-1:000000000000:stream/s/1' },
    );
  });

  it('uses nested paths and drops unknown members', () => {
    const shape = op('ListStreams');
    assert.deepEqual(
      validate(shape, {
        MaxResults: 5,
        Unknown: 1,
        StreamNameCondition: { ComparisonOperator: 'BEGINS_WITH', ComparisonValue: 'cam', X: 2 },
      }),
      { MaxResults: 5, StreamNameCondition: { ComparisonOperator: 'BEGINS_WITH', ComparisonValue: 'cam' } },
    );
    assert.equal(
      problems(shape, { StreamNameCondition: { ComparisonValue: 'a b' } }),
      one(
        "Value 'a b' at 'streamNameCondition.comparisonValue' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
      ),
    );
    assert.equal(
      problems(shape, { StreamNameCondition: {} }),
      one("Value null at 'streamNameCondition.comparisonValue' failed to satisfy constraint: Member must not be null"),
    );
    assert.match(
      problems(shape, { StreamNameCondition: 'cam' }),
      /at 'streamNameCondition' failed to satisfy constraint: Member must be a structure$/,
    );
  });

  it('rejects a body that is not an object', () => {
    for (const body of [null, [], 'x', 5, true]) {
      assert.match(
        problems(op('ListStreams'), body),
        /^1 validation error detected: Value .* at '' failed to satisfy constraint: Member must be a structure$/,
      );
    }
  });

  it('reports every problem, counted, separated by "; "', () => {
    const msg = problems(op('CreateStream'), { StreamName: 'a b', DataRetentionInHours: -1, DeviceName: 'x y' });
    assert.match(msg, /^3 validation errors detected: /);
    assert.equal(msg.split('; ').length, 3);
    assert.match(msg, /at 'streamName'/);
    assert.match(
      msg,
      /Value '-1' at 'dataRetentionInHours' failed to satisfy constraint: Member must have value greater than or equal to 0/,
    );
    assert.match(msg, /at 'deviceName'/);
  });

  it('does not change its input', () => {
    const body = { StreamName: 's', Tags: { a: 'b' }, Extra: true };
    const copy = structuredClone(body);
    validate(op('CreateStream'), body);
    assert.deepEqual(body, copy);
  });

  it("validates every registered operation's shapes as data (regex compiles, limits are numbers)", () => {
    // A typo in a pattern would otherwise only show up on the first request that uses it.
    for (const o of operations) {
      if (!o.input) continue;
      assert.doesNotThrow(() => {
        try {
          validate(o.input!, {});
        } catch (e) {
          if (!(e instanceof ApiError)) throw e;
        }
      }, o.name);
    }
    const arn = 'arn:aws:kinesisvideo:us-east-1:000000000000:stream/s/1705489836421';
    assert.deepEqual(validate(op('DescribeStream'), { StreamARN: arn }), { StreamARN: arn });
    assert.match(
      problems(op('DescribeStream'), { StreamARN: 'arn:aws:s3:::bucket' }),
      /at 'streamARN' failed to satisfy constraint: Member must satisfy regular expression pattern/,
    );
    assert.deepEqual(
      validate(op('CreateStream'), { StreamName: 's', MediaType: 'video/h264,audio/aac', KmsKeyId: 'k' }),
      { StreamName: 's', MediaType: 'video/h264,audio/aac', KmsKeyId: 'k' },
    );
    assert.match(problems(op('CreateStream'), { StreamName: 's', MediaType: 'h264' }), /at 'mediaType'/);
  });
});

describe('timestamps', () => {
  it('converts integer, fractional and numeric-string epoch seconds to ms', () => {
    assert.equal(epochSecondsToMs(1704067200), 1704067200000);
    assert.equal(epochSecondsToMs(1704067200.5), 1704067200500);
    assert.equal(epochSecondsToMs(1700000000.123), 1700000000123); // 1700000000.123 * 1000 is not exact in binary
    assert.equal(epochSecondsToMs(1705489836.421), 1705489836421);
    assert.equal(epochSecondsToMs(0), 0);
    assert.equal(epochSecondsToMs('1704067200'), 1704067200000);
    assert.equal(epochSecondsToMs('1704067200.999'), 1704067200999);
    assert.equal(epochSecondsToMs(' 1704067200.5 '), 1704067200500);
    assert.equal(epochSecondsToMs('-1.5'), -1500);
  });

  it('accepts exponent notation (the real service writes 1.705489836421E9)', () => {
    assert.equal(epochSecondsToMs(JSON.parse('1.705489836421E9')), 1705489836421);
    assert.equal(epochSecondsToMs('1.705489836421E9'), 1705489836421);
    assert.equal(epochSecondsToMs('1.5e3'), 1500000);
  });

  it('rounds sub-millisecond fractions to the nearest ms and never yields -0', () => {
    assert.equal(epochSecondsToMs(1704067200.0004), 1704067200000);
    assert.equal(epochSecondsToMs(1704067200.0006), 1704067200001);
    assert.ok(Object.is(epochSecondsToMs(-0.0001), 0));
  });

  it('rejects what is not a number of seconds', () => {
    for (const v of [
      undefined,
      null,
      true,
      {},
      [],
      '',
      'abc',
      '1,5',
      '0x10',
      '1e',
      'NaN',
      'Infinity',
      Infinity,
      -Infinity,
      NaN,
      1e300,
      '9e99',
    ]) {
      assert.equal(epochSecondsToMs(v), undefined, String(v));
    }
  });

  it('emits numbers that the SDKs parse back to the same millisecond, with at most 3 decimals', () => {
    assert.equal(JSON.stringify(msToEpochSeconds(1705489836421)), '1705489836.421');
    assert.equal(JSON.stringify(msToEpochSeconds(1704067200000)), '1704067200');
    assert.equal(JSON.stringify(msToEpochSeconds(1704067200050)), '1704067200.05');
    let x = 0x2545f491;
    for (let i = 0; i < 20000; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      const ms = 1_500_000_000_000 + (x % 2_000_000_000) * 1000 + (x % 1000); // 2017..2080
      const s = msToEpochSeconds(ms);
      const text = JSON.stringify(s);
      assert.match(text, /^\d+(\.\d{1,3})?$/, text);
      // @smithy parseEpochTimestamp: new Date(Math.round(value * 1000)); botocore: float seconds.
      assert.equal(Math.round(Number(text) * 1000), ms);
      assert.equal(epochSecondsToMs(JSON.parse(text)), ms);
    }
  });
});
