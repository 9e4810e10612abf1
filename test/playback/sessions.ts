/**
 * What the HLS and DASH session tests share: ten seconds of real MKV in through PutMedia, the video frames
 * ffprobe reads through a session URL, and an SDK call that must fail with AWS's error.
 */
// needs: ffmpeg
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { run } from '../helpers/cli.js';
import { ffmpegEpochMkvFile, sendWithClient } from '../helpers/putMedia.js';

/** Uploads 10 s of ffmpeg H.264 (a key frame every 2 s) with absolute timecodes from `startMs`; asserts 5+ PERSISTED. */
export async function uploadEpochMkv(url: string, stream: string, startMs: number): Promise<number> {
  const body = createReadStream(await ffmpegEpochMkvFile(startMs));
  const sent = await sendWithClient(url, { streamName: stream, timecodeType: 'ABSOLUTE', body });
  assert.equal(sent.error, undefined);
  const persisted = sent.acks.filter((a) => a.EventType === 'PERSISTED').length;
  assert.ok(
    persisted >= 5,
    `persisted ${persisted}: ${JSON.stringify(sent.acks.filter((a) => a.EventType === 'ERROR'))}`,
  );
  return persisted;
}

/** The video packets ffprobe reads through a session URL (a playlist or a manifest). */
export async function videoPacketsThrough(url: string): Promise<number> {
  const r = await run('/usr/bin/ffprobe', [
    '-v',
    'error',
    '-count_packets',
    '-show_entries',
    'stream=codec_type,nb_read_packets',
    '-of',
    'json',
    url,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const streams = JSON.parse(r.stdout).streams as { codec_type: string; nb_read_packets: string }[];
  return Number(streams.find((s) => s.codec_type === 'video')?.nb_read_packets);
}

/** Asserts that the call fails with the AWS error `name` (and `message`, when given). */
export async function expectError(p: Promise<unknown>, name: string, message?: string) {
  await assert.rejects(p, (err: Error) => {
    assert.equal(err.name, name, err.message);
    if (message) assert.equal(err.message, message);
    return true;
  });
}
