/* Streaming lmtrace v1 reader (see lmtrace_reader.h). Freestanding C11. */
#include "lmtrace_reader.h"

#include "../targets/host.h"
#include "harness.h"

/* Next line without its newline, or NULL at the end (or on a read error,
 * which sets reader->error). */
static const char *reader_line(lmtrace_reader *reader, size_t *line_len)
{
    for (;;) {
        for (size_t index = reader->pos; index < reader->len; index++) {
            if (reader->buf[index] == '\n') {
                const char *line = reader->buf + reader->pos;
                *line_len = index - reader->pos;
                reader->pos = index + 1;
                reader->line++;
                return line;
            }
        }
        if (reader->at_end) {
            if (reader->pos == reader->len)
                return NULL;
            /* A last line without a newline. */
            const char *line = reader->buf + reader->pos;
            *line_len = reader->len - reader->pos;
            reader->pos = reader->len;
            reader->line++;
            return line;
        }
        /* Keep the partial line, fill the rest of the buffer. */
        size_t keep = reader->len - reader->pos;
        if (keep == sizeof reader->buf) {
            str_fmt(reader->error, sizeof reader->error, "line %U is longer than %Z bytes",
                    reader->line + 1, sizeof reader->buf);
            return NULL;
        }
        for (size_t index = 0; index < keep; index++)
            reader->buf[index] = reader->buf[reader->pos + index];
        reader->pos = 0;
        reader->len = keep;
        intptr_t got = lm_host_read(reader->handle, reader->buf + keep, sizeof reader->buf - keep);
        if (got < 0) {
            str_fmt(reader->error, sizeof reader->error, "read error after line %U", reader->line);
            return NULL;
        }
        if (got == 0)
            reader->at_end = 1;
        reader->len += (size_t)got;
    }
}

/* Parses one unsigned decimal field at *cursor (skipping leading spaces). */
static int field_u64(const char **cursor, const char *end, uint64_t *value)
{
    const char *at = *cursor;
    while (at < end && (*at == ' ' || *at == '\t'))
        at++;
    if (at == end || *at < '0' || *at > '9')
        return 0;
    uint64_t result = 0;
    for (; at < end && *at >= '0' && *at <= '9'; at++) {
        uint64_t digit = (uint64_t)(*at - '0');
        if (result > (UINT64_MAX - digit) / 10)
            return 0;
        result = result * 10 + digit;
    }
    if (at < end && *at != ' ' && *at != '\t' && *at != '\r')
        return 0;
    *cursor = at;
    *value = result;
    return 1;
}

static int rest_is_blank(const char *cursor, const char *end)
{
    for (; cursor < end; cursor++) {
        if (*cursor != ' ' && *cursor != '\t' && *cursor != '\r')
            return 0;
    }
    return 1;
}

/* Finds `key=` as a whole word in the header and parses its value. */
static const char *header_value(const char *line, size_t len, const char *key, size_t *value_len)
{
    size_t key_len = str_len(key);
    for (size_t index = 0; index + key_len + 1 <= len; index++) {
        if (index > 0 && line[index - 1] != ' ')
            continue;
        size_t match = 0;
        while (match < key_len && line[index + match] == key[match])
            match++;
        if (match == key_len && line[index + key_len] == '=') {
            const char *value = line + index + key_len + 1;
            size_t count = 0;
            while (value + count < line + len && value[count] != ' ' && value[count] != '\r')
                count++;
            *value_len = count;
            return value;
        }
    }
    return NULL;
}

static int header_u64(const char *line, size_t len, const char *key, uint64_t *value)
{
    size_t value_len;
    const char *text = header_value(line, len, key, &value_len);
    if (text == NULL)
        return 0;
    const char *cursor = text;
    return field_u64(&cursor, text + value_len, value) && cursor == text + value_len;
}

int lmtrace_open(lmtrace_reader *reader, const char *path)
{
    reader->pos = reader->len = 0;
    reader->at_end = 0;
    reader->line = 0;
    reader->events_read = 0;
    reader->slots = reader->events = reader->peak_live_bytes = 0;
    reader->program[0] = '\0';
    reader->error[0] = '\0';
    reader->handle = lm_host_open(path);
    if (reader->handle < 0) {
        str_fmt(reader->error, sizeof reader->error, "%s: cannot open", path);
        return -1;
    }
    size_t len;
    const char *line = reader_line(reader, &len);
    if (line == NULL || len < 10 || !(str_after(line, "lmtrace 1 ") != NULL)) {
        str_fmt(reader->error, sizeof reader->error,
                "%s: line 1 is not an lmtrace v1 header (\"lmtrace 1 slots=<S> events=<E> ...\")", path);
        lmtrace_close(reader);
        return -1;
    }
    if (!header_u64(line, len, "slots", &reader->slots) || !header_u64(line, len, "events", &reader->events)) {
        str_fmt(reader->error, sizeof reader->error,
                "%s: the header needs numeric slots=<S> and events=<E>", path);
        lmtrace_close(reader);
        return -1;
    }
    if (reader->slots > UINT32_MAX) {
        str_fmt(reader->error, sizeof reader->error, "%s: slots=%U is more than this reader supports (2^32-1)",
                path, reader->slots);
        lmtrace_close(reader);
        return -1;
    }
    uint64_t peak;
    if (header_u64(line, len, "peak_live_bytes", &peak))
        reader->peak_live_bytes = peak;
    size_t program_len;
    const char *program = header_value(line, len, "program", &program_len);
    if (program != NULL) {
        if (program_len >= sizeof reader->program)
            program_len = sizeof reader->program - 1;
        for (size_t index = 0; index < program_len; index++)
            reader->program[index] = program[index];
        reader->program[program_len] = '\0';
    }
    return 0;
}

