# A stdlib-heavy job for tests/preload/run.sh: its output must be the same
# byte for byte with and without a preloaded malloc. Deterministic: fixed
# seeds, sorted output, no times or addresses.
import collections, decimal, difflib, fractions, hashlib, heapq, io, itertools
import json, random, re, sqlite3, statistics, textwrap, threading, zlib
from concurrent.futures import ThreadPoolExecutor

rng = random.Random(22)
words = [''.join(rng.choice('abcdefghij') for _ in range(rng.randint(2, 9))) for _ in range(40000)]
counts = collections.Counter(words)
print('distinct words', len(counts), 'most common', counts.most_common(3))

# Objects built and dropped: dicts, lists, strings, a JSON round trip.
records = [{'id': i, 'name': words[i], 'tags': words[i:i + 3], 'score': i * 7 % 101} for i in range(20000)]
blob = json.dumps(records, sort_keys=True)
back = json.loads(blob)
print('json bytes', len(blob), 'sha256', hashlib.sha256(blob.encode()).hexdigest()[:16], 'same', back == records)

# Regex, text and diffs.
text = ' '.join(words[:5000])
print('regex matches', len(re.findall(r'\b[a-c]+[d-f]\w*', text)))
print(textwrap.shorten(text, 60))
diff = list(difflib.unified_diff(words[:300], sorted(words[:300]), lineterm=''))
print('diff lines', len(diff))

# Numbers: decimal, fractions, statistics.
decimal.getcontext().prec = 50
print('decimal', sum(decimal.Decimal(1) / decimal.Decimal(n) for n in range(1, 2000)))
print('fraction', sum(fractions.Fraction(1, n) for n in range(1, 300)).limit_denominator(10**12))
print('stats', statistics.mean(r['score'] for r in records), statistics.median(r['score'] for r in records))

# zlib and sqlite3 (the module, in memory).
packed = zlib.compress(blob.encode(), 6)
print('zlib', len(packed), zlib.decompress(packed) == blob.encode())
db = sqlite3.connect(':memory:')
db.execute('create table r (id integer primary key, name text, score integer)')
db.executemany('insert into r values (?, ?, ?)', [(r['id'], r['name'], r['score']) for r in records])
print('sqlite', db.execute('select score % 10, count(*), max(name) from r group by 1 order by 1').fetchall()[:4])

# Threads: each builds, sorts and hashes its own data and hands lists to the
# others through a queue, so objects are freed by other threads.
def work(seed):
    local = random.Random(seed)
    data = sorted((local.random(), str(local.randrange(10**9))) for _ in range(30000))
    return hashlib.sha1(repr(data).encode()).hexdigest()[:12]

with ThreadPoolExecutor(max_workers=4) as pool:
    print('threads', list(pool.map(work, range(8))))

lock = threading.Lock()
shared = []
def produce(n):
    for i in range(2000):
        item = [n, i, str(i) * 3, {'k': i}]
        with lock:
            shared.append(item)
threads = [threading.Thread(target=produce, args=(n,)) for n in range(4)]
for t in threads: t.start()
for t in threads: t.join()
print('produced', len(shared), sum(item[1] for item in shared))
print('heap', heapq.nsmallest(5, [(r['score'], r['id']) for r in records]))
print('groups', [(k, len(list(g))) for k, g in itertools.groupby(sorted(counts.values()))][:6])
