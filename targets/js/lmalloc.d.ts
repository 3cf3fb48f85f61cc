// Type declarations for lmalloc.js. Pointers and sizes are plain numbers on
// both wasm32 and wasm64 (exact up to 2^53); size arguments also accept a
// bigint (useful for SIZE_MAX-style requests).

export type Pointer = number;
export type Size = number | bigint;
export type Policy = 'abort' | 'continue';
export type ModuleSource =
  | ArrayBuffer | ArrayBufferView | WebAssembly.Module | Response
  | PromiseLike<ArrayBuffer | ArrayBufferView | WebAssembly.Module | Response>;
export type TypedArrayConstructor =
  | Uint8ArrayConstructor | Int8ArrayConstructor | Uint8ClampedArrayConstructor
  | Uint16ArrayConstructor | Int16ArrayConstructor | Uint32ArrayConstructor | Int32ArrayConstructor
  | Float32ArrayConstructor | Float64ArrayConstructor | BigUint64ArrayConstructor | BigInt64ArrayConstructor;

/** lm_misuse_kind of src/lmalloc.h. */
export declare const MisuseKind: Readonly<{
  NONE: 0; DOUBLE_FREE: 1; NOT_IN_HEAP: 2; MISALIGNED: 3; NOT_A_BLOCK: 4; WRONG_SIZE: 5; CORRUPTED: 6; ARENA: 7;
}>;

/** Misuse reported by the allocator; `message` is the line it formatted. */
export declare class LmallocError extends Error {
  readonly name: 'LmallocError';
  /** lm_misuse_kind (see MisuseKind). */
  readonly kind: number;
  /** lm_misuse_kind_name(kind), e.g. "double free". */
  readonly kindName: string;
  /** The pointer the caller passed. */
  readonly ptr: number;
  /** The block's size, or the length passed for a wrong-size free. */
  readonly size: number;
  /** true under policy 'abort': the error was thrown and the instance stopped. */
  readonly fatal: boolean;
}

/** Thrown by every call on an instance that a fatal misuse stopped. */
/** A call ran out of the module's shadow stack (see README, Stack-first layout). */
export declare class LmallocStackOverflowError extends Error {
  readonly name: 'LmallocStackOverflowError';
  /** The module's stack size in bytes (its stack pointer's initial value). */
  readonly stackBytes: number;
}

export declare class LmallocStoppedError extends Error {
  readonly name: 'LmallocStoppedError';
  readonly cause: LmallocError;
}

export interface InstantiateOptions {
  /** Extra imports; `lmalloc.report` is provided by the library. */
  imports?: WebAssembly.Imports;
  /**
   * For modules that import their memory: use this memory. Its buffer mode is
   * the caller's: it is never switched to a resizable buffer (switching would
   * detach views of it the caller holds); call `memory.toResizableBuffer()`
   * yourself before instantiating for cheap growth.
   */
  memory?: WebAssembly.Memory;
  /** For modules that import their memory: create it with this maximum (pages of 64 KiB). */
  maximumPages?: number;
  /** Same as maximumPages, in bytes (a multiple of 65536). */
  maximumBytes?: number;
  /** For modules that import their memory: initial pages (default: the module's minimum). */
  initialPages?: number;
  /** lm_set_policy at start-up (default 'abort'). */
  policy?: Policy;
  /** Called with every misuse report (fatal ones just before they are thrown). */
  onMisuse?: (error: LmallocError) => void;
  /** Report Blocks garbage-collected without free(); a function receives the reports. */
  trackUnfreed?: boolean | ((report: UnfreedReport) => void);
  /**
   * Default true: where the engine has `WebAssembly.Memory.prototype.toResizableBuffer`
   * (Node 24 with --experimental-wasm-rab-integration; not node 20), a memory
   * the library owns (exported, or created for an import) gets a resizable
   * buffer. In V8 each grow of a classic buffer costs ~50 us past 64 MiB of
   * memory and ~2.5 ms at 3 GiB; a resizable one grows in ~1 us at any size
   * and stays the same object, so views made before growth stay valid.
   * false keeps the classic buffer. Ignored for `memory`.
   */
  resizableBuffer?: boolean;
  /** Require a threaded module (shared memory, share() to workers): throw otherwise. */
  threads?: boolean;
}

/** What share() gives and fromShared() takes; structured-cloneable (postMessage, workerData). */
export interface SharedHeap {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly control: SharedArrayBuffer;
  readonly slot: number;
  readonly stackTop: number | bigint;
  readonly is64: boolean;
  readonly policy: Policy;
}

export interface Histogram {
  liveBlocks: number[];
  liveBytes: number[];
  freeBlocks: number[];
  freeBytes: number[];
  /** The allocator's own blocks (descriptor tables, heaps, the page map). */
  internalBytes: number;
  /** Free blocks of the page layer and the free end of the heap. */
  freeBlockBytes: number;
  largestFree: number;
  fragmentation: number;
}

