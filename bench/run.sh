#!/usr/bin/env bash
# bench/run.sh - genbo's whole benchmark suite in one command (`make bench`).
#
# Builds the bench programs (Release), then runs
#   1. quality: two processes side by side, one OpenBLAS thread each, so
#      both cores work: bench_quality sections 1,3,4 then bench_designs on
#      quad48, curved48, crossed_barrel; bench_quality section 2 then
#      bench_designs on the other Olympus sets (bench_quality's section 5,
#      Olympus with the bench's own recipe, is superseded by bench_designs'
#      Olympus cases with the study defaults and is not run);
#   2. speed (bench_speed: scaling; bench_diffusion: workload W1 against
#      cblas_sgemm and PyTorch) alone, with every core;
# and writes bench/results.md and bench/results.json (machine, OpenBLAS
# kernel, seeds, git commit, per-phase wall time). Progress on the terminal.
#
# Environment: BUILD (build directory, default <repo>/build), SHARED (data
# sets, default <repo>/../shared/datasets), QUICK=1 (tiny sizes: a smoke
# test of the plumbing, numbers meaningless), THREADS (speed phase threads,
# default: the number of cores).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
SHARED=${SHARED:-$ROOT/../shared/datasets}
THREADS=${THREADS:-$(nproc)}
OUT=$BUILD/bench-out
QFLAG=""
[ "${QUICK:-0}" = 1 ] && QFLAG="--quick"
mkdir -p "$OUT"

say() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
now() { date +%s; }

say "building (Release) in $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$THREADS" --target bench_quality bench_designs bench_speed bench_diffusion >/dev/null

T_ALL=$(now)
# ---- 1. quality: two single-threaded processes in parallel --------------
say "quality: (sections 1,3,4 + designs on quad48,curved48,crossed_barrel) and (section 2 + designs on the other Olympus sets) in parallel, 1 OpenBLAS thread each"
T0=$(now)
run_quality() { # name sections designs-cases
    local name=$1 sections=$2 cases=$3
    set +e
    {
        OPENBLAS_NUM_THREADS=1 "$BUILD/bench_quality" --sections "$sections" --threads 1 \
            --shared "$SHARED" --out "$OUT/quality_$name" $QFLAG 2>&1 | sed -u "s/^/[quality $sections] /" >&2
        rc=${PIPESTATUS[0]}
        if [ "$rc" = 0 ]; then
            OPENBLAS_NUM_THREADS=1 "$BUILD/bench_designs" --cases "$cases" --threads 1 \
                --shared "$SHARED" --out "$OUT/designs_$name" $QFLAG 2>&1 | sed -u "s/^/[designs $name] /" >&2
            rc=${PIPESTATUS[0]}
        fi
        echo "$rc" >"$OUT/quality_$name.rc"
    }
    set -e
}
run_quality a 1,3,4 quad48,curved48,crossed_barrel &
PID_A=$!
run_quality b 2 oer_plate_3496,oer_plate_3851,photo_pce10,hplc &
PID_B=$!
wait "$PID_A" "$PID_B"
for n in a b; do
    rc=$(cat "$OUT/quality_$n.rc")
    [ "$rc" = 0 ] || { say "bench_quality ($n) failed with status $rc"; exit 1; }
done
T_QUALITY=$(( $(now) - T0 ))
say "quality done in ${T_QUALITY} s"

# ---- 2. speed: scaling, then W1 against sgemm and PyTorch ----------------
say "speed: scaling (bench_speed, $THREADS threads)"
T0=$(now)
OPENBLAS_NUM_THREADS=$THREADS "$BUILD/bench_speed" --threads "$THREADS" --out "$OUT/speed" $QFLAG
T_SCALING=$(( $(now) - T0 ))
say "speed: workload W1 (bench_diffusion, $THREADS threads, then PyTorch if python3-torch is installed; ~2 min, output at the end)"
T0=$(now)
# bench_diffusion runs bench/torch_w1.py with /usr/bin/python3 (Debian's
# python3-torch), or with $GENBO_PYTHON when set.
W1_ARGS="--sample-steps 100"
[ -n "$QFLAG" ] && W1_ARGS="--train-steps 2 --sample-steps 5 --samples 512"
OPENBLAS_NUM_THREADS=$THREADS "$BUILD/bench_diffusion" --threads "$THREADS" \
    $W1_ARGS --torch-script "$ROOT/bench/torch_w1.py" | tee "$OUT/w1.txt" >&2
T_W1=$(( $(now) - T0 ))
T_TOTAL=$(( $(now) - T_ALL ))
say "speed done (scaling ${T_SCALING} s, W1 ${T_W1} s); total ${T_TOTAL} s"

