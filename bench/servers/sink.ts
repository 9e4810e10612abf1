/**
 * Ceiling for PutMedia over HTTP: a bare node:http server that reads every POSTed byte and discards it,
 * answering 200 when the body ends. It notes (epoch ms, bytes so far) at most every 20 ms while data
 * arrives; GET /stats returns those samples, so that the bench can compute the rate over its measurement
 * window from the sink's own clock even when the busy sink answers the stats request late.
 * Usage: node --import tsx bench/servers/sink.ts
 */
import { createServer } from 'node:http';

let bytes = 0;
let lastMark = 0;
const samples: [number, number][] = [];
const now = () => performance.timeOrigin + performance.now();

const server = createServer({ requestTimeout: 0, keepAliveTimeout: 30_000 }, (req, res) => {
  if (req.method === 'GET') {
    samples.push([now(), bytes]);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ bytes, samples }));
    return;
  }
  req.on('data', (c: Buffer) => {
    bytes += c.length;
    const t = now();
    if (t - lastMark >= 20 && samples.length < 200_000) {
      samples.push([t, bytes]);
      lastMark = t;
    }
  });
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`sink listening on http://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
