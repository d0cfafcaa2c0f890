//! The audit log and the user change feed.
use roster_kit::auth::Caller;
use roster_kit::paging::PageSize;
use roster_kit::{Error, Result, audit};
use roster_proto::identity as pb;

use super::{Identity, require_operator_or_service};
use crate::store;
use tracing::instrument;

/// The most bytes of changes one feed page carries (far below the 16 MiB Roster clients
/// read, and above the largest user a row can hold).
const FEED_PAGE_BYTES: usize = 1 << 20;

impl Identity {
    /// Lists audit events (operators).
    #[instrument(skip_all, name = "identity.domain.list_audit_events")]
    pub(crate) async fn list_audit_events(
        &self,
        caller: &Caller,
        listing: &audit::AuditListing,
    ) -> Result<pb::ListAuditEventsResponse> {
        caller.operator()?;
        let db = self.pool.get().await?;
        let (audit_events, next_page_token) = audit::list(&db, listing).await?;
        Ok(pb::ListAuditEventsResponse {
            audit_events,
            next_page_token,
        })
    }

    /// Reads the user change feed (operators and Roster's services).
    #[instrument(skip_all, name = "identity.domain.list_user_changes")]
    pub(crate) async fn list_user_changes(
        &self,
        caller: &Caller,
        after: i64,
        page_size: i32,
    ) -> Result<pb::ListUserChangesResponse> {
        require_operator_or_service(caller)?;
        if after < 0 {
            return Err(Error::invalid("after_sequence", "must not be negative"));
        }
        let limit = PageSize {
            default: 100,
            max: 1000,
        }
        .resolve(page_size)?;
        self.feed_page(after, i64::from(limit)).await
    }

    /// At most `limit` changes after `after`, fewer when their bytes would pass a page's.
    pub(super) async fn feed_page(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<pb::ListUserChangesResponse> {
        let db = self.pool.get().await?;
        let users = store::list_changes(&db, after, limit).await?;
        drop(db);
        let now = self.now();
        let mut changes = Vec::with_capacity(users.len());
        let mut page_bytes = 0;
        for user in &users {
            let change = pb::UserChange {
                sequence: user.change_seq,
                user: Some(user.to_proto(now)),
            };
            page_bytes += prost::Message::encoded_len(&change);
            // Bounded by bytes as well as rows, so a page always fits a reader's message
            // limit; the first row goes out whatever its size.
            if page_bytes > FEED_PAGE_BYTES && !changes.is_empty() {
                break;
            }
            changes.push(change);
        }
        Ok(pb::ListUserChangesResponse {
            last_sequence: changes.last().map_or(after, |c| c.sequence),
            changes,
        })
    }
}
