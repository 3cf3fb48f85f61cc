// A threaded module's heap shared with workers: heap.share() on the main
// thread, Lmalloc.fromShared(handle) in a node worker, the same memory, views,
// ownership helpers and misuse errors on both sides, blocks freed by the
// thread that did not allocate them, and thread slots handed back on close().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { Lmalloc, LmallocStoppedError } from '../lmalloc.js';
import { threadsModulePath, expectedBits, assertClean, freshHeap } from './support.mjs';

const threadsBytes = fs.readFileSync(threadsModulePath);
const workerURL = new URL('./thread-worker.mjs', import.meta.url);
const THREAD_SLOTS = 8;   // LM_WASM_THREAD_SLOTS, the build's default

function runWorker(heap, task, args) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerURL, { workerData: { handle: heap.share(), task, arguments: args } });
    let result;
    worker.on('message', (message) => { result = message; });
    worker.on('error', reject);
    worker.on('exit', (code) => (code === 0 ? resolve(result) : reject(new Error(`worker exited with ${code}`))));
  });
}

test('a threaded module gets a shared memory; its heap works as any', async () => {
  const heap = await Lmalloc.instantiate(threadsBytes);
  assert.equal(heap.pointerBits, expectedBits);
  assert.ok(heap.memory.buffer instanceof SharedArrayBuffer);
  const { ptr, len } = heap.writeString('shared');
  assert.equal(heap.readString(ptr, len), 'shared');
  heap.dealloc(ptr, len);
  assertClean(heap);
});

test('a module without shared memory cannot be shared, nor asked for with { threads: true }', async () => {
  const heap = await freshHeap();
  assert.throws(() => heap.share(), /has no threads/);
  await assert.rejects(freshHeap({ threads: true }), /needs a threaded module/);
  assert.ok((await Lmalloc.instantiate(threadsBytes, { threads: true })).memory.buffer instanceof SharedArrayBuffer);
});

test('a worker reads and frees the main thread\'s block; the main thread frees the worker\'s', async () => {
  const heap = await Lmalloc.instantiate(threadsBytes);
  const sent = heap.writeString('WebAssembly');
  const reply = await runWorker(heap, 'echo', sent);
  assert.equal(heap.readString(reply.ptr, reply.len), 'worker read: WebAssembly');
  heap.dealloc(reply.ptr, reply.len);
  assertClean(heap);
});

test('views, Blocks, scopes and leak checks work in a worker', async () => {
  const heap = await Lmalloc.instantiate(threadsBytes);
  const result = await runWorker(heap, 'helpers');
  assert.equal(result.seen, 0xfeedbeef);
  assert.equal(result.scoped, 'scoped');
  assert.equal(result.leaked, false);
  assert.equal(result.grew, false);
  assertClean(heap);
});

test('a double free in a worker is an LmallocError there, and stops every thread\'s instance', async () => {
  const heap = await Lmalloc.instantiate(threadsBytes);
  const result = await runWorker(heap, 'doubleFree');
  assert.equal(result.thrown, 'LmallocError');
  assert.equal(result.isLmallocError, true);
  assert.equal(result.kindName, 'double free');
  assert.match(result.message, /^lmalloc: double free of 0x[0-9a-f]+ \(\d+-byte block\)$/);
  assert.throws(() => heap.alloc(8), (error) => error instanceof LmallocStoppedError &&
    error.cause.message === result.message);
});

test('close() hands the thread slot back; a heap has LM_WASM_THREAD_SLOTS of them', async () => {
  const heap = await Lmalloc.instantiate(threadsBytes);
  for (let round = 0; round < THREAD_SLOTS + 2; round++) {
    const reply = await runWorker(heap, 'echo', heap.writeString(`round ${round}`));
    heap.dealloc(reply.ptr, reply.len);
  }
  assertClean(heap);
  const handles = Array.from({ length: THREAD_SLOTS }, () => heap.share());
  assert.equal(new Set(handles.map((handle) => handle.slot)).size, THREAD_SLOTS);
  assert.throws(() => heap.share(), RangeError);
});

// Until the thread-safe core lands (it exports lm_thread_exit), only one
// thread may call into the heap at a time.
const threadSafeCore = WebAssembly.Module.exports(new WebAssembly.Module(threadsBytes))
  .some((entry) => entry.name === 'lm_thread_exit');
test('workers churn on the heap at once; blocks they hand over are freed by the main thread',
  { skip: !threadSafeCore && 'the core is not thread-safe yet' }, async () => {
  const heap = await Lmalloc.instantiate(threadsBytes);
  const results = await Promise.all([1, 2, 3].map((seed) => runWorker(heap, 'churn', { rounds: 4000, seed })));
  for (const { kept } of results) {
    for (const { ptr, len, byte } of kept) {
      assert.ok(heap.u8(ptr, len).every((value) => value === byte), `block ${ptr} kept its bytes`);
      heap.dealloc(ptr, len);
    }
  }
  assertClean(heap);
});
