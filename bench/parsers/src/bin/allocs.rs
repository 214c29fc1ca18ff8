//! Heap allocations per operation, counted by a wrapping global allocator.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    alloc::{GlobalAlloc, Layout, System},
    hint::black_box,
    sync::atomic::{AtomicUsize, Ordering},
};

use herald_bench_parsers::{herald, messages, rsip_crate, sipx};

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn count<T>(f: impl FnOnce() -> T) -> usize {
    let before = ALLOCS.load(Ordering::Relaxed);
    let out = f();
    let n = ALLOCS.load(Ordering::Relaxed) - before;
    drop(black_box(out));
    n
}

fn main() {
    println!("message\tcrate\tallocs_parse_only\tallocs_parse_typed\tallocs_serialize\theaders");
    for (name, b) in messages() {
        let headers = herald::parse_only(&b).headers().len();
        let (hm, _) = herald::parse_typed(&b);
        let (sm, _) = sipx::parse_typed(&b);
        let (rm, _) = rsip_crate::parse_typed(&b);
        let rows = [
            ("herald-sip", count(|| herald::parse_only(&b)), count(|| herald::parse_typed(&b)), count(|| herald::serialize(&hm))),
            ("sipx-sip", count(|| sipx::parse_only(&b)), count(|| sipx::parse_typed(&b)), count(|| sipx::serialize(&sm))),
            ("rsip", count(|| rsip_crate::parse_only(&b)), count(|| rsip_crate::parse_typed(&b)), count(|| rsip_crate::serialize(&rm))),
        ];
        for (krate, p, t, s) in rows {
            println!("{name}\t{krate}\t{p}\t{t}\t{s}\t{headers}");
        }
    }
}
