//! A process that forks mid-session: the child has a copy of the traced
//! image (breakpoints and pending uretprobe returns included) and must run
//! unharmed, while only the parent's tasks are reported.
//!
//! Tests may assert (a label is the marker comment that ends its spawn line):
//! - `before`: exactly 4 tasks, all complete, before the fork.
//! - the child spawns 3 tasks of its own on a fresh runtime in a new thread
//!   (the code the probes sit on), then exits 0; none of them is reported.
//! - `after`: exactly 6 tasks, all complete; the parent prints
//!   "fork_child: child exited 0" and exits 0.
use std::time::Duration;

async fn work(i: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(5)).await;
    i
}

/// In the child: a runtime of its own on a new thread (the parent's runtime
/// cannot be entered again there), polling a few futures.
fn child() -> ! {
    let t = std::thread::spawn(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            for i in 0..3 {
                tokio::spawn(work(i)).await.unwrap();
            }
        });
    });
    let ok = t.join().is_ok();
    unsafe { libc::_exit(if ok { 0 } else { 1 }) }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    for i in 0..4 {
        tokio::spawn(work(i)).await.unwrap(); // aib:before
    }
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        child();
    }
    let mut handles = Vec::new();
    for i in 0..6 {
        handles.push(tokio::spawn(work(i))); // aib:after
    }
    for h in handles {
        h.await.unwrap();
    }
    let mut status = 0;
    unsafe { libc::waitpid(pid, &mut status, 0) };
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 128 + libc::WTERMSIG(status) };
    println!("fork_child: child exited {code}");
    tokio::time::sleep(Duration::from_millis(200)).await;
}
