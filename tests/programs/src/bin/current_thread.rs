//! Current-thread runtime: yielding tasks and a producer/consumer pair.
//!
//! Tests may assert (a label is the marker comment that ends its spawn line):
//! - `yielders`: exactly 10 tasks, all complete; each yields 3 times, so each
//!   is polled at least 4 times.
//! - `producer`: exactly 1 task, completes; sends 50 messages (capacity 4).
//! - `consumer`: exactly 1 task, completes; receives the 50 messages.
//! - Every poll runs on the one main thread. No other task is spawned.
//!   Exits 0, in well under 1 s.
use tokio::sync::mpsc;

const YIELDERS: u64 = 10;
const MESSAGES: u64 = 50;

async fn yielder(i: u64) -> u64 {
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
    i
}

async fn producer(tx: mpsc::Sender<u64>) -> u64 {
    for m in 0..MESSAGES {
        tx.send(m).await.expect("consumer gone");
    }
    MESSAGES
}

async fn consumer(mut rx: mpsc::Receiver<u64>) -> u64 {
    let mut got = 0;
    while let Some(m) = rx.recv().await {
        assert_eq!(m, got);
        got += 1;
    }
    got
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut handles = Vec::new();
    for i in 0..YIELDERS {
        let h = tokio::spawn(yielder(i)); // aib:yielders
        handles.push(h);
    }
    for h in handles {
        h.await.expect("yielder panicked");
    }

    let (tx, rx) = mpsc::channel::<u64>(4);
    let p = tokio::spawn(producer(tx)); // aib:producer
    let c = tokio::spawn(consumer(rx)); // aib:consumer
    let sent = p.await.expect("producer panicked");
    let got = c.await.expect("consumer panicked");
    assert_eq!(sent, MESSAGES);
    assert_eq!(got, MESSAGES);
    println!("current_thread: ok");
}
