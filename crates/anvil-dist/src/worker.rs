//! The communication thread: one thread owns the backend, from its creation to its finalize, and
//! runs every collective in the order it was submitted. MPI is initialized with
//! `Threading::Funneled` (MPI calls only from the thread that initialized it), and all ranks must
//! issue their collectives in the same order, so one FIFO queue on one thread gives both.
//!
//! A caller either waits for a call at once ([`CommWorker::run`]) or starts it and waits later
//! ([`CommWorker::all_reduce_start`], [`CommWorker::wait`]): gradients are reduced while the
//! backward pass still computes others. Blocking calls queue behind the started ones.

use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use crate::{BufMut, Collective, DistError, Dtype, ReduceOp};

/// A backend the worker can own: its collectives, and the normal end (a barrier, the watchdog
/// told, and for MPI the MPI_Finalize that must run on the thread that initialized MPI).
pub trait Backend: Collective {
    fn finalize(self: Box<Self>) -> Result<(), DistError>;
}

/// Names a submitted job until it is waited.
pub type Ticket = u64;

/// A job that may borrow from its caller for `'a` (see `run`).
type ScopedJob<'a> = Box<dyn FnOnce(&dyn Collective) + Send + 'a>;
type Job = ScopedJob<'static>;

/// Results of finished jobs, by ticket, until waited.
#[derive(Default)]
struct Tickets {
    next: Ticket,
    /// Submitted and not yet waited (finished or not).
    open: HashSet<Ticket>,
    done: HashMap<Ticket, Result<(), DistError>>,
}

#[derive(Default)]
struct Shared {
    tickets: Mutex<Tickets>,
    finished: Condvar,
}

/// The backend on its own thread; see the module docs.
pub struct CommWorker {
    jobs: Sender<Job>,
    shared: Arc<Shared>,
    thread: JoinHandle<Result<(), DistError>>,
    rank: usize,
    world_size: usize,
    backend: &'static str,
}

/// Runs `f`, turning a panic into an error (a job must always report, or its waiter would hang).
fn caught<T>(what: &str, f: impl FnOnce() -> Result<T, DistError>) -> Result<T, DistError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| Err(DistError::new(format!("{what} panicked on the communication thread"))))
}

fn gone() -> DistError {
    DistError::new("the communication thread has ended")
}

/// A host buffer handed to a started job: its address outlives the borrow it came from.
struct RawBuf {
    ptr: *mut u8,
    len: usize,
    dtype: Dtype,
}

// SAFETY: the memory is only touched by the job until it is waited (`all_reduce_start`'s contract).
unsafe impl Send for RawBuf {}

impl RawBuf {
    fn new(mut data: BufMut<'_>) -> RawBuf {
        let (len, dtype) = (data.len(), data.dtype());
        RawBuf { ptr: data.as_bytes_mut().as_mut_ptr(), len, dtype }
    }

    /// SAFETY: the memory is still valid and no one else uses it (see `all_reduce_start`).
    unsafe fn get(&mut self) -> BufMut<'_> {
        // SAFETY: `ptr` came from a slice of `len` elements of `dtype` (so aligned for it).
        unsafe {
            match self.dtype {
                Dtype::F32 => BufMut::F32(std::slice::from_raw_parts_mut(self.ptr.cast(), self.len)),
                Dtype::F64 => BufMut::F64(std::slice::from_raw_parts_mut(self.ptr.cast(), self.len)),
                Dtype::U8 => BufMut::U8(std::slice::from_raw_parts_mut(self.ptr, self.len)),
            }
        }
    }
}

impl CommWorker {
    /// Starts the thread "anvil-comm", creates the backend there with `init` and returns once it
    /// exists (or with `init`'s error, the thread then ended).
    pub fn spawn<F>(init: F) -> Result<CommWorker, DistError>
    where
        F: FnOnce() -> Result<Box<dyn Backend>, DistError> + Send + 'static,
    {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new().name("anvil-comm".into()).spawn(move || {
            let backend = match caught("creating the backend", init) {
                Ok(b) => b,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return Ok(());
                }
            };
            let _ = ready_tx.send(Ok((backend.rank(), backend.world_size(), backend.backend())));
            // Ends when the worker's sender drops (finalize), after every queued job ran.
            for job in queue {
                job(&*backend);
            }
            caught("finalize", || backend.finalize())
        })?;
        match ready_rx.recv() {
            Ok(Ok((rank, world_size, backend))) => Ok(CommWorker { jobs, shared: Arc::default(), thread, rank, world_size, backend }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => Err(DistError::new("the communication thread ended while creating the backend")),
        }
    }

