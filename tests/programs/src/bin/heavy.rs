//! Heavy load: many short tasks on a multi-thread runtime, with a nested
//! runtime (on the blocking pool) and block_in_place, for the no-drop test.
//!
//!   heavy [TASKS]     (default 500000) prints `heavy: ok TASKS` and exits 0
//!   heavy park N      N tasks parked forever on one Notify; prints READY, never exits
//!
//! Tests may assert: exactly TASKS tasks spawned at `burst` and completed,
//! 1000 at `nested_burst` inside the nested runtime, 1000 at `bip_burst`
//! from inside block_in_place; every task polled once (none yields).
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let first = args.next();
    if first.as_deref() == Some("park") {
        let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5000);
        let notify = std::sync::Arc::new(tokio::sync::Notify::new());
        for _ in 0..n {
            let notify = notify.clone();
            tokio::spawn(async move { notify.notified().await }); // aib:parked
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        println!("READY");
        std::future::pending::<()>().await;
    }
    let tasks: u64 = first.and_then(|a| a.parse().ok()).unwrap_or(500_000);
    let mut handles = Vec::with_capacity(1000);
    for i in 0..tasks {
        handles.push(tokio::spawn(async move { i })); // aib:burst
        if handles.len() == 1000 {
            for h in handles.drain(..) {
                h.await.expect("task panicked");
            }
        }
    }
    for h in handles.drain(..) {
        h.await.expect("task panicked");
    }
    tokio::task::spawn_blocking(|| {
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        rt.block_on(async {
            for i in 0..1000u64 {
                tokio::spawn(async move { i }).await.expect("nested"); // aib:nested_burst
            }
        })
    })
    .await
    .expect("blocking");
    tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(async {
            for i in 0..1000u64 {
                tokio::spawn(async move { i }).await.expect("bip"); // aib:bip_burst
            }
        })
    });
    println!("heavy: ok {tasks}");
}
