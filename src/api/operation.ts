/**
 * What an operation is: its POST path, its input shape as data, and a handler. JSON operations return
 * a result object; streaming ones (PutMedia, GetMedia, GetMediaForFragmentList) own the response.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Infer, InputShape } from '../protocol/validator.js';
import type { Archive } from '../archive/archive.js';
import type { FragmentListing } from '../archive/fragmentListing.js';

export interface ServerInfo {
  /**
   * What GetDataEndpoint returns: --public-url, else the URL kvsd listens on; when it listens on a
   * wildcard address (0.0.0.0, ::), the host the client used to reach it.
   */
  dataEndpoint(hostHeader?: string): string;
}

/** Active playback sessions per stream: a new one past the limit revokes the oldest (src/auth/quotas.ts). */
export interface SessionLimit {
  /** Counts a new session of `operation` (GetHLS/DASHStreamingSessionURL) on the stream. */
  issued(operation: string, stream: string, sessionId: string): void;
  /** Whether a newer session took this one's place. */
  revoked(sessionId: string): boolean;
}

export interface Context {
  requestId: string;
  /** The request's Host header, if any. */
  host?: string;
  archive: Archive;
  server: ServerInfo;
  /** Aborted when the server shuts down, so that long-lived responses end cleanly. */
  shutdown: AbortSignal;
  /** The limit of active playback sessions per stream, when quotas set one (AWS: 10, the newest wins). */
  sessions?: SessionLimit;
  /** ListFragments lists through this when set (--mode aws, --visibility-delay-ms: src/archive/fragmentListing.ts), else archive.lister. */
  lister?: FragmentListing;
}

export interface JsonOperation<I = unknown> {
  kind: 'json';
  name: string;
  path: string;
  input: InputShape;
  handle(input: I, ctx: Context): Promise<object>;
}

export interface StreamingOperation<I = unknown> {
  kind: 'streaming';
  name: string;
  path: string;
  /** For operations whose input is JSON (GetMedia...); PutMedia's input travels in headers. */
  input?: InputShape;
  handle(req: IncomingMessage, res: ServerResponse, input: I, ctx: Context): Promise<void>;
}

export type Operation = JsonOperation | StreamingOperation;

/** A JSON operation whose handler's input type is its shape's (`Infer`): the compiler checks the handler. */
export function jsonOperation<const S extends InputShape>(op: {
  name: string;
  path: string;
  input: S;
  handle(input: Infer<S>, ctx: Context): Promise<object>;
}): JsonOperation<Infer<S>> {
  return { kind: 'json', ...op } as JsonOperation<Infer<S>>;
}

type InputOf<S> = S extends InputShape ? Infer<S> : undefined;

/** A streaming operation; with an input shape, the handler's input type is the shape's. */
export function streamingOperation<const S extends InputShape | undefined = undefined>(op: {
  name: string;
  path: string;
  input?: S;
  handle(req: IncomingMessage, res: ServerResponse, input: InputOf<S>, ctx: Context): Promise<void>;
}): StreamingOperation<InputOf<S>> {
  return { kind: 'streaming', ...op } as StreamingOperation<InputOf<S>>;
}