intptr_t lmtrace_read(lmtrace_reader *reader, lmtrace_event *out, size_t capacity)
{
    size_t count = 0;
    while (count < capacity) {
        size_t len;
        const char *line = reader_line(reader, &len);
        if (line == NULL) {
            if (reader->error[0] != '\0')
                return -1;
            if (reader->events_read != reader->events) {
                str_fmt(reader->error, sizeof reader->error,
                        "the header says events=%U but the file has %U event lines",
                        reader->events, reader->events_read);
                return -1;
            }
            break;
        }
        if (len == 0 || line[0] == '#' || rest_is_blank(line, line + len))
            continue;
        const char *end = line + len;
        const char *cursor = line + 1;
        char letter = line[0];
        uint64_t id = 0, first = 0, second = 0;
        int fields = 0;
        unsigned op;
        switch (letter) {
        case 'a': op = LMTRACE_MALLOC; fields = 2; break;
        case 'c': op = LMTRACE_CALLOC; fields = 3; break;
        case 'm': op = LMTRACE_MEMALIGN; fields = 3; break;
        case 'r': op = LMTRACE_REALLOC; fields = 2; break;
        case 'f': op = LMTRACE_FREE; fields = 1; break;
        default:
            str_fmt(reader->error, sizeof reader->error,
                    "line %U: unknown event '%c' (expected a, c, m, r or f)", reader->line, letter);
            return -1;
        }
        int ok = (len > 1 && (line[1] == ' ' || line[1] == '\t')) && field_u64(&cursor, end, &id);
        if (ok && fields >= 2)
            ok = field_u64(&cursor, end, &first);
        if (ok && fields >= 3)
            ok = field_u64(&cursor, end, &second);
        if (!ok || !rest_is_blank(cursor, end)) {
            str_fmt(reader->error, sizeof reader->error,
                    "line %U: '%c' takes %d unsigned decimal field(s)", reader->line, letter, fields);
            return -1;
        }
        if (id >= reader->slots) {
            str_fmt(reader->error, sizeof reader->error,
                    "line %U: id %U is not below the header's slots=%U", reader->line, id, reader->slots);
            return -1;
        }
        lmtrace_event *event = &out[count];
        event->id = (uint32_t)id;
        uint64_t arg = 0;
        switch (op) {
        case LMTRACE_MALLOC:
        case LMTRACE_REALLOC:
            event->size = first;
            if (op == LMTRACE_REALLOC && first == 0) {
                str_fmt(reader->error, sizeof reader->error,
                        "line %U: realloc to size 0 must be written as 'f'", reader->line);
                return -1;
            }
            break;
        case LMTRACE_CALLOC:
            if (first < ((uint64_t)1 << 24)) {
                arg = first;
                event->size = second;
            } else {
                /* Too many elements for the 24-bit field: keep the byte count. */
                if (second != 0 && first > UINT64_MAX / second) {
                    str_fmt(reader->error, sizeof reader->error,
                            "line %U: calloc %U x %U overflows 64 bits", reader->line, first, second);
                    return -1;
                }
                arg = 1;
                event->size = first * second;
            }
            break;
        case LMTRACE_MEMALIGN:
            if (first == 0 || (first & (first - 1)) != 0) {
                str_fmt(reader->error, sizeof reader->error,
                        "line %U: alignment %U is not a power of two", reader->line, first);
                return -1;
            }
            arg = (uint64_t)__builtin_ctzll(first);
            event->size = second;
            break;
        default:
            event->size = 0;
            break;
        }
        event->op_arg = op | (uint32_t)(arg << 8);
        reader->events_read++;
        if (reader->events_read > reader->events) {
            str_fmt(reader->error, sizeof reader->error,
                    "line %U: more event lines than the header's events=%U", reader->line, reader->events);
            return -1;
        }
        count++;
    }
    return (intptr_t)count;
}

void lmtrace_close(lmtrace_reader *reader)
{
    if (reader->handle >= 0)
        lm_host_close(reader->handle);
    reader->handle = -1;
}

size_t lmtrace_liveness_bytes(uint64_t slots)
{
    return (size_t)((slots + 7) / 8);
}

int lmtrace_liveness_apply(uint8_t *live, const lmtrace_event *event, uint64_t event_number,
                           char *error, size_t error_cap)
{
    uint32_t id = event->id;
    uint8_t bit = (uint8_t)(1u << (id & 7));
    int is_live = (live[id >> 3] & bit) != 0;
    switch (lmtrace_event_op(event)) {
    case LMTRACE_MALLOC:
    case LMTRACE_CALLOC:
    case LMTRACE_MEMALIGN:
        if (is_live) {
            str_fmt(error, error_cap, "event %U: allocates id %u, which is still live", event_number, id);
            return -1;
        }
        live[id >> 3] |= bit;
        return 0;
    case LMTRACE_REALLOC:
        if (!is_live) {
            str_fmt(error, error_cap, "event %U: reallocs id %u, which is not live", event_number, id);
            return -1;
        }
        return 0;
    default:
        if (!is_live) {
            str_fmt(error, error_cap, "event %U: frees id %u, which is not live", event_number, id);
            return -1;
        }
        live[id >> 3] &= (uint8_t)~bit;
        return 0;
    }
}
