// Memories chosen by the host: a module built with --import-memory gets a
// memory created with a chosen maximum (or one the caller supplies), runs out
// cleanly at that maximum, and on wasm64 under Node 24 serves blocks above
// 4 GiB whose pointers JS handles as exact numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lmalloc, instantiate, createMemory, readMemoryShape } from '../lmalloc.js';
import { freshHeap } from './support.mjs';
import {
  importedModuleBytes, moduleBytes, expectedBits, canGrowPast4GiB, hasResizableBuffers, whereResizable,
  assertClean, patternBytes, hex,
} from './support.mjs';

const PAGE = 65536;
const GiB = 2 ** 30;
const shape = readMemoryShape(importedModuleBytes);

test('the imported-memory build declares an imported memory of the right width', () => {
  assert.equal(shape.imported, true);
  assert.equal(shape.is64, expectedBits === 64);
  assert.ok(shape.maximum >= 65536, 'declares a maximum of at least 4 GiB');
});

test('a memory is created with the chosen maximum and the heap stops cleanly there', async () => {
  const maximumPages = 64;                       // 4 MiB
  const heap = await instantiate(importedModuleBytes, { maximumPages });
  assert.equal(heap.pointerBits, expectedBits);
  assert.equal(heap.byteLength, shape.initial * PAGE, 'starts at the declared initial size');
  const blocks = [];
  let ptr;
  while ((ptr = heap.malloc(256 * 1024)) !== 0) {
    blocks.push(ptr);
    assert.ok(blocks.length < 100, 'the maximum must stop growth');
  }
  assert.ok(blocks.length >= 8, `got ${blocks.length} blocks of 256 KiB before the 4 MiB limit`);
  assert.ok(heap.byteLength <= maximumPages * PAGE, 'never beyond the chosen maximum');
  assert.ok(heap.stats().failedAllocs >= 1, 'the failure is counted');
  assert.equal(heap.check(), 0);
  const lengthAtMaximum = heap.byteLength;
  blocks.forEach((p) => heap.free(p));
  const again = [];
  for (let i = 0; i < blocks.length; i++) again.push(heap.malloc(256 * 1024));
  assert.ok(again.every((p) => p !== 0), 'freed memory serves the same requests again');
  assert.equal(heap.byteLength, lengthAtMaximum, 'reused, not grown');
  again.forEach((p) => heap.free(p));
  assertClean(heap);
});

test('a memory supplied by the caller is the one the heap uses', async () => {
  const memory = createMemory({ is64: shape.is64, initialPages: shape.initial, maximumPages: 100 });
  const heap = await instantiate(importedModuleBytes, { memory });
  assert.equal(heap.memory, memory);
  const big = heap.malloc(2 * 1024 * 1024);
  assert.ok(big > 0);
  assert.ok(memory.buffer.byteLength > shape.initial * PAGE, 'the supplied memory grew');
  heap.write(big, patternBytes(100));
  assert.deepEqual(new Uint8Array(memory.buffer, big, 100), patternBytes(100));
  heap.free(big);
  assert.equal(Lmalloc.instantiateSync(new WebAssembly.Module(importedModuleBytes), {
    memory: createMemory({ is64: shape.is64, initialPages: shape.initial, maximumPages: 10 }),
  }).pointerBits, expectedBits, 'instantiateSync with a supplied memory');
});

// Grows `heap` by a block of 2 MiB (more than these memories start with) and
// tells whether memory.buffer stayed the same object.
function growKeepsBuffer(heap) {
  const buffer = heap.memory.buffer;
  const lengthBefore = heap.byteLength;
  const big = heap.malloc(2 * 1024 * 1024);
  assert.ok(big > 0 && heap.byteLength > lengthBefore, 'memory grew');
  heap.write(big, patternBytes(100));
  assert.deepEqual(heap.copyOut(big, 100), patternBytes(100));
  heap.free(big);
  return heap.memory.buffer === buffer;
}

