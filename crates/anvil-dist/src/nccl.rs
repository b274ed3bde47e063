//! The NCCL backend (feature `nccl`): cudarc's NCCL bindings, with libnccl and the CUDA driver
//! loaded at run time, so it builds and its callers start on machines without CUDA. One process
//! per GPU (LOCAL_RANK picks the device); rank 0 makes NCCL's unique id and hands it out over the
//! TCP rendezvous at MASTER_ADDR:MASTER_PORT, whose links then carry the watchdog.
//!
//! Host buffers (the engine's buckets today) go through a cached device buffer per element type:
//! copy in, collective on the stream, copy out. Device buffers take the collective directly
//! ([`NcclCollective::all_reduce_device`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cudarc::driver::{CudaContext, CudaSlice, CudaStream, CudaViewMut, DeviceRepr, ValidAsZeroBits};
use cudarc::nccl::{Comm, Id, NcclType, ReduceOp as NcclOp};

use crate::rendezvous::{rendezvous, RendezvousOptions};
use crate::watchdog::{FailureHandler, Watchdog};
use crate::{check_gather, check_op, check_root, Backend, Buf, BufMut, Collective, DistError, ReduceOp};

/// What NCCL needs from the launcher (torchrun's environment).
pub struct NcclOptions {
    pub rank: usize,
    pub world_size: usize,
    /// The GPU of this process.
    pub local_rank: usize,
    pub master_addr: String,
    /// 0 lets rank 0 pick a free port (only useful with world_size 1).
    pub master_port: u16,
    pub timeout: Duration,
}

#[derive(Default)]
struct Staging {
    f32: Option<CudaSlice<f32>>,
    f64: Option<CudaSlice<f64>>,
    u8: Option<CudaSlice<u8>>,
}

struct SendComm(Comm);
// SAFETY: the communicator is used from one thread at a time (the `CommWorker`'s).
unsafe impl Send for SendComm {}

pub struct NcclCollective {
    comm: SendComm,
    stream: Arc<CudaStream>,
    rank: usize,
    size: usize,
    staging: Mutex<Staging>,
    watchdog: Watchdog,
}

/// Whether the NCCL and CUDA driver libraries can be loaded here (no GPU call is made).
pub fn available() -> Result<(), DistError> {
    // SAFETY: only probe whether the shared libraries load.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err(DistError::new("the NCCL backend needs an NVIDIA GPU and driver, but libcuda.so could not be loaded; use backend='mpi' on CPUs"));
    }
    if !unsafe { cudarc::nccl::sys::is_culib_present() } {
        return Err(DistError::new(
            "the NCCL backend could not load libnccl.so; install NCCL (e.g. the libnccl2 package, or pip's nvidia-nccl with its lib folder on LD_LIBRARY_PATH and a libnccl.so link to libnccl.so.2)",
        ));
    }
    Ok(())
}

fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, DistError>) -> Result<T, DistError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| Err(DistError::new(format!("{what}: the CUDA or NCCL library failed to load or panicked"))))
}

fn nccl_err(what: &str) -> impl Fn(cudarc::nccl::result::NcclError) -> DistError + '_ {
    move |e| DistError::new(format!("{what} failed: {e:?}"))
}

fn cuda_err(what: &str) -> impl Fn(cudarc::driver::DriverError) -> DistError + '_ {
    move |e| DistError::new(format!("{what} failed: {e}"))
}

