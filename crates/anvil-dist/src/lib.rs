//! Anvil's collectives for data-parallel training, on established collective libraries: MPI
//! (rsmpi over the system's Open MPI or MPICH, feature `mpi`) for CPUs and NCCL (cudarc, the
//! library loaded at run time, feature `nccl`) for GPUs. Both implement one [`Collective`] trait:
//! all-reduce (sum, mean, max, min) in place, broadcast, all-gather and barrier over host slices.
//!
//! A collective blocks until every rank has entered it, so a rank that dies would leave the
//! others waiting forever. Every backend therefore runs a [`Watchdog`]: a TCP connection from
//! each rank to rank 0 that carries no data, only the fact that the peer process is alive (the
//! kernel closes it when a process dies), plus a timeout on each collective. When a peer is lost
//! the watchdog prints Anvil's error and ends the process.
//!
//! A [`CommWorker`] owns a backend on one thread and runs its collectives in submission order,
//! blocking or started now and waited later.

mod buf;
mod error;
#[cfg(feature = "mpi")]
pub mod mpi;
#[cfg(feature = "nccl")]
pub mod nccl;
mod rendezvous;
mod watchdog;
mod worker;

pub use buf::{Buf, BufMut, Dtype};
pub use error::DistError;
pub use rendezvous::{connect, rendezvous, Listener, Rendezvous, RendezvousOptions};
pub use watchdog::{exit_handler, FailureHandler, OpGuard, Watchdog, DEFAULT_TIMEOUT_S, EXIT_STATUS};
pub use worker::{Backend, CommWorker, Ticket};

/// The reduction of an all-reduce. `Mean` is the sum divided by the world size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    Sum,
    Mean,
    Max,
    Min,
}

impl ReduceOp {
    pub fn parse(name: &str) -> Result<Self, DistError> {
        match name {
            "sum" => Ok(ReduceOp::Sum),
            "mean" => Ok(ReduceOp::Mean),
            "max" => Ok(ReduceOp::Max),
            "min" => Ok(ReduceOp::Min),
            _ => Err(DistError::new(format!("unknown reduce op '{name}' (expected sum, mean, max or min)"))),
        }
    }
}

/// One process's view of a group of `world_size` processes. Every call is a collective: all
/// ranks make the same calls in the same order, with buffers of the same length.
pub trait Collective: Send {
    fn rank(&self) -> usize;
    fn world_size(&self) -> usize;
    /// The backend's name, as `env_cfg.dist_cfg.backend` spells it (`mpi`, `nccl`).
    fn backend(&self) -> &'static str;
    /// Reduces `data` element-wise over all ranks; every rank ends with the result.
    fn all_reduce(&self, data: BufMut<'_>, op: ReduceOp) -> Result<(), DistError>;
    /// Every rank ends with `root`'s `data`.
    fn broadcast(&self, data: BufMut<'_>, root: usize) -> Result<(), DistError>;
    /// `out` (world_size times `data`'s length, same type) ends with every rank's `data`, in rank order.
    fn all_gather(&self, data: Buf<'_>, out: BufMut<'_>) -> Result<(), DistError>;
    fn barrier(&self) -> Result<(), DistError>;
}

/// Checks the lengths of an all-gather before any rank sends.
#[cfg_attr(not(any(feature = "mpi", feature = "nccl")), allow(dead_code))] // the backends' shared checks
pub(crate) fn check_gather(data: &Buf<'_>, out: &BufMut<'_>, world: usize) -> Result<(), DistError> {
    if data.dtype() != out.dtype() {
        return Err(DistError::new(format!("all_gather: the input is {:?} but the output {:?}", data.dtype(), out.dtype())));
    }
    if out.len() != data.len() * world {
        return Err(DistError::new(format!(
            "all_gather: the output holds {} elements, {} ranks times {} need {}",
            out.len(),
            world,
            data.len(),
            data.len() * world
        )));
    }
    Ok(())
}

#[cfg_attr(not(any(feature = "mpi", feature = "nccl")), allow(dead_code))] // the backends' shared checks
pub(crate) fn check_root(root: usize, world: usize) -> Result<(), DistError> {
    if root >= world {
        return Err(DistError::new(format!("broadcast: root rank {root} is not in a world of {world}")));
    }
    Ok(())
}

/// Divides a summed buffer by the world size (the `Mean` of backends without a native average).
#[cfg_attr(not(feature = "mpi"), allow(dead_code))] // only MPI lacks a native mean
pub(crate) fn divide(data: BufMut<'_>, world: usize) {
    match data {
        BufMut::F32(d) => {
            let n = world as f32;
            for chunk in d.chunks_mut(4096) {
                for x in chunk.iter_mut() {
                    *x /= n;
                }
            }
        }
        BufMut::F64(d) => {
            let n = world as f64;
            for chunk in d.chunks_mut(4096) {
                for x in chunk.iter_mut() {
                    *x /= n;
                }
            }
        }
        // Refused before any rank sends (`check_op`).
        BufMut::U8(_) => unreachable!("mean over bytes"),
    }
}

/// Mean over bytes has no meaning: refused before any rank sends.
#[cfg_attr(not(any(feature = "mpi", feature = "nccl")), allow(dead_code))] // the backends' shared checks
pub(crate) fn check_op(data: &BufMut<'_>, op: ReduceOp) -> Result<(), DistError> {
    if op == ReduceOp::Mean && data.dtype() == Dtype::U8 {
        return Err(DistError::new("all_reduce: mean is defined for float32 and float64 buffers, not bytes"));
    }
    Ok(())
}
