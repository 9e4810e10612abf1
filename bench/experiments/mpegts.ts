/**
 * How long tsSegment takes for one realistic KVS fragment: 2 s of 1080p30 H.264 (x264 ultrafast) with AAC,
 * from ffmpeg through the playback demuxer; once on the plain test pattern (which compresses to little),
 * once with noise over it (camera-like bitrates). `node --import tsx bench/experiments/mpegts.ts`
 */
import type { TrackMedia } from '../../src/playback/media.js';
import { tsSegment } from '../../src/playback/mpegts.js';
import { fragments } from '../../test/playback/tsSource.js';

const bytesOf = (f: TrackMedia[]) => f.reduce((n, m) => n + m.samples.reduce((k, s) => k + s.data.length, 0), 0);

for (const noise of [false, true]) {
  const frags = await fragments(
    { video: 'h264', size: '1920x1080', fps: 30, gop: 60, seconds: 8, preset: 'ultrafast', noise },
    1_735_689_600_000,
  );
  // Whole 2 s fragments only (the last Cluster may be shorter).
  const full = frags.filter((f) => f.find((m) => m.track.kind === 'video')!.samples.length === 60);
  for (let i = 0; i < 30; i++) for (const f of full) tsSegment(f); // warm up the JIT
  const times: number[] = [];
  let out = 0;
  for (let round = 0; round < 30; round++) {
    for (const f of full) {
      const t = process.hrtime.bigint();
      out += tsSegment(f).length;
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  const input = full.reduce((n, f) => n + bytesOf(f), 0) / full.length;
  const output = out / times.length;
  const mbps = (bytes: number) => (bytes / 1e6 / (median / 1000)).toFixed(0);
  console.log(
    `${noise ? 'noisy' : 'plain'} pattern: ${full.length} fragments, ${(input / 1e6).toFixed(2)} MB of samples, ` +
      `${(output / 1e6).toFixed(2)} MB of TS each; median ${median.toFixed(2)} ms per fragment ` +
      `(p90 ${times[Math.floor(times.length * 0.9)]!.toFixed(2)}); ${mbps(input)} MB/s in, ${mbps(output)} MB/s out`,
  );
}
