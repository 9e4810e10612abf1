/**
 * What an operation is: its POST path, its input shape as data, and a handler. JSON operations return
 * a result object; streaming ones (PutMedia, GetMedia, GetMediaForFragmentList) own the response.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InputShape } from '../protocol/validator.js';
import type { Archive } from '../archive/archive.js';
import type { FragmentListing } from '../archive/fragmentListing.js';

export interface ServerInfo {
  /**
   * What GetDataEndpoint returns: --public-url, else the URL kvsd listens on; when it listens on a
   * wildcard address (0.0.0.0, ::), the host the client used to reach it.
   */
  dataEndpoint(hostHeader?: string): string;
}

export interface Context {
  requestId: string;
  /** The request's Host header, if any. */
  host?: string;
  archive: Archive;
  server: ServerInfo;
  /** Aborted when the server shuts down, so that long-lived responses end cleanly. */
  shutdown: AbortSignal;
  /** ListFragments lists through this when set (--mode aws, --visibility-delay-ms: src/archive/fragmentListing.ts), else archive.lister. */
  lister?: FragmentListing;
}

export interface JsonOperation<I = any> {
  kind: 'json';
  name: string;
  path: string;
  input: InputShape;
  handle(input: I, ctx: Context): Promise<object>;
}

export interface StreamingOperation<I = any> {
  kind: 'streaming';
  name: string;
  path: string;
  /** For operations whose input is JSON (GetMedia...); PutMedia's input travels in headers. */
  input?: InputShape;
  handle(req: IncomingMessage, res: ServerResponse, input: I, ctx: Context): Promise<void>;
}

export type Operation = JsonOperation | StreamingOperation;
