//! Lock situations the tracer must see, one per mode (`locks MODE [ARG]`).
//! The line marked `// aib:LABEL` is the one the tracer must name (a lock
//! await, a blocking call, or a spawn: tokio records the line of
//! `tokio::spawn` as the task's spawn location). Every mode prints, flushed,
//! one line starting with `READY` once its situation is in place, with the
//! addresses to compare as `name=0x<hex>` (the address of the tokio
//! `Mutex`/`RwLock`/`Semaphore` itself, or of the std `Mutex`).
//!   contend [N]  current_thread. The main future (block_on, not a spawned
//!                task) locks and unlocks `quiet` 5 times (uncontended),
//!                then locks `mutex` (contend_holder) and spawns N tasks
//!                (spawn_contender, N default 8) that all queue on it
//!                (contend_lock) while main sleeps 200 ms holding it.
//!                `READY mutex=.. quiet=..`; main unlocks; each contender
//!                holds the lock 10 ms in turn. Then
//!                `DONE contended=N acquisitions=N+1 quiet=5`, exit 0:
//!                `mutex` N+1 acquisitions, N contended (up to N waiters);
//!                `quiet` 5 acquisitions, none contended.
//!   abba         multi_thread, 2 workers. transfer_a holds `a`, wants `b`
//!                (abba_a_waits); transfer_b holds `b`, wants `a`
//!                (abba_b_waits): a real deadlock. `READY a=.. b=..` after
//!                400 ms, then forever.
//!   cycle3       multi_thread, 2 workers. cycle1 holds m1 wants m2, cycle2
//!                holds m2 wants m3, cycle3 holds m3 wants m1
//!                (cycleK_waits): a real 3-cycle. `READY m1=.. m2=.. m3=..`
//!                after 400 ms, then forever.
//!   rwlock       multi_thread, 2 workers. No deadlock, only contention.
//!                3 readers (spawn_reader) hold `rw` read-locked forever;
//!                100 ms later a writer (spawn_writer) waits forever
//!                (writer_waits); 100 ms later a late reader
//!                (spawn_late_reader) queues behind the writer, tokio's
//!                RwLock being fair (late_reader_waits). Semaphore `sem`
//!                (3 permits): three tasks (spawn_permits) take one each
//!                and sleep forever; a fourth (spawn_permit_waiter) waits
//!                (permit_waits). `READY rw=.. sem=..`, then forever.
//!   std_sleep    multi_thread, 2 workers. A static std `Mutex` M: holder
//!                (spawn_std_holder) locks it and blocks its worker in
//!                `std::thread::sleep` 500 ms (std_sleep) before unlocking;
//!                victim (spawn_std_victim) sleeps 100 ms (tokio) then
//!                blocks the other worker in M.lock() (std_lock_blocks,
//!                a futex wait of ~400 ms). Once both are done:
//!                `READY mutex=..`, `DONE victim_blocked_ms=<n>` (n >= 300
//!                when the situation really happened), exit 0.
//! An unknown or missing mode prints the usage on stderr and exits 2.
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, RwLock, Semaphore};

const USAGE: &str = "usage: locks contend [N] | abba | cycle3 | rwlock | std_sleep";

/// Prints one line on stdout and flushes it at once (stdout is a pipe).
fn say(line: &str) {
    println!("{line}");
    std::io::stdout().flush().ok();
}

