/**
 * Ceiling for ListFragments: a bare node:http server that reads and parses the JSON request, then answers
 * with a fixed JSON body (a real kvsd page, so of exactly the same size). No catalog, no validation, no
 * formatting: what kvsd would do if its handler cost nothing.
 * Usage: node --import tsx bench/servers/jsonCeiling.ts BODY_FILE
 */
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

const body = readFileSync(process.argv[2]!);
const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`jsonCeiling listening on http://127.0.0.1:${port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT'] as const)
  process.on(sig, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
