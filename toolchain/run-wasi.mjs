// Runs a WASI (preview1) command module: node:wasi with the arguments after
// the module, this process's environment, and the current directory
// preopened as ".". The module's exit code becomes this process's; a trap
// (abort(), unreachable) prints the engine's message and exits with 134.
//   node run-wasi.mjs <module.wasm> [args...]
// LM_WASI_STATS=<file>: also writes {"wall_ms", "byte_length"} there as JSON
// at exit (the run's wall time and memory.buffer.byteLength).
import fs from 'node:fs';
import { WASI } from 'node:wasi';

const [modulePath, ...args] = process.argv.slice(2);
if (!modulePath) {
  console.error('usage: node run-wasi.mjs <module.wasm> [args...]');
  process.exit(2);
}
const wasi = new WASI({
  version: 'preview1',
  args: [modulePath, ...args],
  env: process.env,
  preopens: { '.': process.cwd() },
  returnOnExit: true,
});
const module = await WebAssembly.compile(fs.readFileSync(modulePath));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
const started = performance.now();
let code;
try {
  code = wasi.start(instance);
} catch (error) {
  console.error(`run-wasi: ${modulePath} trapped: ${error.message}`);
  code = 134;
}
const statsPath = process.env.LM_WASI_STATS;
if (statsPath) {
  const stats = { wall_ms: performance.now() - started, byte_length: instance.exports.memory.buffer.byteLength };
  fs.writeFileSync(statsPath, JSON.stringify(stats) + '\n');
}
process.exit(code);
