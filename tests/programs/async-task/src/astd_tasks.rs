//! async-std: spawned, blocking and named tasks, and one parked forever.
//!
//! Usage: astd_tasks [TRIGGER_FILE]
//! With TRIGGER_FILE, prints `READY <pid>` and waits (up to 30 s) until the
//! file exists before spawning anything, so a tracer can attach with --pid.
//!
//! Tests may assert (a label is the marker comment that ends its spawn line):
//! - `parked`: exactly 1 task; it waits on a channel whose sender stays alive
//!   and never sends, so it is alive and idle when the program exits.
//! - `spawned`: exactly 20 tasks (task::spawn), all complete; each yields 3
//!   times, so each is polled at least 4 times.
//! - `blocking`: 4 task::spawn_blocking calls, all complete. async-std wraps
//!   each one: 2 tasks per call, one async-std task plus one on the blocking
//!   pool (the `blocking` crate), 8 in all, all spawned from this line.
//! - `named`: exactly 3 tasks named "named-0" .. "named-2" (Builder::name),
//!   all complete.
//! - Prints `DONE` once all but `parked` have completed, then sleeps 200 ms
//!   and exits 0 with `parked` still waiting.
use async_std::{channel, task};
use std::io::Write;
use std::time::{Duration, Instant};

const SPAWNED: u64 = 20;
const BLOCKING: u64 = 4;
const NAMED: u64 = 3;

async fn short(i: u64) -> u64 {
    for _ in 0..3 {
        task::yield_now().await;
    }
    i
}

fn wait_for_trigger() {
    let Some(path) = std::env::args().nth(1) else { return };
    println!("READY {}", std::process::id());
    std::io::stdout().flush().unwrap();
    let start = Instant::now();
    while !std::path::Path::new(&path).exists() {
        if start.elapsed() > Duration::from_secs(30) {
            eprintln!("astd_tasks: no trigger file {path} after 30 s");
            std::process::exit(2);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn main() {
    wait_for_trigger();
    task::block_on(async {
        let (tx, rx) = channel::bounded::<u64>(1);
        let parked = task::spawn(async move { rx.recv().await.ok() }); // aib:parked

        let mut handles = Vec::new();
        for i in 0..SPAWNED {
            handles.push(task::spawn(short(i))); // aib:spawned
        }
        for i in 0..BLOCKING {
            handles.push(task::spawn_blocking(move || { std::thread::sleep(Duration::from_millis(10)); i })); // aib:blocking
        }
        for i in 0..NAMED {
            handles.push(task::Builder::new().name(format!("named-{i}")).spawn(short(i)).unwrap()); // aib:named
        }
        for h in handles {
            h.await;
        }
        println!("DONE");
        std::io::stdout().flush().unwrap();
        task::sleep(Duration::from_millis(200)).await;
        // The sender must outlive the process: dropping it would close the
        // channel and let `parked` finish.
        std::mem::forget((tx, parked));
    });
    // Exit with the parked task still alive in the executor.
    std::process::exit(0);
}
