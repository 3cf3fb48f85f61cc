// Scoped ownership: withAlloc, scopes, Blocks and `using`, leak checks and
// the opt-in FinalizationRegistry that reports Blocks dropped unfreed.
// Run with --expose-gc (targets/js/CMakeLists.txt does).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Block, Scope } from '../lmalloc.js';
import { freshHeap, assertClean, patternBytes, nodeMajor } from './support.mjs';

test('withAlloc frees after the callback returns, throws, or its promise settles', async () => {
  const heap = await freshHeap();
  let seen = 0;
  assert.equal(heap.withAlloc(100, (ptr, len) => { seen = ptr; assert.equal(len, 100); return heap.stats().liveBlocks; }), 1);
  assert.ok(seen > 0);
  assertClean(heap);

  assert.throws(() => heap.withAlloc(100, () => { throw new Error('boom'); }), /boom/);
  assertClean(heap);

  const pending = heap.withAlloc(64, async (ptr) => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    assert.equal(heap.stats().liveBlocks, 1, 'still allocated while the promise is pending');
    return ptr;
  });
  assert.equal(heap.stats().liveBlocks, 1);
  assert.ok((await pending) > 0);
  assertClean(heap);

  await assert.rejects(heap.withAlloc(64, async () => { throw new Error('async boom'); }), /async boom/);
  assertClean(heap);
});

test('a scope frees everything allocated through it, in reverse order', async () => {
  const heap = await freshHeap();
  const keep = heap.malloc(32);
  const result = heap.withScope((scope) => {
    assert.ok(scope instanceof Scope);
    const a = scope.alloc(100);
    const text = scope.writeString('scoped text');
    const bytes = scope.copyIn(patternBytes(5000));
    const adopted = scope.adopt(heap.alloc(77), 77);
    assert.ok(a > 0 && adopted > 0);
    assert.equal(scope.size, 4);
    scope.free(a);                               // early free
    assert.equal(scope.size, 3);
    assert.throws(() => scope.free(a), /not owned by this scope/);
    assert.equal(heap.stats().liveBlocks, 4);
    return heap.readString(text.ptr, text.len) + bytes.len;
  });
  assert.equal(result, 'scoped text5000');
  assertClean(heap, 1);
  heap.free(keep);

  const scope = heap.scope();
  scope.alloc(10);
  scope.close();
  scope.close();                                 // idempotent
  assert.throws(() => scope.alloc(10), /scope is closed/);
  assertClean(heap);
});

test('scopes and Blocks dispose through Symbol.dispose', async () => {
  const heap = await freshHeap();
  const scope = heap.scope();
  scope.alloc(48);
  scope[Symbol.dispose]();
  assert.equal(scope.closed, true);
  const block = heap.allocate(64);
  block[Symbol.dispose]();
  assert.equal(block.freed, true);
  block[Symbol.dispose]();                       // disposing twice is harmless
  assertClean(heap);
});

// `using` is syntax: the test body lives in a string so this file still
// parses on engines without explicit resource management.
const usingSupported = (() => {
  try { new Function('{ using x = null; }'); return true; } catch { return false; }
})();

test('`using` frees Blocks and scopes at the end of the block (Node >= 24)', async () => {
  if (nodeMajor >= 24) assert.ok(usingSupported, 'Node 24 supports `using`');
  const heap = await freshHeap();
  if (usingSupported) {
    const run = new Function('heap', `
      let ptr;
      {
        using block = heap.allocate(128);
        using scope = heap.scope();
        scope.alloc(16);
        ptr = block.ptr;
        if (heap.stats().liveBlocks !== 2) throw new Error('two live blocks inside');
      }
      return ptr;`);
    assert.ok(run(heap) > 0);
  } else {
    // Same disposal, spelled out, on engines without the syntax (node 20).
    const block = heap.allocate(128);
    const scope = heap.scope();
    try { scope.alloc(16); } finally { scope[Symbol.dispose](); block[Symbol.dispose](); }
  }
  assertClean(heap);
});

test('Blocks own their allocation and refuse double free and use after free', async () => {
  const heap = await freshHeap();
  const block = heap.allocate(40, { zero: true });
  assert.ok(block instanceof Block);
  assert.ok(block.bytes.every((byte) => byte === 0));
  block.write(new TextEncoder().encode('block text'));
  assert.equal(block.readString().slice(0, 10), 'block text');
  block.free();
  assert.throws(() => block.free(), /freed twice from JS/);
  assert.throws(() => block.read(), /used after it was freed/);
  assert.throws(() => heap.allocate(2 ** 53 - 1), /out of memory/);
  assertClean(heap);
});

test('leakCheck reports flat growth for balanced work and counts a leak', async () => {
  const heap = await freshHeap();
  const balanced = heap.leakCheck((i) => {
    const { ptr, len } = heap.copyIn(patternBytes(64 + (i % 7) * 100));
    heap.dealloc(ptr, len);
  }, { iterations: 1000 });
  assert.equal(balanced.iterations, 1000);
  assert.equal(balanced.leaked, false);
  assert.equal(balanced.grew, false, 'byteLength and footprint flat');
  assert.equal(balanced.byteLengthGrowth, 0);
  assert.equal(balanced.liveBlocksGrowth, 0);
  assert.equal(balanced.liveBytesGrowth, 0);

  const leaks = [];
  const leaky = heap.leakCheck(() => { leaks.push(heap.malloc(24)); }, { iterations: 100, warmup: 0 });
  assert.equal(leaky.leaked, true);
  assert.equal(leaky.liveBlocksGrowth, 100);
  assert.equal(leaky.liveBytesGrowth, 100 * heap.usableSize(leaks[0]));
  leaks.forEach((p) => heap.free(p));

  assert.throws(() => heap.leakCheck(async () => {}), /use leakCheckAsync/);
  const asyncReport = await heap.leakCheckAsync(async () => {
    await heap.withAlloc(32, async () => { await null; });
  }, { iterations: 50 });
  assert.equal(asyncReport.leaked, false);
  assertClean(heap);
});

async function collectGarbage(until) {
  assert.equal(typeof globalThis.gc, 'function', 'run with --expose-gc');
  for (let round = 0; round < 50 && !until(); round++) {
    globalThis.gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('trackUnfreed reports Blocks garbage-collected without free, and only those', async () => {
  const heap = await freshHeap();
  const reports = [];
  heap.trackUnfreed((report) => reports.push(report));
  let droppedPtr = 0;
  (() => {
    const dropped = heap.allocate(72);          // never freed: must be reported
    droppedPtr = dropped.ptr;
    const freed = heap.allocate(72);
    freed.free();                               // freed: must not be reported
  })();
  await collectGarbage(() => reports.length > 0);
  assert.equal(reports.length, 1, 'exactly the unfreed block');
  assert.equal(reports[0].ptr, droppedPtr);
  assert.equal(reports[0].len, 72);
  assert.match(reports[0].allocatedAt, /ownership\.test\.mjs/, 'where it was allocated');
  assert.deepEqual(heap.unfreed, reports);
  assert.equal(heap.stats().liveBlocks, 1, 'the block stays allocated: its pointer may live on in C');
  heap.dealloc(droppedPtr, 72);
  assertClean(heap);
});

test('trackUnfreed can be switched on at instantiation', async () => {
  const reports = [];
  const heap = await freshHeap({ trackUnfreed: (report) => reports.push(report) });
  (() => { heap.allocate(16); })();
  await collectGarbage(() => reports.length > 0);
  assert.equal(reports.length, 1);
  assert.equal(reports[0].len, 16);
});
