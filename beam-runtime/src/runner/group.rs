//! A process group: which process this is, how many there are, where each one
//! listens, and the connections between them, opened here (without Timely's connect
//! loop, which sleeps a second after each refused attempt) and handed to Timely.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};

/// The port a host listens on when the hosts list names none: `host` is
/// `host:2101`.
pub const DEFAULT_PORT: u16 = 2101;

/// How long a process waits for the others to start, unless
/// `BEAM_CONNECT_TIMEOUT` (seconds) says otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// What the first bytes of each connection say, so that a stray connection (or a
/// process of another job on a reused port) is refused rather than believed.
const HELLO: &[u8; 8] = b"beam-grp";

/// One process of a group that runs the same pipeline together.
///
/// `pipeline!(..).run()` starts as one of a group when the environment says so
/// (see [`Group::from_env`]); [`Pipeline::on_group`](crate::pipeline::Pipeline::on_group)
/// sets it in code.
///
/// ```
/// use beam::Group;
///
/// let group = Group::new(1, vec!["10.0.0.1:2101".into(), "10.0.0.2:2101".into()]).unwrap();
/// assert_eq!((group.index(), group.processes()), (1, 2));
/// ```
#[derive(Debug, Clone)]
pub struct Group {
    index: usize,
    hosts: Vec<String>,
    connect_timeout: Duration,
}

impl Group {
    /// Process `index` of a group whose process `i` listens at `hosts[i]`
    /// (`host:port`, or `host` for port [`DEFAULT_PORT`]).
    pub fn new(index: usize, hosts: Vec<String>) -> Result<Group> {
        if hosts.is_empty() || index >= hosts.len() {
            return Err(Error::new(
                ErrorKind::Runner,
                format!("process index {index} is not one of the {} hosts of the group", hosts.len()),
            ));
        }
        let hosts =
            hosts.into_iter().map(|h| if h.contains(':') { h } else { format!("{h}:{DEFAULT_PORT}") }).collect();
        Ok(Group { index, hosts, connect_timeout: DEFAULT_CONNECT_TIMEOUT })
    }

    /// How long to wait for every other process to be reachable before the run
    /// fails (default [`DEFAULT_CONNECT_TIMEOUT`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// This process's index, from 0.
    pub fn index(&self) -> usize {
        self.index
    }

    /// How many processes the group has.
    pub fn processes(&self) -> usize {
        self.hosts.len()
    }

    /// The group this process was started as one of, if the environment says it was:
    ///
    /// - the process count from `BEAM_PROCESSES`, else `SLURM_NTASKS`,
    ///   `OMPI_COMM_WORLD_SIZE` (Open MPI's `mpirun`) or `PMI_SIZE` (MPICH's);
    /// - the index from `BEAM_PROCESS_INDEX`, else `SLURM_PROCID`,
    ///   `JOB_COMPLETION_INDEX` (a Kubernetes indexed Job), `OMPI_COMM_WORLD_RANK`
    ///   or `PMI_RANK`;
    /// - the hosts from `BEAM_HOSTS`: a file with one `host[:port]` per line, in
    ///   process order, or the same list separated by commas.
    ///
    /// `None` when no count is set or it is 1 (a single process runs locally), or
    /// when only a launcher's variables are set and `BEAM_HOSTS` is not; an error
    /// when `BEAM_PROCESSES` is set but the index or the hosts are missing, or
    /// when they disagree with the count. `BEAM_CONNECT_TIMEOUT` sets the connection timeout in
    /// seconds.
    pub fn from_env() -> Result<Option<Group>> {
        Group::from_vars(|name| std::env::var(name).ok())
    }

    fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Group>> {
        let first = |names: &[&'static str]| names.iter().find_map(|&n| var(n).map(|v| (n, v)));
        let Some((count_from, count)) = first(&["BEAM_PROCESSES", "SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE"])
        else {
            return Ok(None);
        };
        let bad = |what: String| Err(Error::new(ErrorKind::Runner, what));
        let Ok(processes) = count.trim().parse::<usize>() else {
            return bad(format!("{count_from}={count:?} is not a number of processes"));
        };
        if processes <= 1 {
            return Ok(None);
        }
        let Some((index_from, index)) =
            first(&["BEAM_PROCESS_INDEX", "SLURM_PROCID", "JOB_COMPLETION_INDEX", "OMPI_COMM_WORLD_RANK", "PMI_RANK"])
        else {
            return bad(format!("{count_from}={processes} but no process index is set (BEAM_PROCESS_INDEX)"));
        };
        let Ok(index) = index.trim().parse::<usize>() else {
            return bad(format!("{index_from}={index:?} is not a process index"));
        };
        let Some(hosts) = var("BEAM_HOSTS") else {
            if count_from != "BEAM_PROCESSES" {
                // A launcher's numbering alone (one program started inside a Slurm
                // allocation, say) is not a group of ours: BEAM_HOSTS opts in.
                log::warn!("{count_from}={processes} but BEAM_HOSTS is not set: running as one process");
                return Ok(None);
            }
            return bad(format!(
                "{count_from}={processes} but BEAM_HOSTS is not set: a file with one host[:port] per line, or a comma-separated list"
            ));
        };
        let is_file = Path::new(&hosts).is_file();
        let listed = if is_file {
            std::fs::read_to_string(&hosts).map_err(|e| {
                Error::new(ErrorKind::Runner, format!("could not read the hosts file {hosts}")).with_source(e)
            })?
        } else {
            hosts.replace(',', "\n")
        };
        let hosts: Vec<String> =
            listed.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from).collect();
        if hosts.len() != processes {
            let listed = match hosts.len() {
                1 if !is_file => format!("BEAM_HOSTS={:?} is no file, and as a list names one host", hosts[0]),
                1 => "BEAM_HOSTS lists one host".to_owned(),
                n => format!("BEAM_HOSTS lists {n} hosts"),
            };
            return bad(format!("{count_from}={processes} but {listed}"));
        }
        let mut group = Group::new(index, hosts)?;
        if let Some(seconds) = var("BEAM_CONNECT_TIMEOUT") {
            match seconds.trim().parse::<f64>() {
                Ok(s) if s > 0.0 => group.connect_timeout = Duration::from_secs_f64(s),
                _ => return bad(format!("BEAM_CONNECT_TIMEOUT={seconds:?} is not a number of seconds")),
            }
        }
        Ok(Some(group))
    }

