// Arenas from JS: heap.arena() (lm_arena_*), its views, and the scope
// helpers withArena and `using`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Arena } from '../lmalloc.js';
import { freshHeap, assertClean, patternBytes, nodeMajor } from './support.mjs';

test('arena blocks keep their bytes, are aligned, and add up in stats()', async () => {
  const heap = await freshHeap();
  const arena = heap.arena();
  assert.ok(arena instanceof Arena);
  const blocks = [];
  for (let i = 0; i < 300; i++) {
    const len = 1 + ((i * 7919) % 9000);
    blocks.push({ ...arena.copyIn(patternBytes(len, i + 1)), seed: i + 1 });
  }
  for (const { ptr, len, seed } of blocks) {
    assert.equal(ptr % 16, 0);
    assert.deepEqual(heap.copyOut(ptr, len), patternBytes(len, seed));
  }
  for (const align of [32, 256, 4096, 65536]) assert.equal(arena.alloc(10, align) % align, 0, `aligned to ${align}`);
  assert.throws(() => arena.alloc(10, 48), TypeError);
  const stats = arena.stats();
  assert.ok(stats.used > 0 && stats.reserved >= stats.used && stats.chunks >= 1 && stats.peak >= stats.used);
  arena.destroy();
  assertClean(heap);
});

test('reset drops every block at once, reuses the memory, and ends the views', async () => {
  const heap = await freshHeap();
  const arena = heap.arena();
  const first = arena.alloc(64);
  const view = arena.view(Uint32Array, first, 16);
  view.set(3, 42);
  assert.equal(view.get(3), 42);
  for (let i = 0; i < 100; i++) arena.alloc(1000);
  const footprint = heap.stats().footprint;
  arena.reset();
  assert.equal(arena.stats().used, 0);
  assert.throws(() => view.get(3), /used after its arena was reset/);
  for (let cycle = 0; cycle < 50; cycle++) {
    assert.equal(arena.alloc(64), first, 'the first block again');
    for (let i = 0; i < 100; i++) arena.alloc(1000);
    arena.reset();
  }
  assert.equal(heap.stats().footprint, footprint, 'no growth over reset cycles');
  const held = arena.stats();
  for (let i = 0; i < 1000; i++) arena.alloc(1000);   // more chunks, kept by reset ...
  arena.reset();
  assert.ok(arena.stats().chunks > held.chunks);
  arena.trim();                                      // ... and given back by trim
  assert.equal(arena.stats().chunks, 1);
  assert.equal(arena.alloc(64), first);
  const later = arena.view(Uint8Array, arena.alloc(8), 8);
  arena.destroy();
  assert.throws(() => later.get(0), /used after its arena was destroyed/);
  assert.throws(() => arena.alloc(8), /used after destroy\(\)/);
  assert.throws(() => arena.reset(), /used after destroy\(\)/);
  arena.destroy();                                  // idempotent
  assertClean(heap);
});

test('a destroyed arena\'s memory serves the heap without growth', async () => {
  const heap = await freshHeap();
  const arena = heap.arena();
  for (let i = 0; i < 200; i++) arena.alloc(10000);
  const held = arena.stats().used;
  arena.destroy();
  const before = heap.stats();
  const blocks = [];
  for (let taken = 0; taken < held; taken += 5000) blocks.push(heap.malloc(5000));
  assert.equal(heap.stats().growCalls, before.growCalls, 'no growth');
  for (const ptr of blocks) heap.free(ptr);
  assertClean(heap);
});

test('withArena destroys the arena afterwards, also after a throw or a promise', async () => {
  const heap = await freshHeap();
  let kept = null;
  const sum = heap.withArena((arena) => {
    kept = arena;
    const { ptr, len } = arena.copyIn([1, 2, 3, 4]);
    return heap.u8(ptr, len).reduce((a, b) => a + b, 0);
  });
  assert.equal(sum, 10);
  assert.ok(kept.destroyed);
  assert.throws(() => heap.withArena((arena) => { kept = arena; arena.alloc(100); throw new Error('boom'); }), /boom/);
  assert.ok(kept.destroyed);
  await heap.withArena(async (arena) => {
    kept = arena;
    await null;
    arena.alloc(100);
  });
  assert.ok(kept.destroyed);
  assertClean(heap);
});

// `using` is syntax: the body lives in a string so this file still parses
// on engines without explicit resource management (node 20).
const usingSupported = (() => {
  try { new Function('{ using x = null; }'); return true; } catch { return false; }
})();

test('`using` destroys an arena at the end of the block (Node >= 24)', async () => {
  if (nodeMajor >= 24) assert.ok(usingSupported, 'Node 24 supports `using`');
  const heap = await freshHeap();
  let arena;
  if (usingSupported) {
    arena = new Function('heap', `
      let kept;
      {
        using arena = heap.arena();
        arena.alloc(100);
        kept = arena;
      }
      return kept;`)(heap);
  } else {
    arena = heap.arena();
    try { arena.alloc(100); } finally { arena[Symbol.dispose](); }
  }
  assert.ok(arena.destroyed);
  assertClean(heap);
});

test('misuse from C on an arena is reported as kind ARENA under continue', async () => {
  const heap = await freshHeap({ policy: 'continue' });
  const arena = heap.arena();
  const ptr = arena.alloc(40);
  heap.free(ptr);
  heap.free(arena.handle);
  assert.equal(heap.misuses.length, 2);
  for (const error of heap.misuses) {
    assert.equal(error.kindName, 'arena');
    assert.match(error.message, /which is arena memory/);
  }
  arena.destroy();
  assertClean(heap);
});
