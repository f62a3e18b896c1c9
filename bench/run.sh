#!/usr/bin/env bash
# Runs the Workers binding benchmark harness (mfbench) with bunflare's adapter,
# with Miniflare 4 and with the harness's floor (bun:sqlite and a bare
# Bun.serve, no emulator), all with the harness under Bun, and writes a
# side-by-side median table.
#
#   bench/run.sh                               # 3 runs of the default tests
#   RUNS=1 TESTS="startup d1" bench/run.sh     # a subset
#
# The adapters take turns within each run (run 1 of every adapter, then run 2,
# ...), so that load from other processes, which changes over minutes on a
# shared machine, falls on all of them alike.
#
# Environment:
#   HARNESS_DIR  harness folder with Miniflare installed (default /tmp/bench)
#   RUNS         runs of each test per adapter (default 3)
#   TESTS        harness tests (default "startup kv kv-loop d1 do http"). The
#                "queue" test needs a binding bunflare does not have yet.
#   ADAPTERS     adapters in run order (default "bunflare miniflare")
#   FLOOR        1 (default) also runs the floor-bun-sqlite test; 0 skips it
#   QUIET_MAX    seconds the harness waits for other load to drop before each
#                test (default 30 here; the harness's own default is 300)
# Every other knob of the harness's run-all.sh (KV_N, D1_N, PORT, ...) passes through.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
harness=${HARNESS_DIR:-/tmp/bench}
runs=${RUNS:-3}
export TESTS=${TESTS:-"startup kv kv-loop d1 do http"}
export QUIET_MAX=${QUIET_MAX:-30}
adapters=${ADAPTERS:-"bunflare miniflare"}
floor=${FLOOR:-1}

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

# One results folder per column; run-all.sh appends to it when OUT is set.
columns=()
for adapter in $adapters; do columns+=("$adapter"); done
[ "$floor" = 1 ] && columns+=(floor)

for run in $(seq 1 "$runs"); do
  for column in "${columns[@]}"; do
    out="results/$stamp-$column-bun"
    mkdir -p "$out"
    echo "== run $run/$runs, $column -> $harness/$out"
    if [ "$column" = floor ]; then
      OUT=$out RUN_LIST=$run RUNS=$runs ADAPTER=floor LABEL=floor RUNTIME=bun TESTS=floor-bun-sqlite ./run-all.sh
    else
      OUT=$out RUN_LIST=$run RUNS=$runs ADAPTER=$column RUNTIME=bun ./run-all.sh
    fi
  done
done

raw_files=()
for column in "${columns[@]}"; do raw_files+=("results/$stamp-$column-bun/raw.jsonl"); done

table="results/$stamp-side-by-side.md"
node bench/aggregate.mjs "${raw_files[@]}" > "$table"
echo
cat "$table"
echo
echo "side-by-side table: $harness/$table"
