#!/bin/sh
# Slow evaluator: reads its input, then sleeps ${1:-30} s (tests the
# time-out; the sleep is a grandchild, so the whole group must be killed).
cat > /dev/null
sleep "${1:-30}"
awk 'BEGIN { print 0 }'
