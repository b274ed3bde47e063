//! Batch-level parallelism and scratch memory: a batch is split into contiguous sample ranges run
//! on scoped threads, and im2col buffers come from a pool so hot paths do not allocate per call.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// Set at run time by `set_threads`; 0 = not set.
static OVERRIDE: AtomicUsize = AtomicUsize::new(0);

/// Worker count: `set_threads`, else `ANVIL_NUM_THREADS` (as the optimizer kernels read it), else
/// the machine's available parallelism.
pub fn threads() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    match OVERRIDE.load(Ordering::Relaxed) {
        0 => *N.get_or_init(|| {
            std::env::var("ANVIL_NUM_THREADS")
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .filter(|&n| n > 0)
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        }),
        n => n,
    }
}

/// Sets the worker count for later calls (0 restores the default).
pub fn set_threads(n: usize) {
    OVERRIDE.store(n, Ordering::Relaxed);
}

/// Below this many multiply-adds a call stays on the calling thread (spawning costs ~20 us).
const MIN_WORK_PER_THREAD: usize = 1 << 20;

/// How many workers to use for `items` samples costing `work_per_item` multiply-adds each.
pub fn workers(items: usize, work_per_item: usize) -> usize {
    let by_work = (items.saturating_mul(work_per_item) / MIN_WORK_PER_THREAD).max(1);
    threads().min(items.max(1)).min(by_work)
}

/// Runs `work(worker_index, part)` for every part, the first on the calling thread.
pub fn run<T: Send>(parts: Vec<T>, work: &(impl Fn(usize, T) + Sync)) {
    let mut it = parts.into_iter().enumerate();
    let Some((i0, first)) = it.next() else { return };
    std::thread::scope(|s| {
        for (i, p) in it {
            s.spawn(move || work(i, p));
        }
        work(i0, first);
    });
}

/// A reusable zero-length-or-more `f32` buffer; returned to the pool when dropped.
pub struct Scratch(Vec<f32>);

static POOL: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());

impl Scratch {
    /// A buffer of exactly `len` elements (contents unspecified).
    pub fn take(len: usize) -> Scratch {
        let mut v = POOL.lock().map(|mut p| p.pop()).ok().flatten().unwrap_or_default();
        v.resize(len, 0.0);
        Scratch(v)
    }
}

impl std::ops::Deref for Scratch {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.0
    }
}

impl std::ops::DerefMut for Scratch {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let v = std::mem::take(&mut self.0);
        if let Ok(mut p) = POOL.lock() {
            if p.len() < 16 {
                p.push(v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_runs_once() {
        let mut out = vec![0usize; 5];
        let parts: Vec<(usize, &mut [usize])> = out.chunks_mut(2).enumerate().collect();
        run(parts, &|w, (i, chunk): (usize, &mut [usize])| chunk.iter_mut().for_each(|v| *v = w * 10 + i));
        assert_eq!(out, [0, 0, 11, 11, 22]);
    }

    #[test]
    fn scratch_is_reused_and_sized() {
        drop(Scratch::take(10));
        assert_eq!(Scratch::take(3).len(), 3);
        assert!(workers(1, 1) == 1 && workers(64, usize::MAX / 128) <= threads());
    }
}
