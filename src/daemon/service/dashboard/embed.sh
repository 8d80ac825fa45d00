#!/bin/sh
# The dashboard's files as C arrays, for service/metrics.h's dashboard_files:
# embed.sh FILE... > dashboard.c.  index.html is served as "/", the others
# under their names.  POSIX od and sed only.
set -eu

echo '/* Generated from src/daemon/service/dashboard/ by embed.sh: do not edit. */'
echo '#include <stddef.h>'
echo
echo '#include "service/metrics.h"'
n=0
for f in "$@"; do
	echo
	echo "static const unsigned char file_$n[] = {"
	od -An -v -tx1 "$f" | sed -e 's/[[:space:]]*\([0-9a-f][0-9a-f]\)/0x\1,/g' \
	    -e 's/^/	/'
	echo '};'
	n=$((n + 1))
done
echo
echo 'const struct dashboard_file dashboard_files[] = {'
n=0
for f in "$@"; do
	name=$(basename "$f")
	case "$name" in
	index.html)	path=/; type='text/html; charset=utf-8' ;;
	*.html)		path=/$name; type='text/html; charset=utf-8' ;;
	*.css)		path=/$name; type='text/css; charset=utf-8' ;;
	*.js)		path=/$name; type='text/javascript; charset=utf-8' ;;
	*.svg)		path=/$name; type='image/svg+xml' ;;
	*)		path=/$name; type='application/octet-stream' ;;
	esac
	echo "	{ \"$path\", \"$type\", file_$n, sizeof(file_$n) },"
	n=$((n + 1))
done
echo '};'
echo "const size_t dashboard_nfiles = $n;"
