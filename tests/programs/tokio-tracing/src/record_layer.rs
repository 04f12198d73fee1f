//! A tracing-subscriber Layer, on the standard Registry, that records every
//! callback tokio's instrumentation causes: span creation (a task's
//! `runtime.spawn` span), enter and exit (each poll), close, and every event
//! (the waker operations: clone, wake, wake_by_ref, drop). This is where
//! tokio-console's console-subscriber hooks in; it does more per callback
//! (visits the fields, keeps per-span data, sends each record to an
//! aggregator thread), so this layer's cost is a lower bound of console's.
//!
//! Each record (a timestamp, the callback, the span id or the event's
//! callsite) goes into a per-thread ring of 65536 slots, so memory stays
//! bounded; report() prints how many were recorded, on stderr:
//!   tokio-tracing: records=N checksum=X
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

const RING: usize = 1 << 16;

#[derive(Clone, Copy, Default)]
struct Rec {
    ns: u64,
    what: u64,
    id: u64,
}

struct Ring {
    recs: Vec<Rec>,
    n: u64,
}

impl Ring {
    /// Reads back what was kept (so that the records are really written).
    fn checksum(&self) -> u64 {
        self.recs.iter().fold(0, |a, r| a ^ r.ns ^ r.what.rotate_left(17) ^ r.id.rotate_left(41))
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        TOTAL.fetch_add(self.n, Ordering::Relaxed);
        CHECKSUM.fetch_xor(self.checksum(), Ordering::Relaxed);
    }
}

static TOTAL: AtomicU64 = AtomicU64::new(0);
static CHECKSUM: AtomicU64 = AtomicU64::new(0);
static BASE: OnceLock<Instant> = OnceLock::new();

thread_local! {
    static RINGS: RefCell<Ring> = RefCell::new(Ring { recs: vec![Rec::default(); RING], n: 0 });
}

fn record(what: u64, id: u64) {
    let ns = BASE.get().map_or(0, |b| b.elapsed().as_nanos() as u64);
    let kept = RINGS.try_with(|r| {
        let mut r = r.borrow_mut();
        let i = r.n as usize & (RING - 1);
        r.recs[i] = Rec { ns, what, id };
        r.n += 1;
    });
    if kept.is_err() {
        // a thread tearing down its thread-locals: count it anyway
        TOTAL.fetch_add(1, Ordering::Relaxed);
    }
}

pub struct Recorder;

impl<S> Layer<S> for Recorder
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, _attrs: &Attributes<'_>, id: &Id, _ctx: Context<'_, S>) {
        record(1, id.into_u64());
    }
    fn on_record(&self, id: &Id, _values: &Record<'_>, _ctx: Context<'_, S>) {
        record(2, id.into_u64());
    }
    fn on_follows_from(&self, id: &Id, _follows: &Id, _ctx: Context<'_, S>) {
        record(3, id.into_u64());
    }
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        record(4, event.metadata() as *const _ as u64);
    }
    fn on_enter(&self, id: &Id, _ctx: Context<'_, S>) {
        record(5, id.into_u64());
    }
    fn on_exit(&self, id: &Id, _ctx: Context<'_, S>) {
        record(6, id.into_u64());
    }
    fn on_close(&self, id: Id, _ctx: Context<'_, S>) {
        record(7, id.into_u64());
    }
}

pub fn install() {
    BASE.get_or_init(Instant::now);
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Recorder))
        .expect("a global subscriber was already set");
}

pub fn report() {
    let (mine, sum) = RINGS.try_with(|r| (r.borrow().n, r.borrow().checksum())).unwrap_or((0, 0));
    eprintln!(
        "tokio-tracing: records={} checksum={:x}",
        TOTAL.load(Ordering::Relaxed) + mine,
        CHECKSUM.load(Ordering::Relaxed) ^ sum
    );
}
