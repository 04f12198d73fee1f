//! The code under test: a stock service whose reservation waits for a reply
//! that never comes (the hung tests' await).
use tokio::sync::oneshot;

/// Waits for the warehouse's answer on `reply`.
pub async fn reserve_stock(reply: oneshot::Receiver<u32>) -> Option<u32> {
    reply.await.ok() // aib:reserve_stock
}
