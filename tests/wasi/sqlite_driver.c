/* sqlite_driver — a real C program on lmalloc: the SQLite amalgamation
 * (fetched by toolchain/setup.sh, never committed) running one SQL workload
 * in an in-memory database, built twice: with lmalloc as malloc
 * (LM_DRIVER_LMALLOC=1) and with wasi-libc's own dlmalloc. Both builds must
 * print exactly the same results.
 *
 *   sqlite_driver.wasm [--rows N]     (default 100000 orders, N/10 customers)
 *
 * The workload: inserts in one transaction, two indexes, joins with GROUP
 * BY, sorts of every row, JSON built, read and rewritten (json_object,
 * json_extract, json_set, json_group_array), an UPDATE and a DELETE.
 * stdout: the query results. stderr: "growth calls: N" (sbrk calls that grew
 * memory, whoever made them) and, built with lmalloc, lm_check()'s count,
 * which must be 0.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sqlite3.h"
#if LM_DRIVER_LMALLOC
#include "lmalloc.h"
#endif

/* wasi-libc's sbrk, counting the calls that grow memory. Both allocators
 * grow through sbrk here (dlmalloc by design, lmalloc through its WASI
 * seam), so the count is the same measure for both builds. */
static unsigned long growth_calls;

void *sbrk(intptr_t increment)
{
    uintptr_t old_end = __builtin_wasm_memory_size(0) * 65536u;
    if (increment == 0)
        return (void *)old_end;
    if (increment < 0 || increment % 65536)
        abort();    /* as wasi-libc's: memory never shrinks, whole pages only */
    if (__builtin_wasm_memory_grow(0, (uintptr_t)increment / 65536u) == (size_t)-1)
        return (void *)-1;
    growth_calls++;
    return (void *)old_end;
}

static sqlite3 *db;

static void fail(const char *what)
{
    fprintf(stderr, "sqlite_driver: %s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
}

static void exec(const char *sql)
{
    char *error = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &error) != SQLITE_OK) {
        fprintf(stderr, "sqlite_driver: %s\n  in: %s\n", error, sql);
        exit(1);
    }
}

/* Runs a query and prints every row, columns separated by '|'. */
static void query(const char *title, const char *sql)
{
    sqlite3_stmt *statement;
    if (sqlite3_prepare_v2(db, sql, -1, &statement, NULL) != SQLITE_OK)
        fail(title);
    printf("-- %s\n", title);
    int status;
    while ((status = sqlite3_step(statement)) == SQLITE_ROW) {
        for (int column = 0; column < sqlite3_column_count(statement); column++) {
            const unsigned char *text = sqlite3_column_text(statement, column);
            printf("%s%s", column ? "|" : "", text ? (const char *)text : "NULL");
        }
        putchar('\n');
    }
    if (status != SQLITE_DONE)
        fail(title);
    sqlite3_finalize(statement);
}

static uint64_t rng_state = 0x5EED;
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static const char *const cities[] = { "Lagos", "Lima", "Oslo", "Pune", "Quito", "Riga", "Seoul", "Turin" };
static const char *const items[] = { "anvil", "bolt", "cable", "drill", "easel", "flask", "gauge", "hinge",
                                     "inlet", "jack", "kettle", "lathe", "mallet", "nozzle", "oar", "pulley" };