# ---- results.md / results.json ------------------------------------------
CPU=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
CORES=$(nproc)
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD 2>/dev/null || COMMIT="$COMMIT+dirty"
DATE=$(date -u +%Y-%m-%dT%H:%MZ)
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
KERNEL=$(sed -n 's/.*"kernel": "\([^"]*\)".*/\1/p' "$OUT/speed.json" | head -1)
BLASCFG=$(sed -n 's/.*"blas_config": "\([^"]*\)".*/\1/p' "$OUT/speed.json" | head -1)
SEEDS=$(sed -n 's/^{"seeds": \([0-9]*\).*/\1/p' "$OUT/quality_a.json")
# W1 numbers (formats printed by bench_diffusion)
w1() { awk -v k="$1" -v f="$2" 'index($0, k) == 1 { v = $(NF - f) } END { print (v == "" ? "null" : v) }' "$OUT/w1.txt" | tr -d '%x'; }
W1_TRAIN=$(w1 "genbo training" 3); W1_TRAIN_ROOF=$(w1 "genbo training" 0)
W1_SAMPLE=$(w1 "genbo sampling" 3); W1_SAMPLE_ROOF=$(w1 "genbo sampling" 0)
W1_TORCH_TRAIN=$(awk '/^torch training/ { print $NF }' "$OUT/w1.txt" | tr -d 'x'); W1_TORCH_TRAIN=${W1_TORCH_TRAIN:-null}
W1_TORCH_SAMPLE=$(awk '/^torch sampling/ { print $NF }' "$OUT/w1.txt" | tr -d 'x'); W1_TORCH_SAMPLE=${W1_TORCH_SAMPLE:-null}

RES_MD=$ROOT/bench/results.md
RES_JSON=$ROOT/bench/results.json
[ -n "$QFLAG" ] && RES_MD=$OUT/results.md RES_JSON=$OUT/results.json
{
    echo "# genbo benchmark results"
    echo
    echo "Generated by \`make bench\` (bench/run.sh)${QFLAG:+ with QUICK=1: smoke test, numbers meaningless}."
    echo
    echo "| | |"
    echo "|---|---|"
    echo "| date | $DATE |"
    echo "| git commit | $COMMIT |"
    echo "| CPU | $CPU |"
    echo "| cores | $CORES |"
    echo "| OpenBLAS kernel | $KERNEL ($BLASCFG) |"
    echo "| threads | quality: 2 processes x 1 thread; speed: $THREADS |"
    echo "| seeds per quality cell | $SEEDS (seeds 1..$SEEDS) |"
    echo "| load average at the end | $LOAD |"
    echo "| wall time | total ${T_TOTAL} s: quality ${T_QUALITY} s, scaling ${T_SCALING} s, W1 ${T_W1} s |"
    echo
    echo "## Quality"
    echo
    # settings once, then sections 1..5 in order (they come from two files)
    head -n 1 "$OUT/quality_a.md"
    echo
    for n in 1 2 3 4 5; do
        awk -v n="$n" '/^### / { on = index($0, "### " n ".") == 1 } on' \
            "$OUT/quality_a.md" "$OUT/quality_b.md"
    done
    # issue 14: the same header in both files; the cases of b after a's
    cat "$OUT/designs_a.md"
    awk 'NR > 1 && /^#### / { on = 1 } /^<details><summary>resolved/ { on = 0 } on' "$OUT/designs_b.md"

    echo "## Speed"
    echo
    echo "### Workload W1 (bench_diffusion, ${T_W1} s)"
    echo
    echo '```'
    cat "$OUT/w1.txt"
    echo '```'
    echo
    cat "$OUT/speed.md"
} >"$RES_MD"
{
    echo "{"
    echo "  \"date\": \"$DATE\", \"git_commit\": \"$COMMIT\","
    echo "  \"machine\": {\"cpu\": \"$CPU\", \"cores\": $CORES, \"openblas_kernel\": \"$KERNEL\", \"load_average_end\": \"$LOAD\"},"
    echo "  \"seeds\": ${SEEDS:-null}, \"quick\": $([ -n "$QFLAG" ] && echo true || echo false),"
    echo "  \"wall_seconds\": {\"total\": $T_TOTAL, \"quality\": $T_QUALITY, \"scaling\": $T_SCALING, \"w1\": $T_W1},"
    echo "  \"w1\": {\"threads\": $THREADS, \"train_samples_per_s\": $W1_TRAIN, \"train_of_sgemm_pct\": $W1_TRAIN_ROOF,"
    echo "         \"sample_steps_per_s\": $W1_SAMPLE, \"sample_of_sgemm_pct\": $W1_SAMPLE_ROOF,"
    echo "         \"genbo_over_torch_train\": $W1_TORCH_TRAIN, \"genbo_over_torch_sample\": $W1_TORCH_SAMPLE},"
    echo "  \"quality_sections_1_3_4\": $(cat "$OUT/quality_a.json"),"
    echo "  \"quality_sections_2\": $(cat "$OUT/quality_b.json"),"
    echo "  \"designs_a\": $(cat "$OUT/designs_a.json"),"
    echo "  \"designs_b\": $(cat "$OUT/designs_b.json"),"
    echo "  \"speed\": $(cat "$OUT/speed.json")"
    echo "}"
} >"$RES_JSON"
say "wrote $RES_MD and $RES_JSON"
