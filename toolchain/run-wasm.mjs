// Runs one lmalloc wasm program (built by lm_add_program) under node:
//   node run-wasm.mjs <module.wasm> [args...]
// and exits with main's return value, or 134 after a fatal misuse report
// (its line on stderr), as a native abort() would (see wasm-program.mjs).
// LM_WASM_BUFFER=fixed keeps the classic buffer, to measure growth without
// a resizable one. A threaded program's threads run this same file in
// workers.
import fs from 'node:fs';
import path from 'node:path';
import { isMainThread, workerData } from 'node:worker_threads';
import { EXIT_ABORT, moduleIs64, runWasmProgram, runWasmThread, writeAll } from './wasm-program.mjs';

function fail(message) {
  process.stderr.write(`run-wasm: ${message}\n`);
  process.exit(2);
}

if (!isMainThread) {
  runWasmThread(workerData);
} else {
  const [modulePath, ...programArgs] = process.argv.slice(2);
  if (!modulePath) fail('usage: run-wasm <module.wasm> [args...]');
  let bytes;
  try {
    bytes = fs.readFileSync(modulePath);
  } catch (error) {
    fail(`cannot read ${modulePath}: ${error.message}`);
  }
  const { exitCode, crash } = runWasmProgram(new WebAssembly.Module(bytes), {
    is64: moduleIs64(bytes),
    bytes,
    args: [path.basename(modulePath), ...programArgs],
    write: writeAll,
    resizableBuffer: process.env.LM_WASM_BUFFER !== 'fixed',
  });
  if (crash !== null) {
    process.stderr.write(`run-wasm: ${modulePath}: ${crash && crash.stack ? crash.stack : crash}\n`);
  }
  // Threads not joined must not keep the program alive.
  process.exit(crash !== null ? EXIT_ABORT : exitCode);
}
