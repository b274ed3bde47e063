//! The MPI backend (feature `mpi`): rsmpi's bindings to the system MPI (Open MPI from the
//! distribution's packages, or MPICH), for processes started by `mpirun`. Collectives run in
//! place (`MPI_IN_PLACE`) on the caller's buffers, errors return codes instead of aborting the
//! job, and a watchdog (rank 0's TCP links, its port broadcast over MPI) ends a rank whose peer died.

use std::ffi::{c_int, c_void};
use std::time::Duration;

use mpi::ffi;
use mpi::raw::AsRaw;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::Threading;

use crate::rendezvous::{connect, hostname, Listener, RendezvousOptions};
use crate::watchdog::{FailureHandler, Watchdog};
use crate::{check_gather, check_op, check_root, divide, Backend, Buf, BufMut, Collective, DistError, Dtype, ReduceOp};

/// Elements per MPI call: counts are C ints.
const MAX_COUNT: usize = 1 << 30;

pub struct MpiCollective {
    world: SimpleCommunicator,
    rank: usize,
    size: usize,
    /// The library's `MPI_IN_PLACE` (a macro, so not in the generated bindings); None: copy instead.
    in_place: Option<usize>,
    watchdog: Watchdog,
    /// Dropped last: MPI_Finalize.
    _universe: mpi::environment::Universe,
}

// SAFETY: the communicator is a handle used from one thread at a time. With `Threading::Funneled`
// that must be the thread that called `init`, which `CommWorker` guarantees.
unsafe impl Send for MpiCollective {}

impl MpiCollective {
    /// MPI_Init (once per process), then the watchdog's links to rank 0.
    pub fn init(timeout: Duration, handler: FailureHandler) -> Result<MpiCollective, DistError> {
        let (universe, _) = mpi::initialize_with_threading(Threading::Funneled).ok_or_else(|| DistError::new("MPI is already initialized in this process"))?;
        let world = universe.world();
        // SAFETY: a valid communicator and a predefined error handler.
        check(unsafe { ffi::MPI_Comm_set_errhandler(world.as_raw(), ffi::RSMPI_ERRORS_RETURN) }, "MPI_Comm_set_errhandler")?;
        let rank = world.rank() as usize;
        let size = world.size() as usize;
        let in_place = in_place_pointer(&library_version());
        let mut this = MpiCollective { world, rank, size, in_place, watchdog: Watchdog::start(rank, 1, Vec::new(), timeout, handler.clone())?, _universe: universe };
        this.watchdog = this.start_watchdog(timeout, handler)?;
        Ok(this)
    }

    /// Rank 0 listens on a free port; its address (loopback when every rank shares its host,
    /// else MASTER_ADDR or its host name) and port reach the others by broadcast.
    fn start_watchdog(&self, timeout: Duration, handler: FailureHandler) -> Result<Watchdog, DistError> {
        let mut host = [0u8; 256];
        let name = hostname();
        host[..name.len().min(255)].copy_from_slice(&name.as_bytes()[..name.len().min(255)]);
        let mut hosts = vec![0u8; 256 * self.size];
        self.all_gather(Buf::U8(&host), BufMut::U8(&mut hosts))?;
        let one_host = hosts.chunks(256).all(|h| h == &hosts[..256]);
        let listener = if self.rank == 0 { Some(Listener::bind(0)?) } else { None };
        let mut addr = [0u8; 264];
        if let Some(l) = &listener {
            let a = if one_host { "127.0.0.1".to_string() } else { std::env::var("MASTER_ADDR").unwrap_or(name) };
            let text = format!("{}:{}", l.port(), a);
            addr[..text.len().min(264)].copy_from_slice(&text.as_bytes()[..text.len().min(264)]);
        }
        self.broadcast(BufMut::U8(&mut addr), 0)?;
        let text = String::from_utf8_lossy(&addr[..addr.iter().position(|&b| b == 0).unwrap_or(addr.len())]).into_owned();
        let (port, host) = text.split_once(':').ok_or_else(|| DistError::new(format!("watchdog address {text:?} is malformed")))?;
        let port: u16 = port.parse().map_err(|_| DistError::new(format!("watchdog port {port:?} is malformed")))?;
        let wait = Duration::from_secs(60);
        let links = match listener {
            Some(l) => l.accept_all(self.size, b"", wait)?.links,
            None => connect(&RendezvousOptions { rank: self.rank, world_size: self.size, addr: host.to_string(), port, timeout: wait })?.links,
        };
        Watchdog::start(self.rank, self.size, links, timeout, handler)
    }

