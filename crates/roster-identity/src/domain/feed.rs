//! The audit log and the user change feed.
use super::*;

impl Identity {
    /// Lists audit events (operators).
    pub(crate) async fn list_audit_events(
        &self,
        caller: &Caller,
        query: &audit::AuditQuery,
        page_size: i32,
        page_token: &str,
    ) -> Result<pb::ListAuditEventsResponse> {
        caller.operator()?;
        let db = self.pool.get().await?;
        let (audit_events, next_page_token) =
            audit::list(&db, query, page_size, page_token).await?;
        Ok(pb::ListAuditEventsResponse {
            audit_events,
            next_page_token,
        })
    }

    /// Reads the user change feed (operators and Roster's services).
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
        let db = self.pool.get().await?;
        let users = store::list_changes(&db, after, i64::from(limit)).await?;
        let now = self.now();
        Ok(pb::ListUserChangesResponse {
            last_sequence: users.last().map_or(after, |u| u.change_seq),
            changes: users
                .iter()
                .map(|u| pb::UserChange {
                    sequence: u.change_seq,
                    user: Some(u.to_proto(now)),
                })
                .collect(),
        })
    }
}