export interface Stats {
  liveBytes: number;
  liveBlocks: number;
  footprint: number;
  peakFootprint: number;
  growCalls: number;
  failedAllocs: number;
  misuseCount: number;
  metadataBytes: number;
}

export interface Misuse {
  kind: number;
  kindName: string;
  ptr: number;
  size: number;
}

export interface Allocation {
  ptr: Pointer;
  len: number;
}

export interface UnfreedReport {
  ptr: Pointer;
  len: number;
  /** Stack trace of the allocate() call. */
  allocatedAt: string;
}

export interface LeakReport {
  iterations: number;
  byteLengthGrowth: number;
  footprintGrowth: number;
  liveBlocksGrowth: number;
  liveBytesGrowth: number;
  before: Stats & { byteLength: number };
  after: Stats & { byteLength: number };
  /** Live blocks or bytes grew. */
  leaked: boolean;
  /** Memory or the heap footprint grew. */
  grew: boolean;
}

export interface LeakCheckOptions {
  /** Default 1000. */
  iterations?: number;
  /** Runs before measuring (default 1). */
  warmup?: number;
}

export type ExportKind = 'ptr' | 'size' | 'i32' | 'u32' | 'f64' | 'bigint';

/** A typed-array window that stays valid when memory grows. */
export declare class HeapView<T extends ArrayBufferView = Uint8Array> {
  readonly ptr: Pointer;
  readonly length: number;
  readonly byteLength: number;
  /** The typed array over the current memory.buffer (re-created after growth). */
  readonly array: T;
  get(index: number): number | bigint;
  set(index: number, value: number | bigint): void;
  write(source: ArrayLike<number> | ArrayLike<bigint>, offset?: number): void;
  slice(start?: number, end?: number): T;
}

/** An owned allocation; `using block = heap.allocate(n)` frees it at scope end. */
export declare class Block implements Disposable {
  readonly ptr: Pointer;
  readonly len: number;
  readonly freed: boolean;
  /** A fresh Uint8Array over the block (do not keep it across calls that may grow memory). */
  readonly bytes: Uint8Array;
  view<T extends TypedArrayConstructor = Uint8ArrayConstructor>(Type?: T): HeapView<InstanceType<T>>;
  write(source: ArrayBuffer | ArrayBufferView | number[], offset?: number): void;
  read(): Uint8Array;
  readString(): string;
  free(): void;
  [Symbol.dispose](): void;
}

/** Frees everything allocated through it when closed. */
export declare class Scope implements Disposable {
  readonly closed: boolean;
  readonly size: number;
  alloc(len: number): Pointer;
  copyIn(bytes: ArrayBuffer | ArrayBufferView | number[]): Allocation;
  writeString(text: string): Allocation;
  adopt(ptr: Pointer, len: number): Pointer;
  free(ptr: Pointer): void;
  close(): void;
  [Symbol.dispose](): void;
}

/** lm_arena_stats_t: bytes handed out since the last reset, bytes of the
 * arena's chunks, their count, and the most bytes handed out at once. */
export interface ArenaStats { used: number; reserved: number; chunks: number; peak: number; }

/**
 * An lmalloc arena (lm_arena_*): blocks bumped out of chunks of the heap,
 * dropped all at once by reset() and given back by destroy(); never freed one
 * by one. `using arena = heap.arena()` or heap.withArena(fn) destroys it.
 */
export declare class Arena implements Disposable {
  /** The lm_arena_t * for C code. */
  readonly handle: Pointer;
  readonly destroyed: boolean;
  /** A block of len bytes aligned to `align` (a power of two, default 16); throws RangeError when out of memory. */
  alloc(len: Size, align?: number): Pointer;
  copyIn(bytes: ArrayBuffer | ArrayBufferView | number[]): Allocation;
  /** A view of one of its blocks that throws once the arena is reset or destroyed. */
  view<T extends TypedArrayConstructor>(Type: T, ptr: Pointer, length: number): HeapView<InstanceType<T>>;
  /** Drops every block; keeps the chunks for the next cycle. */
  reset(): void;
  /** Gives back the chunks after the current one: after reset(), all but the first. */
  trim(): void;
  /** Idempotent. */
  destroy(): void;
  stats(): ArenaStats;
  [Symbol.dispose](): void;
}

export declare class Lmalloc {
  static instantiate(source: ModuleSource, options?: InstantiateOptions): Promise<Lmalloc>;
  static instantiateSync(module: WebAssembly.Module | ArrayBuffer | ArrayBufferView, options?: InstantiateOptions): Lmalloc;
  /**
   * This thread's instance on a heap another thread shared with share(): the
   * same module on the same memory, with its own stack and thread-locals.
   */
  static fromShared(handle: SharedHeap, options?: Omit<InstantiateOptions, 'memory' | 'maximumPages' | 'maximumBytes' | 'initialPages'>): Lmalloc;

