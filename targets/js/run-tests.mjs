// `npm test` in targets/js: runs the node:test suites against the builds in
// build/wasm32 and build/wasm64 (make them with `cmake --build --preset ...`).
// ctest runs the same suites one by one (CMakeLists.txt).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const build = path.resolve(here, '..', '..', 'build');
const suites = fs.readdirSync(path.join(here, 'test')).filter((name) => name.endsWith('.test.mjs'))
  .map((name) => path.join(here, 'test', name));
const flags = ['--expose-gc'];
// The flags toolchain/node passes: memory64 on node 20, resizable buffers on Node 24.
if (Number(process.versions.node.split('.')[0]) < 24) flags.push('--experimental-wasm-memory64');
else flags.push('--experimental-wasm-rab-integration');

let ran = 0, failed = 0;
for (const bits of [32, 64]) {
  const dir = path.join(build, `wasm${bits}`);
  const module = path.join(dir, 'lmalloc.wasm');
  if (!fs.existsSync(module)) {
    console.log(`(no ${module}: skipping wasm${bits})`);
    continue;
  }
  ran++;
  const env = { ...process.env, LMALLOC_WASM: module,
    LMALLOC_WASM_IMPORTED: path.join(dir, 'lmalloc-imported-memory.wasm'),
    LMALLOC_WASM_THREADS: path.join(dir, 'lmalloc-threads.wasm'), LMALLOC_BITS: String(bits) };
  const result = spawnSync(process.execPath, [...flags, '--test', ...suites], { env, stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
if (ran === 0) {
  console.error('run-tests: no build found; build the wasm32/wasm64 presets first');
  process.exit(1);
}
process.exit(failed === 0 ? 0 : 1);