    pub fn rank(&self) -> usize {
        self.rank
    }

    pub fn world_size(&self) -> usize {
        self.world_size
    }

    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// Queues `job` behind every job submitted before it and returns at once.
    pub fn submit(&self, job: impl FnOnce(&dyn Collective) -> Result<(), DistError> + Send + 'static) -> Result<Ticket, DistError> {
        let ticket = {
            let mut t = self.shared.tickets.lock().map_err(|_| gone())?;
            t.next += 1;
            let ticket = t.next;
            t.open.insert(ticket);
            ticket
        };
        let shared = self.shared.clone();
        let sent = self.jobs.send(Box::new(move |c: &dyn Collective| {
            let result = caught("a started collective", || job(c));
            if let Ok(mut t) = shared.tickets.lock() {
                t.done.insert(ticket, result);
            }
            shared.finished.notify_all();
        }));
        if sent.is_err() {
            if let Ok(mut t) = self.shared.tickets.lock() {
                t.open.remove(&ticket);
            }
            return Err(gone());
        }
        Ok(ticket)
    }

    /// Blocks until the job of `ticket` finished and returns its result. Each ticket is waited
    /// once; tickets may be waited in any order.
    pub fn wait(&self, ticket: Ticket) -> Result<(), DistError> {
        let mut t = self.shared.tickets.lock().map_err(|_| gone())?;
        if !t.open.contains(&ticket) {
            return Err(DistError::new(format!("wait: ticket {ticket} is not a started collective of this process group, or was already waited")));
        }
        loop {
            if let Some(result) = t.done.remove(&ticket) {
                t.open.remove(&ticket);
                return result;
            }
            t = self.shared.finished.wait(t).map_err(|_| gone())?;
        }
    }

