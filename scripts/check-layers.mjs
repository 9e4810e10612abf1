#!/usr/bin/env node
// Fails (exit 1) when a file under src/ imports from a layer it must not depend on. Dependencies go one
// way: server.ts, cli.ts and index.ts (the composition roots) -> api -> archive -> storage; auth sits beside
// api (the server uses it); protocol and mkv are toolkits that import no other folder of src/ (not even each
// other); client is the CLI's producer side. Import cycles are dpdm's job (npm run check:layers runs both).
//
// Usage: node scripts/check-layers.mjs [ROOT]   (ROOT defaults to the repository; its src/ is checked)
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What each layer (a folder of src/) may import besides itself; a root file (src/*.ts) may import anything. */
const ALLOWED = {
  storage: ['protocol'], // a toolkit: the SQLite catalog renders listing entries when it upgrades old files
  archive: ['storage', 'protocol', 'mkv'],
  api: ['archive', 'storage', 'protocol', 'mkv', 'playback'],
  // Packaging for players (fMP4, MPEG-TS, MP4, playlists): a toolkit over the MKV toolkit.
  playback: ['mkv', 'protocol'],
  auth: ['protocol'],
  protocol: [],
  mkv: [],
  // Fragment numbers, PutMedia's error ids and the seeder's MKV come from the archive's own modules.
  client: ['archive', 'protocol', 'mkv'],
};

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
const src = join(root, 'src');

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (/\.(m|c)?[jt]s$/.test(entry.name) && !entry.name.endsWith('.d.ts')) yield path;
  }
}

/** The layer of a path under src/: its first folder, or undefined for a root file. */
function layerOf(path) {
  const parts = relative(src, path).split(sep);
  return parts.length > 1 ? parts[0] : undefined;
}

// Static imports and re-exports (`import … from`, `export … from`, bare `import '…'`) and dynamic import('…').
const IMPORT = new RegExp(
  [
    /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]/.source,
    /(?:^|[\s;])import\s*['"]([^'"]+)['"]/.source,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/.source,
  ].join('|'),
  'g',
);

const problems = [];
for (const file of sourceFiles(src)) {
  const layer = layerOf(file);
  if (layer === undefined) continue;
  const allowed = ALLOWED[layer];
  if (allowed === undefined) {
    problems.push(`${relative(root, file)}: src/${layer}/ is not a known layer (add it to ALLOWED)`);
    continue;
  }
  const text = readFileSync(file, 'utf8');
  for (const match of text.matchAll(IMPORT)) {
    const spec = match[1] ?? match[2] ?? match[3];
    if (!spec.startsWith('.')) continue;
    const target = resolve(dirname(file), spec);
    if (!target.startsWith(src + sep)) {
      problems.push(`${relative(root, file)}: imports ${spec}, outside src/`);
      continue;
    }
    const to = layerOf(target);
    if (to === layer) continue;
    if (to === undefined) problems.push(`${relative(root, file)}: ${layer} imports the composition root ${spec}`);
    else if (!allowed.includes(to)) problems.push(`${relative(root, file)}: ${layer} must not import ${to} (${spec})`);
  }
}

if (problems.length > 0) {
  console.error(`Layer violations (see scripts/check-layers.mjs for the rules):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('layers: ok');