impl NcclCollective {
    pub fn init(options: &NcclOptions, handler: FailureHandler) -> Result<NcclCollective, DistError> {
        available()?;
        let NcclOptions { rank, world_size, local_rank, .. } = *options;
        let stream = guarded("opening the GPU", || {
            let ctx = CudaContext::new(local_rank).map_err(|e| DistError::new(format!("cannot open cuda:{local_rank} (LOCAL_RANK): {e}")))?;
            ctx.new_stream().map_err(cuda_err("creating a stream"))
        })?;
        let rv = rendezvous(
            &RendezvousOptions { rank, world_size, addr: options.master_addr.clone(), port: options.master_port, timeout: options.timeout },
            || guarded("ncclGetUniqueId", || Ok(Id::new().map_err(nccl_err("ncclGetUniqueId"))?.internal().iter().map(|&c| c as u8).collect())),
        )?;
        if rv.payload.len() != 128 {
            return Err(DistError::new(format!("rendezvous: NCCL's unique id must be 128 bytes, rank 0 sent {}", rv.payload.len())));
        }
        let mut internal = [0 as std::ffi::c_char; 128];
        for (d, s) in internal.iter_mut().zip(&rv.payload) {
            *d = *s as std::ffi::c_char;
        }
        let watchdog = Watchdog::start(rank, world_size, rv.links, options.timeout, handler)?;
        let comm = {
            let _g = watchdog.guard("ncclCommInitRank");
            guarded("ncclCommInitRank", || Comm::from_rank(stream.clone(), rank, world_size, Id::uninit(internal)).map_err(nccl_err("ncclCommInitRank")))?
        };
        Ok(NcclCollective { comm: SendComm(comm), stream, rank, size: world_size, staging: Mutex::new(Staging::default()), watchdog })
    }

    /// A normal end: a barrier, then the watchdog told.
    pub fn finalize(self) -> Result<(), DistError> {
        self.barrier()?;
        self.watchdog.close();
        Ok(())
    }

    /// All-reduce of a buffer already on this rank's GPU (no host copies).
    pub fn all_reduce_device<T: NcclType + DeviceRepr>(&self, data: &mut CudaSlice<T>, op: ReduceOp) -> Result<(), DistError> {
        let _g = self.watchdog.guard("all_reduce");
        self.comm.0.all_reduce_in_place(data, &nccl_op(op)).map_err(nccl_err("ncclAllReduce"))?;
        self.stream.synchronize().map_err(cuda_err("synchronizing the stream"))
    }

    /// Copies `data` into the cached staging buffer of its type (grown as needed), runs `f` on
    /// the device copy and copies the result back into `data`.
    fn in_place<T: NcclType + DeviceRepr + ValidAsZeroBits>(
        &self,
        slot: impl FnOnce(&mut Staging) -> &mut Option<CudaSlice<T>>,
        data: &mut [T],
        f: impl FnOnce(&Comm, &mut CudaViewMut<'_, T>) -> Result<(), DistError>,
    ) -> Result<(), DistError> {
        if data.is_empty() {
            return Ok(());
        }
        let mut staging = self.staging.lock().map_err(|_| DistError::new("NCCL staging buffer poisoned"))?;
        let buf = slot(&mut staging);
        if buf.as_ref().is_none_or(|b| b.len() < data.len()) {
            *buf = None;
            *buf = Some(self.stream.alloc_zeros::<T>(data.len()).map_err(cuda_err("allocating the staging buffer"))?);
        }
        let mut dev = buf.as_mut().expect("allocated above").slice_mut(0..data.len());
        self.stream.memcpy_htod(&*data, &mut dev).map_err(cuda_err("copying to the GPU"))?;
        f(&self.comm.0, &mut dev)?;
        self.stream.memcpy_dtoh(&dev, data).map_err(cuda_err("copying from the GPU"))?;
        self.stream.synchronize().map_err(cuda_err("synchronizing the stream"))
    }

    /// All-gather through fresh device buffers (evaluation results: rare and small).
    fn gather<T: NcclType + DeviceRepr + ValidAsZeroBits>(&self, input: &[T], out: &mut [T]) -> Result<(), DistError> {
        if input.is_empty() {
            return Ok(());
        }
        let src = self.stream.clone_htod(input).map_err(cuda_err("copying to the GPU"))?;
        let mut dst = self.stream.alloc_zeros::<T>(out.len()).map_err(cuda_err("allocating the gather buffer"))?;
        self.comm.0.all_gather(&src, &mut dst).map_err(nccl_err("ncclAllGather"))?;
        self.stream.memcpy_dtoh(&dst, out).map_err(cuda_err("copying from the GPU"))?;
        self.stream.synchronize().map_err(cuda_err("synchronizing the stream"))
    }
}

fn nccl_op(op: ReduceOp) -> NcclOp {
    match op {
        ReduceOp::Sum => NcclOp::Sum,
        ReduceOp::Mean => NcclOp::Avg,
        ReduceOp::Max => NcclOp::Max,
        ReduceOp::Min => NcclOp::Min,
    }
}

impl Collective for NcclCollective {
    fn rank(&self) -> usize {
        self.rank
    }

