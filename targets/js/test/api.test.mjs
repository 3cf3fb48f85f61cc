// The allocation API, instantiation paths and the Number/BigInt boundary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lmalloc, instantiate, readMemoryShape, LmallocError } from '../lmalloc.js';
import { moduleBytes, modulePath, expectedBits, freshHeap, assertClean, patternBytes } from './support.mjs';

test('instantiates from bytes, ArrayBuffer, Response, a promised Response and a compiled Module', async () => {
  const arrayBuffer = moduleBytes.buffer.slice(moduleBytes.byteOffset, moduleBytes.byteOffset + moduleBytes.byteLength);
  const wasmResponse = () => new Response(moduleBytes, { headers: { 'content-type': 'application/wasm' } });
  const sources = {
    buffer: moduleBytes,
    arrayBuffer,
    uint8: new Uint8Array(arrayBuffer),
    response: wasmResponse(),
    promisedResponse: Promise.resolve(wasmResponse()),
    module: new WebAssembly.Module(moduleBytes),
  };
  for (const [kind, source] of Object.entries(sources)) {
    const heap = await instantiate(source);
    assert.equal(heap.pointerBits, expectedBits, `${kind}: detected width`);
    assert.equal(heap.is64, expectedBits === 64, `${kind}: is64`);
    const ptr = heap.malloc(100);
    assert.equal(typeof ptr, 'number', `${kind}: pointers are numbers on wasm${expectedBits}`);
    assert.ok(ptr > 0);
    heap.free(ptr);
    assertClean(heap);
  }
});

test('reads the module memory shape from its bytes', () => {
  const shape = readMemoryShape(moduleBytes);
  assert.equal(shape.imported, false, `${modulePath} exports its memory`);
  assert.equal(shape.is64, expectedBits === 64);
  assert.equal(shape.maximum, expectedBits === 64 ? 262144 : 65536, 'default maximum: 16 GiB / 4 GiB');
  assert.throws(() => readMemoryShape(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])), /not a WebAssembly module/);
});

test('rejects a failed fetch and bytes that are not wasm, naming the problem', async () => {
  await assert.rejects(instantiate(new Response('nope', { status: 404 })), /HTTP 404/);
  await assert.rejects(instantiate(new Uint8Array([0, 1, 2])), /not a WebAssembly module/);
  await assert.rejects(instantiate({ not: 'a module' }), /expected bytes/);
});

// A hand-assembled module that imports env.answer and exports memory,
// dealloc (a no-op) and answer_plus(x) = answer() + x, at either width.
function tinyModule(is64) {
  const P = is64 ? 0x7e : 0x7f;
  const str = (s) => [s.length, ...new TextEncoder().encode(s)];
  const section = (id, content) => [id, content.length, ...content];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [3, 0x60, 0, 1, 0x7f, 0x60, 2, P, P, 0, 0x60, 1, 0x7f, 1, 0x7f]),
    ...section(2, [1, ...str('env'), ...str('answer'), 0, 0]),
    ...section(3, [2, 1, 2]),
    ...section(5, [1, is64 ? 0x04 : 0x00, 1]),
    ...section(7, [3, ...str('memory'), 2, 0, ...str('dealloc'), 0, 1, ...str('answer_plus'), 0, 2]),
    ...section(10, [2, 2, 0, 0x0b, 7, 0, 0x10, 0, 0x20, 0, 0x6a, 0x0b]),
  ]);
}

test('passes extra imports through and wraps other exports with the same conversions', async () => {
  for (const is64 of [false, true]) {
    const bytes = tinyModule(is64);
    for (const source of [bytes, new WebAssembly.Module(bytes)]) {   // width from the bytes, then by probing
      const heap = await instantiate(source, { imports: { env: { answer: () => 41 } } });
      assert.equal(heap.is64, is64);
      const answerPlus = heap.wrapExport('answer_plus', ['i32'], 'i32');
      assert.equal(answerPlus(1), 42);
      assert.throws(() => heap.wrapExport('missing', []), /exports no function named "missing"/);
      assert.throws(() => heap.malloc(1), /does not export lm_malloc/);
    }
  }
});

test('a memory the engine cannot make resizable (no maximum) keeps its classic buffer silently', async () => {
  for (const is64 of [false, true]) {
    const heap = await instantiate(tinyModule(is64), { imports: { env: { answer: () => 41 } } });
    assert.equal(heap.resizableBuffer, false);
    assert.equal(heap.byteLength, 65536);
    assert.equal(heap.wrapExport('answer_plus', ['i32'], 'i32')(1), 42);
  }
});

