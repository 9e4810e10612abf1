import { jsonOperation } from './operation.js';
import { StreamName } from './shapes.js';
import { streamInfo } from './streamInfo.js';
import { invalidArgument } from '../protocol/errors.js';

interface Cursor {
  after: string;
  prefix: string;
}
const TOKEN_KIND = 'ListStreams';

export const listStreams = jsonOperation({
  name: 'ListStreams',
  path: '/listStreams',
  input: {
    type: 'structure',
    members: {
      MaxResults: { type: 'integer', min: 1, max: 10000 },
      NextToken: { type: 'string', min: 0, max: 1024, pattern: '[a-zA-Z0-9+/=]*' },
      StreamNameCondition: {
        type: 'structure',
        members: {
          ComparisonOperator: { type: 'string', enum: ['BEGINS_WITH'] },
          ComparisonValue: { ...StreamName, required: true },
        },
      },
    },
  },
  async handle(input, { archive }) {
    const limit = input.MaxResults ?? 10000;
    const prefix = input.StreamNameCondition?.ComparisonValue ?? '';
    let after = '';
    if (input.NextToken) {
      const cursor = archive.tokens.open<Cursor>(TOKEN_KIND, input.NextToken);
      if (!cursor) throw invalidArgument('NextToken is not a token ListStreams issued, or it was altered.');
      if (cursor.prefix !== prefix) throw invalidArgument('NextToken was issued for a different StreamNameCondition.');
      after = cursor.after;
    }
    const streams = await archive.streams.list({ prefix, afterName: after, limit: limit + 1 });
    const page = streams.slice(0, limit);
    const more = streams.length > limit;
    return {
      StreamInfoList: page.map(streamInfo),
      ...(more && {
        NextToken: archive.tokens.seal(TOKEN_KIND, { after: page[page.length - 1]!.name, prefix } satisfies Cursor),
      }),
    };
  },
});
