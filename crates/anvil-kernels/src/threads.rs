//! The worker pool large buckets are split across: as many threads as cores by default,
//! `ANVIL_NUM_THREADS` at start-up, or `set_num_threads` at run time (1 = the calling thread only).

use std::sync::{Arc, OnceLock, RwLock};

use rayon::{ThreadPool, ThreadPoolBuilder};

use crate::error::KernelError;

/// Elements a kernel is handed at a time, and the unit of work a thread takes (optimizer steps,
/// norms, scaling passes). Fixed, so how work is cut (and reductions associate) does not depend
/// on the thread count.
pub(crate) const CHUNK: usize = 1 << 16;

/// Work smaller than this (in elements) runs on the calling thread: waking workers costs more
/// than it saves.
pub(crate) const PARALLEL_MIN: usize = 1 << 18;

struct Pool {
    threads: usize,
    pool: Option<Arc<ThreadPool>>,
}

fn slot() -> &'static RwLock<Pool> {
    static POOL: OnceLock<RwLock<Pool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let from_env = std::env::var("ANVIL_NUM_THREADS").ok().and_then(|v| v.trim().parse::<usize>().ok()).filter(|&n| n > 0);
        let threads = from_env.unwrap_or_else(default_threads);
        RwLock::new(Pool { threads, pool: build(threads).ok().flatten() })
    })
}

fn default_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

fn build(threads: usize) -> Result<Option<Arc<ThreadPool>>, KernelError> {
    if threads <= 1 {
        return Ok(None);
    }
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("anvil-worker-{i}"))
        .build()
        .map(|p| Some(Arc::new(p)))
        .map_err(|e| KernelError::new(format!("could not start {threads} worker threads: {e}")))
}

/// Threads the kernels use for large buckets.
pub fn num_threads() -> usize {
    slot().read().map(|p| p.threads).unwrap_or(1)
}

/// Sets the thread count (`0` = one per core). Takes effect for the next step.
pub fn set_num_threads(threads: usize) -> Result<(), KernelError> {
    let threads = if threads == 0 { default_threads() } else { threads };
    let pool = build(threads)?;
    let mut slot = slot().write().map_err(|_| KernelError::new("thread pool lock poisoned"))?;
    *slot = Pool { threads, pool };
    Ok(())
}

/// The pool to split work across, `None` when running on one thread.
pub(crate) fn pool() -> Option<Arc<ThreadPool>> {
    slot().read().ok().and_then(|p| p.pool.clone())
}
