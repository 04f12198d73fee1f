//! async-std: the future task::block_on drives is the only future; there is
//! no task::spawn in this program.
//!
//! Prints `READY` just before the block_on future parks forever on a channel
//! whose sender stays alive and never sends. Never exits; kill it.
//!
//! Labels (the `// aib:LABEL` marker comment that ends the line):
//!   `block_on`   task::block_on(async { ... })
//!   `astd_outer` wait_msg(rx).await in the block_on future
//!   `astd_recv`  rx.recv().await in wait_msg (forever)
use async_std::{channel, task};
use std::io::Write;

async fn wait_msg(rx: channel::Receiver<u32>) -> Option<u32> {
    println!("READY");
    std::io::stdout().flush().unwrap();
    rx.recv().await.ok() // aib:astd_recv
}

fn main() {
    task::block_on(async { // aib:block_on
        let (tx, rx) = channel::bounded::<u32>(1);
        let _keep = tx;
        let r = wait_msg(rx).await; // aib:astd_outer
        println!("unexpected: message {r:?}");
    });
}
