//! A task panics while it is inspected: the process must survive.
//!
//! async-std's executor threads catch a panic that escapes a task (the
//! panic unwinds through async-task's RawTask::run, which has no
//! catch_unwind of its own) and go on running the other tasks. A uretprobe
//! on that frame would turn the panic into an abort.
//!
//! Tests may assert (a label is the marker comment that ends its spawn line):
//! - `panics`: exactly 3 tasks; each yields once, then panics; its
//!   JoinHandle is dropped (detached).
//! - `after`: exactly 10 tasks spawned after the panics, all complete.
//! - Prints `survived` 100 ms after the last task completed and exits 0.
use async_std::task;
use std::io::Write;
use std::time::Duration;

async fn doomed(i: u64) {
    task::yield_now().await;
    panic!("task {i} panics on purpose");
}

fn main() {
    task::block_on(async {
        for i in 0..3 {
            drop(task::spawn(doomed(i))); // aib:panics
        }
        task::sleep(Duration::from_millis(100)).await;
        let mut handles = Vec::new();
        for i in 0..10u64 {
            handles.push(task::spawn(async move { task::yield_now().await; i })); // aib:after
        }
        for h in handles {
            h.await;
        }
        // A JoinHandle resolves inside the task's last poll: let the
        // executor threads return from those polls before exiting.
        task::sleep(Duration::from_millis(100)).await;
    });
    println!("survived");
    std::io::stdout().flush().unwrap();
}
