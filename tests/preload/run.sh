#!/usr/bin/env bash
# Real programs from Debian with a malloc preloaded, against the same runs
# without it: every output must be the same byte for byte.
#
#   tests/preload/run.sh <preload.so> <work dir> <threaded_malloc> <double_free>
#
# <preload.so> is build/native/liblmalloc.so in the test (preload_programs);
# any malloc library will do, e.g. Debian's libmimalloc.so.2 to check the
# harness itself. The programs, each small (a few seconds in all):
#   python3   tests/preload/stdlib.py: json, re, difflib, decimal, sqlite3,
#             zlib, and threads handing objects to each other
#   sqlite3   the CLI on tests/preload/orders.sql (in memory)
#   gcc       compiles src/lmalloc.c to assembly (cc1 and as under the preload)
#   git       a repository made here: commits, log --stat, repack, fsck, objects
#   perl      tests/preload/words.pl
#   xz -T2    compresses 8 MiB in two threads, and back
#   threaded_malloc  the project's own: 6 threads, cross-thread frees
# Then double_free must stop with the preload's report naming the call
# (when the preload is lmalloc). Prints "preload: PASS" at the end.
set -uo pipefail
if (($# != 4)); then
    echo "usage: $0 <preload.so> <work dir> <threaded_malloc> <double_free>" >&2
    exit 2
fi
preload="$(realpath "$1")" work="$2" threaded_malloc="$3" double_free="$4"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
[[ -f "$preload" ]] || { echo "preload: no library at $1" >&2; exit 2; }
rm -rf "$work"
mkdir -p "$work"
cd "$work"

# Debian's programs, whatever PATH says (a pyenv python3 would not be).
export PATH=/usr/bin:/bin LC_ALL=C.UTF-8 TZ=UTC
failures=0

# run <name> <command...>: the command's stdout, stderr and exit status,
# without and with the preload, in <name>.plain.* and <name>.preloaded.*.
run() {
    local name="$1"
    shift
    local started=$SECONDS
    "$@" > "$name.plain.out" 2> "$name.plain.err"
    echo $? > "$name.plain.status"
    LD_PRELOAD="$preload" "$@" > "$name.preloaded.out" 2> "$name.preloaded.err"
    echo $? > "$name.preloaded.status"
    local kind
    for kind in out err status; do
        if ! cmp -s "$name.plain.$kind" "$name.preloaded.$kind"; then
            echo "preload: $name: $kind differs (without | with the preload):"
            diff "$name.plain.$kind" "$name.preloaded.$kind" | head -20
            failures=$((failures + 1))
            return
        fi
    done
    if [[ "$(cat "$name.plain.status")" != 0 ]]; then
        echo "preload: $name failed without the preload too (exit $(cat "$name.plain.status")):"
        head -20 "$name.plain.err"
        failures=$((failures + 1))
        return
    fi
    echo "preload: $name: same output ($(wc -c < "$name.plain.out") bytes), $((SECONDS - started)) s for both runs"
}

run python3 python3 "$here/stdlib.py"
run sqlite3 sqlite3 -batch :memory: ".read $here/orders.sql"
run perl perl "$here/words.pl"

# gcc: the assembly it writes, by its hash, is the output.
compile() { gcc -O1 -S -I"$repo/targets" "$repo/src/lmalloc.c" -o lmalloc.s && sha256sum < lmalloc.s; }
run gcc compile

# git: the same repository built twice (fixed names and dates), once under
# the preload; repack with two threads, then every object listed.
git_job() {
    local repository="$1"
    rm -rf "$repository"
    git init -q -b main "$repository" && cd "$repository" || return 1
    export GIT_AUTHOR_NAME=lmalloc GIT_AUTHOR_EMAIL=lmalloc@example.invalid
    export GIT_COMMITTER_NAME=lmalloc GIT_COMMITTER_EMAIL=lmalloc@example.invalid
    local i
    for i in $(seq 1 15); do
        export GIT_AUTHOR_DATE="2024-01-01T00:00:$((i + 10))Z" GIT_COMMITTER_DATE="2024-01-01T00:00:$((i + 10))Z"
        seq "$i" 3 4000 > "numbers-$((i % 7)).txt"
        sed -n "1,$((i * 40))p" "$repo/src/lmalloc.c" > source.c
        git add -A && git commit -q -m "commit $i" || return 1
    done
    git log --stat --format='%H %s' | head -200
    git -c pack.threads=2 repack -q -a -d -f --depth=20 --window=20 || return 1
    git count-objects -v | grep -v size
    git fsck --no-progress --full 2>&1
    git cat-file --batch-all-objects --batch-check | sort
    cd ..
}
# Each run makes its own repository.
git_either() { if [[ -n "${LD_PRELOAD:-}" ]]; then git_job repository-preloaded; else git_job repository-plain; fi; }
run git git_either

# xz -T2: the compressed bytes are the output.
head -c 4000000 /dev/zero | tr '\0' 'a' > input.bin
seq 1 600000 >> input.bin
xz_job() { xz -T2 -6 --block-size=1MiB -c input.bin | tee input.xz | sha256sum && xz -T2 -d -c input.xz | cmp - input.bin && echo round-trip; }
run xz xz_job

run threaded_malloc "$threaded_malloc"

# A double free under the preload is reported, naming the call, and stops
# the program (lmalloc's line; another preload reports in its own words).
if [[ "$(basename "$preload")" == liblmalloc* ]]; then
    # (The braces keep bash's own "Aborted" line out of the log.)
    { LD_PRELOAD="$preload" "$double_free" > double_free.out 2> double_free.err; } 2> /dev/null
    status=$?
    if ((status == 0)) || grep -q "after the second free" double_free.out ||
       ! grep -Eq "^lmalloc: double free of 0x[0-9a-f]+ \([0-9]+-byte block\)$" double_free.err; then
        echo "preload: double_free: expected lmalloc's report and a stop, got exit $status:"
        cat double_free.out double_free.err | head -10
        failures=$((failures + 1))
    else
        echo "preload: double_free: $(head -1 double_free.err) (exit $status)"
    fi
fi

if ((failures == 0)); then
    echo "preload: PASS"
else
    echo "preload: FAIL ($failures)"
    exit 1
fi