test('a memory the library creates gets a resizable buffer unless resizableBuffer: false', whereResizable, async () => {
  const heap = await instantiate(importedModuleBytes, { maximumPages: 256 });
  assert.equal(heap.resizableBuffer, true);
  assert.equal(growKeepsBuffer(heap), true, 'growth keeps the buffer');
  assertClean(heap);
  const classic = await instantiate(importedModuleBytes, { maximumPages: 256, resizableBuffer: false });
  assert.equal(classic.resizableBuffer, false);
  assert.equal(growKeepsBuffer(classic), false, 'growth replaces the classic buffer');
  assertClean(classic);
});

test('a memory supplied by the caller keeps the buffer mode the caller chose', async () => {
  const memory = createMemory({ is64: shape.is64, initialPages: shape.initial, maximumPages: 100 });
  const heap = await instantiate(importedModuleBytes, { memory });
  assert.equal(heap.resizableBuffer, false, 'not switched');
  assert.equal(growKeepsBuffer(heap), false, 'growth replaces the classic buffer');
  assertClean(heap);
  const syncHeap = Lmalloc.instantiateSync(new WebAssembly.Module(importedModuleBytes), {
    memory: createMemory({ is64: shape.is64, initialPages: shape.initial, maximumPages: 100 }),
  });
  assert.equal(syncHeap.resizableBuffer, false, 'not switched by instantiateSync either');
  if (!hasResizableBuffers) return;

  const resizable = createMemory({ is64: shape.is64, initialPages: shape.initial, maximumPages: 100 });
  resizable.toResizableBuffer();
  const callerSwitched = await instantiate(importedModuleBytes, { memory: resizable, resizableBuffer: false });
  assert.equal(callerSwitched.resizableBuffer, true, 'the caller\'s resizable buffer is kept');
  assert.equal(growKeepsBuffer(callerSwitched), true);
  assertClean(callerSwitched);
});

test('maximums the module or the engine cannot take are refused with a clear error', async () => {
  await assert.rejects(instantiate(importedModuleBytes, { maximumPages: shape.maximum + 1 }),
    /exceeds the \d+ pages the module declares/);
  await assert.rejects(instantiate(importedModuleBytes, { maximumPages: 1 }), /below the initial/);
  await assert.rejects(instantiate(importedModuleBytes, { maximumBytes: 1000 }), /whole number of 65536-byte pages/);
  await assert.rejects(instantiate(moduleBytes, { maximumPages: 10 }), /exports its own memory/);
});

