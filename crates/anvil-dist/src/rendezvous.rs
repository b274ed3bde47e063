//! The TCP rendezvous at rank 0: every other rank connects, says who it is, and receives rank 0's
//! payload (NCCL's unique id; nothing for MPI, which has its own wire-up). The connections stay
//! open afterwards as the watchdog's liveness links; no collective data ever goes over them.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::error::DistError;

pub struct RendezvousOptions {
    pub rank: usize,
    pub world_size: usize,
    /// Rank 0's address as the others reach it (MASTER_ADDR).
    pub addr: String,
    /// Rank 0's port (MASTER_PORT); rank 0 binds it (0: any free port, see [`Rendezvous::listen`]).
    pub port: u16,
    /// How long to wait for every rank to arrive.
    pub timeout: Duration,
}

/// A rank's side of the rendezvous: rank 0 holds one link per other rank, the others one link to rank 0.
pub struct Rendezvous {
    /// `(peer rank, description for messages, stream)`.
    pub links: Vec<(usize, String, BufReader<TcpStream>)>,
    /// What rank 0 handed out.
    pub payload: Vec<u8>,
}

/// Rank 0's listening socket, bound before the others learn its port.
pub struct Listener {
    listener: TcpListener,
}

impl Listener {
    /// Binds every interface on `port` (0: a free port).
    pub fn bind(port: u16) -> Result<Listener, DistError> {
        let listener = TcpListener::bind(("0.0.0.0", port))
            .map_err(|e| DistError::new(format!("rank 0 cannot listen on port {port} for the rendezvous: {e} (is MASTER_PORT in use?)")))?;
        Ok(Listener { listener })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Waits for the `world_size - 1` other ranks and sends each `payload`.
    pub fn accept_all(self, world_size: usize, payload: &[u8], timeout: Duration) -> Result<Rendezvous, DistError> {
        let deadline = Instant::now() + timeout;
        self.listener.set_nonblocking(true)?;
        let mut links: Vec<(usize, String, BufReader<TcpStream>)> = Vec::new();
        while links.len() + 1 < world_size {
            match self.listener.accept() {
                Ok((stream, from)) => {
                    stream.set_nonblocking(false)?;
                    stream.set_read_timeout(Some(deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1))))?;
                    let mut reader = BufReader::new(stream);
                    let mut line = String::new();
                    reader.read_line(&mut line)?;
                    let (rank, desc) = parse_hello(&line, world_size).map_err(|e| DistError::new(format!("rendezvous: {from} sent {e}")))?;
                    if rank == 0 || links.iter().any(|(r, _, _)| *r == rank) {
                        return Err(DistError::new(format!("rendezvous: two processes claim rank {rank} (check RANK / --node-rank)")));
                    }
                    let stream = reader.get_mut();
                    stream.set_read_timeout(None)?;
                    stream.write_all(format!("welcome {}\n", hex(payload)).as_bytes())?;
                    links.push((rank, desc, reader));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        let mut missing: Vec<usize> = (1..world_size).filter(|r| !links.iter().any(|(x, _, _)| x == r)).collect();
                        missing.truncate(8);
                        return Err(DistError::new(format!(
                            "rendezvous: waited {:.0} s at port {} for ranks {missing:?} of {world_size}; they never connected",
                            timeout.as_secs_f64(),
                            self.port()
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(e.into()),
            }
        }
        links.sort_by_key(|(r, _, _)| *r);
        Ok(Rendezvous { links, payload: payload.to_vec() })
    }
}

/// Connects to rank 0 (retrying until it listens or the timeout passes) and receives its payload.
pub fn connect(options: &RendezvousOptions) -> Result<Rendezvous, DistError> {
    let RendezvousOptions { rank, addr, port, timeout, .. } = options;
    let deadline = Instant::now() + *timeout;
    let target = format!("{addr}:{port}");
    let stream = loop {
        let attempt = target
            .to_socket_addrs()
            .map_err(|e| DistError::new(format!("rendezvous: cannot resolve MASTER_ADDR '{addr}': {e}")))?
            .find_map(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).ok());
        if let Some(s) = attempt {
            break s;
        }
        if Instant::now() >= deadline {
            return Err(DistError::new(format!("rendezvous: rank {rank} could not reach rank 0 at {target} within {:.0} s", timeout.as_secs_f64())));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    writer.write_all(format!("hello {rank} {} {}\n", std::process::id(), hostname()).as_bytes())?;
    stream.set_read_timeout(Some(deadline.saturating_duration_since(Instant::now()).max(Duration::from_secs(1))))?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).map_err(|e| DistError::new(format!("rendezvous: rank 0 at {target} did not answer: {e}")))?;
    let payload = line
        .trim_end()
        .strip_prefix("welcome ")
        .or_else(|| if line.trim_end() == "welcome" { Some("") } else { None })
        .and_then(unhex)
        .ok_or_else(|| DistError::new(format!("rendezvous: unexpected answer from {target}: {:?}", line.trim_end())))?;
    reader.get_mut().set_read_timeout(None)?;
    Ok(Rendezvous { links: vec![(0, format!("rank 0 ({target})"), reader)], payload })
}

/// The whole rendezvous for a rank that knows rank 0's fixed address (MASTER_ADDR:MASTER_PORT).
pub fn rendezvous(options: &RendezvousOptions, payload: impl FnOnce() -> Result<Vec<u8>, DistError>) -> Result<Rendezvous, DistError> {
    if options.rank == 0 {
        let listener = Listener::bind(options.port)?;
        listener.accept_all(options.world_size, &payload()?, options.timeout)
    } else {
        connect(options)
    }
}

fn parse_hello(line: &str, world_size: usize) -> Result<(usize, String), String> {
    let mut parts = line.split_whitespace();
    if parts.next() != Some("hello") {
        return Err(format!("{:?} instead of a hello", line.trim_end()));
    }
    let rank: usize = parts.next().and_then(|r| r.parse().ok()).ok_or("a hello without a rank")?;
    if rank >= world_size {
        return Err(format!("rank {rank}, outside a world of {world_size}"));
    }
    let pid = parts.next().unwrap_or("?");
    let host = parts.next().unwrap_or("?");
    Ok((rank, format!("rank {rank} (pid {pid} on {host})")))
}

pub(crate) fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it or truncates.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    if !ok {
        return "unknown-host".to_string();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(unhex(&hex(&bytes)).unwrap(), bytes);
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }

    #[test]
    fn three_ranks_meet_and_get_the_payload() {
        let listener = Listener::bind(0).unwrap();
        let port = listener.port();
        let clients: Vec<_> = (1..3)
            .map(|rank| {
                std::thread::spawn(move || {
                    connect(&RendezvousOptions { rank, world_size: 3, addr: "127.0.0.1".into(), port, timeout: Duration::from_secs(10) }).unwrap()
                })
            })
            .collect();
        let server = listener.accept_all(3, b"unique-id", Duration::from_secs(10)).unwrap();
        assert_eq!(server.links.iter().map(|l| l.0).collect::<Vec<_>>(), vec![1, 2]);
        assert!(server.links[0].1.starts_with("rank 1 (pid "));
        for c in clients {
            let r = c.join().unwrap();
            assert_eq!(r.payload, b"unique-id");
            assert_eq!(r.links[0].0, 0);
        }
    }

    #[test]
    fn a_missing_rank_times_out_with_its_number() {
        let listener = Listener::bind(0).unwrap();
        let err = listener.accept_all(2, b"", Duration::from_millis(200)).err().unwrap();
        assert!(err.0.contains("for ranks [1] of 2; they never connected"), "{err}");
        let err = connect(&RendezvousOptions { rank: 1, world_size: 2, addr: "127.0.0.1".into(), port: 1, timeout: Duration::from_millis(300) }).err().unwrap();
        assert!(err.0.contains("rank 1 could not reach rank 0 at 127.0.0.1:1"), "{err}");
    }
}
