//! #[tokio::main] on the current-thread runtime: the main future is the only
//! future; there is no tokio::spawn in this program.
//!
//! Prints `READY` once the main future is about to park forever on a socket
//! read that never gets data (a local peer thread accepts the connection and
//! holds it without writing). Never exits; kill it. With the argument
//! `tick`, main instead prints `READY` and sleeps 100 ms at a time forever
//! (label `tick`).
//!
//! Await chain of the block_on future (labels: the `// aib:LABEL` marker
//! comment that ends the line):
//!   main            -> `main_await`  fetch_user(stream).await
//!   fetch_user      -> `sleep`       3 x sleep(20 ms), then
//!                      `fetch_posts` fetch_posts(&mut s).await
//!   fetch_posts     -> `read`        s.read(&mut buf).await (forever)
use std::io::Write;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

async fn fetch_posts(s: &mut TcpStream) -> std::io::Result<usize> {
    println!("READY");
    std::io::stdout().flush().unwrap();
    let mut buf = [0u8; 64];
    s.read(&mut buf).await // aib:read
}

async fn fetch_user(mut s: TcpStream) -> std::io::Result<usize> {
    for _ in 0..3 { tokio::time::sleep(Duration::from_millis(20)).await; } // aib:sleep
    fetch_posts(&mut s).await // aib:fetch_posts
}

fn connect_to_silent_peer() -> std::net::TcpStream {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (_conn, _) = listener.accept().unwrap();
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    });
    let stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_nonblocking(true).unwrap();
    stream
}

#[tokio::main(flavor = "current_thread")] // aib:block_on
async fn main() {
    if std::env::args().nth(1).as_deref() == Some("tick") {
        // for attaching: a root that parks and wakes every 100 ms, forever
        println!("READY");
        std::io::stdout().flush().unwrap();
        loop { tokio::time::sleep(Duration::from_millis(100)).await; } // aib:tick
    }
    let stream = TcpStream::from_std(connect_to_silent_peer()).unwrap();
    let r = fetch_user(stream).await; // aib:main_await
    println!("unexpected: read returned {r:?}");
}
