/**
 * `// needs:` declarations tell scripts/test.sh which system tools to install for the selected test files
 * (scripts/test-needs.mjs). A file that runs a tool without declaring it (itself, or through a helper it
 * imports) would pass here, where everything is installed, and fail on a fresh machine that ran only its
 * suite: this test finds such files by what they run.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
// @ts-expect-error: a plain .mjs script without type declarations
import { needsOf } from '../../scripts/test-needs.mjs';

const ROOT = join(import.meta.dirname, '../..');

/** How a file shows that it runs each tool (in code or in the shell lines and scripts it holds). */
const USES: Record<string, RegExp> = {
  ffmpeg: /['"`](ffmpeg|ffprobe)['"` ]|\bffmpeg -/,
  gstreamer: /gst-launch-1\.0/,
  mkvtoolnix: /['"`]mkv(info|merge|extract)['"` ]|\bmkvinfo -/,
  aws: /import \{[^}]*\bAWS\b[^}]*\} from '[^']*cli\.js'|'\/usr\/bin\/aws'|\baws kinesisvideo/,
  boto3: /import \{[^}]*\bPYTHON\b[^}]*\} from '[^']*cli\.js'|'\/usr\/bin\/python3'|\bimport boto3\b/,
  curl: /['"`]curl['"` ]|\bcurl -/,
  chromium: /\/usr\/bin\/chromium/,
};

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('test tool declarations', () => {
  it('every test file and helper that runs a system tool declares it, or imports a helper that does', () => {
    const missing: string[] = [];
    // This file names every tool in its patterns, and helpers/cli.ts defines the tools' paths: neither runs
    // one by itself (the files that import the paths to run them declare them).
    const exempt = ['test/layers/testNeeds.test.ts', 'test/helpers/cli.ts'];
    const files = tsFiles(join(ROOT, 'test')).filter((f) => !exempt.includes(relative(ROOT, f)));
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const declared: string[] = needsOf([file]);
      for (const [tool, use] of Object.entries(USES)) {
        if (use.test(text) && !declared.includes(tool)) missing.push(`${relative(ROOT, file)}: ${tool}`);
      }
    }
    assert.deepEqual(missing, [], 'add a `// needs:` line naming these tools');
  });

  it('unit suites declare nothing: `npm test -- test/protocol` installs no system package', () => {
    const protocol = tsFiles(join(ROOT, 'test/protocol')).filter((f) => f.endsWith('.test.ts'));
    assert.ok(protocol.length > 0);
    assert.deepEqual(needsOf(protocol), []);
  });

  it('follows imports: a test inherits the tools of the helpers it uses', () => {
    assert.deepEqual(needsOf([join(ROOT, 'test/listFragments/example.test.ts')]), [
      'aws',
      'boto3',
      'ffmpeg',
      'gstreamer',
      'mkvtoolnix',
    ]);
  });
});
