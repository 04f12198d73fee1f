//! Load test: many tiny tasks.
//!
//! Usage: many_tasks [N]   (default N = 10000)
//!
//! Tests may assert (a label is the marker comment that ends its spawn line):
//! - `short`: exactly N tasks, all complete; each does one yield_now() (so is
//!   polled at least twice) and returns. They are spawned and awaited in
//!   batches of 1000, so at most 1000 are alive at a time.
//! - tokio itself also makes 2 spawn_blocking calls at runtime start (one per
//!   worker thread; location in tokio's scheduler/multi_thread/worker.rs);
//!   those blocking tasks stay alive until runtime shutdown.
//! - No other task is spawned. Multi-thread runtime, 2 workers. Exits 0
//!   (10000 tasks take well under 1 s untraced).
const BATCH: u64 = 1000;

async fn short(i: u64) -> u64 {
    tokio::task::yield_now().await;
    i
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: u64 = match std::env::args().nth(1) {
        Some(a) => match a.parse() {
            Ok(n) => n,
            Err(_) => {
                eprintln!("usage: many_tasks [N]");
                std::process::exit(2);
            }
        },
        None => 10_000,
    };

    let mut done = 0u64;
    let mut next = 0u64;
    while next < n {
        let end = (next + BATCH).min(n);
        let mut handles = Vec::with_capacity((end - next) as usize);
        for i in next..end {
            let h = tokio::spawn(short(i)); // aib:short
            handles.push(h);
        }
        for h in handles {
            h.await.expect("task panicked");
            done += 1;
        }
        next = end;
    }
    assert_eq!(done, n);
    println!("many_tasks: {} tasks done", done);
}
