// Views can never be stale. With a classic buffer memory.grow detaches the
// old ArrayBuffer, and a typed array made before the growth reads as empty;
// with a resizable buffer (Node 24, the default where the engine has one) the
// buffer and its views survive growth. These tests grow memory in the middle
// of work and check that nothing handed out reads a dead buffer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lmalloc } from '../lmalloc.js';
import {
  freshHeap, assertClean, patternBytes, hasResizableBuffers, whereResizable, moduleBytes, importedModuleBytes,
} from './support.mjs';

test('classic buffer (resizableBuffer: false): growth replaces it, HeapView refreshes, fresh views see the data', async () => {
  const heap = await freshHeap({ resizableBuffer: false });
  assert.equal(heap.resizableBuffer, false, 'the opt-out keeps the fixed-length buffer');
  const pattern = patternBytes(64);
  const ptr = heap.malloc(64);
  const view = heap.view(Uint8Array, ptr, 64);
  view.write(pattern);
  const rawBefore = heap.u8(ptr, 64);          // a plain typed array: the hazard
  const bufferBefore = heap.memory.buffer;
  const arrayBefore = view.array;

  // The allocation below must grow memory (three times its current size).
  const big = heap.malloc(heap.byteLength * 3);
  assert.ok(big > 0);

  assert.notEqual(heap.memory.buffer, bufferBefore, 'growth made a new buffer');
  assert.equal(bufferBefore.byteLength, 0, 'the old buffer was detached: memory really grew');
  assert.equal(rawBefore.length, 0, 'a typed array kept across the call is dead (why HeapView exists)');
  assert.notEqual(view.array, arrayBefore, 'HeapView made a new array');
  assert.equal(view.array.buffer, heap.memory.buffer, 'HeapView uses the current buffer');
  assert.deepEqual(view.slice(), pattern, 'HeapView reads the data, not zeros');
  assert.deepEqual(heap.u8(ptr, 64).slice(), pattern, 'a fresh u8 view reads the data');
  assert.equal(view.get(5), pattern[5]);
  view.set(5, 7);
  assert.equal(heap.u8(ptr, 64)[5], 7, 'writes through a refreshed view land in memory');

  heap.free(big);
  heap.free(ptr);
  assertClean(heap);
});

test('copyIn of more bytes than memory holds writes into the grown buffer', async () => {
  const heap = await freshHeap();
  const bytes = patternBytes(heap.byteLength * 2 + 12345, 7);
  const before = heap.byteLength;
  const { ptr, len } = heap.copyIn(bytes);
  assert.ok(heap.byteLength > before, 'copyIn grew memory');
  assert.equal(len, bytes.length);
  assert.deepEqual(heap.copyOut(ptr, len), bytes);
  heap.dealloc(ptr, len);
  assertClean(heap);
});

test('a view held in withAlloc survives growth caused inside the callback', async () => {
  const heap = await freshHeap();
  const pattern = patternBytes(256, 3);
  const result = heap.withAlloc(256, (ptr, len) => {
    const view = heap.view(Uint32Array, ptr, len / 4);
    heap.write(ptr, pattern);
    const first = view.get(0);
    const extra = heap.malloc(heap.byteLength * 2);   // grows memory mid-callback
    assert.equal(view.get(0), first, 'same element after growth');
    assert.deepEqual(new Uint8Array(view.slice().buffer), pattern);
    heap.free(extra);
    return 'done';
  });
  assert.equal(result, 'done');
  assertClean(heap);
});

test('every view type is created from the current buffer at the moment of use', async () => {
  const heap = await freshHeap({ resizableBuffer: false });    // the classic buffer, where old views die
  const ptr = heap.malloc(64);
  const data = heap.dataView(ptr, 16);
  data.setBigUint64(0, 0x0123456789abcdefn, true);
  data.setFloat64(8, Math.PI, true);
  heap.free(heap.malloc(heap.byteLength * 2));      // grow
  assert.throws(() => data.getUint8(0), TypeError, 'the old DataView is dead after growth');
  const fresh = heap.dataView(ptr, 16);
  assert.equal(fresh.getBigUint64(0, true), 0x0123456789abcdefn);
  assert.equal(fresh.getFloat64(8, true), Math.PI);
  assert.equal(heap.array(BigUint64Array, ptr, 1)[0], 0x0123456789abcdefn);
  assert.equal(heap.array(Float64Array, ptr + 8, 1)[0], Math.PI);
  heap.free(ptr);
  assertClean(heap);
});

