//! A block_on root in a deadlock: main (a #[tokio::main] body, no task)
//! holds a tokio Mutex and awaits the JoinHandle of a task that waits for
//! that Mutex. The wait-for graph: root -> the task (join) -> the Mutex ->
//! root (its holder).
//!
//! Labels (the `// aib:LABEL` marker comment that ends the line): `lock`
//! where main takes the Mutex, `spawn_waiter` where it spawns the task,
//! `join` where it awaits it forever. Prints `READY` before that await.
use std::io::Write;
use std::sync::Arc;
use tokio::sync::Mutex;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let m = Arc::new(Mutex::new(0u32));
    let guard = m.lock().await; // aib:lock
    let m2 = m.clone();
    let waiter = tokio::spawn(async move { *m2.lock().await += 1 }); // aib:spawn_waiter
    println!("READY");
    std::io::stdout().flush().unwrap();
    waiter.await.unwrap(); // aib:join
    drop(guard);
}