// Issue 7: blocks above 4 GiB, written and read from JS with exact pointers.
test('past 4 GiB: wasm64 on Node 24 serves blocks above 4 GiB; elsewhere the request fails cleanly', async () => {
  const maximumPages = canGrowPast4GiB ? (6 * GiB) / PAGE : Math.min(shape.maximum, 65536);
  const heap = await instantiate(importedModuleBytes, { maximumPages });
  const keep = heap.copyIn(patternBytes(1000, 5));
  const hugeSize = 4 * GiB + PAGE;
  const failedBefore = heap.stats().failedAllocs;
  const huge = heap.malloc(hugeSize);

  if (!canGrowPast4GiB) {
    assert.equal(huge, 0, `wasm${expectedBits} under node ${process.versions.node} cannot hold 4 GiB + 64 KiB`);
    assert.equal(heap.stats().failedAllocs, failedBefore + 1, 'the failure is counted');
    assert.deepEqual(heap.copyOut(keep.ptr, keep.len), patternBytes(1000, 5), 'other blocks untouched');
    const after = heap.malloc(4096);
    assert.ok(after > 0, 'the heap stays usable');
    heap.free(after);
    heap.dealloc(keep.ptr, keep.len);
    assertClean(heap);
    return;
  }

  assert.ok(huge > 0, 'a block larger than 4 GiB');
  assert.ok(heap.byteLength > 4 * GiB);
  // Touch only what is verified: the first and last bytes of the huge block.
  const last = huge + hugeSize - 1;
  assert.ok(last > 2 ** 32, `last byte ${hex(last)} lies above 4 GiB`);
  heap.u8(huge, 1)[0] = 0xa5;
  heap.u8(last, 1)[0] = 0x5a;
  assert.equal(heap.u8(last, 1)[0], 0x5a);

  // Small blocks after it lie above 4 GiB: copy in and out, view, realloc (C copies).
  const high = [];
  for (let i = 0; i < 16; i++) high.push(heap.copyIn(patternBytes(100 + i * 300, 100 + i)));
  const above = high.filter(({ ptr }) => ptr >= 2 ** 32);
  assert.ok(above.length > 0, 'some small blocks lie above 4 GiB');
  for (const { ptr, len } of high) {
    assert.equal(typeof ptr, 'number');
    assert.equal(heap.usableSize(ptr) >= len, true, `usableSize(${hex(ptr)}) through the i64 boundary`);
  }
  high.forEach(({ ptr, len }, i) => assert.deepEqual(heap.copyOut(ptr, len), patternBytes(100 + i * 300, 100 + i)));
  const first = above[0];
  const index = high.indexOf(first);
  const view = heap.view(Uint8Array, first.ptr, first.len);
  assert.deepEqual(view.slice(), patternBytes(first.len, 100 + index), 'a HeapView above 4 GiB');
  const moved = heap.realloc(first.ptr, 200000);     // the allocator copies the bytes in C
  assert.ok(moved >= 2 ** 32, `moved to ${hex(moved)}`);
  assert.deepEqual(heap.copyOut(moved, first.len), patternBytes(first.len, 100 + index),
    'C read what JS wrote above 4 GiB');
  high[index] = null;
  assert.equal(heap.check(), 0, 'lm_check() clean at > 4 GiB');

  // Free everything, allocate the same again: memory is reused, not grown.
  const grownTo = heap.byteLength;
  heap.free(moved);
  high.forEach((pair) => pair && heap.dealloc(pair.ptr, pair.len));
  heap.free(huge);
  const again = heap.malloc(hugeSize);
  assert.ok(again > 0);
  assert.equal(heap.byteLength, grownTo, 'no growth the second time');
  heap.free(again);
  heap.dealloc(keep.ptr, keep.len);
  assertClean(heap);
});

test('memory the host grows between the allocator\'s growths is fenced off and never written', async () => {
  const heap = await freshHeap({ policy: 'continue' });
  const pageBytes = 65536;
  // The allocator grows its heap (a block larger than the start region).
  const first = heap.copyIn(patternBytes(300000, 1));
  // The host takes two pages at the end of memory for itself and fills them.
  // (Node 24's memory64 counts pages in BigInt; wasm32 and node 20 in numbers.)
  let grown;
  try { grown = heap.memory.grow(2n); } catch { grown = heap.memory.grow(2); }
  const hostStart = Number(grown) * pageBytes;
  const hostBytes = patternBytes(2 * pageBytes, 7);
  new Uint8Array(heap.memory.buffer, hostStart, hostBytes.length).set(hostBytes);
  // The allocator grows again, past the host's pages, and serves blocks of
  // every kind from there.
  const blocks = [first];
  for (let i = 0; i < 40; i++) blocks.push(heap.copyIn(patternBytes([24, 3000, 70000][i % 3] + i, 10 + i)));
  assert.ok(blocks.some(({ ptr }) => ptr > hostStart), 'blocks past the host\'s pages');
  for (const { ptr, len } of blocks) assert.ok(ptr + len <= hostStart || ptr >= hostStart + hostBytes.length, `block ${hex(ptr)} outside the host's pages`);
  assert.deepEqual(new Uint8Array(heap.memory.buffer, hostStart, hostBytes.length).slice(), hostBytes,
    'the host\'s pages are byte-identical');
  blocks.forEach(({ ptr, len }, i) => assert.deepEqual(heap.copyOut(ptr, len), patternBytes(len, i ? 9 + i : 1)));
  assert.deepEqual(heap.misuses, [], 'no misuse');
  blocks.forEach(({ ptr, len }) => heap.dealloc(ptr, len));
  assert.equal(heap.check(), 0, 'lm_check() clean');
});
