// lmalloc for JavaScript: safe heap access to an lmalloc wasm module, wasm32
// and wasm64 (Memory64) alike.
//
//   import { Lmalloc } from 'lmalloc';
//   const heap = await Lmalloc.instantiate(fs.readFileSync('lmalloc.wasm'));
//   const { ptr, len } = heap.writeString('WebAssembly');
//   ...
//   heap.dealloc(ptr, len);
//
// Three hazards shape this file:
// - Width. On wasm64 every pointer and size crossing the boundary is an i64,
//   i.e. a BigInt in JS. Callers use plain numbers on both widths (exact up to
//   2^53); the conversion happens in exactly one place, `Boundary`, and every
//   export is called through wrappers built from one signature table.
// - Growth. With a classic (fixed-length) buffer, memory.grow detaches the old
//   ArrayBuffer, so a typed array made before a call that grew memory reads as
//   empty: views are made from the current `memory.buffer` at the moment of
//   use, and a `HeapView` re-creates its array whenever the buffer changed.
//   V8 also makes each new buffer costly (past ~64 MiB a one-page grow takes
//   ~50 us of GC work, milliseconds at GiB sizes; ~1 us with a resizable
//   buffer), so memories the library owns get a resizable buffer where the
//   engine offers `toResizableBuffer`: it grows in place and views stay valid.
// - Ownership. Pointers dropped without a free leak silently. `withAlloc`,
//   scopes (`using` on Node 24), leak checks and an opt-in
//   FinalizationRegistry make the owner explicit or the leak visible.
//
// Misuse found by the allocator (double free, foreign pointer, wrong length,
// ...) arrives through the module's `lmalloc.report` import and is raised as
// an `LmallocError` carrying the allocator's own one-line message.
//
// Threads: a threaded module (lmalloc-threads.wasm) imports a shared memory.
// Workers share its heap: `heap.share()` on one thread gives a handle to post
// to a worker, where `Lmalloc.fromShared(handle)` instantiates the same
// module on the same memory with its own stack and thread-locals (from the
// module's pool, targets/wasm/threads.c). A fatal misuse on any thread stops
// every thread's instance: the heap is one.

const PAGE_SIZE = 65536;
const ENGINE_FALLBACK_PAGES = 65536;   // 4 GiB: every engine accepts this maximum
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

// lm_misuse_kind, in the order of src/lmalloc.h.
export const MisuseKind = Object.freeze({
  NONE: 0,
  DOUBLE_FREE: 1,
  NOT_IN_HEAP: 2,
  MISALIGNED: 3,
  NOT_A_BLOCK: 4,
  WRONG_SIZE: 5,
  CORRUPTED: 6,
  ARENA: 7,
});
const MISUSE_KIND_COUNT = 8;

const POLICIES = Object.freeze({ abort: 0, continue: 1 });

// ------------------------------------------------------------------ errors --

/** Misuse reported by the allocator. `message` is the line it formatted. */
export class LmallocError extends Error {
  constructor({ kind, kindName, ptr, size, line, fatal }) {
    super(line);
    this.name = 'LmallocError';
    this.kind = kind;
    this.kindName = kindName;
    this.ptr = ptr;
    this.size = size;
    this.fatal = fatal;
  }
}

/** Raised by every call on an instance after a fatal misuse stopped it
 * (on a shared heap: on any thread). */
export class LmallocStoppedError extends Error {
  constructor(cause) {
    super(`lmalloc: this instance was stopped by a fatal misuse (${cause.message}); ` +
          'its heap may be inconsistent, create a new instance', { cause });
    this.name = 'LmallocStoppedError';
  }
}

/**
 * A call into the module ran out of its shadow stack (the C stack in linear
 * memory). Modules linked --stack-first (every module this project builds,
 * and the README's recipe) keep that stack below the static data, so the
 * overflow traps at address 0 before it can overwrite data or heap.
 */
export class LmallocStackOverflowError extends Error {
  constructor(name, stackBytes, cause) {
    super(`lmalloc: stack overflow in ${name}(): the call needed more than the module's ` +
          `${stackBytes}-byte stack and trapped; link the module with a larger -Wl,-z,stack-size ` +
          '(or recurse less)', { cause });
    this.name = 'LmallocStackOverflowError';
    this.stackBytes = stackBytes;
  }
}

function outOfMemory(what, len) {
  return new RangeError(`lmalloc: out of memory: ${what} of ${len} bytes returned NULL`);
}

// ---------------------------------------------------------- module reading --

// Reads what instantiation must know before linking, from the binary: the
// memory's width and limits and whether the module imports it. Returns null
// if the bytes hold no memory.
export function readMemoryShape(bytes) {
  bytes = toUint8Array(bytes);
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new TypeError('lmalloc: these bytes are not a WebAssembly module (no \\0asm header)');
  }
  let at = 8;
  const leb = () => {
    let value = 0, scale = 1, byte;
    do {
      if (at >= bytes.length) throw new TypeError('lmalloc: truncated WebAssembly module');
      byte = bytes[at++];
      value += (byte & 0x7f) * scale;
      scale *= 128;
    } while (byte & 0x80);
    return value;
  };
  const name = () => { const n = leb(); const s = new TextDecoder().decode(bytes.subarray(at, at + n)); at += n; return s; };
  const limits = () => {
    const flags = leb();
    const initial = leb();
    const maximum = flags & 1 ? leb() : null;
    return { is64: (flags & 4) !== 0, shared: (flags & 2) !== 0, initial, maximum };
  };
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = leb();
    const end = at + size;
    if (id === 2) {                     // imports
      for (let count = leb(); count > 0; count--) {
        const module = name(), field = name();
        const kind = bytes[at++];
        if (kind === 0) leb();                          // function: type index
        else if (kind === 1) { at++; limits(); }        // table: reftype, limits
        else if (kind === 2) return { imported: true, module, field, ...limits() };
        else if (kind === 3) at += 2;                   // global: valtype, mutability
        else if (kind === 4) { at++; leb(); }           // tag: attribute, type index
        else throw new TypeError(`lmalloc: unknown import kind ${kind} in module`);
      }
    } else if (id === 5) {              // memories
      if (leb() > 0) return { imported: false, module: null, field: null, ...limits() };
    }
    at = end;
  }
  return null;
}

function toUint8Array(source) {
  if (source instanceof Uint8Array) return source;
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (source instanceof ArrayBuffer ||
      (typeof SharedArrayBuffer !== 'undefined' && source instanceof SharedArrayBuffer)) {
    return new Uint8Array(source);
  }
  throw new TypeError('lmalloc: expected bytes (ArrayBuffer or typed array)');
}

function isResponse(source) {
  return source !== null && typeof source === 'object' &&
    typeof source.arrayBuffer === 'function' && 'ok' in source && 'status' in source;
}

