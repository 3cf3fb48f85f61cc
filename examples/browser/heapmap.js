// Runs one allocation workload on lmalloc's wasm32 and wasm64 builds side by
// side and draws each heap live: a map of linear memory (static data, used
// blocks, free space inside the heap, memory the heap has not used yet, page
// boundaries) with lm_stats and fragmentation figures beside it.
//
// Served by test-browser.mjs: ./lmalloc.js is targets/js/lmalloc.js and
// ./wasm32/lmalloc.wasm, ./wasm64/lmalloc.wasm are the two builds.
// Results land in window.lmallocResults and <body data-status="done|error">.
import { Lmalloc } from './lmalloc.js';

const params = new URLSearchParams(location.search);
const TOTAL_OPS = Number(params.get('ops') ?? 6000);
const OPS_PER_FRAME = 150;
const MAX_LIVE = 700;
const PAGE = 65536;
const CELL_PX = 2;          // cell width
const ROW_PX = 3;           // 2 pixels of cells + 1 pixel gap: the gaps separate pages
const COLUMNS = 256;
const ROWS = 160;
const CELLS = COLUMNS * ROWS;

const COLORS = {
  static: [158, 158, 158],
  used: [46, 125, 50],
  free: [200, 230, 201],
  unused: [238, 238, 238],
  outside: [255, 255, 255],
};

window.lmallocResults = {};

// xorshift32: the same workload on both widths, every run.
function random(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 4294967296;
  };
}

// Mostly small blocks, some medium, a few large: a typical app's mix.
function pickSize(next) {
  const r = next();
  if (r < 0.75) return 16 + Math.floor(next() * 496);
  if (r < 0.97) return 1024 + Math.floor(next() * 15 * 1024);
  return 64 * 1024 + Math.floor(next() * 448 * 1024);
}

class HeapMap {
  constructor(section, name) {
    this.name = name;
    const row = document.createElement('div');
    row.className = 'row';
    this.canvas = document.createElement('canvas');
    this.canvas.width = COLUMNS * CELL_PX;
    this.canvas.height = ROWS * ROW_PX;
    this.canvas.dataset.build = name;
    this.table = document.createElement('table');
    row.append(this.canvas, this.table);
    this.status = document.createElement('div');
    this.status.className = 'status';
    this.status.textContent = 'loading…';
    section.append(row, this.status);
    this.context = this.canvas.getContext('2d');
    this.image = this.context.createImageData(this.canvas.width, this.canvas.height);
    this.heapStart = Infinity;
  }

  // blocks: Map ptr -> usable size. Returns fragmentation figures.
  // Each row of the map is one 64 KiB page (or a few, once memory outgrows
  // the rows), so the gaps between rows are page boundaries.
  draw(heap, blocks, stats) {
    const memoryBytes = heap.byteLength;
    const pagesPerRow = Math.max(1, Math.ceil(memoryBytes / PAGE / ROWS));
    const bytesPerCell = (pagesPerRow * PAGE) / COLUMNS;
    for (const ptr of blocks.keys()) this.heapStart = Math.min(this.heapStart, ptr - 16);
    const heapEnd = Math.min(memoryBytes, this.heapStart + stats.footprint);

    const coverage = new Float32Array(CELLS);
    const sorted = [...blocks].sort((a, b) => a[0] - b[0]);
    for (const [start, size] of sorted) {
      const end = start + size;
      for (let cell = Math.floor(start / bytesPerCell); cell * bytesPerCell < end && cell < CELLS; cell++) {
        const from = Math.max(start, cell * bytesPerCell);
        const to = Math.min(end, (cell + 1) * bytesPerCell);
        coverage[cell] += (to - from) / bytesPerCell;
      }
    }

    // External fragmentation: how much of the free space is not in its largest gap.
    let previousEnd = this.heapStart, largestGap = 0, totalGap = 0;
    for (const [start, size] of sorted) {
      const gap = Math.max(0, start - previousEnd);
      largestGap = Math.max(largestGap, gap);
      totalGap += gap;
      previousEnd = Math.max(previousEnd, start + size);
    }
    const tail = Math.max(0, heapEnd - previousEnd);
    largestGap = Math.max(largestGap, tail);
    totalGap += tail;

    const pixels = this.image.data;
    pixels.fill(255);
    let usedCells = 0;
    for (let cell = 0; cell < CELLS; cell++) {
      const address = cell * bytesPerCell;
      let color;
      if (address >= memoryBytes) color = COLORS.outside;
      else if (address + bytesPerCell <= this.heapStart) color = COLORS.static;
      else if (address >= heapEnd) color = COLORS.unused;
      else {
        const used = Math.min(1, coverage[cell]);
        if (used > 0) usedCells++;
        color = COLORS.free.map((free, i) => Math.round(free + (COLORS.used[i] - free) * used));
      }
      const x0 = (cell % COLUMNS) * CELL_PX, y0 = Math.floor(cell / COLUMNS) * ROW_PX;
      for (let dy = 0; dy < ROW_PX - 1; dy++) {
        for (let dx = 0; dx < CELL_PX; dx++) {
          const at = ((y0 + dy) * this.canvas.width + x0 + dx) * 4;
          pixels[at] = color[0]; pixels[at + 1] = color[1]; pixels[at + 2] = color[2]; pixels[at + 3] = 255;
        }
      }
    }
    this.context.putImageData(this.image, 0, 0);
    return {
      usedCells,
      bytesPerCell,
      pagesPerRow,
      utilization: stats.footprint ? stats.liveBytes / stats.footprint : 0,
      externalFragmentation: totalGap ? 1 - largestGap / totalGap : 0,
    };
  }

