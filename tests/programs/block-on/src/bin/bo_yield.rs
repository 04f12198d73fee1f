//! Benchmark workload for block_on roots (tools/bench.sh, `roots`): the
//! root (main's block_on future) yields ROUNDS times, so it is polled
//! exactly ROUNDS + 1 times, each poll parking its loop and waking it; no
//! task is spawned, so a tracer's cost here is the root's.
//!
//!   bo_yield FLAVOR ROUNDS     # FLAVOR: ct (current_thread) or mt (2 workers)
//!
//! Prints `rounds N elapsed_ns T` and exits 0.
use std::time::Instant;

async fn run(rounds: u64) -> u64 {
    let start = Instant::now();
    for _ in 0..rounds {
        tokio::task::yield_now().await;
    }
    start.elapsed().as_nanos() as u64
}

fn main() {
    let mut args = std::env::args().skip(1);
    let flavor = args.next().unwrap_or_else(|| "ct".into());
    let rounds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let rt = match flavor.as_str() {
        "mt" => tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build(),
        _ => tokio::runtime::Builder::new_current_thread().enable_all().build(),
    }
    .expect("runtime");
    let ns = rt.block_on(run(rounds));
    println!("rounds {rounds} elapsed_ns {ns}");
}
