// The worker side of threads.test.mjs: joins the heap the main thread
// shared (workerData.handle), does one task and posts what it found.
import { parentPort, workerData } from 'node:worker_threads';
import { Lmalloc, LmallocError } from '../lmalloc.js';

const heap = Lmalloc.fromShared(workerData.handle);
const tasks = {
  // Reads the main thread's string, frees it here (a cross-thread free) and
  // answers with a string of its own, which the main thread frees.
  echo({ ptr, len }) {
    const text = heap.readString(ptr, len);
    heap.dealloc(ptr, len);
    return heap.writeString(`worker read: ${text}`);
  },
  // The ownership helpers and views on the shared heap.
  helpers() {
    const block = heap.allocate(64);
    const words = block.view(Uint32Array);
    words.set(0, 0xfeedbeef);
    const seen = words.get(0);
    block.free();
    const scoped = heap.withScope((scope) => heap.readString(scope.writeString('scoped').ptr, 6));
    const leak = heap.leakCheck(() => heap.withAlloc(100, (p) => heap.u8(p, 100).fill(7)), { iterations: 200 });
    return { seen, scoped, leaked: leak.leaked, grew: leak.grew, live: heap.stats().liveBlocks };
  },
  // A double free: the misuse error arrives here.
  doubleFree() {
    const { ptr, len } = heap.writeString('freed twice');
    heap.dealloc(ptr, len);
    try {
      heap.dealloc(ptr, len);
      return { thrown: null };
    } catch (error) {
      return { thrown: error.name, isLmallocError: error instanceof LmallocError, kindName: error.kindName, message: error.message };
    }
  },
  // Allocates, fills, checks and frees many blocks of many sizes, and hands
  // every fourth block to the main thread (freed there).
  churn({ rounds, seed }) {
    let state = seed, kept = [];
    for (let i = 0; i < rounds; i++) {
      state = (state * 1103515245 + 12345) >>> 0;
      const len = 1 + (state >>> 8) % 3000;
      const ptr = heap.alloc(len);
      heap.u8(ptr, len).fill(state & 0xff);
      if (heap.u8(ptr, len).some((byte) => byte !== (state & 0xff))) throw new Error(`block ${ptr} changed`);
      if (i % 4 === 0) kept.push({ ptr, len, byte: state & 0xff });
      else heap.dealloc(ptr, len);
    }
    return { kept };
  },
};

let result;
try {
  result = tasks[workerData.task](workerData.arguments ?? {});
} finally {
  heap.close();
}
parentPort.postMessage(result);