  showStats(entries) {
    this.table.replaceChildren(...entries.map(([label, value]) => {
      const tr = document.createElement('tr');
      const name = document.createElement('td');
      const cell = document.createElement('td');
      name.textContent = label;
      cell.textContent = value;
      tr.append(name, cell);
      return tr;
    }));
  }
}

const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
const percent = (fraction) => `${(fraction * 100).toFixed(1)} %`;
const nextFrame = () => new Promise((resolve) => requestAnimationFrame(resolve));

async function runBuild(name) {
  const map = new HeapMap(document.getElementById(name), name);
  try {
    const heap = await Lmalloc.instantiate(fetch(`./${name}/lmalloc.wasm`));
    const expectedBits = name === 'wasm64' ? 64 : 32;
    if (heap.pointerBits !== expectedBits) throw new Error(`${name}: detected wasm${heap.pointerBits}`);
    const next = random(20240611);
    const blocks = new Map();              // ptr -> usable size
    const lengths = new Map();             // ptr -> requested length (for freeSized)
    let ops = 0, figures = null;

    const allocate = () => {
      const len = pickSize(next);
      const ptr = heap.malloc(len);
      if (ptr === 0) throw new Error(`${name}: malloc(${len}) failed`);
      heap.u8(ptr, Math.min(len, 64)).fill(ops & 0xff);
      blocks.set(ptr, heap.usableSize(ptr));
      lengths.set(ptr, len);
    };
    const randomLive = () => [...blocks.keys()][Math.floor(next() * blocks.size)];

    while (ops < TOTAL_OPS) {
      for (let i = 0; i < OPS_PER_FRAME && ops < TOTAL_OPS; i++, ops++) {
        const r = next();
        // Grow the live set in the first half, shrink it in the second.
        const allocBias = ops < TOTAL_OPS / 2 ? 0.62 : 0.4;
        if (blocks.size === 0 || (r < allocBias && blocks.size < MAX_LIVE)) {
          allocate();
        } else if (r < allocBias + 0.1) {
          const ptr = randomLive();
          const len = pickSize(next);
          const moved = heap.realloc(ptr, len);
          if (moved === 0) throw new Error(`${name}: realloc failed`);
          blocks.delete(ptr); lengths.delete(ptr);
          blocks.set(moved, heap.usableSize(moved));
          lengths.set(moved, len);
        } else {
          const ptr = randomLive();
          heap.freeSized(ptr, lengths.get(ptr));
          blocks.delete(ptr); lengths.delete(ptr);
        }
      }
      const stats = heap.stats();
      figures = map.draw(heap, blocks, stats);
      map.showStats([
        ['operations', ops],
        ['live blocks', stats.liveBlocks],
        ['live bytes', kib(stats.liveBytes)],
        ['heap footprint', kib(stats.footprint)],
        ['peak footprint', kib(stats.peakFootprint)],
        ['memory size', `${heap.byteLength / PAGE} pages`],
        ['memory.grow calls', stats.growCalls],
        ['failed allocations', stats.failedAllocs],
        ['metadata bytes', kib(stats.metadataBytes)],
        ['utilization', percent(figures.utilization)],
        ['external fragmentation', percent(figures.externalFragmentation)],
        ['pages per map row', figures.pagesPerRow],
        ['bytes per cell', figures.bytesPerCell],
      ]);
      map.status.textContent = `running… ${ops}/${TOTAL_OPS}`;
      await nextFrame();
    }

    const check = heap.check();
    const final = heap.stats();
    const liveAtEnd = blocks.size;
    if (final.liveBlocks !== liveAtEnd) throw new Error(`${name}: stats count ${final.liveBlocks} live blocks, JS holds ${liveAtEnd}`);
    for (const [ptr, len] of lengths) heap.freeSized(ptr, len);
    const afterFree = heap.stats();
    if (check !== 0 || heap.check() !== 0) throw new Error(`${name}: lm_check() found ${check} problems`);
    if (afterFree.liveBlocks !== 0) throw new Error(`${name}: ${afterFree.liveBlocks} blocks left after freeing all`);

    map.status.textContent = `done: ${ops} operations, lm_check() = 0, ${liveAtEnd} blocks shown`;
    window.lmallocResults[name] = {
      ok: true, pointerBits: heap.pointerBits, ops, liveAtEnd, usedCells: figures.usedCells,
      peakFootprint: final.peakFootprint, growCalls: final.growCalls, check,
      resizableBuffer: heap.resizableBuffer,
      engineHasResizableBuffers: typeof WebAssembly.Memory.prototype.toResizableBuffer === 'function',
    };
  } catch (error) {
    map.status.textContent = `error: ${error.message}`;
    map.status.classList.add('error');
    window.lmallocResults[name] = { ok: false, error: String(error && error.stack || error) };
    console.error(error);
  }
}

await Promise.all([runBuild('wasm32'), runBuild('wasm64')]);
document.body.dataset.status = Object.values(window.lmallocResults).every((result) => result.ok) ? 'done' : 'error';
