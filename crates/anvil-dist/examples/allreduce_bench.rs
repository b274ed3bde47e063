//! All-reduce bandwidth on MPI ranks: Anvil's all-reduce as the engine calls it (handed to the
//! communication thread and waited for: `CommWorker::run` of `MpiCollective::all_reduce`, sum, and
//! mean, which adds a division pass) against `MPI_Allreduce` called directly on that thread (the
//! one MPI lives on), on the same communicator and buffer, in place. Raw and wrapper alternate
//! repetition by repetition (and which goes first) so both see the same machine state. Prints one
//! JSON line per size on rank 0; bench/allreduce.mjs makes the table.
//!
//! Run: `mpirun -np 2 target/release/examples/allreduce_bench [sizes...]` (float32 elements).

use std::ffi::c_void;
use std::time::{Duration, Instant};

use anvil_dist::mpi::{in_place_pointer, library_version, MpiCollective};
use anvil_dist::{Backend, BufMut, CommWorker, ReduceOp};
use mpi::ffi;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Seconds the wrapper's all-reduce of `buf` (filled with ones) takes from the caller's side,
/// handing it to the communication thread and back included; all ranks start together.
fn wrapper(w: &CommWorker, buf: &mut [f32], op: ReduceOp) -> f64 {
    buf.fill(1.0);
    w.run(|c| c.barrier()).unwrap();
    let t = Instant::now();
    w.run(|c| c.all_reduce(BufMut::F32(&mut *buf), op)).unwrap();
    t.elapsed().as_secs_f64()
}

/// Seconds `MPI_Allreduce` takes, called directly on the communication thread after a barrier.
fn raw(w: &CommWorker, buf: &mut [f32], in_place: usize) -> f64 {
    buf.fill(1.0);
    let n = buf.len();
    w.run(|c| {
        c.barrier()?;
        let t = Instant::now();
        // SAFETY: the buffer spans n floats; MPI_IN_PLACE is the library's own value; the world
        // communicator is the one MpiCollective uses.
        let code = unsafe { ffi::MPI_Allreduce(in_place as *const c_void, buf.as_mut_ptr().cast(), n as i32, ffi::RSMPI_FLOAT, ffi::RSMPI_SUM, ffi::RSMPI_COMM_WORLD) };
        assert_eq!(code, 0);
        Ok(t.elapsed().as_secs_f64())
    })
    .unwrap()
}

fn main() {
    let sizes: Vec<usize> = {
        let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse::<f64>().expect("sizes are numbers") as usize).collect();
        if args.is_empty() { vec![1_000_000, 10_000_000, 100_000_000] } else { args }
    };
    let handler = std::sync::Arc::new(|m: &str| panic!("watchdog: {m}"));
    let w = CommWorker::spawn(move || Ok(Box::new(MpiCollective::init(Duration::from_secs(600), handler)?) as Box<dyn Backend>)).expect("MPI init");
    let version = w.run(|_| Ok(library_version())).unwrap();
    let in_place = in_place_pointer(&version).expect("a known MPI (Open MPI or MPICH family)");
    let (rank, world) = (w.rank(), w.world_size());
    for &n in &sizes {
        let mut buf = vec![1.0f32; n];
        let reps = if n >= 50_000_000 { 16 } else if n >= 5_000_000 { 30 } else { 60 };
        let (mut raws, mut sums, mut means) = (Vec::new(), Vec::new(), Vec::new());
        for rep in 0..reps + 1 {
            // Which of raw and wrapper goes first alternates too.
            let (r, s) = if rep % 2 == 0 {
                let r = raw(&w, &mut buf, in_place);
                (r, wrapper(&w, &mut buf, ReduceOp::Sum))
            } else {
                let s = wrapper(&w, &mut buf, ReduceOp::Sum);
                (raw(&w, &mut buf, in_place), s)
            };
            assert_eq!(buf[n - 1], world as f32);
            let m = wrapper(&w, &mut buf, ReduceOp::Mean);
            assert_eq!(buf[0], 1.0);
            if rep > 0 {
                raws.push(r);
                sums.push(s);
                means.push(m);
            }
        }
        if rank == 0 {
            let min = |v: &[f64]| v.iter().cloned().fold(f64::INFINITY, f64::min);
            let (rmin, smin) = (min(&raws), min(&sums));
            // Raw and wrapper of one repetition ran back to back: their ratio cancels slow drifts of the machine.
            let paired = median(raws.iter().zip(&sums).map(|(r, s)| s / r).collect());
            let (r, s, m) = (median(raws), median(sums), median(means));
            println!(
                "{{\"elements\":{n},\"ranks\":{world},\"reps\":{reps},\"raw_s\":{r:.6},\"wrapper_sum_s\":{s:.6},\"wrapper_mean_s\":{m:.6},\"raw_min_s\":{rmin:.6},\"wrapper_sum_min_s\":{smin:.6},\"paired_ratio\":{paired:.4}}}"
            );
        }
    }
    if rank == 0 {
        println!("{{\"library\":{:?}}}", version.lines().next().unwrap_or(""));
    }
    w.finalize().unwrap();
}
