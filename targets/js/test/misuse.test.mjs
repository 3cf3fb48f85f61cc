// Misuse reported by the allocator arrives in JS as an LmallocError whose
// message is the allocator's own line and whose fields carry kind, pointer and
// size. Under 'abort' it is thrown and the instance stops; under 'continue'
// the call is refused, recorded, and everything else is intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LmallocError, LmallocStoppedError, MisuseKind } from '../lmalloc.js';
import { freshHeap, assertClean, patternBytes, hex } from './support.mjs';

// Each case prepares a heap and returns the bad call and what must be reported.
// `bystander` is a live block whose contents must survive the misuse.
const cases = {
  'double free': (heap) => {
    const p = heap.malloc(64);
    const size = heap.usableSize(p);
    heap.free(p);
    return { call: () => heap.free(p), kind: MisuseKind.DOUBLE_FREE, ptr: p, size,
      line: `lmalloc: double free of ${hex(p)} (${size}-byte block)` };
  },
  'double dealloc': (heap) => {
    const p = heap.alloc(40);
    const size = heap.usableSize(p);
    heap.dealloc(p, 40);
    return { call: () => heap.dealloc(p, 40), kind: MisuseKind.DOUBLE_FREE, ptr: p, size,
      line: `lmalloc: double free of ${hex(p)} (${size}-byte block)` };
  },
  'realloc of a freed block': (heap) => {
    const p = heap.malloc(80);
    const size = heap.usableSize(p);
    heap.free(p);
    return { call: () => heap.realloc(p, 200), kind: MisuseKind.DOUBLE_FREE, ptr: p, size,
      line: `lmalloc: realloc of freed block ${hex(p)} (${size}-byte block)` };
  },
  'pointer outside the heap': (heap) => {
    const p = 16;   // static data / stack, below the heap
    return { call: () => heap.free(p), kind: MisuseKind.NOT_IN_HEAP, ptr: p, size: 0,
      line: `lmalloc: free of ${hex(p)}, which is not in the heap` };
  },
  'misaligned pointer': (heap) => {
    const p = heap.malloc(100) + 8;
    return { call: () => heap.free(p), kind: MisuseKind.MISALIGNED, ptr: p, size: 0,
      line: `lmalloc: free of ${hex(p)}, which is not 16-byte aligned` };
  },
  'interior pointer': (heap) => {
    const block = heap.calloc(1, 256);
    const size = heap.usableSize(block);
    const p = block + 64;
    return { call: () => heap.free(p), kind: MisuseKind.NOT_A_BLOCK, ptr: p, size,
      line: `lmalloc: free of ${hex(p)}, which is inside the block at ${hex(block)} (${size}-byte block)` };
  },
  'free_sized with the wrong length': (heap) => {
    const p = heap.malloc(100);
    const size = heap.usableSize(p);
    return { call: () => heap.freeSized(p, 50), kind: MisuseKind.WRONG_SIZE, ptr: p, size,
      line: `lmalloc: free_sized of ${hex(p)} with wrong length 50 (${size}-byte block)` };
  },
  'dealloc of a live block with length 0': (heap) => {
    const p = heap.alloc(24);
    const size = heap.usableSize(p);
    return { call: () => heap.dealloc(p, 0), kind: MisuseKind.WRONG_SIZE, ptr: p, size,
      line: `lmalloc: free_sized of ${hex(p)} with wrong length 0 (${size}-byte block)` };
  },
  'dealloc with the wrong length': (heap) => {
    const p = heap.alloc(300);
    const size = heap.usableSize(p);
    return { call: () => heap.dealloc(p, 7), kind: MisuseKind.WRONG_SIZE, ptr: p, size,
      line: `lmalloc: free_sized of ${hex(p)} with wrong length 7 (${size}-byte block)` };
  },
  'free of an arena block': (heap) => {
    const arena = heap.arena();
    const p = arena.alloc(100);
    arena.alloc(5000);
    return { call: () => heap.free(p), kind: MisuseKind.ARENA, ptr: p, size: 0,
      line: new RegExp(`^lmalloc: free of ${hex(p)}, which is arena memory \\(in the arena's block at 0x[0-9a-f]+\\)$`) };
  },
  'corrupted header': (heap) => {
    // Blocks above 4 KiB carry a header (small slots have none to damage);
    // two of them side by side, a's last byte 8 bytes before b.
    let a = heap.malloc(6000), b = heap.malloc(6000);
    for (let tries = 0; b !== a + heap.usableSize(a) + 8 && tries < 8; tries++) {
      a = b;
      b = heap.malloc(6000);
    }
    assert.equal(b, a + heap.usableSize(a) + 8, 'neighbouring blocks');
    heap.u8(a, b - a).fill(0x5a);   // a user write running from a over b's header
    return { call: () => heap.free(b), kind: MisuseKind.CORRUPTED, ptr: b, size: 0,
      line: new RegExp(`^lmalloc: corrupted block header at 0x[0-9a-f]+, found by free of ${hex(b)}$`),
      corrupts: true };
  },
};

