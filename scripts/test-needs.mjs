#!/usr/bin/env node
// Prints the system tools the given test files need, one per line: the union of the `// needs: a, b`
// declarations found in each file and in every file it imports by a relative path (helpers declare the
// tools they run, so a test that uses a helper inherits its needs). scripts/test.sh installs only these.
//
// Usage: node scripts/test-needs.mjs FILE...
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const NEEDS = /^\s*\/\/\s*needs:\s*(.+)$/gm;
const IMPORT =
  /(?:^|\s)(?:import|export)\s[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** A relative specifier as it resolves on disk: tests import './x.js' for the source file './x.ts'. */
function sourceOf(from, spec) {
  const path = resolve(dirname(from), spec);
  for (const candidate of [path, path.replace(/\.js$/, '.ts'), `${path}.ts`])
    if (existsSync(candidate)) return candidate;
  return undefined;
}

/** The tools `files` and everything they import (inside test/ and bench/) declare, as a sorted array. */
export function needsOf(files) {
  const needs = new Set();
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const [, list] of text.matchAll(NEEDS)) for (const tool of list.split(/[,\s]+/)) if (tool) needs.add(tool);
    for (const m of text.matchAll(IMPORT)) {
      const target = sourceOf(file, m[1] ?? m[2]);
      // Only files of test/ and bench/: src/ runs no external tool.
      if (target && /\/(test|bench)\//.test(target)) visit(target);
    }
  };
  for (const file of files) visit(resolve(file));
  return [...needs].sort();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const tool of needsOf(process.argv.slice(2))) console.log(tool);
}
