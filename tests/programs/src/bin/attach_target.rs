//! A long-running process to attach to with `--pid`.
//!
//! Usage: attach_target TRIGGER_FILE
//!
//! 1. Spawns 3 `ticker` tasks first thing; each loops forever (sleep 100 ms,
//!    bump a counter). They never complete while the program runs; they are
//!    cancelled at runtime shutdown when main returns.
//! 2. Prints `READY <pid>` on stdout (flushed).
//! 3. Polls every 20 ms until TRIGGER_FILE exists (safety timeout: 30 s, then
//!    prints an error on stderr and exits 2).
//! 4. Spawns exactly 15 `burst` tasks (each sleeps 10 ms and returns), awaits
//!    them all, prints `DONE` (flushed), sleeps 300 ms and exits 0.
//!
//! Tests may assert (a label is the marker comment that ends its spawn line):
//! - `ticker`: exactly 3 tasks, spawned before READY (so a tracer attached
//!   after READY never sees their spawn), still alive at DONE, never
//!   completed; at exit they are shut down (cancelled), not completed.
//!   Each is polled about every 100 ms.
//! - `burst`: exactly 15 tasks, spawned after the trigger file appears, all
//!   complete before DONE is printed.
//! - tokio itself also makes 2 spawn_blocking calls at runtime start (one per
//!   worker thread; location in tokio's scheduler/multi_thread/worker.rs);
//!   those blocking tasks stay alive until runtime shutdown.
//! - No other task is spawned. Multi-thread runtime, 2 workers.
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const TICKERS: usize = 3;
const BURST: u64 = 15;
const TRIGGER_TIMEOUT: Duration = Duration::from_secs(30);

static TICKS: AtomicU64 = AtomicU64::new(0);

async fn ticker() {
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        TICKS.fetch_add(1, Ordering::Relaxed);
    }
}

async fn burst(i: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(10)).await;
    i
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut tickers = Vec::new();
    for _ in 0..TICKERS {
        let h = tokio::spawn(ticker()); // aib:ticker
        tickers.push(h);
    }

    let trigger = match std::env::args_os().nth(1) {
        Some(p) => PathBuf::from(p),
        None => {
            eprintln!("usage: attach_target TRIGGER_FILE");
            std::process::exit(2);
        }
    };

    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "READY {}", std::process::id()).expect("stdout");
        out.flush().expect("stdout");
    }

    let start = Instant::now();
    while !trigger.exists() {
        if start.elapsed() > TRIGGER_TIMEOUT {
            eprintln!(
                "attach_target: trigger file {} did not appear within {} s",
                trigger.display(),
                TRIGGER_TIMEOUT.as_secs()
            );
            std::process::exit(2);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let mut handles = Vec::new();
    for i in 0..BURST {
        let h = tokio::spawn(burst(i)); // aib:burst
        handles.push(h);
    }
    for h in handles {
        h.await.expect("burst task panicked");
    }
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "DONE").expect("stdout");
        out.flush().expect("stdout");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The tickers are still running; returning shuts the runtime down, which
    // cancels them.
    drop(tickers);
}
