//! smol: the future smol::block_on drives is the only future; there is no
//! spawn in this program.
//!
//! Prints `READY` just before the block_on future parks forever on a channel
//! whose sender stays alive and never sends. Never exits; kill it.
//!
//! Labels (the `// aib:LABEL` marker comment that ends the line):
//!   `block_on`   smol::block_on(async { ... })
//!   `smol_outer` wait_msg(rx).await in the block_on future
//!   `smol_recv`  rx.recv().await in wait_msg (forever)
use smol::channel;
use std::io::Write;

async fn wait_msg(rx: channel::Receiver<u32>) -> Option<u32> {
    println!("READY");
    std::io::stdout().flush().unwrap();
    rx.recv().await.ok() // aib:smol_recv
}

fn main() {
    smol::block_on(async { // aib:block_on
        let (tx, rx) = channel::bounded::<u32>(1);
        let _keep = tx;
        let r = wait_msg(rx).await; // aib:smol_outer
        println!("unexpected: message {r:?}");
    });
}
