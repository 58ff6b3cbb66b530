#!/bin/bash
# bench/random_kill.sh - seeded random-kill loop for exact resume (issue 10).
# Runs a small study with a design loop once uninterrupted, then KILLS runs:
# each a fresh database, killed after a seeded random number of commits
# (GENBO_FAULT_KILL_AFTER_COMMIT, studies/store.c) and resumed, some of them
# killed again during the resume, and compares every table (wall-clock
# columns aside, models as bytes) with the uninterrupted run.
#   bash bench/random_kill.sh [KILLS=20] [SEED=1]     (BUILD=build by default)
# tests/test_resume.c kills at every commit of a smaller study in make check.
set -u
KILLS=${1:-20}
SEED=${2:-1}
BUILD=${BUILD:-build}
G="$BUILD/genbo"
W=$(mktemp -d /tmp/genbo_random_kill_XXXXXX)
trap 'rm -rf "$W"' EXIT
export OPENBLAS_NUM_THREADS=1
cat > "$W/s.ini" <<'INI'
[study]
name = rk
seed = 7
[data]
D = 8
d = 3
n_label = 60
n_unlabel = 600
[diffusion]
width = 32
depth = 2
t_embed = 8
y_embed = 8
steps = 120
batch = 64
[generate]
targets = p50, p90
n = 6
steps = 10
methods = genbo, conditional, random
[loop]
rounds = 4
batch = 4
finetune_steps = 30
INI
dump() {
  sqlite3 "$1" "
    SELECT id, name, config, dim FROM studies ORDER BY id;
    SELECT id, study_id, kind, config, seed, version, status, last_step, error FROM runs ORDER BY id;
    SELECT run_id, step, detail FROM steps ORDER BY run_id, step;
    SELECT id, run_id, kind, role, round, n_labels, describe, hex(data) FROM models ORDER BY id;
    SELECT id, run_id, round, target, target_label, method, state, hex(x), predicted, support_distance, reason FROM trials ORDER BY id;
    SELECT trial_id, value FROM observations ORDER BY trial_id;
    SELECT * FROM metrics ORDER BY run_id, round, target_label, method;
    SELECT run_id, kind, value FROM reward_samples ORDER BY rowid;
    SELECT * FROM targets ORDER BY run_id, label;
    SELECT run_id, round, stop, steps, best_step, val_loss, train_loss FROM trainings ORDER BY run_id, round;
    SELECT run_id, round, step, train_loss, val_loss FROM train_curve ORDER BY run_id, round, step;
    SELECT count(*) FROM train_checkpoints;"
}
"$G" run "$W/s.ini" --db "$W/ref.db" --quiet > /dev/null || { echo "reference run failed"; exit 1; }
dump "$W/ref.db" > "$W/ref.txt"
# commits of an uninterrupted run: kill after k for k past the end completes
total=1
while { GENBO_FAULT_KILL_AFTER_COMMIT=$total "$G" run "$W/s.ini" --db "$W/count.db" --quiet > /dev/null 2>&1; } 2> /dev/null
      [ $? -ne 0 ]; do rm -f "$W"/count.db*; total=$((total + 1)); done
echo "random_kill: the study commits $total times; $KILLS seeded kills (seed $SEED)"
RANDOM=$SEED
same=0; differ=0; kills=0
for i in $(seq 1 "$KILLS"); do
  db="$W/k$i.db"
  k=$((RANDOM % total + 1))
  { GENBO_FAULT_KILL_AFTER_COMMIT=$k "$G" run "$W/s.ini" --db "$db" --quiet > /dev/null 2>&1; } 2> /dev/null
  kills=$((kills + 1))
  # half the time, kill the resume too
  if [ $((RANDOM % 2)) -eq 0 ]; then
    k2=$((RANDOM % 8 + 1))
    { GENBO_FAULT_KILL_AFTER_COMMIT=$k2 "$G" run "$W/s.ini" --db "$db" --quiet > /dev/null 2>&1; } 2> /dev/null && k2=done
    [ "$k2" = done ] || kills=$((kills + 1))
  fi
  if [ "$(sqlite3 "$db" "SELECT count(*) FROM runs WHERE status = 'done'")" = 0 ]; then
    "$G" run "$W/s.ini" --db "$db" --quiet > /dev/null || { echo "resume $i failed"; exit 1; }
  fi
  if dump "$db" | cmp -s - "$W/ref.txt"; then same=$((same + 1)); else differ=$((differ + 1)); echo "run $i (kill after $k): differs"; fi
  rm -f "$db" "$db"-wal "$db"-shm
done
echo "random_kill: $kills kills in $KILLS runs: $same resumed databases identical, $differ different"
[ "$differ" -eq 0 ]
