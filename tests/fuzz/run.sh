#!/bin/sh
# `make fuzz`: run every libFuzzer target for FUZZ_SECONDS (default 60) each,
# starting from the seed corpus; new inputs go to BUILD/fuzz-corpus/<t>, a
# crash is written to tests/fuzz/crashes/<t>/ (commit it: `make check`
# replays it from then on). Prints the executions per target.
set -u
BUILD=${1:-build-fuzz}
SECONDS_EACH=${2:-60}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
status=0
for t in csv config reward diffusion router; do
  mkdir -p "$BUILD/fuzz-corpus/$t" "$SRC/tests/fuzz/crashes/$t"
  log="$BUILD/fuzz-$t.log"
  OPENBLAS_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=1 nice -n 10 "$BUILD/fuzz_$t" \
    -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
    -artifact_prefix="$SRC/tests/fuzz/crashes/$t/" \
    "$BUILD/fuzz-corpus/$t" "$SRC/tests/fuzz/corpus/$t" > "$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  if [ $rc -eq 0 ]; then
    echo "fuzz_$t: ${execs:-?} executions in ${SECONDS_EACH} s, $cov, no crash"
  else
    echo "fuzz_$t: CRASH after ${execs:-?} executions (input saved in tests/fuzz/crashes/$t/, log $log)"
    status=1
  fi
done
exit $status