    fn world_size(&self) -> usize {
        self.size
    }

    fn backend(&self) -> &'static str {
        "nccl"
    }

    fn all_reduce(&self, data: BufMut<'_>, op: ReduceOp) -> Result<(), DistError> {
        check_op(&data, op)?;
        let _g = self.watchdog.guard("all_reduce");
        match data {
            BufMut::F32(d) => self.in_place(|s| &mut s.f32, d, |c, v| c.all_reduce_in_place(v, &nccl_op(op)).map(drop).map_err(nccl_err("ncclAllReduce"))),
            BufMut::F64(d) => self.in_place(|s| &mut s.f64, d, |c, v| c.all_reduce_in_place(v, &nccl_op(op)).map(drop).map_err(nccl_err("ncclAllReduce"))),
            BufMut::U8(d) => self.in_place(|s| &mut s.u8, d, |c, v| c.all_reduce_in_place(v, &nccl_op(op)).map(drop).map_err(nccl_err("ncclAllReduce"))),
        }
    }

    fn broadcast(&self, data: BufMut<'_>, root: usize) -> Result<(), DistError> {
        check_root(root, self.size)?;
        let _g = self.watchdog.guard("broadcast");
        let root = root as i32;
        match data {
            BufMut::F32(d) => self.in_place(|s| &mut s.f32, d, |c, v| c.broadcast_in_place(v, root).map(drop).map_err(nccl_err("ncclBroadcast"))),
            BufMut::F64(d) => self.in_place(|s| &mut s.f64, d, |c, v| c.broadcast_in_place(v, root).map(drop).map_err(nccl_err("ncclBroadcast"))),
            BufMut::U8(d) => self.in_place(|s| &mut s.u8, d, |c, v| c.broadcast_in_place(v, root).map(drop).map_err(nccl_err("ncclBroadcast"))),
        }
    }

    fn all_gather(&self, data: Buf<'_>, out: BufMut<'_>) -> Result<(), DistError> {
        check_gather(&data, &out, self.size)?;
        let _g = self.watchdog.guard("all_gather");
        match (data, out) {
            (Buf::F32(s), BufMut::F32(o)) => self.gather(s, o),
            (Buf::F64(s), BufMut::F64(o)) => self.gather(s, o),
            (Buf::U8(s), BufMut::U8(o)) => self.gather(s, o),
            _ => unreachable!("dtypes checked by check_gather"),
        }
    }

    fn barrier(&self) -> Result<(), DistError> {
        let mut one = [0u8];
        self.all_reduce(BufMut::U8(&mut one), ReduceOp::Sum)
    }
}

