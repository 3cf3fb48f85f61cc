/* Validates lmtrace v1 files (../shared/lmtrace-format.md) on any target:
 * the header, every event line's syntax, ids below slots, the event count,
 * and the liveness rules (allocate only ids not live, realloc/free only live
 * ids). Prints "valid: <events> events, <slots> slots, peak live <bytes>
 * bytes (<objects> objects), <live> left live" or the first problem found
 * with its line, and exits 1 on any invalid file.
 *
 *   lmtrace_check <file.lmtrace[.gz]>...
 */
#include "../../targets/host.h"
#include "../harness.h"
#include "../lmtrace_reader.h"

/* Bitmap of live ids and each live id's size: 1 MiB of bitmap covers 2^23
 * slots; sizes are tracked (to report the peak) up to SIZE_SLOTS. Static
 * arrays are zeros in a wasm object file: kept modest. */
#define BITMAP_BYTES (1u << 20)
#define SIZE_SLOTS (1u << 20)
static uint8_t live[BITMAP_BYTES];
static uint64_t sizes[SIZE_SLOTS];
static lmtrace_reader reader;

static int check_file(const char *path)
{
    if (lmtrace_open(&reader, path) != 0) {
        out_fmt(&bench_stdout, "%s: invalid: %s\n", path, reader.error);
        return 0;
    }
    if (reader.slots > (uint64_t)BITMAP_BYTES * 8) {
        out_fmt(&bench_stdout, "%s: slots=%U is more than this validator handles\n", path, reader.slots);
        lmtrace_close(&reader);
        return 0;
    }
    for (size_t index = 0; index < lmtrace_liveness_bytes(reader.slots); index++)
        live[index] = 0;
    uint64_t live_bytes = 0, peak_bytes = 0, live_objects = 0, peak_objects = 0;
    int sized = reader.slots <= SIZE_SLOTS;
    char error[200];
    lmtrace_event event;
    for (;;) {
        /* One event at a time, so a problem is reported with its line. */
        intptr_t got = lmtrace_read(&reader, &event, 1);
        if (got < 0) {
            out_fmt(&bench_stdout, "%s: invalid: %s\n", path, reader.error);
            lmtrace_close(&reader);
            return 0;
        }
        if (got == 0)
            break;
        if (lmtrace_liveness_apply(live, &event, reader.events_read, error, sizeof error) != 0) {
            out_fmt(&bench_stdout, "%s: invalid: line %U: %s\n", path, reader.line, error);
            lmtrace_close(&reader);
            return 0;
        }
        unsigned op = lmtrace_event_op(&event);
        uint64_t size = op == LMTRACE_CALLOC ? event.size * lmtrace_event_arg(&event) : event.size;
        if (op == LMTRACE_FREE) {
            live_objects--;
            if (sized)
                live_bytes -= sizes[event.id];
        } else if (op == LMTRACE_REALLOC) {
            if (sized) {
                live_bytes = live_bytes - sizes[event.id] + size;
                sizes[event.id] = size;
            }
        } else {
            live_objects++;
            if (sized) {
                live_bytes += size;
                sizes[event.id] = size;
            }
        }
        if (live_bytes > peak_bytes)
            peak_bytes = live_bytes;
        if (live_objects > peak_objects)
            peak_objects = live_objects;
    }
    lmtrace_close(&reader);
    out_fmt(&bench_stdout, "%s: valid: %U events, %U slots, ", path, reader.events_read, reader.slots);
    if (sized)
        out_fmt(&bench_stdout, "peak live %U bytes (%U objects), %U left live\n", peak_bytes, peak_objects,
                live_objects);
    else
        out_fmt(&bench_stdout, "peak live %U objects, %U left live\n", peak_objects, live_objects);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        bench_fail("usage: lmtrace_check <file.lmtrace[.gz]>...");
    int all_valid = 1;
    for (int index = 1; index < argc; index++) {
        if (!check_file(argv[index]))
            all_valid = 0;
        out_flush(&bench_stdout);
    }
    return all_valid ? 0 : 1;
}
