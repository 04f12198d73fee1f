//! Tests that never finish, one way each; run one at a time by name (a hung
//! test's process is ended, and the others in it with it). Labels: the
//! `// aib:LABEL` marker comment that ends the line.
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, Mutex};

#[tokio::test]
async fn checkout_completes() {
    let (_warehouse, reply) = oneshot::channel::<u32>();
    let stock = aib_test_crate::reserve_stock(reply).await; // aib:checkout_awaits
    assert_eq!(stock, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_deadlocks() {
    let a = Arc::new(Mutex::new(0u32));
    let b = Arc::new(Mutex::new(0u32));
    let (a1, b1, a2, b2) = (a.clone(), b.clone(), a.clone(), b.clone());
    let t1 = tokio::spawn(async move {
        let _ga = a1.lock().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _gb = b1.lock().await; // aib:t1_waits
    });
    let t2 = tokio::spawn(async move {
        let _gb = b2.lock().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ga = a2.lock().await; // aib:t2_waits
    });
    t1.await.unwrap();
    t2.await.unwrap();
}

#[tokio::test]
async fn joined_task_hangs() {
    let (_keep, reply) = oneshot::channel::<u32>();
    let worker = tokio::spawn(aib_test_crate::reserve_stock(reply)); // aib:spawn_worker
    let got = worker.await.unwrap(); // aib:joins_worker
    assert_eq!(got, Some(1));
}

/// Runs this binary again for `child_hangs`: processes started by a test
/// process are inspected too.
#[tokio::test]
async fn parent_runs_child() {
    let status = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_hangs", "--ignored", "--nocapture"])
        .status()
        .await // aib:parent_waits
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
#[ignore = "run by parent_runs_child"]
async fn child_hangs() {
    let (_keep, reply) = oneshot::channel::<u32>();
    aib_test_crate::reserve_stock(reply).await; // aib:child_awaits
}

#[test]
fn quick_sync() {
    assert_eq!(1 + 1, 2);
}