// Memory64's JS API changed shape between engines: V8 >= 13 (Node 24,
// Chromium 133+) takes { address: 'i64' } with BigInt limits; V8 11 (node 20
// with --experimental-wasm-memory64) takes { index: 'i64' } with numbers.
// `shared`: a memory for a threaded module (its buffer is a SharedArrayBuffer).
export function createMemory({ is64, initialPages, maximumPages, shared = false }) {
  if (!is64) return new WebAssembly.Memory({ initial: initialPages, maximum: maximumPages, shared });
  try {
    return new WebAssembly.Memory({ address: 'i64', initial: BigInt(initialPages), maximum: BigInt(maximumPages), shared });
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
  return new WebAssembly.Memory({ index: 'i64', initial: initialPages, maximum: maximumPages, shared });
}

// ---------------------------------------------------------------- boundary --

// The one place where JS numbers become wasm pointers and sizes and back.
// wasm32: i32 (numbers; results come back signed, so >>> 0).
// wasm64: i64 (BigInt; results come back signed, so asUintN).
// Pointers must fit the width exactly; sizes larger than the width saturate
// to SIZE_MAX so that an impossible request reaches the allocator and fails
// there (NULL, counted in stats) instead of wrapping to a small size.
class Boundary {
  constructor(is64) {
    this.is64 = is64;
    this.bits = is64 ? 64 : 32;
    this.max = is64 ? (1n << 64n) - 1n : 0xffffffff;
  }

  ptr(value, what = 'pointer') {
    if (typeof value === 'bigint') {
      if (value < 0n || value > BigInt(this.max)) throw new RangeError(`lmalloc: ${what} ${value} does not fit a wasm${this.bits} pointer`);
      return this.is64 ? value : Number(value);
    }
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new TypeError(`lmalloc: ${what} must be a non-negative integer, got ${String(value)}`);
    }
    if (!this.is64 && value > this.max) throw new RangeError(`lmalloc: ${what} 0x${value.toString(16)} does not fit a wasm32 pointer`);
    return this.is64 ? BigInt(value) : value;
  }

  size(value, what = 'size') {
    if (typeof value === 'bigint') {
      if (value < 0n) throw new RangeError(`lmalloc: ${what} must not be negative, got ${value}`);
      const max = BigInt(this.max);
      const clamped = value > max ? max : value;
      return this.is64 ? clamped : Number(clamped);
    }
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new TypeError(`lmalloc: ${what} must be a non-negative integer, got ${String(value)}`);
    }
    if (this.is64) return BigInt(value);
    return value > this.max ? this.max : value;
  }

  // A uptr result as an exact number.
  out(value) {
    if (!this.is64) return value >>> 0;
    const unsigned = BigInt.asUintN(64, value);
    if (unsigned > MAX_SAFE) throw new RangeError(`lmalloc: 0x${unsigned.toString(16)} from the module exceeds 2^53`);
    return Number(unsigned);
  }
}

// Parameter and result kinds of the exports this library calls.
//   ptr/size: uptr (see Boundary); i32: a small enum; void: nothing.
const ABI = {
  alloc: [['size'], 'ptr'],
  dealloc: [['ptr', 'size'], 'void'],
  lm_malloc: [['size'], 'ptr'],
  lm_free: [['ptr'], 'void'],
  lm_calloc: [['size', 'size'], 'ptr'],
  lm_realloc: [['ptr', 'size'], 'ptr'],
  lm_aligned_alloc: [['size', 'size'], 'ptr'],
  lm_usable_size: [['ptr'], 'size'],
  lm_free_sized: [['ptr', 'size'], 'void'],
  lm_stats: [['ptr'], 'void'],
  lm_histogram: [['ptr'], 'void'],
  lm_check: [[], 'size'],
  lm_set_policy: [['i32'], 'void'],
  lm_last_misuse: [['ptr'], 'void'],
  lm_misuse_kind_name: [['i32'], 'ptr'],
  lm_arena_create: [[], 'ptr'],
  lm_arena_alloc: [['ptr', 'size'], 'ptr'],
  lm_arena_alloc_aligned: [['ptr', 'size', 'size'], 'ptr'],
  lm_arena_reset: [['ptr'], 'void'],
  lm_arena_trim: [['ptr'], 'void'],
  lm_arena_destroy: [['ptr'], 'void'],
  lm_arena_stats: [['ptr', 'ptr'], 'void'],
};

function i32In(value, what) {
  if (!Number.isInteger(value)) throw new TypeError(`lmalloc: ${what} must be an integer, got ${String(value)}`);
  return value | 0;
}

// ------------------------------------------------------------------- views --

/**
 * A typed-array window on the heap that survives memory growth: `.array`
 * re-creates the typed array whenever growth replaced the buffer (a
 * resizable buffer is never replaced, so its array is kept).
 * A view belonging to a freed Block throws instead of reading freed memory.
 */
export class HeapView {
  #heap; #Type; #ptr; #length; #array = null; #owner;

  constructor(heap, Type, ptr, length, owner = null) {
    this.#heap = heap;
    this.#Type = Type;
    this.#ptr = ptr;
    this.#length = length;
    this.#owner = owner;
    heap.array(Type, ptr, length); // bounds and alignment checked now
  }

