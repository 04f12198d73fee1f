//! A small fake web service for `make demo`.
//!
//! Usage: demo [--seconds N]   (default 0 = run until killed)
//!
//! A request generator spawns one handler task every ~20 ms (request n,
//! counting from 0):
//! - n % 10 == 9:      `slow_report` (100-300 ms: sleeps, plus ~20 ms of CPU
//!                     spinning inside one poll)
//! - otherwise, even:  `fetch_user` (sleeps 2-10 ms, a little CPU work)
//! - otherwise, odd:   `fetch_posts`, which spawns 2-3 `fetch_post` sub-tasks
//!                     (each sleeps 1-8 ms) and awaits them
//! At start, exactly one `stuck_config` task awaits a oneshot whose sender
//! main keeps alive but never uses: it stays pending forever (cancelled only
//! at runtime shutdown).
//!
//! Every second a progress line goes to stderr: "served N requests".
//! With --seconds N the generator stops after N seconds, in-flight handlers
//! are awaited, and the program exits 0.
//!
//! Tests may assert (a label is the marker comment that ends its spawn line):
//! - `stuck_config`: exactly 1 task, spawned first, never completes.
//! - `fetch_user`, `fetch_posts`, `slow_report`: keep appearing (about 50
//!   requests per second) in a 5:4:1 ratio (9 of every 10 requests alternate
//!   fetch_user/fetch_posts starting with fetch_user; every 10th is
//!   slow_report). With --seconds 2: about 95 requests in total.
//! - `fetch_post`: 2 or 3 per `fetch_posts` task, spawned from inside it.
//! - All handlers complete before a --seconds run exits. The durations are
//!   pseudo-random (fixed seed) and timing-dependent, so counts are
//!   approximate. `slow_report` tasks have one ~20 ms poll.
//! - Note: `fetch_post` is a prefix of `fetch_posts`; grep markers with -w or
//!   an end anchor.
//! - tokio itself also makes 2 spawn_blocking calls at runtime start (one per
//!   worker thread; location in tokio's scheduler/multi_thread/worker.rs);
//!   those blocking tasks stay alive until runtime shutdown.
//! Multi-thread runtime, 2 workers.
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

static SERVED: AtomicU64 = AtomicU64::new(0);

/// xorshift64*: deterministic, dependency-free pseudo-random numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in lo..=hi.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

fn spin_for(d: Duration) -> u64 {
    let start = Instant::now();
    let mut n: u64 = 0;
    while start.elapsed() < d {
        n = std::hint::black_box(n.wrapping_add(1));
    }
    n
}

fn checksum(seed: u64, rounds: u64) -> u64 {
    let mut h = seed ^ 0xcbf2_9ce4_8422_2325;
    for i in 0..rounds {
        h = (h ^ i).wrapping_mul(0x0100_0000_01b3);
    }
    std::hint::black_box(h)
}

async fn load_config(rx: oneshot::Receiver<String>) -> Option<String> {
    // The sender is never used: this waits forever.
    rx.await.ok() // aib:await_config
}

async fn fetch_user(id: u64, ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    let h = checksum(id, 2_000);
    SERVED.fetch_add(1, Ordering::Relaxed);
    h
}

async fn fetch_post(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    checksum(ms, 200)
}

async fn fetch_posts(seed: u64) -> u64 {
    let mut rng = Rng(seed | 1);
    let posts = rng.range(2, 3);
    let mut handles = Vec::new();
    for _ in 0..posts {
        let ms = rng.range(1, 8);
        let h = tokio::spawn(fetch_post(ms)); // aib:fetch_post
        handles.push(h);
    }
    let mut sum: u64 = 0;
    for h in handles {
        sum = sum.wrapping_add(h.await.expect("fetch_post panicked"));
    }
    SERVED.fetch_add(1, Ordering::Relaxed);
    sum
}

async fn slow_report(before_ms: u64, after_ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(before_ms)).await;
    let n = spin_for(Duration::from_millis(20)); // one long poll
    tokio::time::sleep(Duration::from_millis(after_ms)).await;
    SERVED.fetch_add(1, Ordering::Relaxed);
    n
}

fn parse_seconds() -> u64 {
    let usage = || -> ! {
        eprintln!("usage: demo [--seconds N]");
        std::process::exit(2);
    };
    let mut args = std::env::args().skip(1);
    let mut seconds = 0;
    while let Some(a) = args.next() {
        let v = if a == "--seconds" {
            args.next().unwrap_or_else(|| usage())
        } else if let Some(v) = a.strip_prefix("--seconds=") {
            v.to_string()
        } else {
            usage()
        };
        seconds = v.parse().unwrap_or_else(|_| usage());
    }
    seconds
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let seconds = parse_seconds();
    let deadline = (seconds > 0).then(|| Instant::now() + Duration::from_secs(seconds));

    let (cfg_tx, cfg_rx) = oneshot::channel::<String>();
    let stuck = tokio::spawn(load_config(cfg_rx)); // aib:stuck_config

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut inflight: Vec<JoinHandle<u64>> = Vec::new();
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next_report = Instant::now() + Duration::from_secs(1);
    let mut n: u64 = 0;

    loop {
        ticker.tick().await;
        let now = Instant::now();
        if deadline.map_or(false, |d| now >= d) {
            break;
        }
        if now >= next_report {
            inflight.retain(|h| !h.is_finished());
            eprintln!(
                "demo: served {} requests ({} in flight)",
                SERVED.load(Ordering::Relaxed),
                inflight.len()
            );
            next_report += Duration::from_secs(1);
        }

        let h = if n % 10 == 9 {
            let (a, b) = (rng.range(40, 140), rng.range(40, 140));
            tokio::spawn(slow_report(a, b)) // aib:slow_report
        } else if n % 2 == 0 {
            let ms = rng.range(2, 10);
            tokio::spawn(fetch_user(n, ms)) // aib:fetch_user
        } else {
            let seed = rng.next();
            tokio::spawn(fetch_posts(seed)) // aib:fetch_posts
        };
        inflight.push(h);
        n += 1;
    }

    for h in inflight {
        h.await.expect("handler panicked");
    }
    eprintln!(
        "demo: served {} requests, exiting",
        SERVED.load(Ordering::Relaxed)
    );
    assert!(!stuck.is_finished());
    // Keep the sender alive past main: dropping it here would wake the stuck
    // task. The runtime's shutdown cancels it instead.
    std::mem::forget(cfg_tx);
}
