#!/usr/bin/env bash
# The test command: installs what the tests need when missing, builds, and runs every test file.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules ] || npm ci

# Node 20's --test does not expand globs itself: list the files here. An argument selects by path (regex).
mapfile -t files < <(find test -name '*.test.ts' | sort)
if [ "${1:-}" != "" ]; then mapfile -t files < <(printf '%s\n' "${files[@]}" | grep -E "$1"); fi
[ ${#files[@]} -gt 0 ] || { echo "no test file matches '$1'" >&2; exit 1; }

# System tools only for what the selected files declare (`// needs:`, followed through their imports).
needs=$(node scripts/test-needs.mjs "${files[@]}")
# shellcheck disable=SC2086 # one tool name per word
[ -z "$needs" ] || bash scripts/install-test-prereqs.sh $needs

npm run --silent build
# The build checks src/; this also type-checks the tests and benchmarks.
npx tsc -p tsconfig.test.json
# No upward import between layers, no import cycle (scripts/check-layers.mjs, dpdm).
npm run --silent check:layers
# Lint and format check (Biome: one fast tool for both, no plugin tree); `npx biome check --write .` fixes.
npx biome check .

# On Node 20 the AWS SDK v3 warns on every test process that its 2027 releases will need Node 22; this is
# the switch the SDK checks (@aws-sdk/core emitWarningIfUnsupportedVersion; aws/aws-sdk-js-v3#7983).
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED="${AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED:-true}"

exec node --import tsx --test --test-concurrency=2 "${files[@]}"
