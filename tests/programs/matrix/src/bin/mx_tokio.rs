//! The build matrix's tokio program (tests/e2e/matrix.sh). On a 2-worker
//! runtime, from its block_on root: `work` 40 (spawned in a loop, each
//! sleeps 1-3 ms, all complete), `blocking` 2 (spawn_blocking closures, both
//! complete), then `config` 3 (each parked forever on a oneshot whose
//! sender lives: the await marked `await_config`) and `nap` 1 (parked on a
//! sleep of an hour: `await_nap`). Prints READY once they are parked, then
//! waits forever.
use std::time::Duration;
use tokio::sync::oneshot;

async fn work(i: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(1 + i % 3)).await;
    i
}

async fn wait_for_config(rx: oneshot::Receiver<u32>) -> u32 {
    rx.await.unwrap_or(0) // aib:await_config
}

async fn nap() {
    tokio::time::sleep(Duration::from_secs(3600)).await; // aib:await_nap
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut done = Vec::new();
        for i in 0..40 {
            done.push(tokio::spawn(work(i))); // aib:spawn_work
        }
        for h in done {
            h.await.unwrap();
        }
        let blocking: Vec<_> = (0..2u64).map(|i| tokio::task::spawn_blocking(move || i * 2)).collect(); // aib:spawn_blocking
        for h in blocking {
            h.await.unwrap();
        }
        let mut senders = Vec::new();
        for _ in 0..3 {
            let (tx, rx) = oneshot::channel::<u32>();
            senders.push(tx);
            tokio::spawn(wait_for_config(rx)); // aib:spawn_config
        }
        tokio::spawn(nap()); // aib:spawn_nap
        tokio::time::sleep(Duration::from_millis(100)).await;
        println!("READY");
        std::future::pending::<()>().await;
        drop(senders);
    });
}
