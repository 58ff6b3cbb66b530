#!/bin/sh
# test_install.sh BUILD_DIR SOURCE_DIR - install genbo into a temporary
# prefix, then build tests/install/consumer.c against it four ways
# (pkg-config shared and static, CMake find_package shared and static) and
# run each. Checks that nothing points back at the build or source tree.
set -eu
build=$1; src=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/genbo-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix with space"
cmake --install "$build" --prefix "$prefix" >/dev/null
pc=$(find "$prefix" -name genbo.pc)
[ -n "$pc" ] || { echo "FAIL: no genbo.pc installed"; exit 1; }
[ -f "$(dirname "$pc")/../cmake/genbo/genboConfig.cmake" ] || { echo "FAIL: no genboConfig.cmake"; exit 1; }
[ -f "$(dirname "$pc")/../cmake/genbo/genboConfigVersion.cmake" ] || { echo "FAIL: no version file"; exit 1; }
# Move the prefix after installing: a relocatable package still works.
mv "$prefix" "$tmp/moved"
prefix="$tmp/moved"
pcdir=$(dirname "$(find "$prefix" -name genbo.pc)")
export PKG_CONFIG_PATH="$pcdir"
inc=$(pkg-config --variable=includedir genbo)
lib=$(pkg-config --variable=libdir genbo)
[ -f "$inc/genbo.h" ] || { echo "FAIL: pkg-config includedir '$inc' has no genbo.h"; exit 1; }
[ -f "$lib/libgenbo.a" ] || { echo "FAIL: pkg-config libdir '$lib' has no libgenbo.a"; exit 1; }
cc=${CC:-cc}
# The prefix has a space: pkg-config escapes it, eval undoes the escapes.
eval "set -- $(pkg-config --cflags --libs genbo)"
"$cc" -std=c11 -o "$tmp/pc_shared" "$src/tests/install/consumer.c" "$@" -lm
# -l:libgenbo.a picks the archive although the .so sits beside it.
static_libs=$(pkg-config --static --libs genbo | sed 's/-lgenbo\b/-l:libgenbo.a/')
eval "set -- $(pkg-config --cflags genbo) $static_libs"
"$cc" -std=c11 -o "$tmp/pc_static" "$src/tests/install/consumer.c" "$@" -lm
LD_LIBRARY_PATH="$lib" "$tmp/pc_shared"
"$tmp/pc_static"
if ldd "$tmp/pc_static" | grep -q libgenbo; then echo "FAIL: pc_static links libgenbo.so"; exit 1; fi
ldd "$tmp/pc_shared" | grep -q "libgenbo.so" || { echo "FAIL: pc_shared does not use libgenbo.so"; exit 1; }
# CMake: find_package(genbo) from the moved prefix.
cmake -S "$src/tests/install" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$tmp/cm" >/dev/null
"$tmp/cm/consumer_shared"
"$tmp/cm/consumer_static"
ldd "$tmp/cm/consumer_shared" | grep -q "$prefix" || { echo "FAIL: consumer_shared does not use the installed library"; exit 1; }
if ldd "$tmp/cm/consumer_static" | grep -q libgenbo; then echo "FAIL: consumer_static links libgenbo.so"; exit 1; fi
# Nothing installed may name the build or the source directory.
if grep -rlF "$build" "$prefix" --include='*.pc' --include='*.cmake'; then
    echo "FAIL: installed files name the build directory"; exit 1
fi
echo "install test: pkg-config and CMake, shared and static: ok"