impl Backend for NcclCollective {
    fn finalize(self: Box<Self>) -> Result<(), DistError> {
        NcclCollective::finalize(*self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether a GPU with NCCL is here; says why the test skips otherwise.
    fn gpu_here(test: &str) -> bool {
        if let Err(e) = available() {
            eprintln!("skipped: {test} needs a GPU with NCCL: {e}");
            return false;
        }
        let count = guarded("device count", || cudarc::driver::result::init().and_then(|_| CudaContext::device_count()).map_err(|e| DistError::new(e.to_string()))).unwrap_or(0);
        if count == 0 {
            eprintln!("skipped: {test}: the driver loads but no GPU is visible");
        }
        count > 0
    }

    fn world_of_one() -> Result<NcclCollective, DistError> {
        let handler: FailureHandler = Arc::new(|m: &str| panic!("watchdog: {m}"));
        let opts = NcclOptions { rank: 0, world_size: 1, local_rank: 0, master_addr: "127.0.0.1".into(), master_port: 0, timeout: Duration::from_secs(120) };
        NcclCollective::init(&opts, handler)
    }

    /// The smoke test of every collective in a world of one GPU.
    #[test]
    fn every_collective_in_a_world_of_one() {
        if !gpu_here("NCCL smoke test") {
            return;
        }
        let c = world_of_one().unwrap();
        assert_eq!((c.rank(), c.world_size(), c.backend()), (0, 1, "nccl"));

        let mut a: Vec<f32> = (0..1000).map(|i| i as f32 * 0.5).collect();
        let expect = a.clone();
        for op in [ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min] {
            c.all_reduce(BufMut::F32(&mut a), op).unwrap();
            assert_eq!(a, expect, "{op:?}");
        }
        let mut d = vec![1.5f64, -2.0, 3.25];
        c.all_reduce(BufMut::F64(&mut d), ReduceOp::Sum).unwrap();
        assert_eq!(d, vec![1.5, -2.0, 3.25]);
        let mut b = vec![7u8, 8, 9];
        c.broadcast(BufMut::U8(&mut b), 0).unwrap();
        assert_eq!(b, vec![7, 8, 9]);
        assert!(c.broadcast(BufMut::U8(&mut b), 1).is_err());
        let mut out = vec![0f32; 3];
        c.all_gather(Buf::F32(&[1.0, 2.0, 3.0]), BufMut::F32(&mut out)).unwrap();
        assert_eq!(out, vec![1.0, 2.0, 3.0]);
        let mut bytes = vec![0u8; 4];
        c.all_gather(Buf::U8(b"abcd"), BufMut::U8(&mut bytes)).unwrap();
        assert_eq!(&bytes, b"abcd");
        c.barrier().unwrap();
        // A device buffer, no host copies: the stream's own allocation.
        let mut dev = c.stream.clone_htod(&[1.0f32, 2.0]).unwrap();
        c.all_reduce_device(&mut dev, ReduceOp::Sum).unwrap();
        assert_eq!(c.stream.clone_dtoh(&dev).unwrap(), vec![1.0, 2.0]);
        // A large buffer grows the staging allocation.
        let mut big = vec![0.25f32; 1 << 22];
        c.all_reduce(BufMut::F32(&mut big), ReduceOp::Mean).unwrap();
        assert!(big.iter().all(|&x| x == 0.25));
        c.finalize().unwrap();
    }

    /// Created, used and finalized on the communication thread, started calls waited later.
    #[test]
    fn through_the_comm_worker() {
        if !gpu_here("NCCL worker test") {
            return;
        }
        let w = crate::CommWorker::spawn(|| Ok(Box::new(world_of_one()?) as Box<dyn Backend>)).unwrap();
        assert_eq!((w.rank(), w.world_size(), w.backend()), (0, 1, "nccl"));
        let mut a: Vec<f32> = (0..4096).map(|i| i as f32).collect();
        let mut b = vec![2.5f32; 100];
        let expect_a = a.clone();
        let ta = unsafe { w.all_reduce_start(BufMut::F32(&mut a), ReduceOp::Sum) }.unwrap();
        let tb = unsafe { w.all_reduce_start(BufMut::F32(&mut b), ReduceOp::Mean) }.unwrap();
        w.run(|c| c.barrier()).unwrap();
        w.wait(tb).unwrap();
        w.wait(ta).unwrap();
        assert_eq!(a, expect_a);
        assert_eq!(b, vec![2.5; 100]);
        w.finalize().unwrap();
    }
}
