#!/bin/sh
# Wrong line count: one line fewer than designs.
exec awk 'NR > 2 { print 1 }'
