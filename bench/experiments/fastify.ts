/**
 * What would fastify cost kvsd's hot path? The same answer (a POST whose JSON body is read and parsed,
 * answered with a fixed 19 KB ListFragments page) from a bare node:http server and from fastify 5, each in
 * its own process, loaded by 8 keep-alive connections for 5 s, interleaved over 4 rounds. kvsd kept its own
 * router (docs/architecture.md); the figures are in docs/benchmarks.md.
 *
 *   npm i --no-save fastify && npx tsx bench/experiments/fastify.ts
 */
import { fork } from 'node:child_process';
import { request, Agent } from 'node:http';

const PAGE = JSON.stringify({
  Fragments: Array.from({ length: 100 }, (_, i) => ({
    FragmentNumber: `9134385233318143239268206268413252732667957${String(i).padStart(4, '0')}`,
    FragmentSizeInBytes: 29901 + i,
    ProducerTimestamp: 1796421846.382 + i * 2,
    ServerTimestamp: 1796421846.369 + i * 2,
    FragmentLengthInMilliseconds: 1960,
  })),
});
const BODY = JSON.stringify({ StreamName: 'cam', MaxResults: 100 });

async function serve(kind: string) {
  if (kind === 'raw') {
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        JSON.parse(Buffer.concat(chunks).toString());
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(PAGE) });
        res.end(PAGE);
      });
    });
    server.listen(0, '127.0.0.1', () => process.send!((server.address() as { port: number }).port));
  } else {
    const { default: fastify } = await import('fastify' as string);
    const app = fastify();
    app.post('/listFragments', async (_req: unknown, reply: { type(t: string): { send(b: string): unknown } }) =>
      reply.type('application/json').send(PAGE),
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    process.send!(app.server.address().port);
  }
}

async function load(port: number, ms: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const end = Date.now() + ms;
  let done = 0;
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          port,
          host: '127.0.0.1',
          path: '/listFragments',
          method: 'POST',
          agent,
          headers: { 'Content-Type': 'application/json' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve());
        },
      );
      req.on('error', reject);
      req.end(BODY);
    });
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (Date.now() < end) {
        await one();
        done++;
      }
    }),
  );
  agent.destroy();
  return (done * 1000) / ms;
}

if (process.argv[2] === 'serve') await serve(process.argv[3]!);
else {
  const rates: Record<string, number[]> = { raw: [], fastify: [] };
  for (let round = 0; round < 4; round++) {
    for (const kind of ['raw', 'fastify']) {
      const child = fork(new URL(import.meta.url).pathname, ['serve', kind], { execArgv: ['--import', 'tsx'] });
      const port = await new Promise<number>((r) => child.once('message', (m) => r(m as number)));
      rates[kind]!.push(await load(port, 5000));
      child.kill();
    }
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  console.log(JSON.stringify({ raw: rates.raw, fastify: rates.fastify }));
  console.log(
    `median req/s: raw ${median(rates.raw!).toFixed(0)}, fastify ${median(rates.fastify!).toFixed(0)}, ratio ${(median(rates.fastify!) / median(rates.raw!)).toFixed(2)}`,
  );
}
