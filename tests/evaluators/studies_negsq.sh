#!/bin/sh
# studies_negsq.sh [DELAY] - a black box for the studies tests: reads designs
# as CSV on stdin (header row first) and prints -||x||^2 for each, one per
# line, after sleeping DELAY seconds (default 0) to act like a slow
# experiment.
sleep "${1:-0}"
exec awk -F, 'NR > 1 { s = 0; for (i = 1; i <= NF; i++) s -= $i * $i; printf "%.17g\n", s }'
