// Runs one lmalloc wasm program (built by lm_add_program) under node:
//   node run-wasm.mjs <module.wasm> [args...]
// and exits with main's return value, or 134 after a fatal misuse report
// (its line on stderr), as a native abort() would (see wasm-program.mjs).
// LM_WASM_BUFFER=fixed keeps the classic buffer, to measure growth without
// a resizable one.
import fs from 'node:fs';
import path from 'node:path';
import { EXIT_ABORT, moduleIs64, runWasmProgram, writeAll } from './wasm-program.mjs';

function fail(message) {
  process.stderr.write(`run-wasm: ${message}\n`);
  process.exit(2);
}

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
  args: [path.basename(modulePath), ...programArgs],
  write: writeAll,
  resizableBuffer: process.env.LM_WASM_BUFFER !== 'fixed',
});
if (crash !== null) {
  process.stderr.write(`run-wasm: ${modulePath}: ${crash && crash.stack ? crash.stack : crash}\n`);
}
process.exitCode = crash !== null ? EXIT_ABORT : exitCode;
