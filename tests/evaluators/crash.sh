#!/bin/sh
# Crashing evaluator: dies of SIGSEGV after reading its input.
cat > /dev/null
kill -SEGV $$