  /**
   * A handle to post to a worker (threaded modules only: lmalloc-threads.wasm).
   * Takes one of the module's thread slots until that worker's close().
   * Throws RangeError when every slot is taken.
   */
  share(): SharedHeap;
  /** Ends a fromShared instance's share: frees its scratch block, hands its
   * per-thread state back and frees its thread slot. No call after it. */
  close(): void;

  readonly module: WebAssembly.Module;
  readonly instance: WebAssembly.Instance;
  readonly memory: WebAssembly.Memory;
  readonly misuses: LmallocError[];
  readonly unfreed: UnfreedReport[];
  onMisuse: ((error: LmallocError) => void) | null;
  readonly policy: Policy;
  readonly is64: boolean;
  readonly pointerBits: 32 | 64;
  readonly byteLength: number;
  /** true when memory.buffer is resizable: growth keeps it and every view of it valid. */
  readonly resizableBuffer: boolean;
  readonly stoppedBy: LmallocError | null;

  /** Seed ABI: 0 for len 0 or failure. */
  alloc(len: Size): Pointer;
  /** Seed ABI: frees alloc(len)'s block given the same len. */
  dealloc(ptr: Pointer, len: Size): void;
  malloc(size: Size): Pointer;
  calloc(count: Size, size: Size): Pointer;
  realloc(ptr: Pointer, size: Size): Pointer;
  alignedAlloc(alignment: Size, size: Size): Pointer;
  free(ptr: Pointer): void;
  freeSized(ptr: Pointer, len: Size): void;
  usableSize(ptr: Pointer): number;
  check(): number;
  allocate(len: number, options?: { zero?: boolean }): Block;

  setPolicy(policy: Policy): void;
  stats(): Stats;
  /** lm_histogram(): live and free blocks and bytes by power-of-two size (bucket k: 2^k .. 2^(k+1) - 1 usable bytes) and fragmentation = 1 - largestFree / freeBlockBytes. */
  histogram(): Histogram;
  lastMisuse(): Misuse | null;
  kindName(kind: number): string;

  array<T extends TypedArrayConstructor>(Type: T, ptr: Pointer, length: number): InstanceType<T>;
  u8(ptr: Pointer, len: number): Uint8Array;
  dataView(ptr: Pointer, len: number): DataView;
  view<T extends TypedArrayConstructor>(Type: T, ptr: Pointer, length: number): HeapView<InstanceType<T>>;

  copyIn(bytes: ArrayBuffer | ArrayBufferView | number[]): Allocation;
  write(ptr: Pointer, bytes: ArrayBuffer | ArrayBufferView | number[], limit?: number): void;
  copyOut(ptr: Pointer, len: number): Uint8Array;
  writeString(text: string): Allocation;
  readString(ptr: Pointer, len: number): string;
  readCString(ptr: Pointer): string;

  withAlloc<R>(len: number, fn: (ptr: Pointer, len: number) => R): R;
  scope(): Scope;
  withScope<R>(fn: (scope: Scope) => R): R;
  /** A new Arena; throws RangeError when out of memory. */
  arena(): Arena;
  /** Runs fn(arena) and destroys the arena afterwards (also after a promise settles). */
  withArena<R>(fn: (arena: Arena) => R): R;

  leakCheck(fn: (iteration: number) => void, options?: LeakCheckOptions): LeakReport;
  leakCheckAsync(fn: (iteration: number) => unknown, options?: LeakCheckOptions): Promise<LeakReport>;

  trackUnfreed(callback?: (report: UnfreedReport) => void): void;

  wrapExport(name: string, params: ExportKind[], result?: ExportKind | 'void'): (...args: Array<number | bigint>) => any;
}

/** Reads a module's memory width and limits from its bytes (null if it has no memory). */
export declare function readMemoryShape(bytes: ArrayBuffer | ArrayBufferView): {
  imported: boolean; module: string | null; field: string | null;
  is64: boolean; shared: boolean; initial: number; maximum: number | null;
} | null;

/** Creates a memory for a module that imports one (handles node 20 and 24 Memory64 APIs). */
/** Switches memory.buffer to a resizable one where the engine can (see README, Growth); otherwise leaves it. */
export declare function switchToResizableBuffer(memory: WebAssembly.Memory): void;
export declare function createMemory(options: { is64: boolean; initialPages: number; maximumPages: number; shared?: boolean }): WebAssembly.Memory;

export declare function instantiate(source: ModuleSource, options?: InstantiateOptions): Promise<Lmalloc>;
export default Lmalloc;

/** URL of the package's own lmalloc module for the width (both ship in the npm package). */
export declare function moduleURL(width?: 'wasm32' | 'wasm64', options?: { threads?: boolean }): URL;
