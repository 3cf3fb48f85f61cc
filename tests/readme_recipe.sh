#!/usr/bin/env bash
# Runs README.md's recipe "lmalloc in your own wasm program" as a user would:
# in an empty folder with lmalloc checked out as lmalloc/, it writes the
# recipe's files (each fenced block starting with a file-name comment), runs
# its shell block line by line exactly as written, and checks every program
# prints 285; then the same shell block with --target=wasm64, as its comment
# says. `node` is toolchain/node (the engine LM_NODE picks).
#   tests/readme_recipe.sh <scratch folder>
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
scratch="$1"
rm -rf "$scratch"
mkdir -p "$scratch/bin"
ln -s "$repo" "$scratch/lmalloc"
# `node` runs toolchain/node, which finds the system node on the PATH without this folder.
printf '#!/usr/bin/env bash\nPATH=%q exec %q "$@"\n' "$PATH" "$repo/toolchain/node" > "$scratch/bin/node"
chmod +x "$scratch/bin/node"
export PATH="$scratch/bin:$PATH"

recipe="$(sed -n '/<!-- recipe: begin/,/<!-- recipe: end -->/p' "$repo/README.md")"
[[ -n "$recipe" ]] || { echo "readme_recipe: README.md has no recipe section"; exit 1; }

# Splits the fenced blocks: a file for every block whose first line names one.
awk -v dir="$scratch" '
    /^```/ { if (inside) { inside = 0; close(out); next } inside = 1; first = 1; lang = substr($0, 4); next }
    inside && first {
        first = 0
        if (match($0, /^(\/\*|\/\/) *[A-Za-z0-9_.]+/)) {
            name = $0; sub(/^(\/\*|\/\/) */, "", name); sub(/[ :].*$/, "", name)
            out = dir "/" name
        } else if (lang == "sh") {
            out = dir "/recipe.sh"
        } else {
            out = "/dev/null"
        }
    }
    inside { print > out }
' <<<"$recipe"
for file in my_program.c run.mjs recipe.sh; do
    [[ -f "$scratch/$file" ]] || { echo "readme_recipe: the recipe has no $file"; exit 1; }
done

cd "$scratch"
run_recipe() {
    local script="$1"
    echo "--- running the recipe's commands ($script)"
    # Joins continued lines; runs each command and checks what "# 285" promises.
    sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$script" | while IFS= read -r line; do
        [[ -z "$line" || "$line" == \#* ]] && continue
        command="${line%%#*}"
        expected=""
        [[ "$line" == *"# "* ]] && expected="$(sed -E 's/.*# *//' <<<"$line")"
        echo "\$ $command"
        output="$(bash -c "$command" </dev/null 2>&1)" || { echo "$output"; echo "readme_recipe: failed: $command"; exit 1; }
        [[ -n "$output" ]] && echo "$output"
        if [[ -n "$expected" && "$output" != "$expected" ]]; then
            echo "readme_recipe: '$command' printed '$output', the README says '$expected'"
            exit 1
        fi
    done
}
run_recipe recipe.sh
sed 's/--target=wasm32/--target=wasm64/' recipe.sh > recipe-wasm64.sh
run_recipe recipe-wasm64.sh
echo "readme_recipe: PASS"
