/**
 * HTTP ceiling for GetMediaForFragmentList: a bare node:http server that answers each POST with the bytes
 * of `count` consecutive fragments read straight from a segment file (createReadStream piped into a
 * chunked response, 256 KiB reads as kvsd's media store does). No catalog, no MKV framing.
 * Usage: node --import tsx bench/servers/fileServer.ts SEGMENT_FILE FRAGMENT_BYTES
 * Request body: {"k": first fragment index, "count": fragments}.
 */
import { createReadStream } from 'node:fs';
import { createServer } from 'node:http';

const file = process.argv[2]!;
const fragmentBytes = Number(process.argv[3]);
const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const { k, count } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { k: number; count: number };
    res.writeHead(200, { 'content-type': 'video/webm', 'transfer-encoding': 'chunked' });
    createReadStream(file, {
      start: k * fragmentBytes,
      end: (k + count) * fragmentBytes - 1,
      highWaterMark: 256 * 1024,
    }).pipe(res);
  });
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`fileServer listening on http://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
