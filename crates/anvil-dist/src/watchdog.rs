//! The watchdog: a blocked collective never returns when a peer has died (MPI and NCCL wait for
//! it forever), so a rank cannot notice the failure on the thread that waits. Background threads
//! watch instead:
//! - each rendezvous link (rank 0 to every rank) is read until it closes; a process's sockets are
//!   closed by the kernel when it dies, so an EOF before the peer's `bye` means it is gone (TCP
//!   keepalive covers a vanished machine). Rank 0 forwards the news to the other ranks.
//! - the collective in flight is timed; one that waits longer than the timeout fails the run.
//!
//! A failure calls the [`FailureHandler`]; the default prints Anvil's error and ends the process
//! with `_exit` (exit handlers could block on the dead peer too).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// torch.distributed's default collective timeout.
pub const DEFAULT_TIMEOUT_S: f64 = 1800.0;

/// The exit status of a process the watchdog ends (the CLI's status for Anvil's errors).
pub const EXIT_STATUS: i32 = 2;

pub type FailureHandler = Arc<dyn Fn(&str) + Send + Sync>;

struct Peer {
    writer: TcpStream,
    said_bye: AtomicBool,
}

struct Inner {
    rank: usize,
    world_size: usize,
    timeout: Duration,
    handler: FailureHandler,
    peers: Vec<(usize, String, Peer)>,
    closing: AtomicBool,
    failed: AtomicBool,
    in_flight: Mutex<Option<(&'static str, Instant)>>,
}

impl Inner {
    fn fail(&self, msg: &str) {
        if self.failed.swap(true, Ordering::SeqCst) || self.closing.load(Ordering::SeqCst) {
            return;
        }
        if self.rank == 0 {
            // Tell the others, whose only link is to this rank (best effort: some may be gone).
            for (_, _, peer) in &self.peers {
                let _ = (&peer.writer).write_all(format!("fail {}\n", msg.replace('\n', " ")).as_bytes());
            }
        }
        (self.handler)(msg);
    }
}

/// Watches one rank's peers and collectives; see the module docs.
#[derive(Clone)]
pub struct Watchdog {
    inner: Arc<Inner>,
}

/// Marks a collective in flight until dropped.
pub struct OpGuard<'a> {
    watchdog: &'a Watchdog,
}

impl Drop for OpGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut op) = self.watchdog.inner.in_flight.lock() {
            *op = None;
        }
    }
}

impl Watchdog {
    /// Starts watching `links` (from the rendezvous) and the collectives marked by [`Watchdog::guard`].
    pub fn start(rank: usize, world_size: usize, links: Vec<(usize, String, BufReader<TcpStream>)>, timeout: Duration, handler: FailureHandler) -> Result<Watchdog, crate::DistError> {
        let mut peers = Vec::new();
        let mut readers = Vec::new();
        for (peer_rank, desc, reader) in links {
            let stream = reader.get_ref();
            keepalive(stream);
            peers.push((peer_rank, desc, Peer { writer: stream.try_clone()?, said_bye: AtomicBool::new(false) }));
            readers.push(reader);
        }
        let inner = Arc::new(Inner {
            rank,
            world_size,
            timeout,
            handler,
            peers,
            closing: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            in_flight: Mutex::new(None),
        });
        for (i, reader) in readers.into_iter().enumerate() {
            let inner = inner.clone();
            std::thread::Builder::new().name(format!("anvil-dist-link-{i}")).spawn(move || watch_link(&inner, i, reader))?;
        }
        let monitor = inner.clone();
        std::thread::Builder::new().name("anvil-dist-timeout".into()).spawn(move || watch_time(&monitor))?;
        Ok(Watchdog { inner })
    }

    /// Times the collective `op` until the guard is dropped.
    pub fn guard(&self, op: &'static str) -> OpGuard<'_> {
        if let Ok(mut slot) = self.inner.in_flight.lock() {
            *slot = Some((op, Instant::now()));
        }
        OpGuard { watchdog: self }
    }

    /// A normal end: tells the peers, so their links closing is no longer a failure.
    pub fn close(&self) {
        if self.inner.closing.swap(true, Ordering::SeqCst) {
            return;
        }
        for (_, _, peer) in &self.inner.peers {
            let _ = (&peer.writer).write_all(b"bye\n");
            let _ = peer.writer.shutdown(std::net::Shutdown::Write);
        }
    }

    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.closing.store(true, Ordering::SeqCst);
    }
}

fn watch_link(inner: &Arc<Inner>, i: usize, mut reader: BufReader<TcpStream>) {
    let (peer_rank, desc, peer) = &inner.peers[i];
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line);
        if inner.closing.load(Ordering::SeqCst) && !matches!(&n, Ok(n) if *n > 0) {
            return;
        }
        match n {
            Ok(0) | Err(_) => {
                if peer.said_bye.load(Ordering::SeqCst) || inner.closing.load(Ordering::SeqCst) {
                    return;
                }
                let why = match n {
                    Err(e) => format!("its connection failed: {e}"),
                    _ => "its connection closed".to_string(),
                };
                let who = if *peer_rank == 0 { desc.clone() } else { format!("{desc} of {}", inner.world_size) };
                inner.fail(&format!(
                    "{who} exited or became unreachable before training finished ({why}); stopping rank {} instead of waiting for it in a collective",
                    inner.rank
                ));
                return;
            }
            Ok(_) => {
                let msg = line.trim_end();
                if msg == "bye" {
                    peer.said_bye.store(true, Ordering::SeqCst);
                } else if let Some(reason) = msg.strip_prefix("fail ") {
                    // Rank 0 saw another rank fail.
                    inner.fail(reason);
                    return;
                }
            }
        }
    }
}

