//! Gradient lists cut into fixed chunks of at most `CHUNK` elements for the clipping and
//! loss-scaling passes, which run on the worker pool when the lists hold at least
//! `PARALLEL_MIN` elements. Chunks never cross a tensor, and reductions get their per-chunk
//! results back in chunk order, so sums associate the same way for every thread count.

use std::ops::Range;

use crate::grads::{GradData, GradList, GradSlice};
use crate::threads::{pool, CHUNK, PARALLEL_MIN};

/// `range` in pieces of at most `CHUNK` elements; an empty range is one empty piece (reductions
/// must still see the tensor).
fn pieces(range: Range<usize>) -> impl Iterator<Item = Range<usize>> {
    let n = range.len().div_ceil(CHUNK).max(1);
    (0..n).map(move |k| {
        let start = range.start + k * CHUNK;
        start..(start + CHUNK).min(range.end)
    })
}

fn included_len(lists: &[GradList<'_>]) -> usize {
    lists.iter().flat_map(|l| l.tensors()).map(|r| r.len()).sum()
}

/// For each included tensor (numbered 0, 1, ... across the lists), in order, `fold(tensor,
/// map(chunk))` for each of its chunks in order. `map` runs on the worker pool for large lists.
pub fn fold_tensor_chunks<T: Send>(lists: &[GradList<'_>], map: impl Fn(GradSlice<'_>) -> T + Sync, mut fold: impl FnMut(usize, T)) {
    let chunks = || {
        let mut tensor = 0;
        lists.iter().flat_map(|l| l.tensors().map(move |r| (l, r))).flat_map(move |(l, r)| {
            let t = tensor;
            tensor += 1;
            pieces(r).map(move |c| (t, l.data.slice(c)))
        })
    };
    match (included_len(lists) >= PARALLEL_MIN).then(pool).flatten() {
        None => chunks().for_each(|(t, c)| fold(t, map(c))),
        Some(pool) => {
            use rayon::prelude::*;
            let work: Vec<(usize, GradSlice<'_>)> = chunks().collect();
            let results: Vec<T> = pool.install(|| work.par_iter().map(|&(_, c)| map(c)).collect());
            for ((t, _), r) in work.iter().zip(results) {
                fold(*t, r);
            }
        }
    }
}

/// `map` over the included gradients as mutable runs (neighbouring tensors merged, cut into
/// chunks for the worker pool when the lists are large); the results in no particular order
/// of association, for passes whose results commute (flags OR-ed, or nothing).
pub fn for_each_run_mut<T: Send>(lists: &mut [GradList<'_>], map: impl Fn(GradData<'_>) -> T + Sync, mut fold: impl FnMut(T)) {
    match (included_len(lists) >= PARALLEL_MIN).then(pool).flatten() {
        None => {
            for list in lists.iter_mut() {
                for r in list.runs() {
                    fold(map(list.data.slice_mut(r)));
                }
            }
        }
        Some(pool) => {
            use rayon::prelude::*;
            let mut work = Vec::new();
            for list in lists.iter_mut() {
                let runs = list.runs().flat_map(pieces);
                list.data.cut(runs, &mut work);
            }
            let results: Vec<T> = pool.install(|| work.into_par_iter().map(&map).collect());
            results.into_iter().for_each(fold);
        }
    }
}
