//! Collective bindings (crates/anvil-dist): one process-wide communicator, set up by `distInit`
//! on its own thread (`CommWorker`) and used in place on JS typed arrays, blocking or started
//! now and waited later (`distAllReduceStartF32`, `distWait`). NCCL is in every build (loaded at
//! run time); MPI only in the addon built with the `mpi` feature (`npm run build:native:mpi`),
//! which links libmpi.

use std::sync::Mutex;
use std::time::Duration;

use anvil_dist::{exit_handler, Backend, Buf, BufMut, Collective, CommWorker, DistError, ReduceOp, DEFAULT_TIMEOUT_S};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::views::invalid;

/// The backend lives on the worker's thread (MPI's `Funneled` threading: init, every collective
/// and finalize on one thread); JS only submits and waits.
static DIST: Mutex<Option<CommWorker>> = Mutex::new(None);

fn err(e: DistError) -> Error {
    Error::from_reason(e.0)
}

fn worker<T>(f: impl FnOnce(&CommWorker) -> std::result::Result<T, DistError>) -> Result<T> {
    let guard = DIST.lock().map_err(|_| Error::from_reason("the communicator's lock is poisoned"))?;
    let worker = guard.as_ref().ok_or_else(|| Error::from_reason("no process group: call distInit first"))?;
    f(worker).map_err(err)
}

/// A blocking collective: queued behind the started ones, then waited.
fn with<T: Send>(f: impl FnOnce(&dyn Collective) -> std::result::Result<T, DistError> + Send) -> Result<T> {
    worker(|w| w.run(f))
}

fn op(name: &str) -> Result<ReduceOp> {
    ReduceOp::parse(name).map_err(|e| invalid(e.0))
}

/// The collective backends this build carries (`nccl` always; `mpi` in the MPI build).
#[napi(catch_unwind)]
pub fn dist_backends() -> Vec<String> {
    let mut v = vec!["nccl".to_string()];
    if cfg!(feature = "mpi") {
        v.push("mpi".to_string());
    }
    v
}

#[napi(object)]
pub struct DistInitOptions {
    /// 'mpi' or 'nccl'.
    pub backend: String,
    /// NCCL: this process's rank, the world size and its GPU (MPI takes them from mpirun).
    pub rank: Option<u32>,
    pub world_size: Option<u32>,
    pub local_rank: Option<u32>,
    /// NCCL: rank 0's address and port for the rendezvous.
    pub master_addr: Option<String>,
    pub master_port: Option<u32>,
    /// Seconds a collective may wait before the run fails (default 1800).
    pub timeout_s: Option<f64>,
}

#[napi(object)]
pub struct DistInfo {
    pub rank: u32,
    pub world_size: u32,
    pub backend: String,
}

/// Joins the process group (once per process). A peer that dies later ends this process with
/// Anvil's error on stderr (the watchdog), instead of leaving it blocked in a collective.
#[napi(catch_unwind)]
pub fn dist_init(options: DistInitOptions) -> Result<DistInfo> {
    let mut guard = DIST.lock().map_err(|_| Error::from_reason("the communicator's lock is poisoned"))?;
    if guard.is_some() {
        return Err(Error::from_reason("distInit: this process has already joined a process group"));
    }
    let timeout_s = options.timeout_s.unwrap_or(DEFAULT_TIMEOUT_S);
    if !(timeout_s > 0.0 && timeout_s.is_finite()) {
        return Err(invalid(format!("distInit: timeoutS must be a positive number of seconds, got {timeout_s}")));
    }
    let timeout = Duration::from_secs_f64(timeout_s);
    let w = match options.backend.as_str() {
        "mpi" => spawn_mpi(timeout)?,
        "nccl" => {
            let need = |v: Option<u32>, name: &str| v.ok_or_else(|| invalid(format!("distInit: the nccl backend needs {name}")));
            let port = need(options.master_port, "masterPort")?;
            let port = u16::try_from(port).map_err(|_| invalid(format!("distInit: masterPort must be below 65536, got {port}")))?;
            let opts = anvil_dist::nccl::NcclOptions {
                rank: need(options.rank, "rank")? as usize,
                world_size: need(options.world_size, "worldSize")? as usize,
                local_rank: options.local_rank.unwrap_or(0) as usize,
                master_addr: options.master_addr.clone().ok_or_else(|| invalid("distInit: the nccl backend needs masterAddr"))?,
                master_port: port,
                timeout,
            };
            CommWorker::spawn(move || Ok(Box::new(anvil_dist::nccl::NcclCollective::init(&opts, exit_handler())?) as Box<dyn Backend>)).map_err(err)?
        }
        other => return Err(invalid(format!("distInit: backend must be 'mpi' or 'nccl', got '{other}'"))),
    };
    let info = DistInfo { rank: w.rank() as u32, world_size: w.world_size() as u32, backend: w.backend().to_string() };
    *guard = Some(w);
    Ok(info)
}

/// MPI is initialized on the worker's thread, which thereby becomes MPI's one thread.
#[cfg(feature = "mpi")]
fn spawn_mpi(timeout: Duration) -> Result<CommWorker> {
    CommWorker::spawn(move || Ok(Box::new(anvil_dist::mpi::MpiCollective::init(timeout, exit_handler())?) as Box<dyn Backend>)).map_err(err)
}

