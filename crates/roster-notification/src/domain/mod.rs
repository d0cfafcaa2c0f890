//! The notification service's rules: only Roster's services enqueue, one message per
//! idempotency key, only operators read messages back (never their secrets), and the
//! delivery worker that renders, sends and retries.
mod delivery;
pub(crate) mod model;
pub(crate) mod render;
mod transport;

use chrono::{DateTime, Utc};
use roster_kit::auth::Caller;
use roster_kit::clock::SharedClock;
use roster_kit::db::Pool;
use roster_kit::metrics::DeliveryOutcomes;
use roster_kit::paging::{self, PageSize};
use roster_kit::{Error, Result};
use roster_proto::notification as pb;
use tracing::{info, instrument};
use uuid::Uuid;

use self::model::NewNotification;
use self::render::Renderer;
use self::transport::Mailer;
use crate::NotificationConfig;
pub(crate) use crate::store::NotificationQuery;
use crate::store::{self, Key};

/// A list request, shape-checked.
#[derive(Debug, Clone)]
pub(crate) struct ListRequest {
    pub(crate) query: NotificationQuery,
    pub(crate) page_size: i32,
    pub(crate) page_token: String,
}

/// The notification service's domain.
#[derive(Debug)]
pub struct Notifications {
    pool: Pool,
    clock: SharedClock,
    config: NotificationConfig,
    renderer: Renderer,
    mailer: Mailer,
    /// Where the delivery worker counts its attempts, by outcome.
    deliveries: DeliveryOutcomes,
}

impl Notifications {
    /// The domain over `pool`, sending as `config` says. Fails on a malformed SMTP URL or
    /// From address; call it inside the Tokio runtime (the SMTP pool starts a task).
    pub fn new(pool: Pool, clock: SharedClock, config: NotificationConfig) -> Result<Self> {
        Ok(Self {
            renderer: Renderer::new(&config.product_name, &config.public_url)?,
            mailer: Mailer::new(&config)?,
            pool,
            clock,
            config,
            deliveries: DeliveryOutcomes::default(),
        })
    }

    /// This domain, its delivery worker counting attempts into `deliveries` (metrics).
    #[must_use]
    pub fn counting(mut self, deliveries: DeliveryOutcomes) -> Self {
        self.deliveries = deliveries;
        self
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Stores a message for delivery, or answers the one stored under its idempotency key
    /// (Roster's services only).
    #[instrument(
        skip_all,
        fields(template = new.template, idempotency_key = %new.idempotency_key),
        name = "notification.domain.enqueue"
    )]
    pub(crate) async fn enqueue(
        &self,
        caller: &Caller,
        new: NewNotification,
    ) -> Result<pb::Notification> {
        if !caller.principal()?.is_roster_service {
            return Err(Error::permission_denied(
                "only Roster's services may enqueue notifications",
            ));
        }
        let db = self.pool.get().await?;
        let id = Uuid::now_v7();
        if let Some(stored) = store::insert(&db, id, &new, self.now()).await? {
            info!(notification_id = %id, template = new.template, "notification queued");
            return Ok(stored.to_proto());
        }
        // The key was taken (a relay retrying after a lost answer): the first message
        // stands. The conflicting insert waited for it to commit, so it can be read.
        store::get(&db, Key::IdempotencyKey(&new.idempotency_key))
            .await?
            .map(|stored| stored.to_proto())
            .ok_or_else(|| Error::internal("enqueue", "an idempotency key conflicted with no row"))
    }

    /// Reads a message (operators).
    #[instrument(skip_all, name = "notification.domain.get", fields(notification_id = %id))]
    pub(crate) async fn get(&self, caller: &Caller, id: Uuid) -> Result<pb::Notification> {
        caller.operator()?;
        store::get(&self.pool.get().await?, Key::Id(id))
            .await?
            .map(|stored| stored.to_proto())
            .ok_or_else(|| Error::not_found("notification", id))
    }

    /// A page of messages, newest first (operators).
    #[instrument(skip_all, name = "notification.domain.list")]
    pub(crate) async fn list(
        &self,
        caller: &Caller,
        request: ListRequest,
    ) -> Result<pb::ListNotificationsResponse> {
        caller.operator()?;
        let query = &request.query;
        let limit = PageSize::LIST.resolve(request.page_size)?;
        let after: Option<(DateTime<Utc>, Uuid)> = paging::decode(query, &request.page_token)?;
        let rows = store::list(
            &self.pool.get().await?,
            query,
            after.as_ref(),
            i64::from(limit) + 1,
        )
        .await?;
        let (rows, next_page_token) =
            paging::finish_page(rows, limit, query, |n| (n.created_at, n.id));
        Ok(pb::ListNotificationsResponse {
            notifications: rows
                .iter()
                .map(model::NotificationRecord::to_proto)
                .collect(),
            next_page_token,
        })
    }
}
