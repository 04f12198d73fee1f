//! A #[tokio::test] (current-thread runtime, the default) whose test future
//! parks forever on a oneshot whose Sender stays alive.
//!
//! Built with `cargo test --no-run --offline` (dev profile); run the binary
//! (target/debug/deps/hang-<hash>) with `--test-threads=1 --nocapture`.
//! Prints `READY` just before parking. Never finishes; kill it.
//!
//! Labels (the `// aib:LABEL` marker comment that ends the line):
//!   `test_attr`  the #[tokio::test] attribute
//!   `test_outer` wait_reply(rx).await in the test
//!   `test_recv`  rx.await in wait_reply (forever)
use std::io::Write;
use tokio::sync::oneshot;

async fn wait_reply(rx: oneshot::Receiver<u32>) -> Option<u32> {
    rx.await.ok() // aib:test_recv
}

#[tokio::test] // aib:test_attr
async fn test_user_flow_hangs_on_oneshot() {
    let (tx, rx) = oneshot::channel::<u32>();
    let _keep = tx;
    println!("READY");
    std::io::stdout().flush().unwrap();
    let r = wait_reply(rx).await; // aib:test_outer
    panic!("unexpected: reply {r:?}");
}
