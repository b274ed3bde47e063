//! matrixmultiply's sgemm split across the layer threads: C is cut along the larger of its two
//! dimensions into one block per worker, so each thread packs only its share of the wider operand.
//! Used for the big single products (Linear); Conv2d already runs one sample per thread.

use crate::parallel;

/// A raw pointer that may cross to the scoped workers (each touches a disjoint block of C).
#[derive(Clone, Copy)]
struct Ptr<T>(T);
unsafe impl<T> Send for Ptr<T> {}
unsafe impl<T> Sync for Ptr<T> {}

impl<T: Copy> Ptr<T> {
    /// Through a method, so closures capture the whole (Sync) wrapper, not its raw field.
    fn get(self) -> T {
        self.0
    }
}

/// `C = alpha A B + beta C` for A [m, k], B [k, n], C [m, n] given by element strides, as
/// `matrixmultiply::sgemm`, on up to `parallel::threads()` workers.
///
/// # Safety
/// As `matrixmultiply::sgemm`: the pointers and strides must describe valid matrices of those
/// sizes, C must not overlap A or B, and no other thread may access C during the call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn sgemm(
    m: usize, k: usize, n: usize, alpha: f32,
    a: *const f32, rsa: isize, csa: isize,
    b: *const f32, rsb: isize, csb: isize,
    beta: f32, c: *mut f32, rsc: isize, csc: isize,
) {
    let (long, work) = (m.max(n), m.saturating_mul(k).saturating_mul(n));
    let workers = parallel::workers(long, work / long.max(1));
    if workers <= 1 {
        return matrixmultiply::sgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc);
    }
    // Blocks of the split dimension, rounded to the 8-wide micro-kernel so no block gets a ragged edge
    // unless the whole dimension has one.
    let per = long.div_ceil(workers).div_ceil(8) * 8;
    let parts: Vec<(usize, usize)> = (0..long).step_by(per).map(|s| (s, per.min(long - s))).collect();
    let (a, b, c) = (Ptr(a), Ptr(b), Ptr(c));
    let split_rows = m >= n;
    parallel::run(parts, &|_, (start, len): (usize, usize)| {
        let s = start as isize;
        // SAFETY: each part reads its rows of A (or columns of B) and writes its own block of C;
        // the offsets stay inside the matrices the caller vouched for.
        unsafe {
            if split_rows {
                matrixmultiply::sgemm(len, k, n, alpha, a.get().offset(s * rsa), rsa, csa, b.get(), rsb, csb, beta, c.get().offset(s * rsc), rsc, csc);
            } else {
                matrixmultiply::sgemm(m, k, len, alpha, a.get(), rsa, csa, b.get().offset(s * csb), rsb, csb, beta, c.get().offset(s * csc), rsc, csc);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::data;

    const ALPHA: f32 = 0.5;
    const BETA: f32 = 2.0;

    /// `ALPHA A B + BETA C0` as a plain triple loop in f64.
    fn reference((m, k, n): (usize, usize, usize), a: &[f32], b: &[f32], c0: &[f32]) -> Vec<f64> {
        (0..m * n)
            .map(|ij| {
                let (i, j) = (ij / n, ij % n);
                let dot: f64 = (0..k).map(|p| f64::from(a[i * k + p]) * f64::from(b[p * n + j])).sum();
                f64::from(ALPHA) * dot + f64::from(BETA) * f64::from(c0[ij])
            })
            .collect()
    }

    #[test]
    fn split_products_match_the_reference_both_ways() {
        parallel::set_threads(3);
        // Tall (rows split) and wide (columns split), both above the threading threshold.
        for (m, k, n) in [(301, 128, 90), (40, 160, 517)] {
            let (a, b, c0) = (data(m * k, 1), data(k * n, 2), data(m * n, 3));
            let mut c = c0.clone();
            unsafe { sgemm(m, k, n, ALPHA, a.as_ptr(), k as isize, 1, b.as_ptr(), n as isize, 1, BETA, c.as_mut_ptr(), n as isize, 1) };
            for (got, want) in c.iter().zip(reference((m, k, n), &a, &b, &c0)) {
                assert!((f64::from(*got) - want).abs() < 1e-4, "{got} vs {want}");
            }
        }
        parallel::set_threads(0);
    }
}
