/**
 * PutMedia: a long chunked POST of live MKV, answered by a chunked stream of JSON acknowledgements,
 * one compact object per line (docs/kvs-wire.md "PutMedia"). Its input travels in headers; header problems are
 * ordinary JSON errors, sent before the 200 and any acknowledgement.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { streamingOperation } from './operation.js';
import { StreamARN, StreamName } from './shapes.js';
import { invalidArgument } from '../protocol/errors.js';
import { validate, type InputShape } from '../protocol/validator.js';
import type { Ack } from '../archive/ingest.js';
import { TIMESTAMP_RANGE_TEXT, isStorableTimestamp } from '../archive/producerInput.js';

/** While no data arrives an IDLE ack goes out this often; after IDLE_CLOSE_MS the session ends. */
export const IDLE_ACK_MS = 3_000;
export const IDLE_CLOSE_MS = 30_000;
/** AWS ends a PutMedia connection after about 45 minutes (ERROR 4003). */
export const MAX_CONNECTION_MS = 45 * 60_000;

const headerShape: InputShape = {
  type: 'structure',
  members: {
    StreamName,
    StreamARN,
    FragmentTimecodeType: { type: 'string', enum: ['ABSOLUTE', 'RELATIVE'], required: true },
    ProducerStartTimestamp: { type: 'string', min: 1, max: 64 },
  },
  anyOf: [['StreamName', 'StreamARN']],
};

interface Headers {
  StreamName?: string;
  StreamARN?: string;
  FragmentTimecodeType: 'ABSOLUTE' | 'RELATIVE';
  ProducerStartTimestamp?: string;
}

/**
 * x-amzn-producer-start-timestamp: decimal epoch seconds or ISO-8601. The C/C++ producer SDKs print
 * "%llu.%llu" (seconds, then milliseconds without zero padding, so 5 ms is ".5"); for their user agents a
 * fraction of fewer than three digits is read as such milliseconds, for everyone else as a decimal fraction.
 */
export function parseProducerStart(text: string, userAgent = ''): number | undefined {
  const decimal = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (decimal) {
    const seconds = Number(decimal[1]);
    const fraction = decimal[2] ?? '';
    const fromCProducer = /^AWS-SDK-KVS/i.test(userAgent) && fraction.length > 0 && fraction.length < 3;
    const ms = fromCProducer ? Number(fraction) : Math.round(Number(`0.${fraction || '0'}`) * 1000);
    const total = seconds * 1000 + ms;
    return Number.isSafeInteger(total) ? total : undefined;
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const ms = Date.parse(text);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export const putMedia = streamingOperation({
  name: 'PutMedia',
  path: '/putMedia',
  async handle(req: IncomingMessage, res: ServerResponse, _input, { archive, shutdown }) {
    const input = validate<Headers>(
      headerShape,
      Object.fromEntries(
        Object.entries({
          StreamName: header(req, 'x-amzn-stream-name'),
          StreamARN: header(req, 'x-amzn-stream-arn'),
          FragmentTimecodeType: header(req, 'x-amzn-fragment-timecode-type'),
          ProducerStartTimestamp: header(req, 'x-amzn-producer-start-timestamp'),
        }).filter(([, v]) => v !== undefined),
      ),
    );
    let producerStartMs: number | undefined;
    if (input.ProducerStartTimestamp !== undefined) {
      producerStartMs = parseProducerStart(input.ProducerStartTimestamp, header(req, 'user-agent'));
      if (producerStartMs === undefined) {
        throw invalidArgument(
          `x-amzn-producer-start-timestamp '${input.ProducerStartTimestamp}' is neither decimal epoch seconds nor ISO-8601.`,
        );
      }
      if (!isStorableTimestamp(producerStartMs)) {
        throw invalidArgument(
          `x-amzn-producer-start-timestamp '${input.ProducerStartTimestamp}' is not ${TIMESTAMP_RANGE_TEXT}.`,
        );
      }
    } else if (input.FragmentTimecodeType === 'RELATIVE') {
      throw invalidArgument(
        'x-amzn-producer-start-timestamp is required when x-amzn-fragment-timecode-type is RELATIVE.',
      );
    }
    const stream = await archive.streams.resolve(input);

    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const send = (ack: Ack) => {
      if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify(ack)}\n`);
      // A fatal error ends the session even when it comes from outside (the stream was deleted: 4008)
      // while the producer is sending nothing: the response must not idle on until the next chunk.
      if (ack.EventType === 'ERROR')
        queueMicrotask(() => {
          if (session.closed) void finish('end');
        });
    };
    const { session, done } = archive.openIngest(
      { stream, timecodeType: input.FragmentTimecodeType, ...(producerStartMs !== undefined && { producerStartMs }) },
      send,
    );

    let lastData = Date.now();
    let lastIdleAck = lastData;
    const opened = lastData;
    let chain = Promise.resolve();
    let finished: Promise<void> | undefined;
    let ended!: () => void;
    const whenEnded = new Promise<void>((resolve) => {
      ended = resolve;
    });

    const finish = (how: 'end' | 'abort', errorId?: 4003) =>
      (finished ??= (async () => {
        clearInterval(timer);
        shutdown.removeEventListener('abort', onShutdown);
        req.pause();
        await chain;
        if (how === 'end') await session.finish();
        else await session.abort(errorId);
        done();
        if (!res.destroyed) await new Promise<void>((resolve) => res.end(resolve));
        // Whatever the client still sends is of no use now.
        if (!req.complete) req.destroy();
      })().finally(ended));

    const timer = setInterval(() => {
      const now = Date.now();
      if (now - opened >= MAX_CONNECTION_MS) return void finish('abort', 4003);
      if (now - lastData >= IDLE_CLOSE_MS) return void finish('end');
      if (now - lastData >= IDLE_ACK_MS && now - lastIdleAck >= IDLE_ACK_MS) {
        lastIdleAck = now;
        send({ EventType: 'IDLE' });
      }
    }, 500);
    const onShutdown = () => void finish('abort');
    shutdown.addEventListener('abort', onShutdown);

    req.on('data', (chunk: Buffer) => {
      const arrival = Date.now();
      lastData = arrival;
      lastIdleAck = arrival;
      req.pause();
      chain = chain
        .then(() => session.push(chunk, arrival))
        .then(() => {
          if (session.closed) void finish('end');
          else if (!finished) req.resume();
        });
    });
    req.on('end', () => void finish('end'));
    // The client went away mid-body: no acknowledgement can reach it any more.
    req.on('close', () => {
      if (!req.complete) void finish('abort');
    });
    res.on('close', () => {
      if (!res.writableFinished) void finish('abort');
    });
    await whenEnded;
  },
});