    /// A normal end: a barrier, the watchdog told, then MPI_Finalize (when `self` drops).
    pub fn finalize(self) -> Result<(), DistError> {
        self.barrier()?;
        self.watchdog.close();
        Ok(())
    }

    pub fn in_place_supported(&self) -> bool {
        self.in_place.is_some()
    }

    /// The raw communicator, for benchmarks that call MPI directly beside the wrapper.
    pub fn raw_comm(&self) -> ffi::MPI_Comm {
        self.world.as_raw()
    }

    fn all_reduce_chunk(&self, ptr: *mut c_void, count: usize, dtype: Dtype, op: ReduceOp) -> Result<(), DistError> {
        let mpi_op = match op {
            ReduceOp::Sum | ReduceOp::Mean => unsafe { ffi::RSMPI_SUM },
            ReduceOp::Max => unsafe { ffi::RSMPI_MAX },
            ReduceOp::Min => unsafe { ffi::RSMPI_MIN },
        };
        let ty = datatype(dtype);
        match self.in_place {
            // SAFETY: ptr spans `count` elements of `ty`; MPI_IN_PLACE is the library's own value.
            Some(in_place) => check(unsafe { ffi::MPI_Allreduce(in_place as *const c_void, ptr, count as c_int, ty, mpi_op, self.world.as_raw()) }, "MPI_Allreduce"),
            None => {
                let bytes = count * dtype.size();
                let mut send = vec![0u8; bytes];
                // SAFETY: both spans are `bytes` long and do not overlap.
                unsafe { std::ptr::copy_nonoverlapping(ptr as *const u8, send.as_mut_ptr(), bytes) };
                check(unsafe { ffi::MPI_Allreduce(send.as_ptr() as *const c_void, ptr, count as c_int, ty, mpi_op, self.world.as_raw()) }, "MPI_Allreduce")
            }
        }
    }
}

impl Collective for MpiCollective {
    fn rank(&self) -> usize {
        self.rank
    }

    fn world_size(&self) -> usize {
        self.size
    }

