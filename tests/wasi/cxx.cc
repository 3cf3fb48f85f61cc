// cxx — a C++ program (libc++ for wasm32-wasi, -fno-exceptions) with lmalloc
// as malloc: operator new reaches lmalloc, so std::map, std::string and
// std::vector live in lmalloc blocks, and lm_stats counts them.
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "lmalloc.h"

static int failures;
#define CHECK(expr) \
    ((expr) ? (void)0 : (void)(failures++, std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr)))

static unsigned long long live_blocks()
{
    lm_stats_t stats;
    lm_stats(&stats);
    return stats.live_blocks;
}

int main()
{
    // A block from operator new is an lmalloc block: lm_usable_size would
    // report a pointer lmalloc did not hand out, and stop the program.
    int *number = new int(42);
    CHECK(lm_usable_size(number) >= sizeof(int));
    delete number;

    unsigned long long before = live_blocks();
    long long total = 0;
    {
        std::map<std::string, std::vector<int>> index;
        for (int i = 0; i < 20000; i++) {
            std::string key = "key-" + std::to_string(i % 997) + std::string(static_cast<size_t>(i % 40), 'x');
            index[key].push_back(i);
        }
        CHECK(index.size() == 20000);   // (i % 997, i % 40) never repeats below 39880
        CHECK(live_blocks() > before + 1000);   // nodes, strings and vectors
        for (const auto &entry : index)
            for (int value : entry.second) total += value;
        std::vector<std::string> words(5000, std::string(100, 'w'));
        words.resize(100);
        CHECK(lm_usable_size(words.data()) >= 5000 * sizeof(std::string));
    }
    CHECK(total == 20000LL * 19999 / 2);
    CHECK(live_blocks() == before);   // every block went back to lmalloc
    CHECK(lm_check() == 0);
    std::printf("cxx: %s\n", failures ? "FAIL" : "PASS");
    return failures != 0;
}