    /// Connects to every other process: this one listens at its own host and
    /// accepts the processes after it, and connects to the ones before it (as
    /// Timely expects), retrying every few milliseconds until the timeout.
    /// Returns a stream per process, `None` at this one's index.
    pub(crate) fn connect(&self) -> Result<Vec<Option<TcpStream>>> {
        let deadline = Instant::now() + self.connect_timeout;
        let listener = self.listen()?;
        let me = self.index;
        let mut streams: Vec<Option<TcpStream>> = (0..self.processes()).map(|_| None).collect();
        for (peer, host) in self.hosts.iter().enumerate().take(me) {
            streams[peer] = Some(self.connect_to(peer, host, deadline)?);
        }
        listener.set_nonblocking(true).map_err(|e| self.error("could not listen", e))?;
        while streams.iter().enumerate().any(|(i, s)| i > me && s.is_none()) {
            match listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).map_err(|e| self.error("could not accept a connection", e))?;
                    if let Some(peer) = self.greeted(stream.try_clone().ok(), deadline)
                        && peer > me
                        && peer < streams.len()
                        && streams[peer].is_none()
                    {
                        streams[peer] = Some(stream);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() > deadline {
                        let missing: Vec<String> = (me + 1..self.processes())
                            .filter(|&i| streams[i].is_none())
                            .map(|i| format!("{i} ({})", self.hosts[i]))
                            .collect();
                        return Err(Error::new(
                            ErrorKind::Runner,
                            format!(
                                "process {me} of {}: process {} did not connect within {:.1} s",
                                self.processes(),
                                missing.join(", "),
                                self.connect_timeout.as_secs_f64()
                            ),
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => return Err(self.error("could not accept a connection", e)),
            }
        }
        for stream in streams.iter().flatten() {
            stream.set_nodelay(true).map_err(|e| self.error("could not set up a connection", e))?;
        }
        Ok(streams)
    }

    /// A listener on this process's port, on every interface of the address
    /// family its host name resolves to first (as the others will connect to it),
    /// so a name that resolves elsewhere than it binds still works.
    fn listen(&self) -> Result<TcpListener> {
        let host = &self.hosts[self.index];
        let port = host.rsplit_once(':').and_then(|(_, p)| p.parse::<u16>().ok()).ok_or_else(|| {
            Error::new(ErrorKind::Runner, format!("process {}: `{host}` is not host:port", self.index))
        })?;
        let v6 = host.to_socket_addrs().ok().and_then(|mut addrs| addrs.next()).is_some_and(|a| a.is_ipv6());
        let any = if v6 { SocketAddr::from(([0u16; 8], port)) } else { SocketAddr::from(([0, 0, 0, 0], port)) };
        TcpListener::bind(any).map_err(|e| self.error(&format!("could not listen on port {port}"), e))
    }

    fn connect_to(&self, peer: usize, host: &str, deadline: Instant) -> Result<TcpStream> {
        loop {
            // Every address the name resolves to, in order (`localhost` may be
            // `::1` and `127.0.0.1`).
            let attempt = host.to_socket_addrs().and_then(|addrs| {
                let mut last = std::io::Error::other("the host name resolves to no address");
                for addr in addrs {
                    match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
                        Ok(stream) => return Ok(stream),
                        Err(e) => last = e,
                    }
                }
                Err(last)
            });
            match attempt.and_then(|mut stream| {
                stream.write_all(HELLO)?;
                stream.write_all(&(self.index as u64).to_le_bytes())?;
                stream.write_all(&(self.processes() as u64).to_le_bytes())?;
                Ok(stream)
            }) {
                Ok(stream) => return Ok(stream),
                Err(e) if Instant::now() > deadline => {
                    return Err(self.error(
                        &format!(
                            "could not reach process {peer} at {host} within {:.1} s",
                            self.connect_timeout.as_secs_f64()
                        ),
                        e,
                    ));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    }

    /// The index a connecting process says it has, if it greets as one of this group.
    fn greeted(&self, stream: Option<TcpStream>, deadline: Instant) -> Option<usize> {
        let mut stream = stream?;
        let wait = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
        stream.set_read_timeout(Some(wait)).ok()?;
        let mut hello = [0u8; 24];
        stream.read_exact(&mut hello).ok()?;
        stream.set_read_timeout(None).ok()?;
        let index = u64::from_le_bytes(hello[8..16].try_into().ok()?) as usize;
        let processes = u64::from_le_bytes(hello[16..24].try_into().ok()?) as usize;
        (&hello[..8] == HELLO && processes == self.processes()).then_some(index)
    }

    fn error(&self, what: &str, e: std::io::Error) -> Error {
        Error::new(ErrorKind::Runner, format!("process {} of {}: {what}", self.index, self.processes())).with_source(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn the_group_comes_from_beam_or_launcher_variables() {
        assert!(Group::from_vars(vars(&[])).unwrap().is_none());
        assert!(Group::from_vars(vars(&[("BEAM_PROCESSES", "1")])).unwrap().is_none());
        let g =
            Group::from_vars(vars(&[("BEAM_PROCESSES", "2"), ("BEAM_PROCESS_INDEX", "1"), ("BEAM_HOSTS", "a,b:7")]))
                .unwrap()
                .unwrap();
        assert_eq!((g.index(), g.hosts.clone()), (1, vec!["a:2101".to_owned(), "b:7".to_owned()]));
        let slurm = vars(&[("SLURM_NTASKS", "3"), ("SLURM_PROCID", "2"), ("BEAM_HOSTS", "a,b,c")]);
        assert_eq!(Group::from_vars(slurm).unwrap().unwrap().index(), 2);
        let mpi = vars(&[("OMPI_COMM_WORLD_SIZE", "2"), ("OMPI_COMM_WORLD_RANK", "0"), ("BEAM_HOSTS", "a,b")]);
        assert_eq!(Group::from_vars(mpi).unwrap().unwrap().index(), 0);
        let k8s = vars(&[("BEAM_PROCESSES", "2"), ("JOB_COMPLETION_INDEX", "1"), ("BEAM_HOSTS", "a,b")]);
        assert_eq!(Group::from_vars(k8s).unwrap().unwrap().index(), 1);
        // Inside a Slurm allocation without BEAM_HOSTS: one process, run locally.
        assert!(Group::from_vars(vars(&[("SLURM_NTASKS", "4"), ("SLURM_PROCID", "0")])).unwrap().is_none());
    }

    #[test]
    fn a_group_that_does_not_add_up_is_an_error() {
        for (pairs, says) in [
            (vec![("BEAM_PROCESSES", "2"), ("BEAM_HOSTS", "a,b")], "no process index"),
            (vec![("BEAM_PROCESSES", "2"), ("BEAM_PROCESS_INDEX", "0")], "BEAM_HOSTS is not set"),
            (vec![("BEAM_PROCESSES", "3"), ("BEAM_PROCESS_INDEX", "0"), ("BEAM_HOSTS", "a,b")], "lists 2 hosts"),
            (vec![("BEAM_PROCESSES", "2"), ("BEAM_PROCESS_INDEX", "2"), ("BEAM_HOSTS", "a,b")], "not one of the 2"),
            (vec![("BEAM_PROCESSES", "x")], "not a number"),
            (vec![("SLURM_NTASKS", "2"), ("SLURM_PROCID", "0"), ("BEAM_HOSTS", "a")], "is no file"),
            (
                vec![("BEAM_PROCESSES", "2"), ("BEAM_PROCESS_INDEX", "0"), ("BEAM_HOSTS", "/no/such/hosts.txt")],
                "is no file",
            ),
        ] {
            let e = Group::from_vars(vars(&pairs)).unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        }
    }
}