    fn backend(&self) -> &'static str {
        "mpi"
    }

    fn all_reduce(&self, mut data: BufMut<'_>, op: ReduceOp) -> Result<(), DistError> {
        check_op(&data, op)?;
        let dtype = data.dtype();
        {
            let _g = self.watchdog.guard("all_reduce");
            let bytes = data.as_bytes_mut();
            for chunk in bytes.chunks_mut(MAX_COUNT * dtype.size()) {
                self.all_reduce_chunk(chunk.as_mut_ptr().cast(), chunk.len() / dtype.size(), dtype, op)?;
            }
        }
        if op == ReduceOp::Mean && self.size > 1 {
            divide(data, self.size);
        }
        Ok(())
    }

    fn broadcast(&self, mut data: BufMut<'_>, root: usize) -> Result<(), DistError> {
        check_root(root, self.size)?;
        let dtype = data.dtype();
        let _g = self.watchdog.guard("broadcast");
        for chunk in data.as_bytes_mut().chunks_mut(MAX_COUNT * dtype.size()) {
            // SAFETY: the chunk spans `len / size` elements of the datatype.
            check(
                unsafe { ffi::MPI_Bcast(chunk.as_mut_ptr().cast(), (chunk.len() / dtype.size()) as c_int, datatype(dtype), root as c_int, self.world.as_raw()) },
                "MPI_Bcast",
            )?;
        }
        Ok(())
    }

    fn all_gather(&self, data: Buf<'_>, mut out: BufMut<'_>) -> Result<(), DistError> {
        check_gather(&data, &out, self.size)?;
        if data.len() > MAX_COUNT {
            return Err(DistError::new(format!("all_gather: {} elements per rank is more than MPI's count allows ({MAX_COUNT})", data.len())));
        }
        let ty = datatype(data.dtype());
        let _g = self.watchdog.guard("all_gather");
        // SAFETY: `out` holds world_size times `data`'s elements (checked above).
        check(
            unsafe { ffi::MPI_Allgather(data.as_bytes().as_ptr().cast(), data.len() as c_int, ty, out.as_bytes_mut().as_mut_ptr().cast(), data.len() as c_int, ty, self.world.as_raw()) },
            "MPI_Allgather",
        )
    }

    fn barrier(&self) -> Result<(), DistError> {
        let _g = self.watchdog.guard("barrier");
        // SAFETY: a valid communicator.
        check(unsafe { ffi::MPI_Barrier(self.world.as_raw()) }, "MPI_Barrier")
    }
}

impl Backend for MpiCollective {
    fn finalize(self: Box<Self>) -> Result<(), DistError> {
        MpiCollective::finalize(*self)
    }
}

fn datatype(dtype: Dtype) -> ffi::MPI_Datatype {
    // SAFETY: predefined datatype handles exported by rsmpi's C shim.
    unsafe {
        match dtype {
            Dtype::F32 => ffi::RSMPI_FLOAT,
            Dtype::F64 => ffi::RSMPI_DOUBLE,
            Dtype::U8 => ffi::RSMPI_UINT8_T,
        }
    }
}

fn check(code: c_int, what: &str) -> Result<(), DistError> {
    if code == ffi::MPI_SUCCESS as c_int {
        return Ok(());
    }
    let mut buf = vec![0u8; 512];
    let mut len: c_int = 0;
    // SAFETY: the buffer is larger than MPI_MAX_ERROR_STRING for the libraries we support.
    unsafe { ffi::MPI_Error_string(code, buf.as_mut_ptr().cast(), &mut len) };
    buf.truncate(len.max(0) as usize);
    Err(DistError::new(format!("{what} failed: {} (MPI error {code})", String::from_utf8_lossy(&buf))))
}

/// `MPI_Get_library_version`, e.g. "Open MPI v4.1.4, ...".
pub fn library_version() -> String {
    let mut buf = vec![0u8; 8192];
    let mut len: c_int = 0;
    // SAFETY: the buffer is larger than MPI_MAX_LIBRARY_VERSION_STRING.
    unsafe { ffi::MPI_Get_library_version(buf.as_mut_ptr().cast(), &mut len) };
    buf.truncate(len.max(0) as usize);
    String::from_utf8_lossy(&buf).trim_end_matches('\0').trim().to_string()
}

/// `MPI_IN_PLACE` is `(void *) 1` in Open MPI and `(void *) -1` in the MPICH family.
pub fn in_place_pointer(version: &str) -> Option<usize> {
    if version.contains("Open MPI") {
        Some(1)
    } else if ["MPICH", "Intel(R) MPI", "MVAPICH", "CRAY MPICH"].iter().any(|n| version.contains(n)) {
        Some(usize::MAX)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::in_place_pointer;

    #[test]
    fn in_place_follows_the_library_family() {
        assert_eq!(in_place_pointer("Open MPI v4.1.4, package: Debian OpenMPI"), Some(1));
        assert_eq!(in_place_pointer("MPICH Version: 4.1"), Some(usize::MAX));
        assert_eq!(in_place_pointer("Some other MPI"), None);
    }
}