#[cfg(not(feature = "mpi"))]
fn spawn_mpi(_timeout: Duration) -> Result<CommWorker> {
    Err(Error::from_reason("this addon was built without MPI; the MPI build is `npm run build:native:mpi` (needs libopenmpi-dev and libclang-dev)"))
}

/// The MPI library's version string (MPI build only; empty otherwise).
#[napi(catch_unwind)]
pub fn dist_mpi_library_version() -> String {
    #[cfg(feature = "mpi")]
    return anvil_dist::mpi::library_version();
    #[cfg(not(feature = "mpi"))]
    String::new()
}

/// Leaves the process group after a barrier, once every started collective has run; the
/// watchdog stops treating closed links as failures.
#[napi(catch_unwind)]
pub fn dist_finalize() -> Result<()> {
    let worker = DIST.lock().map_err(|_| Error::from_reason("the communicator's lock is poisoned"))?.take();
    match worker {
        None => Ok(()),
        Some(w) => w.finalize().map_err(err),
    }
}

/// Reduces `data` over all ranks in place ('sum', 'mean', 'max', 'min').
#[napi(catch_unwind)]
pub fn dist_all_reduce_f32(mut data: Float32Array, reduce: String) -> Result<()> {
    let op = op(&reduce)?;
    // SAFETY: the array is only read and written here, during this call.
    let d = unsafe { data.as_mut() };
    with(move |c| c.all_reduce(BufMut::F32(d), op))
}

#[napi(catch_unwind)]
pub fn dist_all_reduce_f64(mut data: Float64Array, reduce: String) -> Result<()> {
    let op = op(&reduce)?;
    // SAFETY: as above.
    let d = unsafe { data.as_mut() };
    with(move |c| c.all_reduce(BufMut::F64(d), op))
}

/// Starts an in-place all-reduce of `data` (a whole array or a subarray view) behind every
/// collective issued before it and returns its ticket at once; `distWait(ticket)` finishes it.
/// Until then the caller must keep `data` alive (hold a reference) and neither read nor write it,
/// nor detach or transfer its buffer: the communication thread works on its memory directly.
#[napi(catch_unwind)]
pub fn dist_all_reduce_start_f32(mut data: Float32Array, reduce: String) -> Result<f64> {
    let op = op(&reduce)?;
    // SAFETY: the memory of a non-resizable ArrayBuffer does not move; by the contract above the
    // JS side keeps it alive and untouched until `distWait` returned for this ticket.
    let d = unsafe { data.as_mut() };
    worker(|w| unsafe { w.all_reduce_start(BufMut::F32(d), op) }).map(|t| t as f64)
}

/// Blocks until the started collective `ticket` has finished; throws its error.
#[napi(catch_unwind)]
pub fn dist_wait(ticket: f64) -> Result<()> {
    if !(ticket >= 1.0 && ticket.fract() == 0.0 && ticket <= 9_007_199_254_740_991.0) {
        return Err(invalid(format!("distWait: ticket must be a positive integer returned by a started collective, got {ticket}")));
    }
    worker(|w| w.wait(ticket as u64))
}

/// Every rank ends with rank `root`'s values.
#[napi(catch_unwind)]
pub fn dist_broadcast_f32(mut data: Float32Array, root: u32) -> Result<()> {
    // SAFETY: as above.
    let d = unsafe { data.as_mut() };
    with(move |c| c.broadcast(BufMut::F32(d), root as usize))
}

#[napi(catch_unwind)]
pub fn dist_broadcast_f64(mut data: Float64Array, root: u32) -> Result<()> {
    // SAFETY: as above.
    let d = unsafe { data.as_mut() };
    with(move |c| c.broadcast(BufMut::F64(d), root as usize))
}

#[napi(catch_unwind)]
pub fn dist_broadcast_bytes(mut data: Uint8Array, root: u32) -> Result<()> {
    // SAFETY: as above.
    let d = unsafe { data.as_mut() };
    with(move |c| c.broadcast(BufMut::U8(d), root as usize))
}

/// Every rank's `data` (same length on all ranks), concatenated in rank order.
#[napi(catch_unwind)]
pub fn dist_all_gather_bytes(data: Uint8Array) -> Result<Uint8Array> {
    let d: &[u8] = &data;
    let out = with(move |c| {
        let mut out = vec![0u8; d.len() * c.world_size()];
        c.all_gather(Buf::U8(d), BufMut::U8(&mut out))?;
        Ok(out)
    })?;
    Ok(Uint8Array::new(out))
}

#[napi(catch_unwind)]
pub fn dist_all_gather_f64(data: Float64Array) -> Result<Float64Array> {
    let d: &[f64] = &data;
    let out = with(move |c| {
        let mut out = vec![0f64; d.len() * c.world_size()];
        c.all_gather(Buf::F64(d), BufMut::F64(&mut out))?;
        Ok(out)
    })?;
    Ok(Float64Array::new(out))
}

#[napi(catch_unwind)]
pub fn dist_barrier() -> Result<()> {
    with(|c| c.barrier())
}
