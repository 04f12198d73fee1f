//! Tasks that panic: tokio catches each panic in the task's harness and
//! hands it to the JoinHandle as a JoinError; the process goes on.
//!
//! Usage: panics [N]   (default N = 48)
//!
//! Tests may assert (a label is the marker comment that ends its spawn line):
//! - `boom`: exactly N tasks; each yields once (so is polled twice), then
//!   panics: all complete, all panicked.
//! - `fine`: exactly 16 tasks that yield once and return: complete, not
//!   panicked.
//! - `catcher`: exactly 1 task that panics inside its own catch_unwind,
//!   recovers and returns: complete, not panicked.
//! - Multi-thread runtime, 2 workers (plus tokio's 2 spawn_blocking calls at
//!   start, see README.md). The panic hook is silenced; main checks every
//!   JoinError is a panic, prints `panics: N panicked, 16 fine, survived` and
//!   exits 0.
use std::sync::atomic::{AtomicUsize, Ordering};

static HOOK_CALLS: AtomicUsize = AtomicUsize::new(0);

async fn boom(i: u64) -> u64 {
    tokio::task::yield_now().await;
    if i < u64::MAX {
        panic!("task {} panics on purpose", i);
    }
    i
}

async fn fine(i: u64) -> u64 {
    tokio::task::yield_now().await;
    i
}

async fn catcher() -> u64 {
    tokio::task::yield_now().await;
    let r = std::panic::catch_unwind(|| -> u64 { panic!("caught inside the task") });
    if r.is_err() {
        1
    } else {
        0
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: u64 = match std::env::args().nth(1) {
        Some(a) => match a.parse() {
            Ok(n) => n,
            Err(_) => {
                eprintln!("usage: panics [N]");
                std::process::exit(2);
            }
        },
        None => 48,
    };
    std::panic::set_hook(Box::new(|_| {
        HOOK_CALLS.fetch_add(1, Ordering::Relaxed);
    }));

    let mut booms = Vec::new();
    let mut fines = Vec::new();
    for i in 0..n {
        let h = tokio::spawn(boom(i)); // aib:boom
        booms.push(h);
    }
    for i in 0..16 {
        let h = tokio::spawn(fine(i)); // aib:fine
        fines.push(h);
    }
    let c = tokio::spawn(catcher()); // aib:catcher
    assert_eq!(c.await.expect("catcher panicked"), 1);

    let mut panicked = 0u64;
    for h in booms {
        match h.await {
            Err(e) if e.is_panic() => panicked += 1,
            other => panic!("a boom task did not panic: {:?}", other.map(|_| ())),
        }
    }
    let mut ok = 0u64;
    for h in fines {
        h.await.expect("a fine task panicked");
        ok += 1;
    }
    assert_eq!(panicked, n);
    assert_eq!(HOOK_CALLS.load(Ordering::Relaxed) as u64, n + 1);
    println!("panics: {} panicked, {} fine, survived", panicked, ok);
}
