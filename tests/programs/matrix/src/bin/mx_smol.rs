//! The build matrix's async-task program (tests/e2e/matrix.sh), on smol's
//! global executor, from a block_on root: `work` 40 (spawned in a loop,
//! each waits on a 1-3 ms timer, all complete), `blocking` 2 (closures run
//! by smol::unblock on the blocking pool, both complete), then `config` 3
//! (each parked forever on a channel whose sender lives: `await_config`)
//! and `nap` 1 (a timer of an hour: `await_nap`). Prints READY once they
//! are parked, then waits forever.
use std::time::Duration;

async fn work(i: u64) -> u64 {
    smol::Timer::after(Duration::from_millis(1 + i % 3)).await;
    i
}

async fn wait_for_config(rx: smol::channel::Receiver<u32>) -> u32 {
    rx.recv().await.unwrap_or(0) // aib:await_config
}

async fn nap() {
    smol::Timer::after(Duration::from_secs(3600)).await; // aib:await_nap
}

fn main() {
    smol::block_on(async {
        let mut done = Vec::new();
        for i in 0..40 {
            done.push(smol::spawn(work(i))); // aib:spawn_work
        }
        for t in done {
            t.await;
        }
        // one after the other: the second task is allocated where the
        // first one just ended, often before that one's last poll returns
        for i in 0..2u64 {
            smol::unblock(move || i * 2).await; // aib:spawn_blocking
        }
        let (tx, rx) = smol::channel::bounded::<u32>(1);
        for _ in 0..3 {
            smol::spawn(wait_for_config(rx.clone())).detach(); // aib:spawn_config
        }
        smol::spawn(nap()).detach(); // aib:spawn_nap
        smol::Timer::after(Duration::from_millis(100)).await;
        println!("READY");
        smol::future::pending::<()>().await;
        drop(tx);
    });
}