test('resizable buffer by default: growth keeps the buffer and views made before it', whereResizable, async () => {
  const heap = await freshHeap();
  assert.equal(heap.resizableBuffer, true);
  const pattern = patternBytes(64, 11);
  const ptr = heap.malloc(64);
  heap.write(ptr, pattern);
  const buffer = heap.memory.buffer;
  const kept = heap.u8(ptr, 64);              // kept across growth on purpose
  const keptData = heap.dataView(ptr, 8);
  const whole = new Uint8Array(buffer);       // no length: tracks the buffer's length
  const view = heap.view(Uint8Array, ptr, 64);
  const array = view.array;
  const lengthBefore = heap.byteLength;

  const bigLen = lengthBefore * 3;
  const big = heap.malloc(bigLen);
  assert.ok(big > 0 && heap.byteLength > lengthBefore, 'memory grew');
  assert.equal(heap.memory.buffer, buffer, 'the same buffer object');
  assert.equal(buffer.byteLength, heap.byteLength);
  assert.deepEqual(kept.slice(), pattern, 'a typed array made before growth reads the bytes');
  assert.equal(keptData.getUint8(3), pattern[3], 'so does a DataView');
  kept[0] = 0xee;
  assert.equal(heap.u8(ptr, 1)[0], 0xee, 'writes through it land in memory');
  assert.equal(whole.length, heap.byteLength, 'a length-tracking view follows growth');
  whole[big + bigLen - 1] = 0x77;             // past the old end of memory
  assert.equal(heap.u8(big + bigLen - 1, 1)[0], 0x77);
  assert.equal(view.array, array, 'HeapView keeps its array');

  const blocks = [];
  const report = heap.leakCheck(() => blocks.push(heap.malloc(heap.byteLength)), { iterations: 2, warmup: 0 });
  assert.ok(report.byteLengthGrowth > 0, 'leakCheck sees growth of a buffer that stays the same object');
  assert.equal(report.after.byteLength, heap.byteLength);
  blocks.forEach((p) => heap.free(p));
  heap.free(big);
  heap.free(ptr);
  assertClean(heap);

  assert.equal(Lmalloc.instantiateSync(new WebAssembly.Module(moduleBytes)).resizableBuffer, true,
    'instantiateSync switches the exported memory too');
});

test('engines without toResizableBuffer keep the classic buffer', { skip: hasResizableBuffers }, async () => {
  const heap = await freshHeap();
  assert.equal(heap.resizableBuffer, false);
  const buffer = heap.memory.buffer;
  const big = heap.malloc(heap.byteLength * 2);
  assert.notEqual(heap.memory.buffer, buffer, 'growth replaced the buffer');
  heap.u8(big, 4).set([1, 2, 3, 4]);
  assert.deepEqual([...heap.u8(big, 4)], [1, 2, 3, 4]);
  heap.free(big);
  assertClean(heap);
  assert.equal((await Lmalloc.instantiate(importedModuleBytes)).resizableBuffer, false, 'nor a memory the library creates');
});

test('views outside memory or misaligned are refused with a clear error', async () => {
  const heap = await freshHeap();
  const end = heap.byteLength;
  assert.throws(() => heap.u8(end - 4, 8), /lies outside memory/);
  assert.throws(() => heap.view(Uint8Array, end, 1), /lies outside memory/);
  assert.throws(() => heap.array(Uint32Array, 18, 1), /not aligned for Uint32Array/);
  assert.throws(() => heap.u8(-1, 1), /bad range/);
  assert.throws(() => heap.write(16, new Uint8Array(8), 4), /8 bytes do not fit in 4/);
});

test('a Block view refuses use after free instead of reading freed memory', async () => {
  const heap = await freshHeap();
  const block = heap.allocate(32);
  const view = block.view(Uint16Array);
  assert.equal(view.length, 16);
  view.set(0, 0xbeef);
  assert.equal(block.read()[0], 0xef);
  block.free();
  assert.throws(() => view.array, /used after the block was freed/);
  assert.throws(() => block.bytes, /used after it was freed/);
  assertClean(heap);
});

test('bytes and UTF-8 strings copy in and out as {ptr, len} pairs', async () => {
  const heap = await freshHeap();
  const text = 'héllo wörld — 🚀 WebAssembly';
  const encoded = new TextEncoder().encode(text);
  const pair = heap.writeString(text);
  assert.equal(pair.len, encoded.length, 'len counts UTF-8 bytes, not characters');
  assert.deepEqual(heap.copyOut(pair.ptr, pair.len), encoded);
  assert.equal(heap.readString(pair.ptr, pair.len), text);
  const copy = heap.copyOut(pair.ptr, pair.len);
  heap.dealloc(pair.ptr, pair.len);
  assert.equal(new TextDecoder().decode(copy), text, 'copyOut is independent of the heap');

  assert.deepEqual(heap.writeString(''), { ptr: 0, len: 0 }, 'empty strings allocate nothing');
  assert.equal(heap.readString(0, 0), '');
  const fromArray = heap.copyIn([1, 2, 3]);
  assert.deepEqual([...heap.copyOut(fromArray.ptr, 3)], [1, 2, 3]);
  heap.dealloc(fromArray.ptr, fromArray.len);

  const cText = heap.writeString('kind\0ignored');
  assert.equal(heap.readCString(cText.ptr), 'kind');
  heap.dealloc(cText.ptr, cText.len);
  assertClean(heap);
});
