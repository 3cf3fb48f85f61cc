// npm pack / npm publish in targets/js: puts the built lmalloc modules of both
// widths into the package (wasm32/lmalloc.wasm, wasm64/lmalloc.wasm, and the
// threaded lmalloc-threads.wasm beside each), where
// moduleURL() finds them; `--clean` (postpack) takes them out again.
// The modules come from the builds of the wasm32 and wasm64 presets
// (cmake --build --preset wasm32 / wasm64), or from the files named by
// LMALLOC_WASM32 / LMALLOC_WASM64.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const build = path.resolve(here, '..', '..', 'build');
const widths = ['wasm32', 'wasm64'];

if (process.argv.includes('--clean')) {
  for (const width of widths) fs.rmSync(path.join(here, width), { recursive: true, force: true });
  process.exit(0);
}
for (const width of widths) {
  const source = process.env[`LMALLOC_${width.toUpperCase()}`] || path.join(build, width, 'lmalloc.wasm');
  // The threaded module is built beside it (moduleURL(width, { threads: true })).
  const threadsSource = path.join(path.dirname(source), 'lmalloc-threads.wasm');
  for (const file of [source, threadsSource]) {
    if (!fs.existsSync(file)) {
      console.error(`prepack: ${file} is missing: build it first (cmake --build --preset ${width}), ` +
                    `or name the folder's lmalloc.wasm with LMALLOC_${width.toUpperCase()}=<file>`);
      process.exit(1);
    }
  }
  fs.mkdirSync(path.join(here, width), { recursive: true });
  fs.copyFileSync(source, path.join(here, width, 'lmalloc.wasm'));
  fs.copyFileSync(threadsSource, path.join(here, width, 'lmalloc-threads.wasm'));
}