fn addr<T: ?Sized>(p: *const T) -> String {
    format!("{:#x}", p as *const u8 as usize)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

async fn forever() -> ! {
    loop {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

// ---- contend ----

async fn contender(m: Arc<Mutex<u64>>) {
    let mut g = m.lock().await; // aib:contend_lock
    tokio::time::sleep(ms(10)).await;
    *g += 1;
    drop(g);
}

async fn contend(n: u64) -> i32 {
    let mutex = Arc::new(Mutex::new(0u64));
    let quiet = Arc::new(Mutex::new(0u64));
    for _ in 0..5 {
        let mut q = quiet.lock().await;
        *q += 1;
    }
    let held = mutex.lock().await; // aib:contend_holder
    let mut handles = Vec::new();
    for _ in 0..n {
        handles.push(tokio::spawn(contender(mutex.clone()))); // aib:spawn_contender
    }
    tokio::time::sleep(ms(200)).await;
    say(&format!(
        "READY mutex={} quiet={}",
        addr(&*mutex as *const Mutex<u64>),
        addr(&*quiet as *const Mutex<u64>)
    ));
    drop(held);
    for h in handles {
        h.await.expect("contender panicked");
    }
    // Read the counters without locking again (no extra acquisition).
    let total = Arc::try_unwrap(mutex).expect("mutex still shared").into_inner();
    let q = Arc::try_unwrap(quiet).expect("quiet still shared").into_inner();
    if total != n || q != 5 {
        eprintln!("locks: counters wrong: mutex={total} (want {n}) quiet={q} (want 5)");
        return 1;
    }
    say(&format!("DONE contended={n} acquisitions={} quiet=5", n + 1));
    0
}

// ---- abba ----

async fn transfer_a(a: Arc<Mutex<u64>>, b: Arc<Mutex<u64>>) {
    let _ga = a.lock().await;
    tokio::time::sleep(ms(100)).await;
    let _gb = b.lock().await; // aib:abba_a_waits
}

async fn transfer_b(a: Arc<Mutex<u64>>, b: Arc<Mutex<u64>>) {
    let _gb = b.lock().await;
    tokio::time::sleep(ms(100)).await;
    let _ga = a.lock().await; // aib:abba_b_waits
}

async fn abba() -> i32 {
    let a = Arc::new(Mutex::new(0u64));
    let b = Arc::new(Mutex::new(0u64));
    tokio::spawn(transfer_a(a.clone(), b.clone())); // aib:spawn_transfer_a
    tokio::spawn(transfer_b(a.clone(), b.clone())); // aib:spawn_transfer_b
    tokio::time::sleep(ms(400)).await;
    say(&format!(
        "READY a={} b={}",
        addr(&*a as *const Mutex<u64>),
        addr(&*b as *const Mutex<u64>)
    ));
    forever().await
}

// ---- cycle3 ----

async fn cycle1(m1: Arc<Mutex<u64>>, m2: Arc<Mutex<u64>>) {
    let _g1 = m1.lock().await;
    tokio::time::sleep(ms(100)).await;
    let _g2 = m2.lock().await; // aib:cycle1_waits
}

async fn cycle2(m2: Arc<Mutex<u64>>, m3: Arc<Mutex<u64>>) {
    let _g2 = m2.lock().await;
    tokio::time::sleep(ms(100)).await;
    let _g3 = m3.lock().await; // aib:cycle2_waits
}

async fn cycle3(m3: Arc<Mutex<u64>>, m1: Arc<Mutex<u64>>) {
    let _g3 = m3.lock().await;
    tokio::time::sleep(ms(100)).await;
    let _g1 = m1.lock().await; // aib:cycle3_waits
}

async fn cycle() -> i32 {
    let m1 = Arc::new(Mutex::new(0u64));
    let m2 = Arc::new(Mutex::new(0u64));
    let m3 = Arc::new(Mutex::new(0u64));
    tokio::spawn(cycle1(m1.clone(), m2.clone())); // aib:spawn_cycle1
    tokio::spawn(cycle2(m2.clone(), m3.clone())); // aib:spawn_cycle2
    tokio::spawn(cycle3(m3.clone(), m1.clone())); // aib:spawn_cycle3
    tokio::time::sleep(ms(400)).await;
    say(&format!(
        "READY m1={} m2={} m3={}",
        addr(&*m1 as *const Mutex<u64>),
        addr(&*m2 as *const Mutex<u64>),
        addr(&*m3 as *const Mutex<u64>)
    ));
    forever().await
}

// ---- rwlock ----

async fn reader(rw: Arc<RwLock<u64>>) {
    let _g = rw.read().await;
    tokio::time::sleep(Duration::from_secs(3600)).await;
}

async fn writer(rw: Arc<RwLock<u64>>) {
    let mut g = rw.write().await; // aib:writer_waits
    *g += 1;
}

async fn late_reader(rw: Arc<RwLock<u64>>) -> u64 {
    let g = rw.read().await; // aib:late_reader_waits
    *g
}

async fn permit_holder(sem: Arc<Semaphore>) {
    let _p = sem.acquire().await.expect("semaphore closed");
    tokio::time::sleep(Duration::from_secs(3600)).await;
}

async fn permit_waiter(sem: Arc<Semaphore>) {
    let _fourth = sem.acquire().await; // aib:permit_waits
}

async fn rwlock() -> i32 {
    let rw = Arc::new(RwLock::new(0u64));
    let sem = Arc::new(Semaphore::new(3));
    for _ in 0..3 {
        tokio::spawn(reader(rw.clone())); // aib:spawn_reader
    }
    tokio::time::sleep(ms(100)).await;
    tokio::spawn(writer(rw.clone())); // aib:spawn_writer
    tokio::time::sleep(ms(100)).await;
    tokio::spawn(late_reader(rw.clone())); // aib:spawn_late_reader
    for _ in 0..3 {
        tokio::spawn(permit_holder(sem.clone())); // aib:spawn_permits
    }
    tokio::time::sleep(ms(50)).await;
    tokio::spawn(permit_waiter(sem.clone())); // aib:spawn_permit_waiter
    tokio::time::sleep(ms(100)).await;
    say(&format!(
        "READY rw={} sem={}",
        addr(&*rw as *const RwLock<u64>),
        addr(&*sem as *const Semaphore)
    ));
    forever().await
}

// ---- std_sleep ----

static M: std::sync::Mutex<u64> = std::sync::Mutex::new(0);

async fn holder() {
    let mut g = M.lock().unwrap();
    std::thread::sleep(ms(500)); // aib:std_sleep
    *g += 1;
    drop(g);
}

async fn victim() -> u128 {
    tokio::time::sleep(ms(100)).await;
    let t = Instant::now();
    let mut g = M.lock().unwrap(); // aib:std_lock_blocks
    let blocked = t.elapsed().as_millis();
    *g += 1;
    drop(g);
    blocked
}

async fn std_sleep() -> i32 {
    let h = tokio::spawn(holder()); // aib:spawn_std_holder
    let v = tokio::spawn(victim()); // aib:spawn_std_victim
    h.await.expect("holder panicked");
    let blocked = v.await.expect("victim panicked");
    say(&format!("READY mutex={}", addr(&M as *const std::sync::Mutex<u64>)));
    say(&format!("DONE victim_blocked_ms={blocked}"));
    0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("");
    let multi = || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    };
    let code = match mode {
        "contend" => {
            let n = match args.get(2).map(|a| a.parse::<u64>()) {
                None => 8,
                Some(Ok(n)) => n,
                Some(Err(_)) => {
                    eprintln!("{USAGE}");
                    std::process::exit(2);
                }
            };
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(contend(n))
        }
        "abba" => multi().block_on(abba()),
        "cycle3" => multi().block_on(cycle()),
        "rwlock" => multi().block_on(rwlock()),
        "std_sleep" => multi().block_on(std_sleep()),
        _ => {
            eprintln!("{USAGE}");
            2
        }
    };
    std::process::exit(code);
}