function assertReport(error, expected, fatal) {
  assert.ok(error instanceof LmallocError, 'an LmallocError');
  assert.equal(error.name, 'LmallocError');
  assert.equal(error.kind, expected.kind, 'kind');
  assert.equal(error.ptr, expected.ptr, 'ptr');
  assert.equal(error.size, expected.size, 'size');
  assert.equal(error.fatal, fatal, 'fatal');
  assert.equal(typeof error.ptr, 'number');
  if (expected.line instanceof RegExp) assert.match(error.message, expected.line);
  else assert.equal(error.message, expected.line, 'the exact line the allocator formatted');
}

for (const [name, prepare] of Object.entries(cases)) {
  test(`abort policy: ${name} throws LmallocError and stops the instance`, async () => {
    const seen = [];
    const heap = await freshHeap({ onMisuse: (error) => seen.push(error) });
    assert.equal(heap.policy, 'abort', 'abort is the default');
    const expected = prepare(heap);
    let thrown = null;
    try {
      expected.call();
    } catch (error) {
      thrown = error;
    }
    assert.ok(thrown !== null, 'the misuse was thrown');
    assertReport(thrown, expected, true);
    assert.equal(thrown.kindName, ['none', 'double free', 'not in heap', 'misaligned', 'not a block',
      'wrong size', 'corrupted', 'arena'][expected.kind], 'kindName is lm_misuse_kind_name(kind)');
    assert.deepEqual(seen, [thrown], 'onMisuse saw it before it was thrown');
    assert.equal(heap.stoppedBy, thrown);
    assert.throws(() => heap.malloc(16), (error) => error instanceof LmallocStoppedError &&
      error.cause === thrown && error.message.includes(thrown.message));
  });

  test(`continue policy: ${name} is refused, recorded, and nothing else is lost`, async () => {
    const heap = await freshHeap({ policy: 'continue' });
    const bystander = heap.copyIn(patternBytes(500, 11));
    const expected = prepare(heap);
    const before = heap.stats();
    expected.call();                           // returns: the call is refused
    assert.equal(heap.misuses.length, 1, 'one report recorded');
    assertReport(heap.misuses[0], expected, false);
    assert.deepEqual(heap.lastMisuse(), {
      kind: expected.kind, kindName: heap.kindName(expected.kind), ptr: expected.ptr,
      size: expected.size,
    }, 'lm_last_misuse agrees');
    const after = heap.stats();
    assert.equal(after.misuseCount, before.misuseCount + 1, 'counted in stats');
    assert.equal(after.liveBlocks, before.liveBlocks, 'nothing was freed');
    assert.deepEqual(heap.copyOut(bystander.ptr, bystander.len), patternBytes(500, 11), 'other blocks intact');
    if (!expected.corrupts) assert.equal(heap.check(), 0, 'lm_check() still clean');
    else assert.ok(heap.check() > 0, 'lm_check() sees the damage');
    const more = heap.copyIn(patternBytes(2000, 12));
    assert.deepEqual(heap.copyOut(more.ptr, more.len), patternBytes(2000, 12), 'the heap keeps serving');
  });
}

test('setPolicy switches between abort and continue and rejects anything else', async () => {
  const heap = await freshHeap();
  heap.setPolicy('continue');
  const p = heap.malloc(16);
  heap.free(p);
  heap.free(p);
  assert.equal(heap.misuses.length, 1);
  heap.setPolicy('abort');
  assert.throws(() => heap.free(p), LmallocError);
  assert.throws(() => heap.setPolicy('ignore'), /policy must be 'abort' or 'continue'/);
});

test('a throwing onMisuse callback never unwinds through the allocator', async () => {
  const heap = await freshHeap({ policy: 'continue' });
  heap.onMisuse = () => { throw new Error('callback bug'); };
  const p = heap.malloc(16);
  heap.free(p);
  // The allocator refuses the call and returns; the callback's error comes out after.
  assert.throws(() => heap.free(p), /callback bug/);
  assert.equal(heap.misuses.length, 1);
  heap.onMisuse = null;
  assertClean(heap);
});

test('lastMisuse is null before any misuse', async () => {
  const heap = await freshHeap();
  assert.equal(heap.lastMisuse(), null);
  assert.deepEqual(heap.misuses, []);
});
