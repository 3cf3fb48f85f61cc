// The crate as a native program's global allocator: std's collections,
// strings, boxes and over-aligned types live in lmalloc blocks, a dealloc
// with the right length is accepted, growth and shrinking keep contents, and
// everything freed leaves lmalloc's heap sound and empty of the program's
// blocks. Built by targets/rust/CMakeLists.txt with Debian's rustc, run by ctest.
use std::collections::{BTreeMap, HashMap};

#[global_allocator]
static GLOBAL: lmalloc::Lmalloc = lmalloc::Lmalloc;

#[repr(align(4096))]
struct PageAligned([u8; 100]);

fn main() {
    let before = lmalloc::stats().live_blocks;
    {
        let boxed = Box::new(PageAligned([7; 100]));
        assert_eq!(&*boxed as *const PageAligned as usize % 4096, 0, "4096-byte alignment honoured");
        assert!(unsafe { lmalloc::usable_size(&*boxed as *const PageAligned as *const u8) } >= 100);

        let mut map: HashMap<String, Vec<u64>> = HashMap::new();
        let mut ordered = BTreeMap::new();
        for i in 0..20_000u64 {
            map.entry(format!("key-{}", i % 1000)).or_default().push(i);
            ordered.insert(i, i.to_string().repeat((i % 7) as usize));
        }
        assert!(lmalloc::stats().live_blocks > before + 1000, "the collections are lmalloc blocks");
        let total: u64 = map.values().flatten().sum();
        assert_eq!(total, 20_000 * 19_999 / 2);

        let mut grown = Vec::<u8>::new();
        for i in 0..300_000u32 {
            grown.push(i as u8);
        }
        grown.truncate(10);
        grown.shrink_to_fit();
        assert_eq!(grown, (0..10u8).collect::<Vec<u8>>());
        let zeroed = vec![0u64; 50_000];
        assert!(zeroed.iter().all(|&x| x == 0));
        assert_eq!(boxed.0[99], 7);
    }
    let after = lmalloc::stats();
    assert_eq!(after.live_blocks, before, "every block went back");
    assert_eq!(after.misuse_count, 0);
    assert_eq!(lmalloc::check(), 0, "lm_check finds the heap sound");
    println!("rust global_alloc: PASS ({} growth calls)", after.grow_calls);
}
