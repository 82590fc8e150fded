//! The machine's clock, sleeping on the tokio timer.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use datastorage_application::Clock;

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}
