//! smol: a shared Executor run by 2 threads with many short tasks, and a
//! LocalExecutor on the main thread.
//!
//! Usage: smol_tasks [SHORT_TASKS]   (default 200)
//!
//! Tests may assert (a label is the marker comment that ends its spawn line):
//! - `short`: exactly SHORT_TASKS tasks on the shared Executor, all complete;
//!   each yields once, so each is polled at least twice.
//! - `local`: exactly 10 tasks on the LocalExecutor, all complete, all polled
//!   on the main thread.
//! - `local_parked`: exactly 1 LocalExecutor task waiting on a channel whose
//!   sender never sends: alive and idle at exit.
//! - `global`: exactly 5 tasks spawned with smol::spawn (smol's global
//!   executor, on its "smol-1" thread), all complete.
//! - Prints `DONE` and exits 0.
use smol::{channel, future, Executor, LocalExecutor};
use std::io::Write;
use std::rc::Rc;
use std::cell::Cell;

const LOCAL: u64 = 10;
const GLOBAL: u64 = 5;

fn main() {
    let short: u64 = std::env::args().nth(1).map(|s| s.parse().expect("SHORT_TASKS")).unwrap_or(200);
    let ex: &'static Executor<'static> = Box::leak(Box::new(Executor::new()));
    let (stop_tx, stop_rx) = channel::unbounded::<()>();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop_rx.clone();
            std::thread::spawn(move || future::block_on(ex.run(stop.recv())))
        })
        .collect();

    let tasks: Vec<_> = (0..short).map(|i| ex.spawn(async move { future::yield_now().await; i })).collect(); // aib:short
    future::block_on(async {
        for t in tasks {
            t.await;
        }
    });

    let globals: Vec<_> = (0..GLOBAL).map(|i| smol::spawn(async move { future::yield_now().await; i })).collect(); // aib:global
    future::block_on(async {
        for t in globals {
            t.await;
        }
    });

    let local = LocalExecutor::new();
    let done = Rc::new(Cell::new(0u64));
    let (_never_tx, never_rx) = channel::bounded::<u64>(1);
    local.spawn(async move { never_rx.recv().await.ok() }).detach(); // aib:local_parked
    let locals: Vec<_> = (0..LOCAL).map(|_| { let d = done.clone(); local.spawn(async move { future::yield_now().await; d.set(d.get() + 1) }) }).collect(); // aib:local
    future::block_on(local.run(async {
        for t in locals {
            t.await;
        }
    }));
    assert_eq!(done.get(), LOCAL);

    drop(stop_tx);
    for w in workers {
        let _ = w.join().unwrap();
    }
    println!("DONE");
    std::io::stdout().flush().unwrap();
    // Exit with the parked local task still alive.
    std::process::exit(0);
}