fn watch_time(inner: &Arc<Inner>) {
    loop {
        std::thread::sleep(Duration::from_millis(100).min(inner.timeout / 4));
        if inner.closing.load(Ordering::SeqCst) || inner.failed.load(Ordering::SeqCst) || Arc::strong_count(inner) == 1 {
            return;
        }
        let late = inner.in_flight.lock().ok().and_then(|op| op.filter(|(_, start)| start.elapsed() > inner.timeout));
        if let Some((op, start)) = late {
            inner.fail(&format!(
                "{op} on rank {} has waited {:.1} s for the other ranks (timeout {:.1} s, ANVIL_DIST_TIMEOUT); a rank is stuck or unreachable",
                inner.rank,
                start.elapsed().as_secs_f64(),
                inner.timeout.as_secs_f64()
            ));
            return;
        }
    }
}

/// Probes an idle link so a machine that vanished (no FIN ever comes) is noticed in about 25 s.
fn keepalive(stream: &TcpStream) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let fd = stream.as_raw_fd();
        let set = |level: libc::c_int, name: libc::c_int, value: libc::c_int| {
            // SAFETY: a valid socket and a pointer to an int of the size given.
            unsafe { libc::setsockopt(fd, level, name, (&value as *const libc::c_int).cast(), std::mem::size_of::<libc::c_int>() as libc::socklen_t) };
        };
        set(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1);
        set(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, 10);
        set(libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, 5);
        set(libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 3);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = stream;
}

/// The default handler: Anvil's error on stderr, then the process ends at once.
pub fn exit_handler() -> FailureHandler {
    Arc::new(|msg: &str| {
        // One write: `eprintln!` writes its pieces separately, and mpirun's own report, forwarded
        // on the same stream, can land between them.
        let line = format!("anvil: distributed training failed: {msg}\n");
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
        // SAFETY: ends the process without running exit handlers, which could wait on the dead peer.
        unsafe { libc::_exit(EXIT_STATUS) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rendezvous::{connect, Listener, RendezvousOptions};
    use std::sync::mpsc;

    fn recorder() -> (FailureHandler, mpsc::Receiver<String>) {
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        (Arc::new(move |m: &str| tx.lock().unwrap().send(m.to_string()).unwrap()), rx)
    }

    /// Rank 0 and `world - 1` clients meet on localhost.
    fn meet(world: usize) -> (crate::Rendezvous, Vec<crate::Rendezvous>) {
        let listener = Listener::bind(0).unwrap();
        let port = listener.port();
        let clients: Vec<_> = (1..world)
            .map(|rank| std::thread::spawn(move || connect(&RendezvousOptions { rank, world_size: world, addr: "127.0.0.1".into(), port, timeout: Duration::from_secs(10) }).unwrap()))
            .collect();
        let server = listener.accept_all(world, b"", Duration::from_secs(10)).unwrap();
        (server, clients.into_iter().map(|c| c.join().unwrap()).collect())
    }

    #[test]
    fn a_peer_that_dies_is_reported_by_rank_0_and_forwarded_to_the_others() {
        let (server, mut clients) = meet(3);
        let (h0, rx0) = recorder();
        let (h2, rx2) = recorder();
        let _w0 = Watchdog::start(0, 3, server.links, Duration::from_secs(60), h0).unwrap();
        let c2 = clients.pop().unwrap();
        let _w2 = Watchdog::start(2, 3, c2.links, Duration::from_secs(60), h2).unwrap();
        // Rank 1 "dies": its socket closes without a bye.
        drop(clients.pop().unwrap());
        let msg0 = rx0.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(msg0.starts_with("rank 1 (pid "), "{msg0}");
        assert!(msg0.contains("of 3 exited or became unreachable before training finished (its connection closed); stopping rank 0"), "{msg0}");
        assert_eq!(rx2.recv_timeout(Duration::from_secs(5)).unwrap(), msg0);
    }

    #[test]
    fn a_normal_close_is_not_a_failure() {
        let (server, mut clients) = meet(2);
        let (h0, rx0) = recorder();
        let (h1, rx1) = recorder();
        let w0 = Watchdog::start(0, 2, server.links, Duration::from_secs(60), h0).unwrap();
        let w1 = Watchdog::start(1, 2, clients.pop().unwrap().links, Duration::from_secs(60), h1).unwrap();
        w1.close();
        drop(w1);
        std::thread::sleep(Duration::from_millis(300));
        w0.close();
        assert!(rx0.recv_timeout(Duration::from_millis(300)).is_err());
        assert!(rx1.try_recv().is_err());
    }

    #[test]
    fn a_collective_past_the_timeout_fails_naming_it() {
        let (h, rx) = recorder();
        let w = Watchdog::start(0, 1, Vec::new(), Duration::from_millis(200), h).unwrap();
        {
            let _g = w.guard("all_reduce");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(rx.recv_timeout(Duration::from_millis(400)).is_err(), "a short collective must not fail");
        let _g = w.guard("barrier");
        let msg = rx.recv_timeout(Duration::from_secs(3)).unwrap();
        assert!(msg.starts_with("barrier on rank 0 has waited 0.2"), "{msg}");
        assert!(msg.contains("(timeout 0.2 s, ANVIL_DIST_TIMEOUT)"), "{msg}");
    }
}
