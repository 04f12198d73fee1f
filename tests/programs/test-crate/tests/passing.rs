//! Tests that pass: their output under `async-inspect-bpf test` is the same
//! as under plain `cargo test`.
use std::time::Duration;

#[tokio::test]
async fn adds_up() {
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(2 + 2, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_a_task() {
    let h = tokio::spawn(async { 21 * 2 });
    assert_eq!(h.await.unwrap(), 42);
}

#[test]
fn plain_sync_test() {
    assert!("abc".starts_with('a'));
}
