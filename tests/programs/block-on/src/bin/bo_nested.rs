//! A block_on nested in a task: a spawned task calls block_in_place, whose
//! closure runs Handle::block_on on the worker thread, parked forever on a
//! oneshot. main (the outer root) awaits that task's JoinHandle.
//!
//! Labels (the `// aib:LABEL` marker comment that ends the line):
//! `spawn_task` the task, `inner_block_on` the nested block_on call,
//! `inner_recv` the await it parks on, `main_join` main's await. Prints
//! `READY` before that await.
use std::io::Write;
use tokio::sync::oneshot;

async fn wait_inner(rx: oneshot::Receiver<u32>) -> Option<u32> {
    rx.await.ok() // aib:inner_recv
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (tx, rx) = oneshot::channel::<u32>();
    let task = tokio::spawn(async move { // aib:spawn_task
        tokio::task::block_in_place(move || {
            tokio::runtime::Handle::current().block_on(wait_inner(rx)) // aib:inner_block_on
        })
    });
    println!("READY");
    std::io::stdout().flush().unwrap();
    let r = task.await; // aib:main_join
    drop(tx);
    println!("unexpected: {r:?}");
}
