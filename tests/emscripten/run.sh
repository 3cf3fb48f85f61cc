#!/usr/bin/env bash
# Builds tests/emscripten/program.c with Debian's emscripten 3.1.6 the way
# README.md says (emcc -sMALLOC=none with lmalloc's sources, malloc names and
# emscripten seam) and runs it under node: the checks pass, a double free is
# reported by lmalloc and stops the program; built beside emscripten's own
# malloc instead, lmalloc refuses to start with a message saying why.
#   tests/emscripten/run.sh <scratch folder>
# -sWASM_ASYNC_COMPILATION=0: emscripten 3.1.6's loader would fetch() the
# .wasm on node >= 18, which has fetch but cannot fetch a file path.
# NODE_PATH: emcc's JS optimizer needs acorn (Debian's node-acorn), which a
# node not from Debian does not look for in /usr/share/nodejs.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
scratch="$1"
rm -rf "$scratch" && mkdir -p "$scratch"
export NODE_PATH="/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}"
node="$repo/toolchain/node"
# -fno-builtin: the compiler must not elide the test's malloc/free pairs.
flags=(-O2 -fno-builtin -sALLOW_MEMORY_GROWTH=1 -sWASM_ASYNC_COMPILATION=0 -I"$repo/src")

echo "--- emcc -sMALLOC=none with lmalloc"
emcc "${flags[@]}" -sMALLOC=none "$repo/tests/emscripten/program.c" \
    "$repo/src/lmalloc.c" "$repo/targets/emscripten/target.c" "$repo/targets/malloc/malloc.c" \
    -o "$scratch/program.js"
"$node" "$scratch/program.js" | tee "$scratch/out.txt"
grep -q "^emscripten: PASS" "$scratch/out.txt"

echo "--- a double free"
if "$node" "$scratch/program.js" --double-free > "$scratch/double-free.txt" 2>&1; then
    cat "$scratch/double-free.txt"; echo "emscripten: the double free did not stop the program"; exit 1
fi
grep -E "^lmalloc: double free of 0x[0-9a-f]+ \([0-9]+-byte block\)" "$scratch/double-free.txt" \
    || { cat "$scratch/double-free.txt"; echo "emscripten: no report of the double free"; exit 1; }

echo "--- beside emscripten's own malloc"
emcc "${flags[@]}" -DLM_PROGRAM_BESIDE=1 "$repo/tests/emscripten/program.c" \
    "$repo/src/lmalloc.c" "$repo/targets/emscripten/target.c" -o "$scratch/beside.js"
if "$node" "$scratch/beside.js" > "$scratch/beside.txt" 2>&1; then
    cat "$scratch/beside.txt"; echo "emscripten: lmalloc started beside emscripten's malloc"; exit 1
fi
grep "^lmalloc: emscripten's own malloc already owns" "$scratch/beside.txt" \
    || { cat "$scratch/beside.txt"; echo "emscripten: no refusal message"; exit 1; }
echo "emscripten: PASS (all three)"
