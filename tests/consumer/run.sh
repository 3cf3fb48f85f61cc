#!/usr/bin/env bash
# What a consumer of lmalloc does with CMake, for native, wasm32 and wasm64:
# 1. builds lmalloc alone (LM_BUILD_TESTS/LM_BUILD_BENCHMARKS off) for each
#    target and `cmake --install`s all three into one prefix;
# 2. a consumer project finds it with find_package(lmalloc) for each target,
#    links lmalloc::lmalloc and lmalloc::malloc, and its programs run;
# 3. the same consumer with add_subdirectory(lmalloc) gets the libraries and
#    nothing else: no test registered, no zlib looked for, no benchmark
#    peers fetched, no test or benchmark target defined.
#   tests/consumer/run.sh <scratch folder>
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
scratch="$1"
rm -rf "$scratch"
mkdir -p "$scratch"
prefix="$scratch/prefix"
quiet() { "$@" > "$scratch/last.log" 2>&1 || { cat "$scratch/last.log"; echo "consumer: failed: $*"; exit 1; }; }
toolchain_of() { [[ "$1" == native ]] || echo "-DCMAKE_TOOLCHAIN_FILE=$repo/toolchain/$1.cmake"; }
run_consumer() {   # <build folder> <target>
    for flavour in lmalloc malloc; do
        if [[ "$2" == native ]]; then
            "$1/consumer_$flavour" || { echo "consumer: $2 consumer_$flavour failed ($?)"; exit 1; }
        else
            "$repo/toolchain/node" "$repo/tests/consumer/run_wasm.mjs" "$1/consumer_$flavour.wasm"
        fi
    done
}

for target in native wasm32 wasm64; do
    echo "--- lmalloc for $target: build and install"
    quiet cmake -S "$repo" -B "$scratch/lmalloc-$target" $(toolchain_of $target) -DCMAKE_BUILD_TYPE=Release \
        -DLM_BUILD_TESTS=OFF -DLM_BUILD_BENCHMARKS=OFF
    quiet cmake --build "$scratch/lmalloc-$target" -j2
    quiet cmake --install "$scratch/lmalloc-$target" --prefix "$prefix"
done
find "$prefix" -type f | sed "s|$prefix/|  installed: |" | sort

for target in native wasm32 wasm64; do
    echo "--- consumer for $target: find_package(lmalloc)"
    quiet cmake -S "$repo/tests/consumer" -B "$scratch/package-$target" $(toolchain_of $target) \
        -DCMAKE_BUILD_TYPE=Release -Dlmalloc_DIR="$prefix/lib/cmake/lmalloc"
    quiet cmake --build "$scratch/package-$target" -j2
    run_consumer "$scratch/package-$target" $target
done

echo "--- consumer for native: add_subdirectory(lmalloc)"
build="$scratch/subdirectory"
quiet cmake -S "$repo/tests/consumer" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCONSUMER_LMALLOC_SOURCE="$repo"
if grep -q "ZLIB" "$build/CMakeCache.txt"; then echo "consumer: add_subdirectory looked for zlib"; exit 1; fi
if grep -qi "bench" "$scratch/last.log" || [[ -e "$build/lmalloc/bench" ]]; then
    echo "consumer: add_subdirectory configured the benchmarks"; exit 1
fi
tests="$(cd "$build" && ctest -N | grep -E '^Total Tests:' || true)"
[[ "$tests" == "Total Tests: 0" || -z "$tests" ]] || { echo "consumer: add_subdirectory registered tests ($tests)"; exit 1; }
targets="$(cmake --build "$build" --target help | grep -E '^\.\.\. ' | sed 's/^\.\.\. //; s/ .*//' | sort | tr '\n' ' ')"
echo "  targets: $targets"
for target in $targets; do
    case "$target" in
        all|clean|depend|edit_cache|rebuild_cache|install|install/local|install/strip|list_install_components|*.[ios]) ;;
        lmalloc|lmalloc_malloc|lmalloc_secure|lmalloc_preload|consumer_lmalloc|consumer_malloc) ;;
        *) echo "consumer: add_subdirectory defined the target '$target'"; exit 1 ;;
    esac
done
quiet cmake --build "$build" -j2
run_consumer "$build" native
echo "consumer: PASS"
