/**
 * How fast the hand-written muxers are on a realistic fragment: 2 s of 1080p30 H.264 (x264 ultrafast, one
 * keyframe, 6 Mbit/s) with 48 kHz AAC, the fragment length KVS producers default to. Prints ms per call (median of
 * many) and output MB/s for fragmentSamples (the demux before either muxer), mediaSegment, initSegment and
 * clipMp4 (one fragment, and 15 of them: a 30 s clip). Figures go in docs/playback.md ("Muxing").
 *
 * Usage: node --import tsx bench/experiments/mux.ts
 */
// needs: ffmpeg
import { fragmentSamples } from '../../src/playback/demux.js';
import { initSegment, mediaSegment } from '../../src/playback/fmp4.js';
import type { Sample } from '../../src/playback/media.js';
import { clipMp4 } from '../../src/playback/mp4Clip.js';
import { mkvSource } from '../../test/playback/mkvSource.js';

/** Median wall time of fn over enough runs to last ~1 s (after a warm-up), and the bytes it returned. */
function measure(name: string, fn: () => Buffer | unknown) {
  for (let i = 0; i < 20; i++) fn();
  const times: number[] = [];
  let bytes = 0;
  const until = performance.now() + 1000;
  while (performance.now() < until || times.length < 20) {
    const start = performance.now();
    const out = fn();
    times.push(performance.now() - start);
    if (Buffer.isBuffer(out)) bytes = out.length;
  }
  times.sort((a, b) => a - b);
  const ms = times[Math.floor(times.length / 2)]!;
  const mbps = bytes ? `${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s` : '';
  console.log(
    `${name.padEnd(44)} ${ms.toFixed(3).padStart(8)} ms  ${(bytes / 1e6).toFixed(2).padStart(6)} MB  ${mbps}`,
  );
}

const source = await mkvSource({
  codec: 'h264',
  size: '1920x1080',
  fps: 30,
  seconds: 2,
  gop: 60,
  bframes: 0,
  audio: true,
  preset: 'ultrafast',
  // testsrc alone compresses to ~0.6 Mbit/s; with noise, at 6 Mbit/s, a fragment weighs what a camera's does.
  noise: 30,
  bitrate: '6M',
});
const [fragment] = source.fragments;
const [video, audio] = fragment!;
console.log(
  `input: ${source.fragments.length} fragment, ${(source.clusters[0]!.length / 1e6).toFixed(2)} MB cluster, ` +
    `${video!.samples.length} video + ${audio!.samples.length} audio samples`,
);

measure('fragmentSamples (demux, both tracks)', () => fragmentSamples(source.clusters[0]!, source.set));
measure('initSegment (video)', () => initSegment(video!.track));
measure('mediaSegment (video, 2 s 1080p)', () => mediaSegment(video!, 1));
measure('mediaSegment (audio, 2 s AAC)', () => mediaSegment(audio!, 1));
const one = [video!.samples, audio!.samples];
measure('clipMp4 (1 fragment, A+V)', () => clipMp4(source.set.tracks, one));
// 15 copies of the fragment, 2 s apart: a 30 s clip, as GetClip of 15 fragments would see.
const shifted = (samples: Sample[], k: number) =>
  samples.map((s) => ({ ...s, dts: s.dts + 2000 * k, pts: s.pts + 2000 * k }));
const fifteen = one.map((samples) => Array.from({ length: 15 }, (_, k) => shifted(samples, k)).flat());
measure('clipMp4 (15 fragments, 30 s, A+V)', () => clipMp4(source.set.tracks, fifteen));
