/**
 * kvsd's routes as the request pipeline (src/pipeline.ts) serves them: each declares how it authenticates,
 * where its input is and what it answers. Route groups register themselves with the router; a new
 * capability (HLS sessions, metrics, a console) is a new group in a new file.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RouteGroup, RouteSpec } from '../protocol/router.js';
import type { InputShape } from '../protocol/validator.js';
import { operations } from './index.js';
import type { Context, Operation } from './operation.js';

export interface RouteCall {
  req: IncomingMessage;
  res: ServerResponse;
  /** The validated input (JSON body or query), or undefined when the input is in headers or absent. */
  input: unknown;
  ctx: Context;
}

export interface KvsdRoute extends RouteSpec {
  /** The input's shape, validated before the handler runs (JSON body or query input). */
  shape?: InputShape;
  /** Holds its connection for long (PutMedia, GetMedia): admitted as streaming by connections and quotas. */
  streaming: boolean;
  /** JSON answers return the document; stream answers write the response themselves. */
  // biome-ignore lint/suspicious/noConfusingVoidType: a stream answer's handler resolves with nothing at all
  handle(call: RouteCall): Promise<object | void>;
}

/** An AWS operation as a route: POST, SigV4, JSON body (PutMedia: headers), JSON or streamed answer. */
export function operationRoute(op: Operation): KvsdRoute {
  const base = { method: 'POST', path: op.path, name: op.name, auth: 'sigv4' } as const;
  if (op.kind === 'json') {
    return {
      ...base,
      input: 'json',
      answers: 'json',
      shape: op.input,
      streaming: false,
      handle: ({ input, ctx }) => op.handle(input, ctx),
    };
  }
  return {
    ...base,
    input: op.input ? 'json' : 'headers',
    answers: 'stream',
    streaming: true,
    ...(op.input && { shape: op.input }),
    handle: ({ req, res, input, ctx }) => op.handle(req, res, input, ctx),
  };
}

/** The AWS operations of the control plane, the media and the archived-media APIs (one listener serves all). */
export const awsOperations: RouteGroup<KvsdRoute> = { name: 'aws-operations', routes: operations.map(operationRoute) };

/** GET /health: open, for load balancers and process supervisors. */
export const health: RouteGroup<KvsdRoute> = {
  name: 'health',
  routes: [
    {
      method: 'GET',
      path: '/health',
      name: 'Health',
      auth: 'none',
      input: 'none',
      answers: 'json',
      streaming: false,
      handle: async () => ({ status: 'ok' }),
    },
  ],
};