    /// Runs `f` on the communication thread after every job submitted before it, and waits for it.
    pub fn run<T: Send>(&self, f: impl FnOnce(&dyn Collective) -> Result<T, DistError> + Send) -> Result<T, DistError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let job: ScopedJob<'_> = Box::new(move |c: &dyn Collective| {
            let _ = tx.send(caught("a collective", || f(c)));
        });
        // SAFETY: `f` may borrow from the caller; this function returns only after the job ran
        // (its result received) or was dropped unrun (the sender dropped with it), so the job
        // never outlives those borrows.
        let job: Job = unsafe { std::mem::transmute::<ScopedJob<'_>, Job>(job) };
        self.jobs.send(job).map_err(|_| gone())?;
        rx.recv().unwrap_or_else(|_| Err(gone()))
    }

    /// Starts an in-place all-reduce of `data` behind every job submitted before it; its result
    /// comes from [`CommWorker::wait`].
    ///
    /// # Safety
    /// The memory behind `data` must stay allocated, and must not be read or written by anyone
    /// but the job, until `wait` for the returned ticket has returned (or [`CommWorker::finalize`]
    /// did, which runs every queued job).
    pub unsafe fn all_reduce_start(&self, data: BufMut<'_>, op: ReduceOp) -> Result<Ticket, DistError> {
        let mut raw = RawBuf::new(data);
        // SAFETY: the caller keeps the memory valid and untouched until the job was waited.
        self.submit(move |c| c.all_reduce(unsafe { raw.get() }, op))
    }

    /// Runs every queued job, then the backend's finalize on its thread, and ends the thread.
    /// Results of jobs never waited are dropped.
    pub fn finalize(self) -> Result<(), DistError> {
        let CommWorker { jobs, thread, .. } = self;
        drop(jobs);
        thread.join().unwrap_or_else(|_| Err(gone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Buf;
    use std::time::{Duration, Instant};

    /// Rank 0 of a pretend world whose other ranks hold the same data as this one, so a sum
    /// multiplies by the world size. Logs each call and the thread it ran on; all-reduces of
    /// f64 buffers wait for the gate to open, bytes with `mean` fail (the real check).
    struct Fake {
        world: usize,
        log: Arc<Mutex<Vec<String>>>,
        gate: Arc<(Mutex<bool>, Condvar)>,
    }

    impl Fake {
        fn record(&self, what: String) {
            let thread = std::thread::current().name().unwrap_or("?").to_string();
            self.log.lock().unwrap().push(format!("{what}@{thread}"));
        }
    }

    impl Collective for Fake {
        fn rank(&self) -> usize {
            0
        }
        fn world_size(&self) -> usize {
            self.world
        }
        fn backend(&self) -> &'static str {
            "fake"
        }
        fn all_reduce(&self, data: BufMut<'_>, op: ReduceOp) -> Result<(), DistError> {
            crate::check_op(&data, op)?;
            match data {
                BufMut::F32(d) => {
                    self.record(format!("all_reduce:{op:?}:{}", d.len()));
                    if op == ReduceOp::Sum {
                        d.iter_mut().for_each(|x| *x *= self.world as f32);
                    }
                }
                BufMut::F64(d) => {
                    let (open, cv) = &*self.gate;
                    let _open = cv.wait_while(open.lock().unwrap(), |o| !*o).unwrap();
                    self.record(format!("all_reduce:{op:?}:{}", d.len()));
                    if op == ReduceOp::Sum {
                        d.iter_mut().for_each(|x| *x *= self.world as f64);
                    }
                }
                BufMut::U8(d) => self.record(format!("all_reduce:{op:?}:{}", d.len())),
            }
            Ok(())
        }
        fn broadcast(&self, data: BufMut<'_>, root: usize) -> Result<(), DistError> {
            crate::check_root(root, self.world)?;
            self.record(format!("broadcast:{}", data.len()));
            Ok(())
        }
        fn all_gather(&self, data: Buf<'_>, mut out: BufMut<'_>) -> Result<(), DistError> {
            crate::check_gather(&data, &out, self.world)?;
            self.record("all_gather".into());
            let n = data.as_bytes().len();
            for chunk in out.as_bytes_mut().chunks_mut(n.max(1)) {
                chunk.copy_from_slice(&data.as_bytes()[..chunk.len()]);
            }
            Ok(())
        }
        fn barrier(&self) -> Result<(), DistError> {
            self.record("barrier".into());
            Ok(())
        }
    }

    impl Backend for Fake {
        fn finalize(self: Box<Self>) -> Result<(), DistError> {
            self.record("finalize".into());
            Ok(())
        }
    }

    struct Setup {
        worker: CommWorker,
        log: Arc<Mutex<Vec<String>>>,
        gate: Arc<(Mutex<bool>, Condvar)>,
    }

    fn setup(world: usize, gate_open: bool) -> Setup {
        let log = Arc::new(Mutex::new(Vec::new()));
        let gate = Arc::new((Mutex::new(gate_open), Condvar::new()));
        let fake = Fake { world, log: log.clone(), gate: gate.clone() };
        let worker = CommWorker::spawn(move || {
            fake.record("init".into());
            Ok(Box::new(fake) as Box<dyn Backend>)
        })
        .unwrap();
        Setup { worker, log, gate }
    }

    fn open(gate: &(Mutex<bool>, Condvar)) {
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
    }

    fn log(s: &Setup) -> Vec<String> {
        s.log.lock().unwrap().clone()
    }

    #[test]
    fn spawn_reports_the_backend_and_init_errors() {
        let s = setup(3, true);
        assert_eq!((s.worker.rank(), s.worker.world_size(), s.worker.backend()), (0, 3, "fake"));
        s.worker.finalize().unwrap();
        assert_eq!(s.log.lock().unwrap().clone(), ["init@anvil-comm", "finalize@anvil-comm"]);

        let e = CommWorker::spawn(|| Err(DistError::new("no MPI here"))).err().unwrap();
        assert_eq!(e.0, "no MPI here");
        let e = CommWorker::spawn(|| panic!("boom")).err().unwrap();
        assert_eq!(e.0, "creating the backend panicked on the communication thread");
    }

    #[test]
    fn jobs_run_in_submission_order_across_started_and_blocking_calls() {
        let s = setup(2, true);
        let mut a = vec![1.0f32; 3];
        let mut b = vec![2.0f32; 5];
        let mut c = vec![0u8; 4];
        let ta = unsafe { s.worker.all_reduce_start(BufMut::F32(&mut a), ReduceOp::Sum) }.unwrap();
        s.worker.run(|c| c.barrier()).unwrap();
        let tb = unsafe { s.worker.all_reduce_start(BufMut::F32(&mut b), ReduceOp::Mean) }.unwrap();
        s.worker.run(|k| k.broadcast(BufMut::U8(&mut c), 0)).unwrap();
        let gathered = s
            .worker
            .run(|k| {
                let mut out = vec![0f64; 2 * k.world_size()];
                k.all_gather(Buf::F64(&[1.5, -2.0]), BufMut::F64(&mut out))?;
                Ok(out)
            })
            .unwrap();
        assert_eq!(gathered, [1.5, -2.0, 1.5, -2.0]);
        s.worker.wait(tb).unwrap();
        s.worker.wait(ta).unwrap();
        assert_eq!(a, [2.0; 3]);
        assert_eq!(b, [2.0; 5]);
        assert_eq!(
            log(&s),
            ["init", "all_reduce:Sum:3", "barrier", "all_reduce:Mean:5", "broadcast:4", "all_gather"].map(|x| format!("{x}@anvil-comm"))
        );
        s.worker.finalize().unwrap();
    }

    #[test]
    fn a_started_job_completes_while_the_caller_goes_on() {
        let s = setup(4, false);
        let mut data = vec![0.5f64; 1000];
        let t = unsafe { s.worker.all_reduce_start(BufMut::F64(&mut data), ReduceOp::Sum) }.unwrap();
        // The job is blocked on the gate, yet the caller got its ticket and runs on.
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(log(&s), ["init@anvil-comm"]);
        let gate = s.gate.clone();
        let opener = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            open(&gate);
        });
        let start = Instant::now();
        s.worker.wait(t).unwrap();
        assert!(start.elapsed() >= Duration::from_millis(80), "wait returned before the job could finish");
        assert!(data.iter().all(|&x| x == 2.0));
        opener.join().unwrap();
        s.worker.finalize().unwrap();
    }

    #[test]
    fn tickets_are_waited_in_any_order_each_with_its_own_result() {
        let s = setup(2, true);
        let mut bufs: Vec<Vec<f32>> = (0..5).map(|i| vec![i as f32; i + 1]).collect();
        let mut bytes = vec![1u8, 2];
        let mut tickets = Vec::new();
        for (i, b) in bufs.iter_mut().enumerate() {
            tickets.push(unsafe { s.worker.all_reduce_start(BufMut::F32(b), ReduceOp::Sum) }.unwrap());
            if i == 2 {
                // Mean over bytes is refused: this job alone fails.
                tickets.push(unsafe { s.worker.all_reduce_start(BufMut::U8(&mut bytes), ReduceOp::Mean) }.unwrap());
            }
        }
        let failing = tickets.remove(3);
        for &t in tickets.iter().rev() {
            s.worker.wait(t).unwrap();
        }
        let e = s.worker.wait(failing).unwrap_err();
        assert_eq!(e.0, "all_reduce: mean is defined for float32 and float64 buffers, not bytes");
        for (i, b) in bufs.iter().enumerate() {
            assert_eq!(b, &vec![2.0 * i as f32; i + 1]);
        }
        // Waited tickets and made-up ones are refused, without blocking.
        let e = s.worker.wait(tickets[0]).unwrap_err();
        assert_eq!(e.0, format!("wait: ticket {} is not a started collective of this process group, or was already waited", tickets[0]));
        assert!(s.worker.wait(999).is_err());
        // A failing blocking call returns its own error; the next ones still run.
        let e = s.worker.run(|c| c.broadcast(BufMut::U8(&mut bytes), 5)).unwrap_err();
        assert_eq!(e.0, "broadcast: root rank 5 is not in a world of 2");
        let e = s.worker.run(|_| -> Result<(), DistError> { panic!("bug") }).unwrap_err();
        assert_eq!(e.0, "a collective panicked on the communication thread");
        s.worker.run(|c| c.barrier()).unwrap();
        s.worker.finalize().unwrap();
    }

    #[test]
    fn finalize_runs_every_queued_job_first() {
        let s = setup(2, false);
        let mut a = vec![1.0f64; 8];
        let mut b = vec![3.0f64; 2];
        unsafe { s.worker.all_reduce_start(BufMut::F64(&mut a), ReduceOp::Sum) }.unwrap();
        unsafe { s.worker.all_reduce_start(BufMut::F64(&mut b), ReduceOp::Sum) }.unwrap();
        let gate = s.gate.clone();
        let opener = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            open(&gate);
        });
        s.worker.finalize().unwrap();
        opener.join().unwrap();
        assert_eq!(a, [2.0; 8]);
        assert_eq!(b, [6.0; 2]);
        assert_eq!(s.log.lock().unwrap().clone(), ["init", "all_reduce:Sum:8", "all_reduce:Sum:2", "finalize"].map(|x| format!("{x}@anvil-comm")));
    }
}
