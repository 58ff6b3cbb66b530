#!/bin/sh
# Good evaluator: reward = -||x||^2 of each design (CSV with a header row on
# stdin, one number per line on stdout). Streams: answers each line as read.
exec awk -F, 'NR > 1 { s = 0; for (i = 1; i <= NF; i++) s += $i * $i; printf "%.17g\n", -s }'
