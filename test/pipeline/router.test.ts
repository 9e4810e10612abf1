/**
 * The router and the request pipeline on their own: routes declared by method and path, the session-token
 * stage (used by HLS/DASH GET routes), query input validated against a shape, and after-response hooks.
 * A real HTTP server on loopback, with test routes; the AWS operations' behaviour is covered by the rest.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Context } from '../../src/api/operation.js';
import type { KvsdRoute } from '../../src/api/routes.js';
import { AccessControl } from '../../src/auth/access.js';
import { RequestPipeline, type RequestEvent } from '../../src/pipeline.js';
import { ApiError } from '../../src/protocol/errors.js';
import { RequestCounters } from '../../src/protocol/requestCounters.js';
import { pathOf, Router } from '../../src/protocol/router.js';

describe('Router', () => {
  const route = (method: 'GET' | 'POST', path: string, name: string): KvsdRoute => ({
    method,
    path,
    name,
    auth: 'none',
    input: 'none',
    answers: 'json',
    streaming: false,
    handle: async () => ({}),
  });

  it('matches on method and path, and names the other methods of a known path', () => {
    const router = new Router<KvsdRoute>().add({
      name: 'g',
      routes: [route('GET', '/a', 'A'), route('POST', '/b', 'B')],
    });
    assert.equal(router.match('GET', '/a').route?.name, 'A');
    assert.equal(router.match('POST', '/a').route, undefined);
    assert.deepEqual(
      router.match('POST', '/a').samePath.map((r) => r.name),
      ['A'],
    );
    assert.deepEqual(router.match('GET', '/nope'), { samePath: [] });
    assert.deepEqual(
      router.routes().map((r) => r.name),
      ['A', 'B'],
    );
  });

  it('refuses a second route for the same method and path, naming the group', () => {
    const router = new Router<KvsdRoute>().add({ name: 'first', routes: [route('GET', '/a', 'A')] });
    assert.throws(
      () => router.add({ name: 'second', routes: [route('GET', '/a', 'A2')] }),
      /route group 'second': GET \/a/,
    );
  });

  it('pathOf drops the query string', () => {
    assert.equal(pathOf('/hls/v1/x.m3u8?SessionToken=abc'), '/hls/v1/x.m3u8');
    assert.equal(pathOf(undefined), '/');
  });
});

describe('RequestPipeline', () => {
  let http: Server;
  let url = '';
  const events: RequestEvent[] = [];
  const counters = new RequestCounters();
  const session: KvsdRoute = {
    method: 'GET',
    path: '/session/item',
    name: 'GetItem',
    auth: 'session-token',
    input: 'query',
    answers: 'json',
    streaming: false,
    shape: {
      type: 'structure',
      members: {
        SessionToken: { type: 'string', required: true },
        Item: { type: 'string', pattern: '[a-z]+', required: true },
      },
    },
    handle: async ({ input }) => ({ got: (input as { Item: string }).Item }),
  };
  const open: KvsdRoute = {
    method: 'GET',
    path: '/open',
    name: 'Open',
    auth: 'none',
    input: 'none',
    answers: 'stream',
    streaming: false,
    handle: async ({ res }) => {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('streamed');
    },
  };

  before(async () => {
    const pipeline = new RequestPipeline({
      router: new Router<KvsdRoute>().add({ name: 'test', routes: [session, open] }),
      access: new AccessControl({ region: 'us-east-1', accountId: '000000000000' }),
      ready: () => undefined,
      context: (_req, requestId) => ({ requestId }) as unknown as Context,
      admitStreaming: () => {},
      bodyTimeoutMs: 1_000,
      sessionTokens: {
        verify: async (token) => {
          if (token !== 'good') throw new ApiError('NotAuthorizedException', 403, 'Streaming session token is expired');
          return { name: 'session', allows: () => true };
        },
      },
      log: () => {},
    })
      .onResponse((e) => events.push(e))
      .onResponse(counters.count);
    http = createServer(pipeline.listener);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => http.close(() => resolve())));

  it('a session-token route runs with a good token and its validated query input', async () => {
    const res = await fetch(`${url}/session/item?SessionToken=good&Item=abc`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { got: 'abc' });
    assert.match(res.headers.get('x-amzn-requestid') ?? '', /^[0-9a-f-]{36}$/);
  });

  it('a bad token is refused by the verifier, AWS-shaped, before the input is looked at', async () => {
    const res = await fetch(`${url}/session/item?SessionToken=bad&Item=NOT-VALID`);
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('x-amzn-errortype'), 'NotAuthorizedException');
    assert.deepEqual(await res.json(), {
      __type: 'NotAuthorizedException',
      message: 'Streaming session token is expired',
    });
  });

  it('query input is validated against the route shape', async () => {
    const res = await fetch(`${url}/session/item?SessionToken=good&Item=UPPER`);
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('x-amzn-errortype'), 'InvalidArgumentException');
  });

  it('an open route that streams its own answer; an unknown method at its path is UnknownOperationException', async () => {
    const ok = await fetch(`${url}/open`);
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'streamed');
    const wrong = await fetch(`${url}/open`, { method: 'POST', body: '{}' });
    assert.equal(wrong.status, 404);
    assert.equal(wrong.headers.get('x-amzn-errortype'), 'UnknownOperationException');
  });

  it('after-response hooks see every request, named by its route, and count them', () => {
    const names = events.map((e) => `${e.operation} ${e.status}`);
    assert.deepEqual(names, ['GetItem 200', 'GetItem 403', 'GetItem 400', 'Open 200', 'Open 404']);
    assert.ok(events.every((e) => e.durationMs >= 0 && e.requestId.length === 36));
    assert.equal(events[1]!.errorType, 'NotAuthorizedException');
    assert.deepEqual(counters.snapshot(), {
      GetItem: { requests: 3, clientErrors: 2, serverErrors: 0 },
      Open: { requests: 2, clientErrors: 1, serverErrors: 0 },
    });
  });
});
