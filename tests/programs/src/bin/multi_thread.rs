//! Multi-thread runtime (2 workers): sleepers, one long poll, and a ring of
//! tasks passing a counter over mpsc channels.
//!
//! Tests may assert (a label is the marker comment that ends its spawn line):
//! - `sleepers`: exactly 20 tasks, all complete (task i sleeps i%10+1 ms).
//! - `spinner`:  exactly 1 task, completes; it busy-spins >= 50 ms inside ONE
//!   poll (no await in the spin loop), so its longest poll is >= 50 ms.
//! - `pingpong`: exactly 8 tasks, all complete; they pass a counter around a
//!   ring for 200 hops in total (plus one stop message per task).
//! - tokio itself also makes 2 spawn_blocking calls at runtime start (one per
//!   worker thread; location in tokio's scheduler/multi_thread/worker.rs);
//!   those blocking tasks stay alive until runtime shutdown.
//! - Phases run one after another (each is fully awaited before the next
//!   starts). No other task is spawned. Exits 0, in well under 1 s.
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const SLEEPERS: u64 = 20;
const RING: usize = 8;
const HOPS: u64 = 200;

async fn sleeper(i: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(i % 10 + 1)).await;
    i
}

/// Busy-spins for 50 ms without ever yielding: one single long poll.
async fn spinner() -> u64 {
    let start = Instant::now();
    let mut n: u64 = 0;
    while start.elapsed() < Duration::from_millis(50) {
        n = std::hint::black_box(n.wrapping_add(1));
    }
    n
}

/// One member of the ring: receives the counter from its predecessor and
/// forwards counter+1 to its successor until HOPS is reached; then forwards
/// the final value once (so every member learns it) and returns.
async fn pingpong(mut rx: mpsc::Receiver<u64>, tx: mpsc::Sender<u64>) -> u64 {
    let mut handled = 0;
    while let Some(hop) = rx.recv().await {
        handled += 1;
        if hop >= HOPS {
            // Successor may already be gone (the last member): ignore errors.
            let _ = tx.send(hop).await;
            break;
        }
        if tx.send(hop + 1).await.is_err() {
            break;
        }
    }
    handled
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // Phase 1: 20 sleepers.
    let mut handles = Vec::new();
    for i in 0..SLEEPERS {
        let h = tokio::spawn(sleeper(i)); // aib:sleepers
        handles.push(h);
    }
    let mut sum = 0;
    for h in handles {
        sum += h.await.expect("sleeper panicked");
    }
    assert_eq!(sum, SLEEPERS * (SLEEPERS - 1) / 2);

    // Phase 2: one task with a single 50 ms poll.
    let h = tokio::spawn(spinner()); // aib:spinner
    let spins = h.await.expect("spinner panicked");
    assert!(spins > 0);

    // Phase 3: a ring of 8 tasks passing a counter for 200 hops.
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    for _ in 0..RING {
        let (tx, rx) = mpsc::channel::<u64>(1);
        senders.push(tx);
        receivers.push(rx);
    }
    let first = senders[0].clone();
    let mut handles = Vec::new();
    for (k, rx) in receivers.into_iter().enumerate() {
        let tx = senders[(k + 1) % RING].clone();
        let h = tokio::spawn(pingpong(rx, tx)); // aib:pingpong
        handles.push(h);
    }
    drop(senders);
    first.send(0).await.expect("ring closed early");
    drop(first);
    let mut handled = 0;
    for h in handles {
        handled += h.await.expect("pingpong panicked");
    }
    // Received: counter values 0..=199 (200) + the final value 200 once per
    // member (8).
    assert_eq!(handled, HOPS + RING as u64);
    println!("multi_thread: ok");
}
