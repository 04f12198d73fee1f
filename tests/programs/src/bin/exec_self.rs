//! A process that exec's itself: the image a session was planned for goes
//! away while the same binary starts again in the same process.
//!
//! Tests may assert (a label is the marker comment that ends its spawn line):
//! - first image: `first` spawns exactly 5 tasks, all complete; then, 300 ms
//!   on, the process exec's its own binary with the argument `second`.
//! - second image: `second` spawns exactly 7 tasks, all complete; it prints
//!   "exec_self: second ok" and exits 0 after 500 ms more.
use std::os::unix::process::CommandExt;
use std::time::Duration;

async fn work(i: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(5)).await;
    i
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let second = std::env::args().nth(1).as_deref() == Some("second");
    let mut handles = Vec::new();
    if second {
        for i in 0..7 {
            handles.push(tokio::spawn(work(i))); // aib:second
        }
    } else {
        for i in 0..5 {
            handles.push(tokio::spawn(work(i))); // aib:first
        }
    }
    for h in handles {
        h.await.expect("task panicked");
    }
    if second {
        tokio::time::sleep(Duration::from_millis(500)).await;
        println!("exec_self: second ok");
        return;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let exe = std::env::current_exe().expect("no current exe");
    let err = std::process::Command::new(exe).arg("second").exec();
    panic!("exec failed: {err}");
}
