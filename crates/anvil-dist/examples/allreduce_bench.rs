//! All-reduce bandwidth on MPI ranks: `MpiCollective::all_reduce` (sum, and mean, which adds a
//! division pass) against `MPI_Allreduce` called directly on the same communicator and buffer
//! (in place, as the wrapper calls it), alternated repetition by repetition (and which goes first)
//! so both see the same machine state. Prints one JSON line per size on rank 0; bench/allreduce.mjs makes the table.
//!
//! Run: `mpirun -np 2 target/release/examples/allreduce_bench [sizes...]` (float32 elements).

use std::ffi::c_void;
use std::time::{Duration, Instant};

use anvil_dist::mpi::{in_place_pointer, library_version, MpiCollective};
use anvil_dist::{BufMut, Collective, ReduceOp};
use mpi::ffi;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Seconds `f` takes on `buf` (filled with ones), all ranks starting together.
fn time(c: &MpiCollective, buf: &mut [f32], f: &mut dyn FnMut(&mut [f32])) -> f64 {
    buf.fill(1.0);
    c.barrier().unwrap();
    let t = Instant::now();
    f(buf);
    t.elapsed().as_secs_f64()
}

fn main() {
    let sizes: Vec<usize> = {
        let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse::<f64>().expect("sizes are numbers") as usize).collect();
        if args.is_empty() { vec![1_000_000, 10_000_000, 100_000_000] } else { args }
    };
    let handler = std::sync::Arc::new(|m: &str| panic!("watchdog: {m}"));
    let c = MpiCollective::init(Duration::from_secs(600), handler).expect("MPI init");
    let in_place = in_place_pointer(&library_version()).expect("a known MPI (Open MPI or MPICH family)") as *const c_void;
    let comm = c.raw_comm();
    for &n in &sizes {
        let mut buf = vec![1.0f32; n];
        let reps = if n >= 50_000_000 { 8 } else if n >= 5_000_000 { 20 } else { 60 };
        let (mut raw, mut sum, mut mean) = (Vec::new(), Vec::new(), Vec::new());
        for rep in 0..reps + 1 {
            let mut raw_call = |b: &mut [f32]| {
                // SAFETY: the buffer spans n floats; MPI_IN_PLACE is the library's own value.
                let code = unsafe { ffi::MPI_Allreduce(in_place, b.as_mut_ptr().cast(), n as i32, ffi::RSMPI_FLOAT, ffi::RSMPI_SUM, comm) };
                assert_eq!(code, 0);
            };
            let mut sum_call = |b: &mut [f32]| c.all_reduce(BufMut::F32(b), ReduceOp::Sum).unwrap();
            // Which of raw and wrapper goes first alternates too.
            let (r, s) = if rep % 2 == 0 {
                let r = time(&c, &mut buf, &mut raw_call);
                (r, time(&c, &mut buf, &mut sum_call))
            } else {
                let s = time(&c, &mut buf, &mut sum_call);
                (time(&c, &mut buf, &mut raw_call), s)
            };
            assert_eq!(buf[n - 1], c.world_size() as f32);
            let m = time(&c, &mut buf, &mut |b| c.all_reduce(BufMut::F32(b), ReduceOp::Mean).unwrap());
            assert_eq!(buf[0], 1.0);
            if rep > 0 {
                raw.push(r);
                sum.push(s);
                mean.push(m);
            }
        }
        if c.rank() == 0 {
            let min = |v: &[f64]| v.iter().cloned().fold(f64::INFINITY, f64::min);
            let (rmin, smin) = (min(&raw), min(&sum));
            // Raw and wrapper of one repetition ran back to back: their ratio cancels slow drifts of the machine.
            let paired = median(raw.iter().zip(&sum).map(|(r, s)| s / r).collect());
            let (r, s, m) = (median(raw), median(sum), median(mean));
            println!(
                "{{\"elements\":{n},\"ranks\":{},\"reps\":{reps},\"raw_s\":{r:.6},\"wrapper_sum_s\":{s:.6},\"wrapper_mean_s\":{m:.6},\"raw_min_s\":{rmin:.6},\"wrapper_sum_min_s\":{smin:.6},\"paired_ratio\":{paired:.4}}}",
                c.world_size()
            );
        }
    }
    if c.rank() == 0 {
        println!("{{\"library\":{:?}}}", library_version().lines().next().unwrap_or(""));
    }
    c.finalize().unwrap();
}
