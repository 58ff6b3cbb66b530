#!/bin/sh
# tiny_evaluator.sh CALLS_FILE - the black box of tiny_study.ini: reads a
# batch of designs as CSV on stdin (header row first) and prints the true
# reward x0 + x1 of each, one per line. On its 2nd call (counted in
# CALLS_FILE) it fails the batch's first design instead, as a lab might lose
# a sample, so the study has exactly one failed trial with a reason.
calls=$(cat "$1" 2>/dev/null || echo 0)
calls=$((calls + 1))
echo "$calls" > "$1"
exec awk -F, -v call="$calls" 'NR > 1 {
  if (call == 2 && NR == 2) print "fail: sample lost in the lab"
  else printf "%.17g\n", $1 + $2
}'
