#!/usr/bin/env bash
# The JS package as a user gets it: `npm pack` of targets/js (its prepack puts
# in the lmalloc modules of both widths), installed from the tarball into an
# empty project, then README.md's JavaScript example ("Using it from
# JavaScript") run from there, as written. Node 24: the example uses `using`.
#   tests/npm_pack.sh <scratch folder> <wasm32 lmalloc.wasm> <wasm64 lmalloc.wasm>
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
scratch="$1"
rm -rf "$scratch"
mkdir -p "$scratch/app"

echo "--- npm pack targets/js"
LMALLOC_WASM32="$(realpath "$2")" LMALLOC_WASM64="$(realpath "$3")" npm pack --silent --pack-destination "$scratch" "$repo/targets/js" </dev/null
tarball="$(ls "$scratch"/lmalloc-*.tgz)"
contents="$(tar -tzf "$tarball")"
echo "$contents" | sed 's/^/  /'
for file in package/lmalloc.js package/lmalloc.d.ts package/wasm32/lmalloc.wasm package/wasm64/lmalloc.wasm \
            package/wasm32/lmalloc-threads.wasm package/wasm64/lmalloc-threads.wasm; do
    grep -qx "$file" <<<"$contents" || { echo "npm_pack: the tarball lacks $file"; exit 1; }
done
[[ ! -e "$repo/targets/js/wasm32" ]] || { echo "npm_pack: postpack left targets/js/wasm32 behind"; exit 1; }

echo "--- npm install the tarball into an empty project"
cd "$scratch/app"
echo '{ "name": "app", "version": "1.0.0", "type": "module", "private": true }' > package.json
npm install --silent --no-audit --no-fund "$tarball" </dev/null

# The first js block after the heading.
sed -n '/^## Using it from JavaScript/,/^## /p' "$repo/README.md" \
    | awk '/^```js/ { inside = 1; next } /^```/ { if (inside) exit } inside' > example.mjs
[[ -s example.mjs ]] || { echo "npm_pack: README.md has no JavaScript example"; exit 1; }
echo "--- node example.mjs"
output="$(LM_NODE=24 "$repo/toolchain/node" example.mjs 2>&1)" || { echo "$output"; echo "npm_pack: the example failed"; exit 1; }
echo "$output"
grep -q "^double free lmalloc: double free of 0x[0-9a-f]* (" <<<"$output" \
    || { echo "npm_pack: the example did not report the double free"; exit 1; }
echo "npm_pack: PASS"
