#!/bin/sh
# Failing evaluator: complains on stderr and exits with status 2.
cat > /dev/null
echo "cannot reach the instrument" >&2
exit 2