  get ptr() { return this.#ptr; }
  get length() { return this.#length; }
  get byteLength() { return this.#length * this.#Type.BYTES_PER_ELEMENT; }

  /** The typed array over the current memory.buffer. */
  get array() {
    if (this.#owner !== null && this.#owner.freed) {
      throw new Error(`lmalloc: view of block 0x${this.#ptr.toString(16)} used after ${this.#owner.freedBy ?? 'the block was freed'}`);
    }
    const buffer = this.#heap.memory.buffer;
    if (this.#array === null || this.#array.buffer !== buffer) {
      this.#array = this.#heap.array(this.#Type, this.#ptr, this.#length);
    }
    return this.#array;
  }

  get(index) { return this.array[index]; }
  set(index, value) { this.array[index] = value; }
  /** Copies `source` into the view at element `offset`. */
  write(source, offset = 0) { this.array.set(source, offset); }
  /** A copy that stays valid after memory grows or the block is freed. */
  slice(start, end) { return this.array.slice(start, end); }
}

// ------------------------------------------------------------------ blocks --

/**
 * An owned allocation: free it with `free()`, or `using block = heap.allocate(n)`
 * on Node 24. Freed with the length it was allocated with (checked by the
 * allocator). If tracking is on, dropping it unfreed is reported.
 */
export class Block {
  #heap; #ptr; #len; #freed = false;

  constructor(heap, ptr, len) {
    this.#heap = heap;
    this.#ptr = ptr;
    this.#len = len;
  }

  get ptr() { return this.#ptr; }
  get len() { return this.#len; }
  get freed() { return this.#freed; }

  /** A fresh Uint8Array over the block (with a classic buffer, valid only until memory grows). */
  get bytes() { this.#live(); return this.#heap.u8(this.#ptr, this.#len); }
  /** A view that stays valid across growth and refuses use after free. */
  view(Type = Uint8Array) {
    this.#live();
    return new HeapView(this.#heap, Type, this.#ptr, Math.floor(this.#len / Type.BYTES_PER_ELEMENT), this);
  }
  write(source, offset = 0) { this.#live(); this.#heap.write(this.#ptr + offset, source, this.#len - offset); }
  read() { this.#live(); return this.#heap.copyOut(this.#ptr, this.#len); }
  readString() { this.#live(); return this.#heap.readString(this.#ptr, this.#len); }

  free() {
    if (this.#freed) {
      throw new Error(`lmalloc: block 0x${this.#ptr.toString(16)} (${this.#len} bytes) freed twice from JS`);
    }
    this.#freed = true;
    this.#heap.untrack(this);
    this.#heap.dealloc(this.#ptr, this.#len);
  }

  [Symbol.dispose]() { if (!this.#freed) this.free(); }

  #live() {
    if (this.#freed) throw new Error(`lmalloc: block 0x${this.#ptr.toString(16)} used after it was freed`);
  }
}

// ------------------------------------------------------------------ scopes --

/**
 * Everything allocated through a scope is freed when it closes:
 *   heap.withScope((scope) => { ... })   or   using scope = heap.scope();
 * Frees run in reverse order of allocation, each with its allocation length.
 */
export class Scope {
  #heap; #owned = new Map(); #closed = false;

  constructor(heap) { this.#heap = heap; }

  get closed() { return this.#closed; }
  /** Number of allocations the scope still owns. */
  get size() { return this.#owned.size; }

  /** Allocates `len` bytes (alloc ABI); throws RangeError when out of memory. */
  alloc(len) {
    this.#open();
    const ptr = this.#heap.alloc(len);
    if (ptr === 0 && len > 0) throw outOfMemory('alloc', len);
    if (ptr !== 0) this.#owned.set(ptr, len);
    return ptr;
  }

  /** Copies bytes into a new allocation owned by the scope. */
  copyIn(bytes) {
    this.#open();
    const pair = this.#heap.copyIn(bytes);
    if (pair.ptr !== 0) this.#owned.set(pair.ptr, pair.len);
    return pair;
  }

  /** Writes `text` as UTF-8 into a new allocation owned by the scope. */
  writeString(text) {
    this.#open();
    const pair = this.#heap.writeString(text);
    if (pair.ptr !== 0) this.#owned.set(pair.ptr, pair.len);
    return pair;
  }

  /** Takes ownership of an allocation made elsewhere (alloc ABI pair). */
  adopt(ptr, len) {
    this.#open();
    if (ptr !== 0) this.#owned.set(ptr, len);
    return ptr;
  }

  /** Frees one of the scope's allocations now. */
  free(ptr) {
    this.#open();
    const len = this.#owned.get(ptr);
    if (len === undefined) throw new Error(`lmalloc: 0x${ptr.toString(16)} is not owned by this scope`);
    this.#owned.delete(ptr);
    this.#heap.dealloc(ptr, len);
  }

  /** Frees everything still owned; idempotent. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    const entries = [...this.#owned].reverse();
    this.#owned.clear();
    let firstError = null;
    for (const [ptr, len] of entries) {
      try {
        this.#heap.dealloc(ptr, len);
      } catch (error) {
        firstError ??= error;
        if (error instanceof LmallocStoppedError || (error instanceof LmallocError && error.fatal)) break;
      }
    }
    if (firstError !== null) throw firstError;
  }

  [Symbol.dispose]() { this.close(); }

  #open() {
    if (this.#closed) throw new Error('lmalloc: this scope is closed');
  }
}

// ------------------------------------------------------------------ arenas --

/**
 * An lmalloc arena (lm_arena_*): blocks bumped out of chunks of the heap,
 * all dropped at once by reset() and given back by destroy(). Blocks are
 * never freed one by one. `using arena = heap.arena()` or
 * `heap.withArena((arena) => ...)` destroys it at the end.
 * Views made with view() refuse use once the arena was reset or destroyed.
 */
export class Arena {
  #heap; #handle; #calls; #generation = 0; #destroyed = false;

  constructor(heap, handle, calls) {
    this.#heap = heap;
    this.#handle = handle;
    this.#calls = calls;
  }

  /** The lm_arena_t * (for passing to C code). */
  get handle() { return this.#handle; }
  get destroyed() { return this.#destroyed; }

  /** A block of `len` bytes, aligned to `align` (a power of two; default 16). Throws RangeError when out of memory. */
  alloc(len, align) {
    this.#live();
    if (align !== undefined && !(Number.isSafeInteger(align) && align > 0 && (align & (align - 1)) === 0)) {
      throw new TypeError(`lmalloc: arena alignment must be a power of two, got ${String(align)}`);
    }
    const ptr = align === undefined ? this.#calls.alloc(this.#handle, len) : this.#calls.allocAligned(this.#handle, align, len);
    if (ptr === 0) throw outOfMemory('lm_arena_alloc', len);
    return ptr;
  }

  /** Copies bytes into a new block of the arena: {ptr, len}. */
  copyIn(source) {
    const bytes = Array.isArray(source) ? Uint8Array.from(source) : toUint8Array(source);
    const ptr = this.alloc(bytes.length);
    this.#heap.u8(ptr, bytes.length).set(bytes);   // made after alloc, which may have grown memory
    return { ptr, len: bytes.length };
  }

  /** A HeapView of `length` elements at ptr (a block of this arena), valid until the next reset or destroy. */
  view(Type, ptr, length) {
    this.#live();
    const generation = this.#generation;
    const arena = this;
    const lease = {
      get freed() { return arena.#destroyed || arena.#generation !== generation; },
      get freedBy() { return arena.#destroyed ? 'its arena was destroyed' : 'its arena was reset'; },
    };
    return new HeapView(this.#heap, Type, ptr, length, lease);
  }

  /** Drops every block at once; the arena keeps its chunks for what comes next. */
  reset() {
    this.#live();
    this.#generation++;
    this.#calls.reset(this.#handle);
  }

  /** Gives back the chunks after the current one (after reset(): all but the first). */
  trim() {
    this.#live();
    this.#calls.trim(this.#handle);
  }

  /** Gives the arena's memory back to the heap. Idempotent. */
  destroy() {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#calls.destroy(this.#handle);
  }

  /** lm_arena_stats: {used, reserved, chunks, peak} in bytes (chunks: a count). */
  stats() {
    this.#live();
    return this.#calls.stats(this.#handle);
  }

  [Symbol.dispose]() { this.destroy(); }

  #live() {
    if (this.#destroyed) throw new Error(`lmalloc: arena 0x${this.#handle.toString(16)} used after destroy()`);
  }
}

// Runs `body`, then `cleanup`, also when body returns a promise.
function runThen(body, cleanup) {
  let result;
  try {
    result = body();
  } catch (error) {
    cleanup();
    throw error;
  }
  if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
    return Promise.resolve(result).finally(cleanup);
  }
  cleanup();
  return result;
}

// --------------------------------------------------------------- the heap --

const STATS_FIELDS = ['liveBytes', 'liveBlocks', 'footprint', 'peakFootprint',
  'growCalls', 'failedAllocs', 'misuseCount', 'metadataBytes'];
const STATS_BYTES = 64;     // lm_stats_t: eight uint64_t
const HISTOGRAM_BUCKETS = 40;                              // LM_HISTOGRAM_BUCKETS
const HISTOGRAM_BYTES = (4 * HISTOGRAM_BUCKETS + 4) * 8;   // lm_histogram_t: four arrays, three uint64_t, a double
const CONTROL_BYTES = 1024; // a threaded heap's shared stop flag and report line
const MISUSE_BYTES = 24;    // lm_misuse: three uint64_t
const ARENA_STATS_FIELDS = ['used', 'reserved', 'chunks', 'peak'];   // lm_arena_stats_t: four uint64_t

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');
// Browsers' TextDecoder refuses a view of a resizable buffer (Node's accepts
// it): decode a copy then.
const decodeUtf8 = (view) => utf8Decoder.decode(view.buffer.resizable ? view.slice() : view);

export class Lmalloc {
  #boundary; #raw; #stopped = null; #scratch = 0; #scratchSize = 0;
  #kindNames = null; #registry = null; #onUnfreed = null; #callbackError = null;
  #stackPointer = null; #stackTop = 0n;
  // Threaded modules: this instance's thread slot (0: the thread that
  // instantiated the heap), and the stop flag and report line every thread's
  // instance shares ([0] stopped, [1] kind, [2] line length, then the line).
  #threadSlot = 0; #control = null; #closed = false;

  /**
   * Instantiates an lmalloc module.
   * @param source bytes (ArrayBuffer / typed array / Buffer), a Response (or a
   *   promise of one) or a compiled WebAssembly.Module.
   * @param options see lmalloc.d.ts (imports, memory, maximumPages, policy,
   *   onMisuse, trackUnfreed, resizableBuffer, threads).
   */
  static async instantiate(source, options = {}) {
    source = await source;
    let bytes = null;
    let module;
    if (source instanceof WebAssembly.Module) {
      module = source;
    } else if (isResponse(source)) {
      if (!source.ok) throw new Error(`lmalloc: fetching the module failed: HTTP ${source.status}`);
      bytes = new Uint8Array(await source.arrayBuffer());
    } else {
      bytes = toUint8Array(source);
    }
    const shape = bytes !== null ? readMemoryShape(bytes) : null;
    module ??= await WebAssembly.compile(bytes);

    const heap = new Lmalloc(module, shape, options);
    const memoryImport = WebAssembly.Module.imports(module).find((entry) => entry.kind === 'memory');
    let instance;
    if (memoryImport === undefined) {
      if (options.memory || options.maximumPages !== undefined || options.maximumBytes !== undefined) {
        throw new Error('lmalloc: this module defines and exports its own memory, whose maximum is set at link ' +
                        'time; a memory or maximum can only be given to a module built with --import-memory');
      }
      instance = await WebAssembly.instantiate(module, heap.#imports(options.imports, null));
    } else {
      instance = await heap.#instantiateImportingMemory(module, shape, memoryImport, options);
    }
    heap.#attach(instance, options);
    if (options.threads && heap.#control === null) {
      throw new Error('lmalloc: { threads: true } needs a threaded module (lmalloc-threads.wasm, ' +
                      'moduleURL(width, { threads: true })); this one has no shared memory');
    }
    return heap;
  }

  /** Synchronous variant for an already compiled module (e.g. in a worker). */
  static instantiateSync(module, options = {}) {
    let shape = null;
    if (!(module instanceof WebAssembly.Module)) {
      const bytes = toUint8Array(module);
      shape = readMemoryShape(bytes);
      module = new WebAssembly.Module(bytes);
    }
    const heap = new Lmalloc(module, shape, options);
    const memoryImport = WebAssembly.Module.imports(module).find((entry) => entry.kind === 'memory');
    if (memoryImport !== undefined) {
      if (!options.memory) throw new Error('lmalloc: instantiateSync of a module importing its memory needs options.memory');
      const instance = new WebAssembly.Instance(module, heap.#imports(options.imports, memoryImport, options.memory));
      heap.memory = options.memory;
      heap.#attach(instance, options);
      return heap;
    }
    heap.#attach(new WebAssembly.Instance(module, heap.#imports(options.imports, null)), options);
    return heap;
  }

  /**
   * A handle for another thread to share this heap: post it to a worker
   * (postMessage or workerData) and call Lmalloc.fromShared(handle) there.
   * Takes one of the module's thread slots (its stack and thread-locals)
   * until that thread calls close().
   */
  share() {
    this.#refuseIfStopped();
    const exports = this.instance.exports;
    if (this.#control === null) {
      throw new Error('lmalloc: this module has no threads (no shared memory); share a threaded module\'s heap ' +
                      '(lmalloc-threads.wasm, moduleURL(width, { threads: true }))');
    }
    const slot = exports.lm_wasm_thread_claim();
    if (slot < 0) {
      throw new RangeError('lmalloc: every thread slot of the module is taken (LM_WASM_THREAD_SLOTS at build ' +
                           'time); close() a thread\'s share first');
    }
    return { module: this.module, memory: this.memory, control: this.#control.buffer, slot,
             stackTop: exports.lm_wasm_thread_stack_top(slot), is64: this.is64, policy: this.policy };
  }

  /**
   * This thread's instance on a heap shared by another thread's share():
   * the same module on the same memory, with its own stack and thread-locals.
   * Views, ownership helpers and misuse errors work as on any instance.
   * options as for instantiate (imports, onMisuse, trackUnfreed, resizableBuffer).
   */
  static fromShared(handle, options = {}) {
    const { module, memory, control, slot, stackTop, is64, policy } = handle;
    if (!(module instanceof WebAssembly.Module) || !(memory instanceof WebAssembly.Memory) || !(control instanceof SharedArrayBuffer)) {
      throw new TypeError('lmalloc: fromShared takes the handle another thread\'s heap.share() made');
    }
    const heap = new Lmalloc(module, { is64 }, options);
    heap.#threadSlot = slot;
    heap.#control = new Int32Array(control);
    heap.memory = memory;
    if (options.resizableBuffer !== false) switchToResizableBuffer(memory);
    const memoryImport = WebAssembly.Module.imports(module).find((entry) => entry.kind === 'memory');
    const instance = new WebAssembly.Instance(module, heap.#imports(options.imports, memoryImport, memory));
    // Before any call: this instance's stack is the slot's, not the module's.
    instance.exports.__stack_pointer.value = stackTop;
    heap.#attach(instance, { policy, ...options, memory });
    return heap;
  }

  /**
   * Ends this thread's share of the heap (an instance from fromShared): its
   * scratch block is freed, lmalloc's per-thread state handed back
   * (lm_thread_exit) and the thread slot freed for another share(). Blocks
   * this thread allocated stay valid for the others. No call after this.
   */
  close() {
    if (this.#threadSlot === 0) throw new Error('lmalloc: close() ends a share made by Lmalloc.fromShared');
    if (this.#closed) return;
    const exports = this.instance.exports;
    if (this.#stopped === null) {
      if (this.#scratch !== 0) this.free(this.#scratch);
      if (typeof exports.lm_thread_exit === 'function') exports.lm_thread_exit();
    }
    this.#closed = true;
    exports.lm_wasm_thread_release(this.#threadSlot);   // the slot's stack: the last call
  }

  constructor(module, shape, options) {
    if (!(module instanceof WebAssembly.Module)) throw new TypeError('use Lmalloc.instantiate(source, options)');
    /** The compiled module (reuse it for cheap fresh instances). */
    this.module = module;
    /** The WebAssembly.Instance; its raw exports are `instance.exports`. */
    this.instance = null;
    /** The linear memory (exported, or the one given/created for an import). */
    this.memory = null;
    /** Non-fatal misuse reports (policy 'continue'), oldest first. */
    this.misuses = [];
    /** Blocks garbage-collected without being freed (with trackUnfreed). */
    this.unfreed = [];
    /** Called with each LmallocError (fatal ones just before they are thrown). */
    this.onMisuse = options.onMisuse ?? null;
    this.policy = 'abort';
    this.#boundary = shape !== null ? new Boundary(shape.is64) : null;
  }

  /** true for a wasm64 (Memory64) module. */
  get is64() { return this.#boundary.is64; }
  /** 32 or 64. */
  get pointerBits() { return this.#boundary.bits; }
  /** Current memory size in bytes. */
  get byteLength() { return this.memory.buffer.byteLength; }
  /** true when memory.buffer is resizable: growth keeps it and every view of it. */
  get resizableBuffer() { return this.memory.buffer.resizable === true; }
  /** The LmallocError that stopped this instance, or null. */
  get stoppedBy() { return this.#stopped; }

  async #instantiateImportingMemory(module, shape, memoryImport, options) {
    if (options.memory) {
      this.memory = options.memory;
      return WebAssembly.instantiate(module, this.#imports(options.imports, memoryImport, options.memory));
    }
    const requestedMax = options.maximumPages ??
      (options.maximumBytes !== undefined ? options.maximumBytes / PAGE_SIZE : undefined);
    if (requestedMax !== undefined && !Number.isSafeInteger(requestedMax)) {
      throw new RangeError(`lmalloc: maximum must be a whole number of ${PAGE_SIZE}-byte pages`);
    }
    const shapes = shape !== null ? [shape]
      : [false, true].flatMap((is64) => [false, true].map((shared) => ({ is64, shared })));
    let lastError = null;
    for (const { is64, shared } of shapes) {
      const declaredMax = shape?.maximum ?? null;
      const maximumPages = requestedMax ?? declaredMax ?? (is64 ? 262144 : 65536);
      if (declaredMax !== null && maximumPages > declaredMax) {
        throw new RangeError(`lmalloc: maximum of ${maximumPages} pages exceeds the ${declaredMax} pages ` +
                             'the module declares for its imported memory');
      }
      const initialPages = options.initialPages ?? shape?.initial ?? 1;
      if (initialPages > maximumPages) {
        throw new RangeError(`lmalloc: maximum of ${maximumPages} pages is below the initial ${initialPages} pages`);
      }
      let memory;
      try {
        memory = createMemory({ is64, initialPages, maximumPages, shared });
      } catch (error) {
        // Without a chosen maximum, an engine that caps memory lower than the
        // module declares (node 20: 4 GiB for memory64) gets its own cap.
        if (!(error instanceof RangeError) || requestedMax !== undefined || maximumPages <= ENGINE_FALLBACK_PAGES) throw error;
        memory = createMemory({ is64, initialPages, maximumPages: ENGINE_FALLBACK_PAGES, shared });
      }
      try {
        const instance = await WebAssembly.instantiate(module, this.#imports(options.imports, memoryImport, memory));
        this.memory = memory;
        this.#boundary ??= new Boundary(is64);
        return instance;
      } catch (error) {
        if (!(error instanceof WebAssembly.LinkError)) throw error;
        lastError = error;
      }
    }
    throw lastError;
  }

  #imports(extra = {}, memoryImport, memory) {
    const imports = { ...extra };
    imports.lmalloc = {
      ...(extra.lmalloc ?? {}),
      report: (...args) => this.#report(...args),
      random: (ptr, len) => this.#random(ptr, len),
    };
    if (memoryImport) imports[memoryImport.module] = { ...(extra[memoryImport.module] ?? {}), [memoryImport.name]: memory };
    return imports;
  }

  #attach(instance, options) {
    this.instance = instance;
    const exports = instance.exports;
    if (this.memory === null) {
      if (!(exports.memory instanceof WebAssembly.Memory)) {
        throw new Error('lmalloc: the module neither exports a memory named "memory" nor imports one');
      }
      this.memory = exports.memory;
    }
    // A threaded module: this instance's thread-locals first, before any
    // other call (its stack pointer was set by fromShared for a worker).
    if (typeof exports.lm_wasm_thread_enter === 'function') {
      if (exports.lm_wasm_thread_enter(this.#threadSlot) !== 0) {
        throw new Error('lmalloc: the module\'s thread-locals do not fit its thread blocks (targets/wasm/threads.c)');
      }
      this.#control ??= new Int32Array(new SharedArrayBuffer(CONTROL_BYTES));
    }
    // Only memories the library owns: a caller's memory keeps the buffer
    // mode the caller chose (views the caller holds depend on it).
    if (this.memory !== options.memory && options.resizableBuffer !== false) switchToResizableBuffer(this.memory);
    // Width from the binary when we had it; otherwise probe a no-op call:
    // a wasm64 export rejects a Number where it expects an i64.
    if (this.#boundary === null) this.#boundary = new Boundary(probeIs64(exports));
    // A module that exports its stack pointer lets a trap be told apart as a
    // stack overflow (the pointer wrapped below 0) and the instance go on.
    if (exports.__stack_pointer instanceof WebAssembly.Global) {
      this.#stackPointer = exports.__stack_pointer;
      this.#stackTop = this.#stackPointerNow();
    }
    this.#raw = {};
    for (const [name, signature] of Object.entries(ABI)) {
      if (typeof exports[name] === 'function') this.#raw[name] = this.#wrap(exports[name], name, signature);
    }
    // Names now, so the report hook never has to call back into the module.
    this.#kindNames = [];
    if (this.#raw.lm_misuse_kind_name) {
      for (let kind = 0; kind < MISUSE_KIND_COUNT; kind++) {
        this.#kindNames.push(this.readCString(this.#raw.lm_misuse_kind_name(kind)));
      }
    }
    // The scratch block for lm_stats/lm_last_misuse is taken now, not at the
    // first stats() call: taken later, it could reuse a block the program just
    // freed and turn the program's next (double) free into a free of ours.
    if (this.#raw.lm_stats || this.#raw.lm_last_misuse) this.#scratchBlock();
    if (options.policy !== undefined) this.setPolicy(options.policy);
    if (options.trackUnfreed) this.trackUnfreed(typeof options.trackUnfreed === 'function' ? options.trackUnfreed : undefined);
  }

  // Builds a JS function for one export: converts each argument and the
  // result through the Boundary, and refuses calls on a stopped instance.
  #wrap(fn, name, [params, result]) {
    const boundary = this.#boundary;
    const convert = params.map((kind, index) => {
      const what = `${name} argument ${index + 1}`;
      if (kind === 'ptr') return (value) => boundary.ptr(value, what);
      if (kind === 'size') return (value) => boundary.size(value, what);
      return (value) => i32In(value, what);
    });
    const back = result === 'void' ? () => undefined
      : result === 'i32' ? (value) => value
        : (value) => boundary.out(value);
    return (...args) => {
      this.#refuseIfStopped();
      if (args.length !== convert.length) {
        throw new TypeError(`lmalloc: ${name} takes ${convert.length} argument(s), got ${args.length}`);
      }
      const value = this.#guard(name, () => fn(...args.map((arg, index) => convert[index](arg))));
      this.#rethrowCallbackError();
      return back(value);
    };
  }

  // Runs a call into the module, turning a trap from a stack overflow into
  // a LmallocStackOverflowError. The stack pointer is put back where it was
  // before the call, so the instance goes on: with --stack-first nothing
  // else was written.
  #guard(name, call) {
    const before = this.#stackPointer?.value;
    try {
      return call();
    } catch (error) {
      if (!(error instanceof WebAssembly.RuntimeError) || this.#stackPointer === null) throw error;
      // Wrapped below 0: on both widths it now reads above the stack's top.
      if (this.#stackPointerNow() <= this.#stackTop) throw error;
      this.#stackPointer.value = before;
      throw new LmallocStackOverflowError(name, Number(this.#stackTop), error);
    }
  }

  // The stack pointer as an unsigned address (JS reads an i32 or i64 global as signed).
  #stackPointerNow() {
    const value = this.#stackPointer.value;
    return typeof value === 'bigint' ? BigInt.asUintN(64, value) : BigInt(value >>> 0);
  }

  /**
   * Wraps any other export of the module with the same conversions, e.g.
   * `heap.wrapExport('sum_bytes', ['ptr', 'size'], 'u32')`.
   * Kinds: 'ptr' | 'size' (uptr), 'i32', 'u32', 'f64', 'bigint', and 'void' for results.
   */
  wrapExport(name, params, result = 'void') {
    const fn = this.instance.exports[name];
    if (typeof fn !== 'function') throw new Error(`lmalloc: the module exports no function named "${name}"`);
    const kinds = ['ptr', 'size', 'i32', 'u32', 'f64', 'bigint'];
    for (const kind of [...params, result]) {
      if (!kinds.includes(kind) && kind !== 'void') throw new TypeError(`lmalloc: unknown kind "${kind}"`);
    }
    const boundary = this.#boundary;
    const convert = params.map((kind, index) => {
      const what = `${name} argument ${index + 1}`;
      if (kind === 'ptr') return (value) => boundary.ptr(value, what);
      if (kind === 'size') return (value) => boundary.size(value, what);
      if (kind === 'i32' || kind === 'u32') return (value) => i32In(value, what);
      return (value) => value;
    });
    const back = {
      ptr: (value) => boundary.out(value), size: (value) => boundary.out(value),
      i32: (value) => value, u32: (value) => value >>> 0, f64: (value) => value,
      bigint: (value) => value, void: () => undefined,
    }[result];
    return (...args) => {
      this.#refuseIfStopped();
      const value = this.#guard(name, () => fn(...args.map((arg, index) => convert[index](arg))));
      this.#rethrowCallbackError();
      return back(value);
    };
  }

  // Refuses a call after a fatal misuse on this instance or, on a shared
  // heap, on another thread's; and after close().
  #refuseIfStopped() {
    if (this.#stopped === null && this.#control !== null && Atomics.load(this.#control, 0) !== 0) {
      const kind = Atomics.load(this.#control, 1);
      const line = utf8Decoder.decode(new Uint8Array(this.#control.buffer, 12, Atomics.load(this.#control, 2)).slice());
      this.#stopped = new LmallocError({ kind, kindName: this.kindName(kind), ptr: 0, size: 0, line, fatal: true });
    }
    if (this.#stopped !== null) throw new LmallocStoppedError(this.#stopped);
    if (this.#closed) throw new Error('lmalloc: this thread\'s share of the heap was closed (close())');
  }

  #rethrowCallbackError() {
    if (this.#callbackError === null) return;
    const error = this.#callbackError;
    this.#callbackError = null;
    throw error;
  }

  #call(name, ...args) {
    const fn = this.#raw[name];
    if (fn === undefined) throw new Error(`lmalloc: this module does not export ${name}`);
    return fn(...args);
  }

  // The module's lmalloc.random import: secret bytes for the heap's keys,
  // asked for once, at its first allocation; 0 if there is no source.
  // getRandomValues refuses views of shared memory: the bytes go through
  // an array of their own.
  #random(ptr, len) {
    if (typeof globalThis.crypto?.getRandomValues !== 'function') return 0;
    const boundary = this.#boundary;
    const bytes = new Uint8Array(boundary.out(len));
    globalThis.crypto.getRandomValues(bytes);
    new Uint8Array(this.memory.buffer, boundary.out(ptr), bytes.length).set(bytes);
    return 1;
  }

  // The module's lmalloc.report import. Runs inside the wasm call that found
  // the misuse, so it reads the line from memory.buffer as it is now.
  #report(kind, ptr, size, linePtr, lineLen, fatal) {
    const boundary = this.#boundary;
    const line = this.readString(boundary.out(linePtr), boundary.out(lineLen));
    const error = new LmallocError({
      kind,
      kindName: this.kindName(kind),
      ptr: boundary.out(ptr),
      size: boundary.out(size),
      line,
      fatal: fatal !== 0,
    });
    if (error.fatal) {
      this.#stopped = error;
      if (this.#control !== null && Atomics.compareExchange(this.#control, 0, 0, 1) === 0) {
        const bytes = utf8Encoder.encode(line).subarray(0, CONTROL_BYTES - 12);
        new Uint8Array(this.#control.buffer, 12).set(bytes);
        Atomics.store(this.#control, 1, kind);
        Atomics.store(this.#control, 2, bytes.length);
      }
      this.#notify(error);
      throw error;            // unwinds through the module; the instance stays stopped
    }
    this.misuses.push(error);
    this.#notify(error);
  }

  #notify(error) {
    if (this.onMisuse === null) return;
    try {
      this.onMisuse(error);
    } catch (callbackError) {
      // Never unwind through the allocator for a non-fatal report: the
      // wrapper rethrows it once the module call has returned.
      if (error.fatal) throw callbackError;
      this.#callbackError ??= callbackError;
    }
  }

  // ------------------------------------------------- allocation (numbers) --

  /** The bare alloc/dealloc ABI: 0 for len 0 or failure. */
  alloc(len) { return this.#call('alloc', len); }
  /** The bare alloc/dealloc ABI: frees alloc(len)'s block given the same len; 0/null is a no-op. */
  dealloc(ptr, len) { this.#call('dealloc', ptr, len); }
  /** lm_malloc: 0 on failure. */
  malloc(size) { return this.#call('lm_malloc', size); }
  calloc(count, size) { return this.#call('lm_calloc', count, size); }
  realloc(ptr, size) { return this.#call('lm_realloc', ptr, size); }
  alignedAlloc(alignment, size) { return this.#call('lm_aligned_alloc', alignment, size); }
  free(ptr) { this.#call('lm_free', ptr); }
  freeSized(ptr, len) { this.#call('lm_free_sized', ptr, len); }
  usableSize(ptr) { return this.#call('lm_usable_size', ptr); }
  /** lm_check(): number of inconsistencies found (0 = sound). */
  check() { return this.#call('lm_check'); }

  /**
   * Allocates an owned Block of `len` bytes (throws RangeError when out of
   * memory). `zero: true` clears it.
   */
  allocate(len, { zero = false } = {}) {
    const ptr = this.alloc(len);
    if (ptr === 0 && len > 0) throw outOfMemory('alloc', len);
    const block = new Block(this, ptr, len);
    if (zero && len > 0) this.u8(ptr, len).fill(0);
    if (this.#registry !== null && ptr !== 0) {
      this.#registry.register(block, { ptr, len, allocatedAt: new Error('allocated here').stack }, block);
    }
    return block;
  }

  // ------------------------------------------------------ policy, stats --

  /** 'abort' (default): misuse throws a fatal LmallocError and stops the
   * instance. 'continue': the call is refused, counted, recorded in
   * `misuses` / passed to onMisuse, and the program goes on. */
  setPolicy(policy) {
    if (!(policy in POLICIES)) throw new TypeError(`lmalloc: policy must be 'abort' or 'continue', not '${policy}'`);
    this.#call('lm_set_policy', POLICIES[policy]);
    this.policy = policy;
  }

  /**
   * lm_stats() as numbers. The helper holds one 64-byte scratch block (taken
   * at instantiation) for reading lm_stats_t and lm_misuse; it is left out of
   * liveBytes/liveBlocks so the numbers are the program's own.
   */
  stats() {
    const scratch = this.#scratchBlock();
    this.#call('lm_stats', scratch);
    const data = this.dataView(scratch, STATS_BYTES);
    const stats = {};
    STATS_FIELDS.forEach((field, index) => { stats[field] = u64(data, index * 8); });
    stats.liveBlocks -= 1;
    stats.liveBytes -= this.#scratchSize;
    return stats;
  }

  /**
   * lm_histogram() as numbers: live and free blocks and bytes by
   * power-of-two size (bucket k: 2^k .. 2^(k+1) - 1 usable bytes), the
   * allocator's own bytes, the page layer's free bytes, the largest free
   * block and fragmentation = 1 - largest free / free bytes. The block it
   * reads the figures through and the stats scratch block are left out.
   */
  histogram() {
    const ptr = this.malloc(HISTOGRAM_BYTES);
    if (ptr === 0) throw outOfMemory('lm_malloc (histogram)', HISTOGRAM_BYTES);
    try {
      this.#call('lm_histogram', ptr);
      const data = this.dataView(ptr, HISTOGRAM_BYTES);
      const array = (index) => Array.from({ length: HISTOGRAM_BUCKETS }, (_, k) => u64(data, (index * HISTOGRAM_BUCKETS + k) * 8));
      const at = 4 * HISTOGRAM_BUCKETS * 8;
      const histogram = {
        liveBlocks: array(0), liveBytes: array(1), freeBlocks: array(2), freeBytes: array(3),
        internalBytes: u64(data, at), freeBlockBytes: u64(data, at + 8), largestFree: u64(data, at + 16),
        fragmentation: data.getFloat64(at + 24, true),
      };
      for (const [block, size] of [[ptr, this.usableSize(ptr)], [this.#scratch, this.#scratchSize]]) {
        if (block === 0) continue;     // the stats scratch block, as stats() leaves it out
        const bucket = Math.min(Math.floor(Math.log2(size)), HISTOGRAM_BUCKETS - 1);
        histogram.liveBlocks[bucket] -= 1;
        histogram.liveBytes[bucket] -= size;
      }
      return histogram;
    } finally {
      this.free(ptr);
    }
  }

  /** lm_last_misuse(): the last report, or null if there was none. */
  lastMisuse() {
    const scratch = this.#scratchBlock();
    this.#call('lm_last_misuse', scratch);
    const data = this.dataView(scratch, MISUSE_BYTES);
    const kind = u64(data, 0);
    if (kind === MisuseKind.NONE) return null;
    return { kind, kindName: this.kindName(kind), ptr: u64(data, 8), size: u64(data, 16) };
  }

  /** lm_misuse_kind_name(kind). */
  kindName(kind) {
    return this.#kindNames[kind] ?? `misuse kind ${kind}`;
  }

  #scratchBlock() {
    if (this.#scratch === 0) {
      const ptr = this.malloc(STATS_BYTES);
      if (ptr === 0) throw outOfMemory('lm_malloc (stats scratch)', STATS_BYTES);
      this.#scratch = ptr;
      this.#scratchSize = this.usableSize(ptr);
    }
    return this.#scratch;
  }

  // ---------------------------------------------------------------- views --

  /** A fresh typed array over [ptr, ptr + length elements) of the current buffer. */
  array(Type, ptr, length) {
    const bytes = length * Type.BYTES_PER_ELEMENT;
    this.#checkRange(ptr, bytes);
    if (ptr % Type.BYTES_PER_ELEMENT !== 0) {
      throw new RangeError(`lmalloc: 0x${ptr.toString(16)} is not aligned for ${Type.name}`);
    }
    return new Type(this.memory.buffer, ptr, length);
  }

  u8(ptr, len) { return this.array(Uint8Array, ptr, len); }

  /** A fresh DataView over [ptr, ptr + len). */
  dataView(ptr, len) {
    this.#checkRange(ptr, len);
    return new DataView(this.memory.buffer, ptr, len);
  }

  /** A HeapView: keeps working after memory grows (see HeapView). */
  view(Type, ptr, length) { return new HeapView(this, Type, ptr, length); }

  #checkRange(ptr, len) {
    if (!Number.isSafeInteger(ptr) || ptr < 0 || !Number.isSafeInteger(len) || len < 0) {
      throw new TypeError(`lmalloc: bad range ${String(ptr)} + ${String(len)}`);
    }
    const size = this.memory.buffer.byteLength;
    if (ptr + len > size) {
      throw new RangeError(`lmalloc: range 0x${ptr.toString(16)} + ${len} bytes lies outside memory (${size} bytes)`);
    }
  }

  // ---------------------------------------------------------------- copies --

  /** Copies bytes into a new allocation: {ptr, len}, freed with dealloc(ptr, len). */
  copyIn(source) {
    const bytes = Array.isArray(source) ? Uint8Array.from(source) : toUint8Array(source);
    const len = bytes.length;
    const ptr = this.alloc(len);
    if (ptr === 0 && len > 0) throw outOfMemory('alloc', len);
    if (len > 0) this.u8(ptr, len).set(bytes);   // view made after alloc: alloc may have grown memory
    return { ptr, len };
  }

  /** Writes bytes at ptr (no allocation). `limit` bounds the write if given. */
  write(ptr, source, limit = Infinity) {
    const bytes = Array.isArray(source) ? Uint8Array.from(source) : toUint8Array(source);
    if (bytes.length > limit) throw new RangeError(`lmalloc: ${bytes.length} bytes do not fit in ${limit}`);
    this.u8(ptr, bytes.length).set(bytes);
  }

  /** A copy of [ptr, ptr + len) that stays valid after growth or free. */
  copyOut(ptr, len) { return this.u8(ptr, len).slice(); }

  /** Encodes `text` as UTF-8 into a new allocation: {ptr, len}. */
  writeString(text) { return this.copyIn(utf8Encoder.encode(String(text))); }

  /** Decodes len bytes of UTF-8 at ptr. */
  readString(ptr, len) { return decodeUtf8(this.u8(ptr, len)); }

  /** Decodes a NUL-terminated UTF-8 string at ptr. */
  readCString(ptr) {
    const bytes = new Uint8Array(this.memory.buffer);
    let end = ptr;
    while (end < bytes.length && bytes[end] !== 0) end++;
    return decodeUtf8(bytes.subarray(ptr, end));
  }

  // -------------------------------------------------------------- scoping --

  /** Allocates len bytes, runs fn(ptr, len), frees in finally (also after a promise settles). */
  withAlloc(len, fn) {
    const ptr = this.alloc(len);
    if (ptr === 0 && len > 0) throw outOfMemory('alloc', len);
    return runThen(() => fn(ptr, len), () => this.dealloc(ptr, len));
  }

  /** A Scope: everything allocated through it is freed by close() / dispose. */
  scope() { return new Scope(this); }

  /** Runs fn(scope) and closes the scope afterwards (also after a promise settles). */
  withScope(fn) {
    const scope = new Scope(this);
    return runThen(() => fn(scope), () => scope.close());
  }

  // --------------------------------------------------------------- arenas --

  /** A new Arena (lm_arena_create); throws RangeError when out of memory. */
  arena() {
    const handle = this.#call('lm_arena_create');
    if (handle === 0) throw outOfMemory('lm_arena_create', 0);
    return new Arena(this, handle, {
      alloc: (arena, len) => this.#call('lm_arena_alloc', arena, len),
      allocAligned: (arena, align, len) => this.#call('lm_arena_alloc_aligned', arena, align, len),
      reset: (arena) => this.#call('lm_arena_reset', arena),
      trim: (arena) => this.#call('lm_arena_trim', arena),
      destroy: (arena) => this.#call('lm_arena_destroy', arena),
      stats: (arena) => {
        const scratch = this.#scratchBlock();
        this.#call('lm_arena_stats', arena, scratch);
        const data = this.dataView(scratch, ARENA_STATS_FIELDS.length * 8);
        const stats = {};
        ARENA_STATS_FIELDS.forEach((field, index) => { stats[field] = u64(data, index * 8); });
        return stats;
      },
    });
  }

  /** Runs fn(arena) and destroys the arena afterwards (also after a promise settles). */
  withArena(fn) {
    const arena = this.arena();
    return runThen(() => fn(arena), () => arena.destroy());
  }

  // ---------------------------------------------------------- leak checks --

  /**
   * Runs fn(i) `iterations` times after `warmup` runs and reports the growth
   * of memory byteLength, heap footprint and live blocks/bytes. A leak-free
   * operation shows 0 growth everywhere (`leaked` and `grew` false).
   */
  leakCheck(fn, { iterations = 1000, warmup = 1 } = {}) {
    for (let i = 0; i < warmup; i++) {
      if (isThenable(fn(i))) throw new TypeError('lmalloc: leakCheck got a promise; use leakCheckAsync');
    }
    const before = this.#snapshot();
    for (let i = 0; i < iterations; i++) {
      if (isThenable(fn(i))) throw new TypeError('lmalloc: leakCheck got a promise; use leakCheckAsync');
    }
    return this.#growth(iterations, before, this.#snapshot());
  }

  async leakCheckAsync(fn, { iterations = 1000, warmup = 1 } = {}) {
    for (let i = 0; i < warmup; i++) await fn(i);
    const before = this.#snapshot();
    for (let i = 0; i < iterations; i++) await fn(i);
    return this.#growth(iterations, before, this.#snapshot());
  }

  #snapshot() {
    const stats = this.stats();     // first: may allocate the scratch block
    return { byteLength: this.byteLength, ...stats };
  }

  #growth(iterations, before, after) {
    const report = {
      iterations,
      byteLengthGrowth: after.byteLength - before.byteLength,
      footprintGrowth: after.footprint - before.footprint,
      liveBlocksGrowth: after.liveBlocks - before.liveBlocks,
      liveBytesGrowth: after.liveBytes - before.liveBytes,
      before,
      after,
    };
    report.leaked = report.liveBlocksGrowth !== 0 || report.liveBytesGrowth !== 0;
    report.grew = report.byteLengthGrowth !== 0 || report.footprintGrowth !== 0;
    return report;
  }

  // ------------------------------------------------- unfreed-block tracking --

  /**
   * Opt-in safety net: every Block from allocate() is watched by a
   * FinalizationRegistry; one garbage-collected without free() is reported
   * to `callback` ({ptr, len, allocatedAt}) and listed in `unfreed`. The
   * block itself stays allocated (its pointer may have been handed to C).
   */
  trackUnfreed(callback) {
    this.#onUnfreed = callback ?? ((report) => {
      console.warn(`lmalloc: block 0x${report.ptr.toString(16)} (${report.len} bytes) was garbage-collected ` +
                   `without being freed; ${report.allocatedAt}`);
    });
    this.#registry ??= new FinalizationRegistry((report) => {
      this.unfreed.push(report);
      this.#onUnfreed(report);
    });
  }

  /** @internal Block.free() calls this. */
  untrack(block) {
    if (this.#registry !== null) this.#registry.unregister(block);
  }
}

function u64(data, offset) {
  const value = data.getBigUint64(offset, true);
  if (value > MAX_SAFE) throw new RangeError(`lmalloc: statistic ${value} exceeds 2^53`);
  return Number(value);
}

function isThenable(value) {
  return value !== null && typeof value === 'object' && typeof value.then === 'function';
}

// Gives `memory` a resizable buffer if the engine can (Node 24 with
// --experimental-wasm-rab-integration; not node 20). Must run before any view
// of it is made: the switch detaches the fixed-length buffer. A memory the
// engine refuses (one without a maximum) keeps its classic buffer, which
// works, only with costlier growth. toolchain/wasm-program.mjs uses it too.
export function switchToResizableBuffer(memory) {
  if (typeof memory.toResizableBuffer !== 'function') return;
  try {
    memory.toResizableBuffer();
  } catch {
    // keep the classic buffer
  }
}

function probeIs64(exports) {
  const probe = exports.dealloc ?? exports.lm_free;
  if (typeof probe !== 'function') throw new Error('lmalloc: cannot tell the module\'s width: it exports neither dealloc nor lm_free');
  try {
    probe(...new Array(probe.length).fill(0));    // NULL: a no-op on both widths
    return false;
  } catch (error) {
    if (error instanceof TypeError) return true;    // i64 parameters reject Numbers
    throw error;
  }
}

/**
 * Where the package's own lmalloc module for `width` ('wasm32' or 'wasm64')
 * is: a URL beside this file, for `fs.readFile` in Node or `fetch` in a page.
 * `threads: true`: the threaded module (shared memory, workers share its heap).
 * An npm-packed lmalloc carries all four (targets/js/prepack.mjs puts them in).
 */
export function moduleURL(width = 'wasm32', { threads = false } = {}) {
  if (width !== 'wasm32' && width !== 'wasm64') throw new TypeError(`lmalloc: width must be 'wasm32' or 'wasm64', not ${width}`);
  return new URL(`./${width}/${threads ? 'lmalloc-threads' : 'lmalloc'}.wasm`, import.meta.url);
}

/** Shorthand for Lmalloc.instantiate. */
export function instantiate(source, options) {
  return Lmalloc.instantiate(source, options);
}

export default Lmalloc;
