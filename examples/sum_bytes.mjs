// Drives examples/sum_bytes.c through the JS helper:
//   node sum_bytes.mjs <sum_bytes.wasm> [--expect <sum>] [text]
// Copies the text (default "WebAssembly") into the module's heap with alloc,
// calls sum_bytes(ptr, len), frees with dealloc, and prints the sum. Plain
// numbers on both widths: the helper converts to BigInt for wasm64.
// Exits non-zero if the sum differs from --expect or from JavaScript's own
// sum, or if a block is left live.
import fs from 'node:fs';
import { Lmalloc } from '../targets/js/lmalloc.js';

const args = process.argv.slice(2);
const modulePath = args.shift();
let expectArg = null;
if (args[0] === '--expect') { args.shift(); expectArg = Number(args.shift()); }
const text = args[0] ?? 'WebAssembly';
if (!modulePath || Number.isNaN(expectArg)) {
  console.error('usage: node sum_bytes.mjs <sum_bytes.wasm> [--expect <sum>] [text]');
  process.exit(2);
}

const heap = await Lmalloc.instantiate(fs.readFileSync(modulePath));
const sumBytes = heap.wrapExport('sum_bytes', ['ptr', 'size'], 'u32');

const { ptr, len } = heap.writeString(text);      // alloc(len) + copy, UTF-8
const sum = sumBytes(ptr, len);
heap.dealloc(ptr, len);

console.log(`sum_bytes(${JSON.stringify(text)}) = ${sum} on wasm${heap.pointerBits}`);

const expected = new TextEncoder().encode(text).reduce((total, byte) => total + byte, 0);
if (sum !== expected || (expectArg !== null && sum !== expectArg)) {
  console.error(`sum_bytes.mjs: the module returned ${sum}; JavaScript computes ${expected}` +
                (expectArg !== null ? `; expected ${expectArg}` : ''));
  process.exit(1);
}
const { liveBlocks } = heap.stats();
if (liveBlocks !== 0 || heap.check() !== 0) {
  console.error(`sum_bytes.mjs: ${liveBlocks} block(s) still live or heap damaged after dealloc`);
  process.exit(1);
}
