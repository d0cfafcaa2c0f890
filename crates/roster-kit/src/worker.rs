//! Background workers that wake up on an interval and work through batches.
use std::future::Future;
use std::time::Duration;

use tracing::{info, warn};

use crate::error::Result;

/// Every `interval` until `shutdown` completes, runs `batch` again and again until it
/// reports that it did nothing (or fails, which is logged and retried next time). `task`
/// names the work in logs.
pub async fn every<F, Fut>(
    interval: Duration,
    shutdown: impl Future<Output = ()>,
    task: &str,
    mut batch: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<u64>>,
{
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(interval) => {}
        }
        loop {
            match batch().await {
                Ok(0) => break,
                Ok(done) => info!(task, done, "background batch done"),
                Err(error) => {
                    warn!(task, error = %error, "background batch failed");
                    break;
                }
            }
        }
    }
}
