//! Multi-thread runtime (2 workers): tasks spawning tasks spawning blocking
//! work.
//!
//! Tests may assert (a label is the marker comment that ends its spawn line):
//! - `parent`:   exactly 4 tasks, spawned by main (no parent task), all
//!   complete.
//! - `child`:    exactly 12 tasks, 3 spawned by each parent task (from inside
//!   the parent's poll), all complete.
//! - `blocking`: exactly 12 spawn_blocking calls, 1 by each child (from inside
//!   the child's poll); each closure sleeps 5 ms on the blocking pool; all
//!   complete.
//! - tokio itself also makes 2 spawn_blocking calls at runtime start (one per
//!   worker thread; location in tokio's scheduler/multi_thread/worker.rs);
//!   those blocking tasks stay alive until runtime shutdown.
//! - No other task is spawned. Exits 0, in well under 1 s.
use std::time::Duration;

const PARENTS: u64 = 4;
const CHILDREN: u64 = 3;

fn blocking_work(p: u64, c: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(5));
    p * 10 + c
}

async fn child(p: u64, c: u64) -> u64 {
    let h = tokio::task::spawn_blocking(move || blocking_work(p, c)); // aib:blocking
    h.await.expect("blocking closure panicked")
}

async fn parent(p: u64) -> u64 {
    let mut handles = Vec::new();
    for c in 0..CHILDREN {
        let h = tokio::spawn(child(p, c)); // aib:child
        handles.push(h);
    }
    let mut sum = 0;
    for h in handles {
        sum += h.await.expect("child panicked");
    }
    sum
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut handles = Vec::new();
    for p in 0..PARENTS {
        let h = tokio::spawn(parent(p)); // aib:parent
        handles.push(h);
    }
    let mut sum = 0;
    for h in handles {
        sum += h.await.expect("parent panicked");
    }
    // sum over p, c of 10p + c = 10*3*(0+1+2+3) + 4*(0+1+2)
    assert_eq!(sum, 10 * CHILDREN * 6 + PARENTS * 3);
    println!("nested: ok");
}
