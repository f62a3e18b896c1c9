#!/usr/bin/env bash
# Runs the Workers binding benchmark harness (mfbench) with bunflare's adapter,
# then with Miniflare 4, both with the harness under Bun, and writes a
# side-by-side median table.
#
#   bench/run.sh                               # 3 runs of the default tests
#   RUNS=1 TESTS="startup d1" bench/run.sh     # a subset
#
# Environment:
#   HARNESS_DIR  harness folder with Miniflare installed (default /tmp/bench)
#   RUNS         runs of each test per adapter (default 3)
#   TESTS        harness tests (default "startup kv kv-loop d1 do http"). The
#                "queue" test needs a binding bunflare does not have yet.
#   ADAPTERS     adapters in run order (default "bunflare miniflare")
# Every other knob of the harness's run-all.sh (KV_N, D1_N, PORT, ...) passes through.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
harness=${HARNESS_DIR:-/tmp/bench}
export RUNS=${RUNS:-3}
export TESTS=${TESTS:-"startup kv kv-loop d1 do http"}
adapters=${ADAPTERS:-"bunflare miniflare"}

if [ ! -x "$harness/run-all.sh" ] || [ ! -d "$harness/node_modules/miniflare" ]; then
  echo "bench/run.sh: no harness with Miniflare in $harness." >&2
  echo "Copy the harness there and run 'npm install miniflare@4' in it, or set HARNESS_DIR." >&2
  exit 1
fi

# The harness imports adapters/<name>.mjs from its own folder, so a one-line
# module there re-exports this repository's adapter.
printf 'export * from "%s";\n' "file://$repo/bench/adapter.mjs" > "$harness/adapters/bunflare.mjs"

cd "$harness"
stamp=$(date +%Y%m%d-%H%M%S)
raw_files=()
for adapter in $adapters; do
  out="results/$stamp-$adapter-bun"
  echo "== $adapter: RUNS=$RUNS TESTS=\"$TESTS\" -> $harness/$out"
  OUT=$out ADAPTER=$adapter RUNTIME=bun ./run-all.sh
  raw_files+=("$out/raw.jsonl")
done

table="results/$stamp-side-by-side.md"
node bench/aggregate.mjs "${raw_files[@]}" > "$table"
echo
cat "$table"
echo
echo "side-by-side table: $harness/$table"