test('malloc, free, calloc, realloc, alignedAlloc, usableSize, freeSized', async () => {
  const heap = await freshHeap();
  const a = heap.malloc(100);
  assert.ok(a > 0 && a % 16 === 0, 'malloc returns a 16-byte aligned block');
  assert.ok(heap.usableSize(a) >= 100);
  assert.equal(heap.usableSize(0), 0);

  const zeroed = heap.calloc(25, 4);
  heap.u8(a, 100).fill(0xab);
  assert.ok(heap.u8(zeroed, 100).every((byte) => byte === 0), 'calloc zeroes');

  const content = patternBytes(100);
  heap.write(a, content);
  const grown = heap.realloc(a, 5000);
  assert.ok(grown > 0);
  assert.deepEqual(heap.copyOut(grown, 100), content, 'realloc keeps the contents');
  assert.ok(heap.usableSize(grown) >= 5000);
  assert.equal(heap.realloc(grown, 0), 0, 'realloc to 0 frees');

  for (const alignment of [16, 64, 4096, 65536]) {
    const p = heap.alignedAlloc(alignment, 200);
    assert.ok(p > 0 && p % alignment === 0, `aligned to ${alignment}`);
    heap.free(p);
  }

  const sized = heap.malloc(48);
  heap.freeSized(sized, 48);
  heap.free(zeroed);
  heap.free(0);                            // NULL is a no-op
  const unique = [heap.malloc(0), heap.malloc(0)];
  assert.ok(unique[0] > 0 && unique[0] !== unique[1], 'malloc(0) gives unique blocks');
  unique.forEach((p) => heap.free(p));
  assertClean(heap);
});

test('alloc/dealloc keep the seed ABI: 0 for len 0, no-op for null', async () => {
  const heap = await freshHeap();
  assert.equal(heap.alloc(0), 0);
  heap.dealloc(0, 0);
  heap.dealloc(0, 16);
  const p = heap.alloc(33);
  assert.ok(p > 0);
  assert.equal(heap.stats().liveBlocks, 1);
  heap.dealloc(p, 33);
  assertClean(heap);
});

test('stats and check report the heap as it is', async () => {
  const heap = await freshHeap();
  const empty = heap.stats();
  assert.deepEqual(Object.keys(empty), ['liveBytes', 'liveBlocks', 'footprint', 'peakFootprint',
    'growCalls', 'failedAllocs', 'misuseCount', 'metadataBytes']);
  assert.equal(empty.liveBlocks, 0, 'the helper\'s scratch block is not counted');
  assert.equal(empty.liveBytes, 0);
  const blocks = [];
  for (let i = 1; i <= 50; i++) blocks.push([heap.malloc(i * 24), i * 24]);
  const full = heap.stats();
  assert.equal(full.liveBlocks, 50);
  const usable = blocks.reduce((sum, [p]) => sum + heap.usableSize(p), 0);
  assert.equal(full.liveBytes, usable, 'liveBytes is the sum of usable sizes');
  assert.ok(full.footprint >= full.liveBytes);
  assert.ok(full.peakFootprint >= full.footprint);
  assert.ok(full.metadataBytes > 0);
  for (const v of Object.values(full)) assert.equal(typeof v, 'number');
  assert.equal(heap.check(), 0);
  blocks.forEach(([p, n]) => heap.freeSized(p, n));
  assertClean(heap);
});

test('growing memory is visible in byteLength and growCalls', async () => {
  const heap = await freshHeap();
  const before = heap.stats();
  const startLength = heap.byteLength;
  const big = heap.malloc(startLength * 3);
  assert.ok(big > 0);
  assert.ok(heap.byteLength > startLength, 'memory grew');
  assert.ok(heap.stats().growCalls > before.growCalls, 'growth counted');
  assert.ok(big + startLength * 3 <= heap.byteLength, 'the block lies inside memory');
  heap.free(big);
  assertClean(heap);
});

test('the boundary converts pointers and sizes in one place and refuses bad values', async () => {
  const heap = await freshHeap();
  // BigInt sizes are accepted on both widths; results are always numbers.
  const p = heap.malloc(64n);
  assert.equal(typeof p, 'number');
  assert.equal(typeof heap.usableSize(p), 'number');
  heap.freeSized(p, 64n);

  for (const bad of [-1, 1.5, NaN, '16', null]) {
    assert.throws(() => heap.malloc(bad), TypeError, `malloc(${String(bad)})`);
    assert.throws(() => heap.free(bad), TypeError, `free(${String(bad)})`);
  }
  assert.throws(() => heap.malloc(-1n), RangeError);
  if (expectedBits === 32) {
    assert.throws(() => heap.free(2 ** 32), /does not fit a wasm32 pointer/);
  }
  assertClean(heap);
});

