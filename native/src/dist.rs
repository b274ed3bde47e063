//! Collective bindings (crates/anvil-dist): one process-wide communicator, set up by `distInit`
//! and used in place on JS typed arrays. NCCL is in every build (loaded at run time); MPI only in
//! the addon built with the `mpi` feature (`npm run build:native:mpi`), which links libmpi.

use std::sync::Mutex;
use std::time::Duration;

use anvil_dist::{exit_handler, Buf, BufMut, Collective, DistError, ReduceOp, DEFAULT_TIMEOUT_S};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::views::invalid;

enum Backend {
    #[cfg(feature = "mpi")]
    Mpi(anvil_dist::mpi::MpiCollective),
    Nccl(anvil_dist::nccl::NcclCollective),
}

impl Backend {
    fn collective(&self) -> &dyn Collective {
        match self {
            #[cfg(feature = "mpi")]
            Backend::Mpi(c) => c,
            Backend::Nccl(c) => c,
        }
    }
}

static DIST: Mutex<Option<Backend>> = Mutex::new(None);

fn err(e: DistError) -> Error {
    Error::from_reason(e.0)
}

fn with<T>(f: impl FnOnce(&dyn Collective) -> std::result::Result<T, DistError>) -> Result<T> {
    let guard = DIST.lock().map_err(|_| Error::from_reason("the communicator's lock is poisoned"))?;
    let backend = guard.as_ref().ok_or_else(|| Error::from_reason("no process group: call distInit first"))?;
    f(backend.collective()).map_err(err)
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
    let backend = match options.backend.as_str() {
        "mpi" => init_mpi(timeout)?,
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
            Backend::Nccl(anvil_dist::nccl::NcclCollective::init(&opts, exit_handler()).map_err(err)?)
        }
        other => return Err(invalid(format!("distInit: backend must be 'mpi' or 'nccl', got '{other}'"))),
    };
    let c = backend.collective();
    let info = DistInfo { rank: c.rank() as u32, world_size: c.world_size() as u32, backend: c.backend().to_string() };
    *guard = Some(backend);
    Ok(info)
}

#[cfg(feature = "mpi")]
fn init_mpi(timeout: Duration) -> Result<Backend> {
    Ok(Backend::Mpi(anvil_dist::mpi::MpiCollective::init(timeout, exit_handler()).map_err(err)?))
}

#[cfg(not(feature = "mpi"))]
fn init_mpi(_timeout: Duration) -> Result<Backend> {
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

/// Leaves the process group after a barrier; the watchdog stops treating closed links as failures.
#[napi(catch_unwind)]
pub fn dist_finalize() -> Result<()> {
    let backend = DIST.lock().map_err(|_| Error::from_reason("the communicator's lock is poisoned"))?.take();
    match backend {
        None => Ok(()),
        #[cfg(feature = "mpi")]
        Some(Backend::Mpi(c)) => c.finalize().map_err(err),
        Some(Backend::Nccl(c)) => c.finalize().map_err(err),
    }
}

/// Reduces `data` over all ranks in place ('sum', 'mean', 'max', 'min').
#[napi(catch_unwind)]
pub fn dist_all_reduce_f32(mut data: Float32Array, reduce: String) -> Result<()> {
    let op = op(&reduce)?;
    // SAFETY: the array is only read and written here, during this call.
    with(|c| c.all_reduce(BufMut::F32(unsafe { data.as_mut() }), op))
}

#[napi(catch_unwind)]
pub fn dist_all_reduce_f64(mut data: Float64Array, reduce: String) -> Result<()> {
    let op = op(&reduce)?;
    // SAFETY: as above.
    with(|c| c.all_reduce(BufMut::F64(unsafe { data.as_mut() }), op))
}

/// Every rank ends with rank `root`'s values.
#[napi(catch_unwind)]
pub fn dist_broadcast_f32(mut data: Float32Array, root: u32) -> Result<()> {
    // SAFETY: as above.
    with(|c| c.broadcast(BufMut::F32(unsafe { data.as_mut() }), root as usize))
}

#[napi(catch_unwind)]
pub fn dist_broadcast_f64(mut data: Float64Array, root: u32) -> Result<()> {
    // SAFETY: as above.
    with(|c| c.broadcast(BufMut::F64(unsafe { data.as_mut() }), root as usize))
}

#[napi(catch_unwind)]
pub fn dist_broadcast_bytes(mut data: Uint8Array, root: u32) -> Result<()> {
    // SAFETY: as above.
    with(|c| c.broadcast(BufMut::U8(unsafe { data.as_mut() }), root as usize))
}

/// Every rank's `data` (same length on all ranks), concatenated in rank order.
#[napi(catch_unwind)]
pub fn dist_all_gather_bytes(data: Uint8Array) -> Result<Uint8Array> {
    let mut out = Vec::new();
    with(|c| {
        out = vec![0u8; data.len() * c.world_size()];
        c.all_gather(Buf::U8(&data), BufMut::U8(&mut out))
    })?;
    Ok(Uint8Array::new(out))
}

#[napi(catch_unwind)]
pub fn dist_all_gather_f64(data: Float64Array) -> Result<Float64Array> {
    let mut out = Vec::new();
    with(|c| {
        out = vec![0f64; data.len() * c.world_size()];
        c.all_gather(Buf::F64(&data), BufMut::F64(&mut out))
    })?;
    Ok(Float64Array::new(out))
}

#[napi(catch_unwind)]
pub fn dist_barrier() -> Result<()> {
    with(|c| c.barrier())
}
