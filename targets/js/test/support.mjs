// Shared set-up for the node:test suites. The module under test comes from
// the environment (set by targets/js/CMakeLists.txt, one module per preset):
//   LMALLOC_WASM       build/<preset>/lmalloc.wasm (exports its memory)
//   LMALLOC_WASM_IMPORTED  the same allocator built with --import-memory
//   LMALLOC_WASM_THREADS   lmalloc-threads.wasm (shared memory, for workers)
//   LMALLOC_BITS       32 or 64: the width the suites expect to detect
import fs from 'node:fs';
import assert from 'node:assert/strict';
import { Lmalloc } from '../lmalloc.js';

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run these suites through ctest (targets/js/CMakeLists.txt) ` +
                    'or set it to a built module, e.g. build/wasm32/lmalloc.wasm');
  }
  return value;
}

export const modulePath = required('LMALLOC_WASM');
export const importedModulePath = required('LMALLOC_WASM_IMPORTED');
export const threadsModulePath = required('LMALLOC_WASM_THREADS');
export const expectedBits = Number(required('LMALLOC_BITS'));
if (expectedBits !== 32 && expectedBits !== 64) throw new Error(`LMALLOC_BITS must be 32 or 64, not ${expectedBits}`);

export const moduleBytes = fs.readFileSync(modulePath);
export const importedModuleBytes = fs.readFileSync(importedModulePath);
export const nodeMajor = Number(process.versions.node.split('.')[0]);
/** Node 24 grows a memory64 past 4 GiB; node 20 (flagged) stops at 4 GiB. */
export const canGrowPast4GiB = expectedBits === 64 && nodeMajor >= 24;

/** Node 24 with --experimental-wasm-rab-integration (toolchain/node passes it) has it; node 20 not. */
export const hasResizableBuffers = typeof WebAssembly.Memory.prototype.toResizableBuffer === 'function';
/** test() options for tests of the resizable-buffer mode: skipped where the engine lacks it. */
export const whereResizable = { skip: !hasResizableBuffers && 'this engine has no WebAssembly.Memory.prototype.toResizableBuffer' };

/** A fresh instance of the module under test (from its bytes, so from scratch). */
export function freshHeap(options = {}) {
  return Lmalloc.instantiate(moduleBytes, options);
}

/** Asserts the heap is sound and holds no blocks besides `expectedLive`. */
export function assertClean(heap, expectedLive = 0) {
  assert.equal(heap.check(), 0, 'lm_check() finds the heap sound');
  assert.equal(heap.stats().liveBlocks, expectedLive, 'live blocks');
}

/** Deterministic bytes (xorshift32) so failures reproduce. */
export function patternBytes(length, seed = 0x9e3779b9) {
  const bytes = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

export const hex = (value) => `0x${value.toString(16)}`;
