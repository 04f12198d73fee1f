//! Tasks parked forever, each on one known `.await` (the line marked
//! `// aib:LABEL` is the await the tracer must name):
//!   oneshot   recv_config <- wait_for_config: a oneshot whose sender lives, never sent
//!   sleep     a sleep of an hour
//!   join      the JoinHandle of `joined`, itself parked on a oneshot
//!   joined    a oneshot never sent (awaited through a JoinHandle by `join`)
//!   socket    a read on a connected TCP socket that never gets data
//!   notify    a Notify never notified
//!   mpsc      an mpsc receive, sender alive
//!   lock      a tokio Mutex held by `holder` (parked on its own sleep)
//!   blocking  the JoinHandle of a spawn_blocking closure sleeping an hour
//!   two       first_value <- two_on_a_line, which awaits two async fns on
//!             one line: a oneshot whose sender lives, never sent
//! Spawned from `main` (lines marked `// aib:spawn_LABEL`); once all of
//! them are parked it prints READY, then waits forever. An argument N > 0
//! wakes `ticker` every N ms so the program is never fully quiet.
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, Mutex, Notify};

async fn recv_config(rx: oneshot::Receiver<u32>) -> u32 {
    rx.await.unwrap_or(0) // aib:oneshot
}

async fn wait_for_config(rx: oneshot::Receiver<u32>) -> u32 {
    let v = recv_config(rx).await; // aib:oneshot_outer
    v + 1
}

async fn nap() {
    tokio::time::sleep(Duration::from_secs(3600)).await; // aib:sleep
}

async fn never_sent(rx: oneshot::Receiver<u32>) -> u32 {
    rx.await.unwrap_or(0) // aib:joined
}

async fn join_other(h: tokio::task::JoinHandle<u32>) -> u32 {
    h.await.unwrap_or(0) // aib:join
}

async fn read_socket(mut s: TcpStream) -> usize {
    let mut buf = [0u8; 64];
    s.read(&mut buf).await.unwrap_or(0) // aib:socket
}

async fn wait_notify(n: Arc<Notify>) {
    n.notified().await; // aib:notify
}

async fn recv_mpsc(mut rx: mpsc::Receiver<u32>) -> Option<u32> {
    rx.recv().await // aib:mpsc
}

async fn hold_lock(m: Arc<Mutex<u32>>, locked: oneshot::Sender<()>) {
    let _guard = m.lock().await;
    let _ = locked.send(());
    tokio::time::sleep(Duration::from_secs(3600)).await; // aib:holder
}

async fn take_lock(m: Arc<Mutex<u32>>) -> u32 {
    let g = m.lock().await; // aib:lock
    *g
}

async fn wait_blocking() -> u32 {
    tokio::task::spawn_blocking(|| {
        std::thread::sleep(Duration::from_secs(3600));
        1
    })
    .await // aib:blocking
    .unwrap_or(0)
}

async fn first_value(rx: oneshot::Receiver<u32>) -> u32 {
    rx.await.unwrap_or(0) // aib:two
}

async fn nap_for(ms: u32) -> u32 {
    tokio::time::sleep(Duration::from_millis(ms as u64)).await;
    ms
}

async fn two_on_a_line(rx: oneshot::Receiver<u32>) -> u32 {
    nap_for(first_value(rx).await).await // aib:two_outer
}

async fn tick(every_ms: u64) {
    loop {
        tokio::time::sleep(Duration::from_millis(every_ms)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let every_ms: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(0);
    // Kept alive to the end so no await ever resolves.
    let (cfg_tx, cfg_rx) = oneshot::channel::<u32>();
    let (joined_tx, joined_rx) = oneshot::channel::<u32>();
    let (two_tx, two_rx) = oneshot::channel::<u32>();
    let (mpsc_tx, mpsc_rx) = mpsc::channel::<u32>(1);
    let notify = Arc::new(Notify::new());
    let mutex = Arc::new(Mutex::new(0u32));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let client = TcpStream::connect(listener.local_addr().unwrap()).await.expect("connect");
    let (server, _) = listener.accept().await.expect("accept");

    tokio::spawn(wait_for_config(cfg_rx)); // aib:spawn_oneshot
    tokio::spawn(nap()); // aib:spawn_sleep
    let joined = tokio::spawn(never_sent(joined_rx)); // aib:spawn_joined
    tokio::spawn(join_other(joined)); // aib:spawn_join
    tokio::spawn(read_socket(server)); // aib:spawn_socket
    tokio::spawn(wait_notify(notify.clone())); // aib:spawn_notify
    tokio::spawn(recv_mpsc(mpsc_rx)); // aib:spawn_mpsc
    tokio::spawn(two_on_a_line(two_rx)); // aib:spawn_two
    let (locked_tx, locked_rx) = oneshot::channel();
    tokio::spawn(hold_lock(mutex.clone(), locked_tx)); // aib:spawn_holder
    let _ = locked_rx.await;
    tokio::spawn(take_lock(mutex.clone())); // aib:spawn_lock
    tokio::spawn(wait_blocking()); // aib:spawn_blocking
    if every_ms > 0 {
        tokio::spawn(tick(every_ms));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    println!("READY");
    use std::io::Write;
    std::io::stdout().flush().ok();
    std::future::pending::<()>().await;
    drop((cfg_tx, joined_tx, two_tx, mpsc_tx, notify, client));
}
