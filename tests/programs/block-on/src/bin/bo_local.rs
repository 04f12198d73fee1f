//! A hand-built current-thread runtime driving LocalSet::run_until with
//! Runtime::block_on. The run_until future spawns exactly one spawn_local
//! task, which holds the oneshot Sender and sleeps for an hour; the
//! run_until future then parks forever on the oneshot Receiver.
//!
//! Prints `READY` just before parking. Never exits; kill it.
//!
//! Labels (the `// aib:LABEL` marker comment that ends the line):
//!   `block_on`    rt.block_on(local.run_until(...))
//!   `spawn_local` the one spawn_local task (sleep 3600 s)
//!   `local_outer` wait_for_answer(rx).await in the run_until block
//!   `local_recv`  rx.await in wait_for_answer (forever)
use std::io::Write;
use std::time::Duration;
use tokio::sync::oneshot;

async fn wait_for_answer(rx: oneshot::Receiver<u32>) -> Option<u32> {
    println!("READY");
    std::io::stdout().flush().unwrap();
    rx.await.ok() // aib:local_recv
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let local = tokio::task::LocalSet::new();
    rt.block_on(local.run_until(async { // aib:block_on
        let (tx, rx) = oneshot::channel::<u32>();
        tokio::task::spawn_local(async move { let _tx = tx; tokio::time::sleep(Duration::from_secs(3600)).await; }); // aib:spawn_local
        let r = wait_for_answer(rx).await; // aib:local_outer
        println!("unexpected: answer {r:?}");
    }));
}