test('impossible sizes fail cleanly with 0, are counted, and leave the heap usable', async () => {
  const heap = await freshHeap();
  const keep = heap.copyIn(patternBytes(200));
  const huge = [2 ** 53 - 1, 2n ** 64n - 1n];
  if (expectedBits === 32) huge.push(2 ** 32 + 16);   // must saturate, not wrap to 16
  for (const size of huge) {
    const before = heap.stats().failedAllocs;
    assert.equal(heap.malloc(size), 0, `malloc(${size})`);
    assert.equal(heap.stats().failedAllocs, before + 1, `failure counted for ${size}`);
  }
  assert.equal(heap.calloc(2 ** 40, 2 ** 40), 0, 'calloc overflow');
  assert.deepEqual(heap.copyOut(keep.ptr, keep.len), patternBytes(200), 'other blocks untouched');
  const after = heap.malloc(1000);
  assert.ok(after > 0, 'heap still serves allocations');
  heap.free(after);
  heap.dealloc(keep.ptr, keep.len);
  assertClean(heap);
});

test('LmallocError is exported for instanceof checks', () => {
  assert.equal(typeof LmallocError, 'function');
  assert.equal(typeof Lmalloc.instantiate, 'function');
});

test('installs as an npm package: "files" suffice and the exports map resolves "lmalloc" and its types', async () => {
  const { default: fs } = await import('node:fs');
  const { default: os } = await import('node:os');
  const { default: path } = await import('node:path');
  const { fileURLToPath, pathToFileURL } = await import('node:url');
  const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const manifest = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
  assert.equal(manifest.name, 'lmalloc');
  assert.deepEqual(manifest.dependencies ?? {}, {}, 'no runtime dependencies');
  // What `npm install <path>` / `npm pack` would ship: package.json plus "files".
  const consumer = fs.mkdtempSync(path.join(os.tmpdir(), 'lmalloc-consumer-'));
  try {
    const installed = path.join(consumer, 'node_modules', 'lmalloc');
    fs.mkdirSync(installed, { recursive: true });
    // The modules (wasm32/, wasm64/) are put in by prepack at `npm pack` time:
    // tests/npm_pack.sh checks the real tarball.
    const sources = manifest.files.filter((file) => !/^wasm(32|64)\//.test(file));
    for (const file of ['package.json', ...sources]) fs.copyFileSync(path.join(packageDir, file), path.join(installed, file));
    const entry = path.join(consumer, 'entry.mjs');
    fs.writeFileSync(entry, "export * from 'lmalloc';\n");
    const byName = await import(pathToFileURL(entry).href);
    assert.equal(typeof byName.Lmalloc.instantiate, 'function');
    const heap = await byName.instantiate(moduleBytes);
    assert.equal(heap.pointerBits, expectedBits);
    assert.ok(fs.existsSync(path.join(installed, manifest.exports['.'].types)), 'types shipped');
    assert.equal(manifest.types, manifest.exports['.'].types);
  } finally {
    fs.rmSync(consumer, { recursive: true, force: true });
  }
});

test('histogram: live blocks and bytes by size add up to stats; fragmentation of a hole', async () => {
  const heap = await freshHeap();
  const blocks = [16, 100, 5000, 70000, 70000, 70000].map((n) => heap.malloc(n));
  heap.free(blocks[3]);                      // a hole between two live blocks
  const histogram = heap.histogram();
  const stats = heap.stats();
  const sum = (values) => values.reduce((a, b) => a + b, 0);
  assert.equal(histogram.liveBlocks.length, 40);
  assert.equal(sum(histogram.liveBlocks), stats.liveBlocks);
  assert.equal(sum(histogram.liveBytes), stats.liveBytes);
  assert.ok(histogram.largestFree > 0 && histogram.largestFree <= histogram.freeBlockBytes);
  assert.ok(histogram.fragmentation > 0 && histogram.fragmentation < 1, `fragmentation ${histogram.fragmentation}`);
  assert.equal(histogram.fragmentation, 1 - histogram.largestFree / histogram.freeBlockBytes);
  blocks.forEach((p, i) => i !== 3 && heap.free(p));
  assertClean(heap);
});