static void insert_rows(long customers, long orders)
{
    sqlite3_stmt *statement;
    char text[256];
    exec("BEGIN");
    if (sqlite3_prepare_v2(db, "INSERT INTO customers VALUES (?1, ?2, ?3, ?4)", -1, &statement, NULL))
        fail("prepare customers");
    for (long id = 1; id <= customers; id++) {
        const char *city = cities[rng_next() % 8];
        snprintf(text, sizeof text, "customer-%06ld-%llx", id, (unsigned long long)(rng_next() % 0xFFFFF));
        sqlite3_bind_int64(statement, 1, id);
        sqlite3_bind_text(statement, 2, text, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(statement, 3, city, -1, SQLITE_STATIC);
        snprintf(text, sizeof text, "{\"tier\":%d,\"tags\":[\"t%d\",\"t%d\"],\"since\":%d}",
                 (int)(rng_next() % 4), (int)(rng_next() % 10), (int)(rng_next() % 10),
                 2000 + (int)(rng_next() % 25));
        sqlite3_bind_text(statement, 4, text, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(statement) != SQLITE_DONE) fail("insert customer");
        sqlite3_reset(statement);
    }
    sqlite3_finalize(statement);
    if (sqlite3_prepare_v2(db, "INSERT INTO orders VALUES (?1, ?2, ?3, ?4, ?5)", -1, &statement, NULL))
        fail("prepare orders");
    for (long id = 1; id <= orders; id++) {
        int amount = (int)(rng_next() % 100000);
        const char *item = items[rng_next() % 16];
        /* Notes of varied length, so blocks of many sizes come and go. */
        int note_len = (int)(rng_next() % 120);
        char note[128];
        for (int i = 0; i < note_len; i++) note[i] = (char)('a' + rng_next() % 26);
        note[note_len] = 0;
        snprintf(text, sizeof text, "{\"tag\":\"%c%c\",\"qty\":%d,\"note\":\"%s\"}",
                 'a' + (int)(rng_next() % 6), 'a' + (int)(rng_next() % 6), 1 + (int)(rng_next() % 50), note);
        sqlite3_bind_int64(statement, 1, id);
        sqlite3_bind_int64(statement, 2, 1 + (long)(rng_next() % (uint64_t)customers));
        sqlite3_bind_int(statement, 3, amount);
        sqlite3_bind_text(statement, 4, item, -1, SQLITE_STATIC);
        sqlite3_bind_text(statement, 5, text, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(statement) != SQLITE_DONE) fail("insert order");
        sqlite3_reset(statement);
    }
    sqlite3_finalize(statement);
    exec("COMMIT");
}

int main(int argc, char **argv)
{
    long orders = 100000;
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--rows") == 0) orders = atol(argv[i + 1]);
    if (orders < 10) {
        fprintf(stderr, "usage: sqlite_driver [--rows N]  (N >= 10)\n");
        return 2;
    }
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
        fail("open");
    exec("CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, city TEXT, profile TEXT);"
         "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer INTEGER, amount INTEGER, item TEXT, meta TEXT)");
    insert_rows(orders / 10, orders);
    exec("CREATE INDEX orders_customer ON orders(customer);"
         "CREATE INDEX customers_city ON customers(city, id)");

    query("rows", "SELECT (SELECT count(*) FROM customers), count(*), sum(amount) FROM orders");
    query("revenue by city (join, group, sort)",
          "SELECT c.city, count(*), sum(o.amount) FROM orders o JOIN customers c ON c.id = o.customer "
          "GROUP BY c.city ORDER BY 3 DESC, 1");
    query("top customers (join, group, sort)",
          "SELECT c.name, c.city, sum(o.amount) AS total, count(*) FROM customers c "
          "JOIN orders o ON o.customer = c.id GROUP BY c.id ORDER BY total DESC, c.id LIMIT 5");
    query("tags from JSON",
          "SELECT json_extract(meta, '$.tag') AS tag, count(*), sum(json_extract(meta, '$.qty')) "
          "FROM orders GROUP BY tag ORDER BY tag");
    query("full sort of every order",
          "SELECT id, item, amount, length(meta) FROM orders ORDER BY item, amount DESC, id "
          "LIMIT 3 OFFSET 50");
    query("sort by a JSON field",
          "SELECT id, json_extract(meta, '$.note') FROM orders "
          "ORDER BY json_extract(meta, '$.note') DESC, id LIMIT 3");
    query("JSON built from rows",
          "SELECT json_group_array(json_object('id', id, 'amount', amount, 'city', "
          "(SELECT city FROM customers WHERE id = customer))) "
          "FROM (SELECT * FROM orders ORDER BY amount DESC, id LIMIT 4)");
    query("customers by tier (JSON in the other table)",
          "SELECT json_extract(profile, '$.tier') AS tier, count(*), min(name), max(json_extract(profile, '$.since')) "
          "FROM customers GROUP BY tier ORDER BY tier");
    exec("UPDATE orders SET meta = json_set(meta, '$.flagged', json('true'), '$.note', upper(json_extract(meta, '$.note'))) "
         "WHERE amount % 7 = 0");
    query("after UPDATE with json_set",
          "SELECT count(*), sum(length(meta)) FROM orders WHERE json_extract(meta, '$.flagged')");
    exec("DELETE FROM orders WHERE amount < 20000");
    query("after DELETE",
          "SELECT count(*), sum(amount), (SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer "
          "WHERE c.city = 'Oslo') FROM orders");
    query("cities ranked (window function)",
          "SELECT city, n, rank() OVER (ORDER BY n DESC) FROM "
          "(SELECT city, count(*) AS n FROM customers GROUP BY city) ORDER BY city");
    sqlite3_close(db);

    fprintf(stderr, "growth calls: %lu\n", growth_calls);
#if LM_DRIVER_LMALLOC
    size_t problems = lm_check();
    fprintf(stderr, "lm_check: %zu\n", problems);
    if (problems != 0) return 1;
#endif
    return 0;
}
