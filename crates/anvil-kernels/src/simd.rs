//! Run-time dispatch: the prebuilt addon targets baseline x86-64, so hot loops are also compiled
//! for AVX2 and AVX-512 and the widest one the CPU has is picked per call (std caches the check).

/// Defines `fn $name(args) -> R` that runs `$inner(args)` compiled for the widest vector unit of
/// this CPU. `$inner` must be `#[inline(always)]` (so it is generated inside each variant), and so
/// should what it calls in its loops. No fast-math is enabled: every variant gives identical bits.
/// Generic functions list their parameters with one bound each (`<K: ElementKernel, R: GradRun>`).
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident $(<$($g:ident: $b:path),+ $(,)?>)? ($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty => $inner:path) => {
        $(#[$meta])*
        $vis fn $name $(<$($g: $b),+>)? ($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2")]
                unsafe fn avx512 $(<$($g: $b),+>)? ($($arg: $ty),*) -> $ret {
                    $inner($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                unsafe fn avx2 $(<$($g: $b),+>)? ($($arg: $ty),*) -> $ret {
                    $inner($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512bw") {
                    // SAFETY: the CPU has the features this variant is compiled for.
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: as above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $inner($($arg),*)
        }
    };
}
pub(crate) use multiversion;
