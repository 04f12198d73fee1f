//! Benchmark workload (tools/bench.sh), poll-heavy: PAIRS pairs of tasks
//! bounce a counter over two mpsc channels (capacity 1), ROUNDS round trips
//! per pair, on a multi_thread runtime with 2 workers.
//!
//! Usage: pingpong [PAIRS] [ROUNDS]   (defaults 64, 2000)
//!
//! Prints one line on stdout, for the message phase only (from before the
//! first spawn to the last join):
//!   pingpong: pairs=P rounds=R messages=M elapsed_ns=E cpu_ns=C
//! cpu_ns is the process's CPU time (all threads, user + system: uprobe hits
//! are system time of the thread that hits them). Exits 0; 2 on bad
//! arguments; 3 if the phase has not ended after 120 s.
//!
//! Tasks (labels): `ping` PAIRS and `pong` PAIRS, all complete. Also built with
//! tokio's tracing instrumentation by tests/programs/tokio-tracing (hence
//! `pub fn main`).
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

fn cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn arg(i: usize, default: u64) -> u64 {
    match std::env::args().nth(i) {
        None => default,
        Some(a) => a.parse().unwrap_or_else(|_| {
            eprintln!("usage: pingpong [PAIRS] [ROUNDS]");
            std::process::exit(2)
        }),
    }
}

async fn ping(tx: mpsc::Sender<u64>, mut rx: mpsc::Receiver<u64>, rounds: u64) -> u64 {
    let mut sum = 0;
    for r in 0..rounds {
        if tx.send(r).await.is_err() {
            break;
        }
        match rx.recv().await {
            Some(v) => sum += v,
            None => break,
        }
    }
    sum
}

async fn pong(mut rx: mpsc::Receiver<u64>, tx: mpsc::Sender<u64>) -> u64 {
    let mut n = 0;
    while let Some(v) = rx.recv().await {
        n += 1;
        if tx.send(v).await.is_err() {
            break;
        }
    }
    n
}

async fn phase(pairs: u64, rounds: u64) -> u64 {
    let mut handles = Vec::with_capacity(2 * pairs as usize);
    for _ in 0..pairs {
        let (to_pong, from_ping) = mpsc::channel(1);
        let (to_ping, from_pong) = mpsc::channel(1);
        let h = tokio::spawn(ping(to_pong, from_pong, rounds)); // aib:ping
        handles.push(h);
        let h = tokio::spawn(pong(from_ping, to_ping)); // aib:pong
        handles.push(h);
    }
    let mut total = 0;
    for h in handles {
        total += h.await.expect("task panicked");
    }
    total
}

pub fn main() {
    let pairs = arg(1, 64);
    let rounds = arg(2, 2000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (t0, c0) = (Instant::now(), cpu_ns());
        let r = tokio::time::timeout(Duration::from_secs(120), phase(pairs, rounds)).await;
        let (elapsed, cpu) = (t0.elapsed().as_nanos(), cpu_ns() - c0);
        if r.is_err() {
            eprintln!("pingpong: not done after 120 s");
            std::process::exit(3);
        }
        println!(
            "pingpong: pairs={} rounds={} messages={} elapsed_ns={} cpu_ns={}",
            pairs,
            rounds,
            2 * pairs * rounds,
            elapsed,
            cpu
        );
    });
}
