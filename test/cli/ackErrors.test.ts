/**
 * ERROR acknowledgements explained by `kvsd put`: the README's ffmpeg recipe with an AAC track and x264's
 * default B-frames makes a cluster's first (audio) frame earlier than the previous cluster's last (video)
 * frame, so kvsd drops those fragments with 4004. The acknowledgement carries only the code: kvsd put must
 * say what it means and how to fix it (-bf 0), once, and count it; with -bf 0 everything persists.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runKvsd } from '../helpers/cli.js';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { acksOf, readmeRecipeFile } from './helpers.js';

let kvsd: KvsdProcess;
before(async () => {
  kvsd = await startKvsd({ args: ['--quiet'] });
});
after(async () => {
  await kvsd?.dispose();
});

const put = (stream: string, file: string) =>
  runKvsd(['put', '--stream', stream, '--create', '--endpoint', kvsd.url, file]);

describe('kvsd put explains ERROR acknowledgements', () => {
  it('x264 default B-frames with audio: 4004 named once with the fix, counted, exit 1', async () => {
    const r = await put('bframes', await readmeRecipeFile({ audio: true }));
    assert.equal(r.code, 1, r.stderr);
    const errors = acksOf(r.stdout).filter((a) => a.EventType === 'ERROR');
    assert.ok(errors.length > 0, `some fragment is refused: ${r.stdout}`);
    assert.ok(
      errors.every((a) => a.ErrorId === 4004),
      JSON.stringify(errors),
    );
    const explained = r.stderr
      .split('\n')
      .filter((l) => l.includes('ERROR 4004 FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS'));
    assert.equal(explained.length, 1, `explained once per run:\n${r.stderr}`);
    assert.match(explained[0]!, /-bf 0/);
    assert.match(explained[0]!, /B-frames/);
    assert.match(
      r.stderr,
      new RegExp(`${errors.length} errors \\(4004 FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS x${errors.length}\\)`),
    );
  });

  it('the same recipe with -bf 0: every fragment persisted, no error, exit 0', async () => {
    const r = await put('no-bframes', await readmeRecipeFile({ audio: true, extra: ['-bf', '0'] }));
    assert.equal(r.code, 0, r.stderr);
    const acks = acksOf(r.stdout);
    assert.equal(acks.filter((a) => a.EventType === 'ERROR').length, 0);
    assert.equal(acks.filter((a) => a.EventType === 'PERSISTED').length, 5);
    assert.match(r.stderr, /5 fragments received, 5 persisted, 0 errors\n/);
  });
});
