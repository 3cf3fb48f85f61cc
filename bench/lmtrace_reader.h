/* Streaming reader of lmtrace v1 files (../shared/lmtrace-format.md), used by
 * the replay workload and the validator, on every target. Text is read in
 * pieces through lm_host_open/lm_host_read (which gunzips .gz files), so a
 * trace of any length can be read with fixed memory.
 *
 * The reader checks syntax (known event letters, numbers in range, the right
 * field count, ids below `slots`, power-of-two alignments, realloc size > 0);
 * the liveness rules need the set of live ids and are checked by
 * lmtrace_liveness_* below.
 */
#ifndef BENCH_LMTRACE_READER_H
#define BENCH_LMTRACE_READER_H

#include <stddef.h>
#include <stdint.h>

enum lmtrace_op {
    LMTRACE_MALLOC = 1,     /* a <id> <size> */
    LMTRACE_CALLOC = 2,     /* c <id> <nmemb> <size> */
    LMTRACE_MEMALIGN = 3,   /* m <id> <align> <size> */
    LMTRACE_REALLOC = 4,    /* r <id> <size> */
    LMTRACE_FREE = 5        /* f <id> */
};

/* One event in 16 bytes. For calloc, `size` is the element size and the
 * argument the element count; for memalign the argument is log2 of the
 * alignment. */
typedef struct lmtrace_event {
    uint64_t size;
    uint32_t id;
    uint32_t op_arg;        /* op in the low 8 bits, argument above (24 bits) */
} lmtrace_event;

static inline unsigned lmtrace_event_op(const lmtrace_event *event) { return event->op_arg & 0xffu; }
static inline uint32_t lmtrace_event_arg(const lmtrace_event *event) { return event->op_arg >> 8; }

typedef struct lmtrace_reader {
    int handle;
    uint64_t slots;             /* header: ids run 0..slots-1 */
    uint64_t events;            /* header: number of event lines */
    uint64_t peak_live_bytes;   /* header, informational; 0 if absent */
    char program[64];           /* header, informational; "" if absent */
    uint64_t line;              /* line number of the last line read */
    uint64_t events_read;
    char error[256];            /* set when a call fails */
    size_t pos, len;
    int at_end;
    char buf[1 << 16];
} lmtrace_reader;

/* Opens the file and reads its header. 0 on success; -1 with reader->error
 * naming the file, line and what was wrong. */
int lmtrace_open(lmtrace_reader *reader, const char *path);

/* Reads up to `capacity` events into `out`. Returns the number read (0 at a
 * clean end, after checking the count matches the header), or -1 with
 * reader->error set. */
intptr_t lmtrace_read(lmtrace_reader *reader, lmtrace_event *out, size_t capacity);

void lmtrace_close(lmtrace_reader *reader);

/* Liveness rules over a bitmap of `slots` bits (caller-provided storage of
 * lmtrace_liveness_bytes(slots), zeroed). Returns 0, or -1 with `error` set. */
size_t lmtrace_liveness_bytes(uint64_t slots);
int lmtrace_liveness_apply(uint8_t *live, const lmtrace_event *event, uint64_t event_number,
                           char *error, size_t error_cap);

#endif
