/* host_threads — the threads test and benchmark programs get from
 * targets/host.h, on their own (the allocator is not used by the threads):
 *   - the threads run at the same time: each waits for all the others to
 *     arrive before it leaves (it would hang if they ran one after another);
 *   - each has its own thread-locals, initialised from the program's, and
 *     its own stack (locals of the same function at different addresses);
 *   - join waits for the thread's last write; handles are reused after join;
 *   - --case fail: a thread that exits with a code ends the program with it
 *     at the join (wasm: the worker's failure reaches the main thread).
 * A single-threaded wasm build has no threads: start returns -1 there
 * (host_threads_absent, built without THREADS, checks that).
 */
#include "testlib.h"

#define THREADS 4

typedef struct worker {
    int index;
    int tls_seen;            /* the thread-local's value when the thread began */
    uintptr_t local_address; /* a local of the thread's function */
    int finished;
} worker;

static _Thread_local int thread_value = 42;
static int arrived;

static void rendezvous(void)
{
    __atomic_fetch_add(&arrived, 1, __ATOMIC_ACQ_REL);
    uint64_t deadline = lm_host_now_ns() + 20000000000ull;
    while (__atomic_load_n(&arrived, __ATOMIC_ACQUIRE) < THREADS) {
        if (lm_host_now_ns() > deadline) {
            tl_eprintf("host_threads: the threads did not all run at once (%d of %d arrived)\n",
                       __atomic_load_n(&arrived, __ATOMIC_ACQUIRE), THREADS);
            lm_host_exit(1);
        }
    }
}

static void worker_run(void *arg)
{
    worker *self = arg;
    volatile int local = self->index;
    self->tls_seen = thread_value;
    thread_value = 1000 + self->index;
    self->local_address = (uintptr_t)&local;
    rendezvous();
    /* Another thread's writes to its own thread_value never show here. */
    if (thread_value == 1000 + self->index && local == self->index)
        self->finished = 1;
}

static void failing_run(void *arg)
{
    (void)arg;
    tl_eprintf("host_threads: this thread fails on purpose\n");
    lm_host_exit(3);
}

int main(int argc, char **argv)
{
    tl_begin("host_threads");
    const char *which = tl_arg_str(argc, argv, "--case");
    if (which != NULL && tl_streq(which, "fail")) {
        int handle = lm_host_thread_start(failing_run, NULL);
        REQUIRE(handle >= 0);
        lm_host_thread_join(handle);
        tl_eprintf("host_threads: the join returned after the thread failed\n");
        return 0;
    }
    if (which != NULL && tl_streq(which, "absent")) {
        CHECK_EQ(lm_host_thread_start(worker_run, NULL), -1);
        CHECK(lm_host_cpu_count() >= 1);
        return tl_finish();
    }

    CHECK(lm_host_cpu_count() >= 1);
    tl_printf("cpus: %d\n", lm_host_cpu_count());
    for (int round = 0; round < 2; round++) {
        worker workers[THREADS];
        int handles[THREADS];
        __atomic_store_n(&arrived, 0, __ATOMIC_RELEASE);
        for (int i = 0; i < THREADS; i++) {
            workers[i] = (worker){ .index = i };
            handles[i] = lm_host_thread_start(worker_run, &workers[i]);
            REQUIRE(handles[i] >= 0);
        }
        for (int i = 0; i < THREADS; i++)
            lm_host_thread_join(handles[i]);
        for (int i = 0; i < THREADS; i++) {
            CHECK_EQ(workers[i].tls_seen, 42);
            CHECK_EQ(workers[i].finished, 1);
            for (int j = 0; j < i; j++)
                CHECK(workers[i].local_address != workers[j].local_address);
        }
    }
    CHECK_EQ(thread_value, 42);
    return tl_finish();
}
