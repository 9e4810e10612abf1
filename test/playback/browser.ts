/**
 * Playing kvsd's HLS sessions in a real browser: Debian's Chromium, headless, driven by playwright-core,
 * with hls.js or dash.js from node_modules. The page lives on its own origin (a static server started here), as
 * AWS's viewer and every KVS web app do, so the session resources are fetched cross-origin.
 */
// needs: chromium
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { type Browser, chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const SCRIPTS: Record<string, Buffer> = {
  '/hls.min.js': readFileSync(require.resolve('hls.js/dist/hls.min.js')),
  // The UMD build: what the package exports to require().
  '/dash.all.min.js': readFileSync(require.resolve('dashjs')),
};

/** The player pages: hls.js or dash.js on a muted video element, reporting errors to window.report. */
const PAGES = {
  hls: `<!doctype html><html><body><video id="v" muted playsinline></video>
<script src="/hls.min.js"></script>
<script>
  window.report = { errors: [], fatal: null };
  const video = document.getElementById('v');
  const hls = new Hls({ debug: false });
  hls.on(Hls.Events.ERROR, (_, d) => { window.report.errors.push(d.details); if (d.fatal) window.report.fatal = d.details; });
  hls.loadSource(new URLSearchParams(location.search).get('src'));
  hls.attachMedia(video);
  hls.on(Hls.Events.MANIFEST_PARSED, () => video.play());
</script></body></html>`,
  dash: `<!doctype html><html><body><video id="v" muted playsinline></video>
<script src="/dash.all.min.js"></script>
<script>
  window.report = { errors: [], fatal: null };
  const video = document.getElementById('v');
  const player = dashjs.MediaPlayer().create();
  // dash.js reports every error as fatal to the presentation; there is no recoverable kind.
  player.on(dashjs.MediaPlayer.events.ERROR, (e) => { const m = JSON.stringify(e.error); window.report.errors.push(m); window.report.fatal = m; });
  player.initialize(video, new URLSearchParams(location.search).get('src'), true);
</script></body></html>`,
};
export type PlayerKind = keyof typeof PAGES;

export interface Player {
  /**
   * Opens the page of `kind` (default hls.js) on `url` and resolves once the video has played `seconds` (or
   * rejects with the page's report). With `screenshot`, the played video element is saved there as PNG.
   */
  play(url: string, seconds: number, timeoutMs?: number, kind?: PlayerKind, screenshot?: string): Promise<PlayReport>;
  close(): Promise<void>;
}

export interface PlayReport {
  currentTime: number;
  decodedFrames: number;
  errors: string[];
  width: number;
  height: number;
}

export async function startPlayer(): Promise<Player> {
  const pages: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const script = SCRIPTS[path];
    if (script) res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(script);
    else res.writeHead(200, { 'Content-Type': 'text/html' }).end(PAGES[path === '/dash' ? 'dash' : 'hls']);
  });
  await new Promise<void>((r) => pages.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
  const browser: Browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  return {
    async play(url, seconds, timeoutMs = 60_000, kind = 'hls', screenshot) {
      const page = await browser.newPage();
      try {
        await page.goto(`${origin}/${kind === 'dash' ? 'dash' : ''}?src=${encodeURIComponent(url)}`);
        const read = () =>
          page.evaluate(() => {
            const v = document.getElementById('v') as HTMLVideoElement;
            const w = window as unknown as { report: { errors: string[]; fatal: string | null } };
            return {
              currentTime: v.currentTime,
              decodedFrames: v.getVideoPlaybackQuality().totalVideoFrames,
              errors: w.report.errors,
              fatal: w.report.fatal,
              width: v.videoWidth,
              height: v.videoHeight,
            };
          });
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const r = await read();
          if (r.fatal) throw new Error(`${kind} fatal error ${r.fatal} (errors: ${r.errors.join(', ')})`);
          // The frame counter can trail currentTime for a moment: a played second has decoded frames.
          if (r.currentTime >= seconds && r.decodedFrames > 0) {
            if (screenshot) await page.locator('#v').screenshot({ path: screenshot });
            return r;
          }
          if (Date.now() > deadline) throw new Error(`played only ${r.currentTime} s: ${JSON.stringify(r)}`);
          await new Promise((res) => setTimeout(res, 200));
        }
      } finally {
        await page.close();
      }
    },
    async close() {
      await browser.close();
      pages.close();
    },
  };
}
