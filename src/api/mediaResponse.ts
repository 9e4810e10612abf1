/** Streaming a fragment's MKV document into a response, shared by GetMedia and GetMediaForFragmentList. */
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import {
  errorDocument,
  fragmentPrefix,
  MediaUnavailableError,
  type ServedFragment,
} from '../archive/fragmentReader.js';
import { writeChunk } from '../protocol/http.js';

export function startMediaResponse(res: ServerResponse) {
  // AWS answers video/webm for every codec (docs/kvs-wire.md "GetMedia and GetMediaForFragmentList responses").
  res.writeHead(200, { 'content-type': 'video/webm', 'transfer-encoding': 'chunked' });
  // Send the status line and headers now: a GetMedia at the live edge (NOW, or after the last fragment)
  // writes nothing until the next fragment, and clients (the SDKs' send(), the CLI) wait for the headers.
  res.flushHeaders();
}

/**
 * Writes one fragment document; false if the client went away. The fragment's bytes are opened before
 * anything of it is written: if the media store lacks them, the fragment's place gets the in-stream error
 * document (INTERNAL_ERROR, 5000) and the response goes on, rather than a document cut off midway.
 */
export async function writeFragment(res: ServerResponse, f: ServedFragment, trailer?: () => Buffer): Promise<boolean> {
  const header = await f.header();
  let body: Readable;
  try {
    body = await f.body();
  } catch (err) {
    if (err instanceof MediaUnavailableError) return writeChunk(res, errorDocument(f.number, 'INTERNAL_ERROR', 5000));
    throw err;
  }
  if (!(await writeChunk(res, fragmentPrefix(header, f)))) {
    body.destroy();
    return false;
  }
  // A plain read loop rather than pipeline(): pipeline leaves listeners on the response per fragment.
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (!(await writeChunk(res, chunk))) return false;
    }
  } finally {
    body.destroy();
  }
  return trailer ? writeChunk(res, trailer()) : !res.destroyed;
}
