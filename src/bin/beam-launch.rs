//! `beam-launch`: runs a pipeline program as a group of processes on this machine,
//! for development and tests.
//!
//! ```text
//! beam-launch -n 3 [--retries 2] -- target/release/examples/wordcount --input logs/
//! ```
//!
//! Starts `n` copies of the program, each told its place in the group through the
//! environment (`BEAM_PROCESSES`, `BEAM_PROCESS_INDEX`, and `BEAM_HOSTS` listing a
//! free port of 127.0.0.1 per process), the way a cluster's launcher would start
//! one per machine. When one process fails, the others are stopped at once; with
//! `--retries r` the whole group is started again, up to `r` more times. Exits
//! with the first failed process's code, or 0 when every process succeeded.

use std::net::TcpListener;
use std::process::{Child, Command, ExitCode, ExitStatus};
use std::time::Duration;

const USAGE: &str = "usage: beam-launch -n PROCESSES [--retries N] -- PROGRAM [ARGS...]";

fn main() -> ExitCode {
    match parse(std::env::args().skip(1).collect()) {
        Ok(launch) => launch.run(),
        Err(message) => {
            eprintln!("beam-launch: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

struct Launch {
    processes: usize,
    retries: usize,
    program: Vec<String>,
}

fn parse(args: Vec<String>) -> Result<Launch, String> {
    let (mut processes, mut retries) = (None, 0);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut number = |what: &str| -> Result<usize, String> {
            let value = args.next().ok_or(format!("{what} needs a number"))?;
            value.parse().map_err(|_| format!("{what} {value:?} is not a number"))
        };
        match arg.as_str() {
            "-n" | "--processes" => processes = Some(number("-n")?),
            "--retries" => retries = number("--retries")?,
            "--" => break,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let program: Vec<String> = args.collect();
    match processes {
        _ if program.is_empty() => Err("no program to run after `--`".to_owned()),
        None | Some(0) => Err("-n must be 1 or more".to_owned()),
        Some(processes) => Ok(Launch { processes, retries, program }),
    }
}

impl Launch {
    fn run(&self) -> ExitCode {
        let attempts = self.retries + 1;
        for attempt in 1..=attempts {
            match self.attempt() {
                Ok(()) => return ExitCode::SUCCESS,
                Err((process, status)) => {
                    eprintln!("beam-launch: process {process} of {} failed ({status})", self.processes);
                    if attempt == attempts {
                        let code = status.code().and_then(|c| u8::try_from(c).ok()).filter(|&c| c != 0);
                        return ExitCode::from(code.unwrap_or(1));
                    }
                    eprintln!("beam-launch: starting the whole group again (attempt {} of {attempts})", attempt + 1);
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    /// Runs the group once: `Err` with the first process that failed.
    fn attempt(&self) -> Result<(), (usize, ExitStatus)> {
        let hosts = free_ports(self.processes).join(",");
        let mut children: Vec<Option<Child>> = Vec::with_capacity(self.processes);
        for index in 0..self.processes {
            let spawned = Command::new(&self.program[0])
                .args(&self.program[1..])
                .env("BEAM_PROCESSES", self.processes.to_string())
                .env("BEAM_PROCESS_INDEX", index.to_string())
                .env("BEAM_HOSTS", &hosts)
                .spawn();
            match spawned {
                Ok(child) => children.push(Some(child)),
                Err(e) => {
                    eprintln!("beam-launch: could not start `{}`: {e}", self.program[0]);
                    for child in children.iter_mut().flatten() {
                        let _ = child.kill();
                        let _ = child.wait();
                    }
                    std::process::exit(127);
                }
            }
        }
        let mut failed = None;
        while children.iter().any(Option::is_some) {
            for (index, slot) in children.iter_mut().enumerate() {
                let Some(child) = slot else { continue };
                match child.try_wait() {
                    Ok(Some(status)) => {
                        *slot = None;
                        if !status.success() && failed.is_none() {
                            failed = Some((index, status));
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        eprintln!("beam-launch: lost track of process {index}: {e}");
                        let _ = child.kill();
                    }
                }
            }
            if failed.is_some() {
                // The others would fail too, within seconds; stop them now.
                for child in children.iter_mut().flatten() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        failed.map_or(Ok(()), Err)
    }
}

/// `n` free ports of 127.0.0.1, as `host:port`.
fn free_ports(n: usize) -> Vec<String> {
    let listeners: Vec<TcpListener> =
        (0..n).map(|_| TcpListener::bind("127.0.0.1:0").expect("a free port on 127.0.0.1")).collect();
    listeners.iter().map(|l| format!("127.0.0.1:{}", l.local_addr().expect("a bound port").port())).collect()
}
