// Views can never be stale: memory.grow detaches the old ArrayBuffer, and a
// typed array made before the growth reads as empty. These tests grow memory
// in the middle of work and check that nothing handed out reads the old buffer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freshHeap, assertClean, patternBytes } from './support.mjs';

test('memory grown inside a call: HeapView refreshes, fresh views see the data, old buffer is detached', async () => {
  const heap = await freshHeap();
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
  const heap = await freshHeap();
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
