// Runs the SQLite driver built on lmalloc and on wasi-libc's dlmalloc with
// the same workload, one after the other, and fails unless both print the
// same results, both exit 0 and lm_check() found the lmalloc heap sound.
// Writes what each run cost to a JSON file for the benchmark report:
//   { "workload": { "orders", "customers" }, "engine", "identical_output",
//     "runs": { "lmalloc" | "dlmalloc": { "wall_ms", "byte_length",
//               "growth_calls" } } }
// wall_ms: the module's run (node:wasi start to exit); byte_length:
// memory.buffer.byteLength at exit; growth_calls: sbrk calls that grew memory.
//   node sqlite_compare.mjs --lmalloc <wasm> --dlmalloc <wasm> --rows N --results <json>
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const options = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) options[argv[i].replace(/^--/, '')] = argv[i + 1];
for (const name of ['lmalloc', 'dlmalloc', 'rows', 'results']) {
  if (!options[name]) {
    console.error('usage: node sqlite_compare.mjs --lmalloc <wasm> --dlmalloc <wasm> --rows N --results <json>');
    process.exit(2);
  }
}
const runner = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../toolchain/run-wasi.mjs');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lmalloc-sqlite-'));

// node 20's V8 crashes (SIGSEGV in a keyed load) as the lmalloc build exits
// after 100,000 orders, its results all written and lm_check() 0: its
// concurrent GC, which --single-threaded-gc turns off. Node 24 does not.
const engineOptions = process.versions.node.startsWith('20.') ? ['--single-threaded-gc'] : [];

function run(allocator) {
  const statsFile = path.join(scratch, `${allocator}.json`);
  const result = spawnSync(process.execPath, [...engineOptions, '--no-warnings', runner, options[allocator], '--rows', options.rows], {
    env: { ...process.env, LM_WASI_STATS: statsFile },
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  process.stderr.write(`${allocator}: ${result.stderr}`);
  if (result.status !== 0) {
    console.error(`sqlite_compare: the ${allocator} build exited with ${result.status ?? result.signal}`);
    process.exit(1);
  }
  const stats = JSON.parse(fs.readFileSync(statsFile, 'utf8'));
  const growth = /growth calls: (\d+)/.exec(result.stderr);
  return {
    stdout: result.stdout,
    stderr: result.stderr,
    cost: { wall_ms: Math.round(stats.wall_ms), byte_length: stats.byte_length, growth_calls: Number(growth?.[1]) },
  };
}

const lmalloc = run('lmalloc');
const dlmalloc = run('dlmalloc');
fs.rmSync(scratch, { recursive: true, force: true });

const identical = lmalloc.stdout === dlmalloc.stdout;
const results = {
  workload: { orders: Number(options.rows), customers: Math.floor(Number(options.rows) / 10) },
  engine: `node ${process.versions.node}`,
  identical_output: identical,
  runs: { lmalloc: lmalloc.cost, dlmalloc: dlmalloc.cost },
};
fs.writeFileSync(options.results, JSON.stringify(results, null, 2) + '\n');
process.stdout.write(lmalloc.stdout);
console.log(JSON.stringify(results.runs));

let failed = false;
if (!identical) {
  console.error('sqlite_compare: the two builds printed different results');
  failed = true;
}
if (!/lm_check: 0\b/.test(lmalloc.stderr)) {
  console.error('sqlite_compare: the lmalloc build did not report lm_check: 0');
  failed = true;
}
if (!(lmalloc.stdout.split('\n').length > 20)) {
  console.error('sqlite_compare: the workload printed almost nothing');
  failed = true;
}
process.exit(failed ? 1 : 0);
