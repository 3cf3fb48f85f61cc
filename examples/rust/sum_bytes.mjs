// Drives the Rust sum_bytes cdylib (examples/rust/sum_bytes.rs) the classic
// way, with the plain WebAssembly API: alloc(len), copy the bytes in through a
// fresh view of memory.buffer, call, dealloc in `finally`.
//   node sum_bytes.mjs <sum_bytes.wasm>
// Checks, each on a fresh instance: "WebAssembly" sums to 1118; 1000 cycles
// leave memory.buffer.byteLength flat; a second dealloc of the same block is
// reported by lmalloc, by name, through the module's lmalloc.report import.
import fs from 'node:fs';

const modulePath = process.argv[2];
if (!modulePath) {
  console.error('usage: node sum_bytes.mjs <sum_bytes.wasm>');
  process.exit(2);
}
const module = new WebAssembly.Module(fs.readFileSync(modulePath));

function instantiate() {
  let memory = null;
  const imports = {
    lmalloc: {
      // lm_target_report: kind, ptr, size, line, line length, fatal.
      report(kind, ptr, size, line, lineLength, fatal) {
        const text = new TextDecoder().decode(new Uint8Array(memory.buffer, line, lineLength));
        throw new Error(text);
      },
      // lm_target_random: secret bytes for the heap's keys.
      random(ptr, len) {
        crypto.getRandomValues(new Uint8Array(memory.buffer, ptr, len));
        return 1;
      },
    },
  };
  const instance = new WebAssembly.Instance(module, imports);
  memory = instance.exports.memory;
  return instance.exports;
}

function sumOf(exports, text) {
  const bytes = new TextEncoder().encode(text);
  const ptr = exports.alloc(bytes.length);
  if (ptr === 0) throw new Error('alloc returned null');
  try {
    new Uint8Array(exports.memory.buffer, ptr, bytes.length).set(bytes);   // a fresh view
    return exports.sum_bytes(ptr, bytes.length) >>> 0;
  } finally {
    exports.dealloc(ptr, bytes.length);
  }
}

let failed = false;
function expect(what, ok, detail) {
  console.log(`${ok ? 'ok' : 'FAILED'}: ${what}${detail ? ` (${detail})` : ''}`);
  failed ||= !ok;
}

{
  const exports = instantiate();
  const sum = sumOf(exports, 'WebAssembly');
  expect('"WebAssembly" sums to 1118', sum === 1118, `got ${sum}`);
  expect('alloc(0) is null', exports.alloc(0) === 0);
}
{
  const exports = instantiate();
  sumOf(exports, 'warm-up');
  const before = exports.memory.buffer.byteLength;
  for (let cycle = 0; cycle < 1000; cycle++) sumOf(exports, `cycle ${cycle} `.repeat(1 + (cycle % 50)));
  const after = exports.memory.buffer.byteLength;
  expect('1000 cycles leave memory.buffer.byteLength flat', after === before, `${before} -> ${after}`);
}
{
  const exports = instantiate();
  const ptr = exports.alloc(11);
  exports.dealloc(ptr, 11);
  let message = '';
  try {
    exports.dealloc(ptr, 11);
  } catch (error) {
    message = error.message;
  }
  expect('a second dealloc is reported by name', /^lmalloc: double free of 0x[0-9a-f]+ \(\d+-byte block\)$/.test(message),
         message || 'nothing was reported');
}
process.exit(failed ? 1 : 0);
