//! Benchmark workload (tools/bench.sh): a TCP echo server on 127.0.0.1, one
//! task per connection, multi_thread runtime with 2 workers. The load comes
//! from tools/echo_load.c.
//!
//! Usage: echo_server PORTFILE CONNS
//!
//! Listens on an ephemeral port and writes it to PORTFILE (atomically, once
//! listening); accepts exactly CONNS connections, echoes everything each one
//! sends until it closes, then prints one line on stdout and exits 0:
//!   echo_server: conns=N bytes=B elapsed_ns=E cpu_ns=C
//! (from the first accept to the last close; cpu_ns: the process's CPU time,
//! all threads). Exits 2 on bad arguments, 3 if not done after 120 s.
//!
//! Tasks (label): `echo` CONNS, all complete. Also built with tokio's tracing
//! instrumentation by tests/programs/tokio-tracing (hence `pub fn main`).
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn usage() -> ! {
    eprintln!("usage: echo_server PORTFILE CONNS");
    std::process::exit(2)
}

async fn echo(mut s: TcpStream) -> u64 {
    let mut buf = [0u8; 4096];
    let mut total = 0;
    loop {
        let n = match s.read(&mut buf).await {
            Ok(0) | Err(_) => return total,
            Ok(n) => n,
        };
        if s.write_all(&buf[..n]).await.is_err() {
            return total;
        }
        total += n as u64;
    }
}

async fn serve(portfile: String, conns: u64) -> std::io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let tmp = format!("{}.tmp", portfile);
    std::fs::write(&tmp, format!("{}\n", listener.local_addr()?.port()))?;
    std::fs::rename(&tmp, &portfile)?;
    let mut handles = Vec::with_capacity(conns as usize);
    let mut start = None;
    for _ in 0..conns {
        let (s, _) = listener.accept().await?;
        start.get_or_insert_with(|| (Instant::now(), cpu_ns()));
        s.set_nodelay(true)?;
        let h = tokio::spawn(echo(s)); // aib:echo
        handles.push(h);
    }
    let mut bytes = 0;
    for h in handles {
        bytes += h.await.expect("task panicked");
    }
    let (t0, c0) = start.unwrap_or_else(|| (Instant::now(), cpu_ns()));
    println!(
        "echo_server: conns={} bytes={} elapsed_ns={} cpu_ns={}",
        conns,
        bytes,
        t0.elapsed().as_nanos(),
        cpu_ns() - c0
    );
    Ok(())
}

pub fn main() {
    let mut args = std::env::args().skip(1);
    let portfile = args.next().unwrap_or_else(|| usage());
    let conns: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or_else(|| usage());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        match tokio::time::timeout(Duration::from_secs(120), serve(portfile, conns)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                eprintln!("echo_server: {}", e);
                std::process::exit(1);
            }
            Err(_) => {
                eprintln!("echo_server: not done after 120 s");
                std::process::exit(3);
            }
        }
    });
}
