//! Removals and their assets: the durable record a removal leaves, the worker that asks
//! every custodian to transfer (at once, when a receiver was named) or delete (at purge)
//! the removed member's assets, and what administrators and custodians ask of it.
//!
//! No transaction spans a custodian call: a step is claimed with a lease in one short
//! transaction, the custodian is called, and its answer is written in another, only while
//! the lease is still this worker's. Custodians make the calls idempotent by operation id,
//! so a crash between the call and the write only repeats a call that changes nothing.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use roster_kit::audit::{self, AuditRecord, Changes};
use roster_kit::auth::Caller;
use roster_kit::clock::to_chrono;
use roster_kit::db::GenericClient;
use roster_kit::metrics::SagaQueue;
use roster_kit::outbox::{self, OutboxMessage};
use roster_kit::paging::{self, PageSize};
use roster_kit::remote::{Intercepted, Outgoing};
use roster_kit::requests::{self, Replay};
use roster_kit::{Error, Result};
use roster_proto::custodian as custodian_pb;
use roster_proto::custodian::asset_custodian_service_client::AssetCustodianServiceClient;
use roster_proto::membership as pb;
use roster_proto::types::ErrorReason;
use serde_json::json;
use tonic::Code;
use tonic::transport::Channel;
use tracing::{info, instrument, warn};
use uuid::Uuid;

use super::access::ANY_ROLE;
use super::model::{
    AssetTally, ClaimedStep, CustodianRecord, ItemFailureRecord, MAX_KINDS, MAX_MESSAGE_CHARS,
    MemberRecord, MemberStatus, RemovalRecord, RemovalState, StepRecord, StepState, StepVerb,
    WorkspaceRecord, bounded_description, clipped,
};
use super::{Decision, Membership, invalid_state};
use crate::store::{self, notify_access_changed};

/// Steps one worker pass claims at most; each is one custodian call, made concurrently.
const STEPS_PER_PASS: i64 = 16;

/// Steps [`Membership::removal_queue`] counts at most: a bounded scan per scrape.
const QUEUE_COUNT_CAP: i64 = 100_000;

/// Channels to custodians by URL, made on first use and kept (they reconnect by
/// themselves), so a pass does not reconnect to every custodian.
#[derive(Debug, Default)]
pub(crate) struct CustodianChannels(Mutex<HashMap<String, Channel>>);

impl CustodianChannels {
    fn get(&self, url: &str, timeout: Duration) -> Result<Channel> {
        let mut channels = self
            .0
            .lock()
            .map_err(|_| Error::internal("custodian channels", "poisoned"))?;
        if let Some(channel) = channels.get(url) {
            return Ok(channel.clone());
        }
        let channel = roster_kit::remote::channel(url, timeout)?;
        channels.insert(url.to_owned(), channel.clone());
        Ok(channel)
    }
}

fn system() -> Caller {
    Caller::default()
}

/// A failed call, as a step or a preview shows it.
fn call_error(status: &tonic::Status) -> String {
    clipped(
        &format!("{:?}: {}", status.code(), status.message()),
        MAX_MESSAGE_CHARS,
    )
}

fn removal_audit<'a>(
    action: &'a str,
    removal: &RemovalRecord,
    changes: Changes,
) -> AuditRecord<'a> {
    AuditRecord {
        action,
        target_type: "removal",
        target_id: removal.id.to_string(),
        account_id: Some(removal.account_id),
        changes: changes
            .field("workspace_id", None::<Uuid>, removal.workspace_id)
            .field("user_id", None::<Uuid>, removal.user_id),
    }
}

/// What a custodian's answer (or failure) makes of a claimed step.
fn answered(
    mut step: StepRecord,
    answer: std::result::Result<Option<custodian_pb::Operation>, tonic::Status>,
    now: DateTime<Utc>,
    retry_in: Duration,
) -> StepRecord {
    step.updated_at = now;
    step.next_attempt_at = now + to_chrono(retry_in);
    match answer {
        Ok(Some(operation)) => {
            step.done = operation.done;
            step.total = operation.total;
            step.completed = operation
                .completed
                .iter()
                .take(MAX_KINDS)
                .map(AssetTally::from_proto)
                .collect();
            step.failures = operation
                .failures
                .iter()
                .take(100)
                .map(ItemFailureRecord::from_proto)
                .collect();
            step.failed_count = operation.failed_count.max(step.failures.len() as i64);
            step.last_error.clear();
            match operation.state() {
                custodian_pb::OperationState::Running => {
                    step.state = StepState::Running;
                    let poll = operation
                        .retry_after
                        .and_then(|d| Duration::try_from(d).ok())
                        .unwrap_or(Duration::from_secs(2))
                        .clamp(Duration::from_millis(100), Duration::from_secs(300));
                    step.next_attempt_at = now + to_chrono(poll);
                }
                custodian_pb::OperationState::Succeeded if step.failed_count == 0 => {
                    step.state = StepState::Succeeded;
                }
                custodian_pb::OperationState::Succeeded => {
                    step.state = StepState::NeedsAction;
                    step.last_error = format!(
                        "{} assets could not be {}; they stayed where they were",
                        step.failed_count,
                        past_tense(step.verb)
                    );
                }
                custodian_pb::OperationState::Failed => {
                    step.state = StepState::NeedsAction;
                    step.last_error = "the custodian stopped the operation".to_owned();
                }
                custodian_pb::OperationState::Unspecified => {
                    step.state = StepState::Failed;
                    step.last_error = "the custodian answered no operation state".to_owned();
                }
            }
        }
        Ok(None) => {
            step.state = StepState::Failed;
            step.last_error = "the custodian answered no operation".to_owned();
        }
        Err(status) => {
            step.state = match status.code() {
                Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
                    StepState::NeedsAction
                }
                _ => StepState::Failed,
            };
            step.last_error = call_error(&status);
        }
    }
    step
}

fn past_tense(verb: StepVerb) -> &'static str {
    match verb {
        StepVerb::Transfer => "transferred",
        StepVerb::Delete => "deleted",
    }
}

impl Membership {
    fn custodian(&self, url: &str) -> Result<AssetCustodianServiceClient<Intercepted>> {
        let channel = self.channels.get(url, self.config.custodian_timeout)?;
        let outgoing = self
            .config
            .custodian_token
            .as_ref()
            .map_or_else(Outgoing::anonymous, Outgoing::as_service);
        Ok(roster_kit::client!(
            AssetCustodianServiceClient,
            channel,
            outgoing
        ))
    }

    /// How long after its `attempts`-th failed call a step is tried again.
    fn retry_delay(&self, attempts: i32) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
        self.config
            .removal_retry_base
            .saturating_mul(1 << doublings)
            .min(self.config.removal_retry_max)
    }

    /// Records the removal of `member` (already saved as removed) and, with a receiver,
    /// one transfer step per registered custodian, due now. The caller's transaction holds
    /// the workspace lock.
    pub(super) async fn start_removal(
        &self,
        tx: &impl GenericClient,
        caller: &Caller,
        member: &MemberRecord,
        now: DateTime<Utc>,
    ) -> Result<RemovalRecord> {
        let removal = RemovalRecord {
            account_id: member.account_id,
            id: Uuid::now_v7(),
            workspace_id: member.workspace_id,
            user_id: member.user_id,
            receiver_user_id: member.transfer_to_user_id,
            removed_by_user_id: caller.actor_id(),
            state: RemovalState::Removed,
            purge_after: member.purge_after.unwrap_or(now),
            summary_sent: false,
            created_at: now,
            finished_at: None,
            updated_at: now,
            steps: Vec::new(),
        };
        store::insert_removal(tx, &removal).await?;
        if removal.receiver_user_id.is_some() {
            let custodians = store::list_custodians(tx).await?;
            store::insert_steps(tx, &removal, StepVerb::Transfer, &custodians, now).await?;
        }
        self.removal(tx, removal.id, false).await
    }

    async fn removal(
        &self,
        db: &impl GenericClient,
        removal_id: Uuid,
        lock: bool,
    ) -> Result<RemovalRecord> {
        store::get_removal(db, removal_id, lock)
            .await?
            .ok_or_else(|| Error::not_found("removal", removal_id))
    }

    /// Ends a member's open removal as restored: unfinished transfers are cancelled (the
    /// assets they did not move stay the member's), finished ones stay with the receiver.
    /// Refused while the purge runs, or while a custodian call is in flight.
    pub(super) async fn restore_removal(
        &self,
        tx: &impl GenericClient,
        workspace_id: Uuid,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<RemovalRecord>> {
        let Some(mut removal) = store::open_removal(tx, workspace_id, user_id, true).await? else {
            return Ok(None);
        };
        if removal.state == RemovalState::Purging {
            return Err(Error::refused(
                ErrorReason::RestoreWindowEnded,
                "the member is being purged: their assets are being deleted",
            ));
        }
        if removal
            .steps
            .iter()
            .any(|s| s.state.is_due_kind() && s.in_flight(now))
        {
            return Err(invalid_state(
                "a custodian is transferring the member's assets right now; retry in a minute",
            )
            .with_metadata("retry_after_seconds", "60"));
        }
        store::cancel_steps(
            tx,
            &removal,
            StepVerb::Transfer,
            "cancelled: the member was restored",
            now,
        )
        .await?;
        removal.state = RemovalState::Restored;
        removal.finished_at = Some(now);
        removal.updated_at = now;
        store::save_removal(tx, &removal).await?;
        self.removal(tx, removal.id, false).await.map(Some)
    }

    /// Starts the purge of a removal (row-locked by the caller): one delete step per
    /// registered custodian; with none, the member is purged at once. Whether it finished.
    pub(super) async fn start_purge(
        &self,
        tx: &impl GenericClient,
        caller: &Caller,
        mut removal: RemovalRecord,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        // What has not moved by now is deleted, not moved while it is deleted.
        store::cancel_steps(
            tx,
            &removal,
            StepVerb::Transfer,
            "cancelled: the member was purged first",
            now,
        )
        .await?;
        store::end_restore_window(
            tx,
            removal.account_id,
            removal.workspace_id,
            removal.user_id,
            now,
        )
        .await?;
        removal.state = RemovalState::Purging;
        removal.purge_after = removal.purge_after.min(now);
        removal.summary_sent = false;
        removal.updated_at = now;
        store::save_removal(tx, &removal).await?;
        let custodians = store::list_custodians(tx).await?;
        store::insert_steps(tx, &removal, StepVerb::Delete, &custodians, now).await?;
        audit::record(
            tx,
            caller,
            now,
            removal_audit(
                "membership.removal.purge_start",
                &removal,
                Changes::new().field("state", "removed", "purging"),
            ),
        )
        .await?;
        if custodians.is_empty() {
            self.finish_purge(tx, caller, removal, now).await?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Every custodian confirmed: the member row goes, the removal is purged.
    async fn finish_purge(
        &self,
        tx: &impl GenericClient,
        caller: &Caller,
        mut removal: RemovalRecord,
        now: DateTime<Utc>,
    ) -> Result<()> {
        store::delete_member(
            tx,
            removal.account_id,
            removal.workspace_id,
            removal.user_id,
        )
        .await?;
        removal.state = RemovalState::Purged;
        removal.finished_at = Some(now);
        removal.updated_at = now;
        store::save_removal(tx, &removal).await?;
        let record = AuditRecord {
            action: "membership.member.purge",
            target_type: "member",
            target_id: removal.user_id.to_string(),
            account_id: Some(removal.account_id),
            changes: Changes::new().field("status", "removed", "purged").field(
                "workspace_id",
                None::<Uuid>,
                removal.workspace_id,
            ),
        };
        audit::record(tx, caller, now, record).await?;
        notify_access_changed(tx, removal.account_id).await?;
        info!(removal_id = %removal.id, user_id = %removal.user_id, "member purged");
        Ok(())
    }

    /// One pass of the removal worker: purges what the restore window let go, then calls
    /// the custodians of the steps that are due. How much it did.
    #[instrument(skip_all, name = "membership.domain.drive_removals")]
    pub async fn drive_removals(&self) -> Result<u64> {
        let purges = self.purge_expired().await?;
        let now = self.now();
        let lease = to_chrono(self.config.custodian_timeout.saturating_mul(2));
        let claimed =
            store::claim_due_steps(&self.pool.get().await?, now, now + lease, STEPS_PER_PASS)
                .await?;
        let count = claimed.len() as u64;
        let outcomes =
            futures::future::join_all(claimed.into_iter().map(|step| self.run_step(step))).await;
        for outcome in outcomes {
            if let Err(error) = outcome {
                warn!(error = %error, "removal step could not be recorded");
            }
        }
        Ok(purges + count)
    }

    /// Starts the purge of removals whose restore window ended; how many.
    async fn purge_expired(&self) -> Result<u64> {
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let expired = store::claim_expired_removals(&tx, now, 100).await?;
        for removal_id in &expired {
            let removal = self.removal(&tx, *removal_id, true).await?;
            self.start_purge(&tx, &system(), removal, now).await?;
        }
        tx.commit().await?;
        Ok(expired.len() as u64)
    }

    /// Calls the custodian of one claimed step and records its answer.
    #[instrument(skip_all, name = "membership.domain.run_step", fields(
        removal_id = %claimed.step.removal_id,
        custodian = %claimed.step.custodian_name,
        verb = claimed.step.verb.as_db(),
    ))]
    async fn run_step(&self, claimed: ClaimedStep) -> Result<()> {
        let answer = self.call_custodian(&claimed).await;
        if let Err(status) = &answer {
            warn!(code = ?status.code(), error = %status.message(), "custodian call failed");
        }
        let now = self.now();
        let step = answered(
            claimed.step.clone(),
            answer,
            now,
            self.retry_delay(claimed.step.attempts),
        );
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        // The removal's lock orders this step's end against its siblings', so exactly one
        // of them sees the removal settled.
        let removal = self.removal(&tx, step.removal_id, true).await?;
        if !store::finish_step(&tx, &step, claimed.step.lease_token).await? {
            return Ok(());
        }
        if step.state != claimed.step.state || step.state.is_final() {
            let changes = Changes::new()
                .field("custodian", None::<String>, &step.custodian_name)
                .field("verb", None::<String>, step.verb.as_db())
                .field("state", claimed.step.state.as_db(), step.state.as_db())
                .field("done", None::<i64>, step.done)
                .field("failed_count", None::<i64>, step.failed_count)
                .field("error", None::<String>, &step.last_error);
            audit::record(
                &tx,
                &system(),
                now,
                removal_audit("membership.removal.step", &removal, changes),
            )
            .await?;
        }
        if step.state.is_final() {
            let removal = self.removal(&tx, removal.id, false).await?;
            self.advance(&tx, removal, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn call_custodian(
        &self,
        claimed: &ClaimedStep,
    ) -> std::result::Result<Option<custodian_pb::Operation>, tonic::Status> {
        let mut client = self
            .custodian(&claimed.url)
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        let step = &claimed.step;
        let call = async {
            match step.verb {
                StepVerb::Transfer => client
                    .transfer_assets(custodian_pb::TransferAssetsRequest {
                        operation_id: step.operation_id.to_string(),
                        account_id: step.account_id.to_string(),
                        workspace_id: claimed.workspace_id.to_string(),
                        owner_user_id: claimed.user_id.to_string(),
                        receiver_user_id: claimed
                            .receiver_user_id
                            .map(|id| id.to_string())
                            .unwrap_or_default(),
                    })
                    .await
                    .map(|answer| answer.into_inner().operation),
                StepVerb::Delete => client
                    .delete_assets(custodian_pb::DeleteAssetsRequest {
                        operation_id: step.operation_id.to_string(),
                        account_id: step.account_id.to_string(),
                        workspace_id: claimed.workspace_id.to_string(),
                        owner_user_id: claimed.user_id.to_string(),
                    })
                    .await
                    .map(|answer| answer.into_inner().operation),
            }
        };
        // The channel bounds each call by ROSTER_CUSTODIAN_TIMEOUT.
        call.await
    }

    /// After a step settled: tells the administrators once a phase is settled, and ends a
    /// purge every custodian confirmed.
    async fn advance(
        &self,
        tx: &impl GenericClient,
        mut removal: RemovalRecord,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let phase = match removal.state {
            RemovalState::Removed => StepVerb::Transfer,
            RemovalState::Purging => StepVerb::Delete,
            RemovalState::Restored | RemovalState::Purged => return Ok(()),
        };
        if !removal.settled(phase) {
            return Ok(());
        }
        let deleted_all = phase == StepVerb::Delete && !removal.needs_action();
        if !removal.summary_sent {
            self.enqueue_summary(tx, &removal, phase, now).await?;
            removal.summary_sent = true;
            removal.updated_at = now;
            store::save_removal(tx, &removal).await?;
        }
        if deleted_all {
            self.finish_purge(tx, &system(), removal, now).await?;
        }
        Ok(())
    }

    /// The summary for the administrator who removed the member and for the receiver:
    /// per custodian, what moved or was deleted and what failed.
    async fn enqueue_summary(
        &self,
        tx: &impl GenericClient,
        removal: &RemovalRecord,
        phase: StepVerb,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let workspace = store::get_workspace(tx, removal.workspace_id, false).await?;
        let member = store::user_contact(tx, removal.user_id).await?;
        let steps: Vec<_> = removal
            .steps
            .iter()
            .filter(|s| s.verb == phase)
            .map(|s| {
                json!({
                    "custodian": s.custodian_name,
                    "state": s.state.as_db(),
                    "completed": s.completed,
                    "failed_count": s.failed_count,
                    "error": s.last_error,
                })
            })
            .collect();
        let variables = json!({
            "workspace_name": workspace.map(|w| w.name).unwrap_or_default(),
            "member_name": member.as_ref().map(|m| m.1.clone()).unwrap_or_default(),
            "member_email": member.map(|m| m.0).unwrap_or_default(),
            "phase": phase.as_db(),
            "needs_action": removal.needs_action(),
            "steps": steps,
            "removal_id": removal.id,
        });
        let mut recipients = vec![removal.removed_by_user_id, removal.receiver_user_id];
        recipients.dedup();
        for user_id in recipients.into_iter().flatten() {
            let Some((email, _)) = store::user_contact(tx, user_id).await? else {
                continue;
            };
            let message = OutboxMessage {
                template: "removal_summary",
                recipient: &email,
                variables: variables.clone(),
                secret_variables: None,
            };
            outbox::enqueue(tx, now, message).await?;
        }
        Ok(())
    }

    /// Runs [`Self::drive_removals`] until `shutdown`: again at once while there is work,
    /// else when the next step is due (a custodian asked to be polled after 100 ms), and
    /// at least every `removal_poll` (for removals recorded by other replicas).
    pub async fn run_removal_worker(&self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let pause = match self.drive_removals().await {
                Ok(0) => self.until_next_step().await,
                Ok(_) => Duration::ZERO,
                Err(error) => {
                    warn!(error = %error, "removal worker pass failed");
                    self.config.removal_poll
                }
            };
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// How long until the next step is due, within `removal_poll`.
    async fn until_next_step(&self) -> Duration {
        let poll = self.config.removal_poll;
        let Ok(db) = self.pool.get().await else {
            return poll;
        };
        match store::next_step_due(&db).await {
            Ok(Some(due)) => (due - self.now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .max(Duration::from_millis(10))
                .min(poll),
            Ok(None) | Err(_) => poll,
        }
    }

    /// The removal saga's queue now, for metrics: the unfinished steps of open removals by
    /// state, and how long the step due the longest has waited since it came due.
    #[instrument(skip_all, name = "membership.domain.removal_queue")]
    pub async fn removal_queue(&self) -> Result<SagaQueue> {
        let queue = store::removal_queue(&self.pool.get().await?, QUEUE_COUNT_CAP).await?;
        let now = self.now();
        Ok(SagaQueue {
            steps: queue
                .steps
                .iter()
                .map(|(state, steps)| (state.as_db(), *steps))
                .collect(),
            oldest_due: queue.first_due.map_or(Duration::ZERO, |due| {
                (now - due).to_std().unwrap_or(Duration::ZERO)
            }),
        })
    }

    /// A removal, for whoever may manage its workspace's members.
    #[instrument(skip_all, name = "membership.domain.get_removal")]
    pub(crate) async fn get_removal(
        &self,
        caller: &Caller,
        removal_id: Uuid,
    ) -> Result<pb::Removal> {
        let db = self.pool.get().await?;
        let (removal, _) = self.managed_removal(&db, caller, removal_id).await?;
        Ok(removal.to_proto())
    }

    /// A removal and its workspace, for a caller who may manage the workspace's members;
    /// anyone else learns nothing of it.
    async fn managed_removal(
        &self,
        db: &impl GenericClient,
        caller: &Caller,
        removal_id: Uuid,
    ) -> Result<(RemovalRecord, WorkspaceRecord)> {
        let removal = self.removal(db, removal_id, false).await?;
        let workspace = self.workspace(db, removal.workspace_id, false).await?;
        match self
            .require_permission(caller, &workspace, "roster.members.manage")
            .await
        {
            Ok(_) => Ok((removal, workspace)),
            Err(error) if matches!(error.code(), Code::NotFound | Code::PermissionDenied) => {
                Err(Error::not_found("removal", removal_id))
            }
            Err(error) => Err(error),
        }
    }

    /// An account's removals, newest first.
    #[instrument(skip_all, name = "membership.domain.list_removals")]
    pub(crate) async fn list_removals(
        &self,
        caller: &Caller,
        account_id: Uuid,
        workspace_id: Option<Uuid>,
        user_id: Option<Uuid>,
        page_size: i32,
        page_token: &str,
    ) -> Result<pb::ListRemovalsResponse> {
        let db = self.pool.get().await?;
        match workspace_id {
            Some(id) => {
                let workspace = self.workspace(&db, id, false).await?;
                if workspace.account_id != account_id {
                    return Err(Error::not_found("workspace", id));
                }
                self.require_permission(caller, &workspace, "roster.members.manage")
                    .await?;
            }
            None => {
                self.require_account_admin(&db, caller, account_id).await?;
            }
        }
        let limit = PageSize::LIST.resolve(page_size)?;
        let fingerprint = (account_id, workspace_id, user_id);
        let after: Option<(DateTime<Utc>, Uuid)> = paging::decode(&fingerprint, page_token)?;
        let removals = store::list_removals(
            &db,
            account_id,
            workspace_id,
            user_id,
            after,
            i64::from(limit) + 1,
        )
        .await?;
        let (removals, next_page_token) =
            paging::finish_page(removals, limit, &fingerprint, |r| (r.created_at, r.id));
        Ok(pb::ListRemovalsResponse {
            removals: removals.iter().map(RemovalRecord::to_proto).collect(),
            next_page_token,
        })
    }

    /// Starts again the steps of a removal that need action, under new operation ids.
    #[instrument(skip_all, name = "membership.domain.retry_removal")]
    pub(crate) async fn retry_removal(
        &self,
        caller: &Caller,
        removal_id: Uuid,
    ) -> Result<pb::Removal> {
        let db = self.pool.get().await?;
        let (removal, workspace) = self.managed_removal(&db, caller, removal_id).await?;
        if removal.receiver_user_id.is_some() && removal.state == RemovalState::Removed {
            self.require_permission(caller, &workspace, "roster.assets.transfer")
                .await?;
        }
        drop(db);
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) =
            requests::begin::<pb::RetryRemovalResponse>(&tx, caller, "RetryRemoval", now).await?
        {
            return previous
                .removal
                .ok_or_else(|| Error::internal("retry removal", "no removal in the answer"));
        }
        let mut removal = self.removal(&tx, removal_id, true).await?;
        if store::retry_steps(&tx, &removal, now).await? == 0 {
            return Err(invalid_state("no step of this removal needs action"));
        }
        removal.summary_sent = false;
        removal.updated_at = now;
        store::save_removal(&tx, &removal).await?;
        audit::record(
            &tx,
            caller,
            now,
            removal_audit("membership.removal.retry", &removal, Changes::new()),
        )
        .await?;
        let answer = pb::RetryRemovalResponse {
            removal: Some(self.removal(&tx, removal_id, false).await?.to_proto()),
        };
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        answer
            .removal
            .ok_or_else(|| Error::internal("retry removal", "no removal in the answer"))
    }

    /// What each custodian keeps of a member, and what would stop a transfer to the
    /// receiver; a custodian that cannot be asked is reported in its entry.
    #[instrument(skip_all, name = "membership.domain.preview_removal")]
    pub(crate) async fn preview_removal(
        &self,
        caller: &Caller,
        workspace_id: Uuid,
        user_id: Uuid,
        receiver: Option<Uuid>,
    ) -> Result<Vec<pb::CustodianHoldings>> {
        let db = self.pool.get().await?;
        let workspace = self.workspace(&db, workspace_id, false).await?;
        self.require_permission(caller, &workspace, "roster.members.manage")
            .await?;
        let member = store::get_member(&db, workspace.account_id, workspace_id, user_id, false)
            .await?
            .ok_or_else(|| {
                Error::not_found("member", format!("{user_id} in workspace {workspace_id}"))
            })?;
        if let Some(heir) = receiver {
            self.check_heir(&db, &workspace, member.user_id, heir)
                .await?;
        }
        let custodians = store::list_custodians(&db).await?;
        drop(db);
        let asks = custodians
            .iter()
            .map(|custodian| self.describe(custodian, &workspace, user_id, receiver));
        Ok(futures::future::join_all(asks).await)
    }

    async fn describe(
        &self,
        custodian: &CustodianRecord,
        workspace: &WorkspaceRecord,
        user_id: Uuid,
        receiver: Option<Uuid>,
    ) -> pb::CustodianHoldings {
        let request = custodian_pb::DescribeAssetsRequest {
            account_id: workspace.account_id.to_string(),
            workspace_id: workspace.id.to_string(),
            owner_user_id: user_id.to_string(),
            receiver_user_id: receiver.map(|id| id.to_string()).unwrap_or_default(),
        };
        let answer = match self.custodian(&custodian.url) {
            Ok(mut client) => client
                .describe_assets(request)
                .await
                .map(tonic::Response::into_inner)
                .map_err(|status| call_error(&status)),
            Err(error) => Err(error.to_string()),
        };
        let ((assets, blockers), error) = match answer {
            Ok(described) => (bounded_description(described), String::new()),
            Err(error) => ((Vec::new(), Vec::new()), error),
        };
        pb::CustodianHoldings {
            custodian_id: custodian.id.to_string(),
            custodian_name: custodian.name.clone(),
            assets,
            blockers,
            error,
        }
    }

    /// Who may act on the assets `owner_id` owns in a workspace (custodians ask).
    #[instrument(skip_all, name = "membership.domain.check_asset_access")]
    pub(crate) async fn check_asset_access(
        &self,
        caller: &Caller,
        workspace_id: Uuid,
        owner_id: Uuid,
        actor_id: Uuid,
    ) -> Result<pb::CheckAssetAccessResponse> {
        use pb::AssetAccessReason as Reason;
        let principal = caller.principal()?;
        if !(principal.is_operator
            || principal.is_roster_service
            || principal.is_service
            || principal.user_id == actor_id)
        {
            return Err(Error::permission_denied(
                "only operators, service accounts and the actor themself may ask this",
            ));
        }
        let db = self.pool.get().await?;
        let workspace = self.workspace(&db, workspace_id, false).await?;
        let owner =
            store::get_member(&db, workspace.account_id, workspace_id, owner_id, false).await?;
        // A purge ends the restore window, so a removed owner past it is being purged.
        let purging = owner.as_ref().is_some_and(|member| {
            member.status == MemberStatus::Removed
                && member.purge_after.is_none_or(|t| t <= self.now())
        });
        let administrator = match &owner {
            Some(member) if member.status != MemberStatus::Active && actor_id != owner_id => self
                .decide(workspace_id, actor_id, "roster.members.manage")
                .await?
                .is_some_and(Decision::allowed),
            _ => false,
        };
        let reason = match owner.map(|m| m.status) {
            None => Reason::OwnerNotAMember,
            Some(MemberStatus::Active) if actor_id == owner_id => {
                match self.decide(workspace_id, actor_id, ANY_ROLE).await? {
                    Some(decision) if decision.allowed() => Reason::Owner,
                    _ => Reason::ActorNotAllowed,
                }
            }
            Some(MemberStatus::Active) => Reason::NotOwner,
            Some(MemberStatus::Suspended) if actor_id == owner_id => Reason::OwnerSuspended,
            Some(MemberStatus::Suspended) if administrator => Reason::AdministratorOfSuspendedOwner,
            Some(MemberStatus::Removed) if purging => Reason::OwnerPurged,
            Some(MemberStatus::Removed) if actor_id == owner_id => Reason::OwnerRemoved,
            Some(MemberStatus::Removed) if administrator => Reason::AdministratorOfRemovedOwner,
            Some(_) => Reason::ActorNotAllowed,
        };
        let allowed = matches!(
            reason,
            Reason::Owner
                | Reason::AdministratorOfSuspendedOwner
                | Reason::AdministratorOfRemovedOwner
        );
        Ok(pb::CheckAssetAccessResponse {
            allowed,
            reason: reason.into(),
        })
    }
}

impl StepRecord {
    /// Whether a worker holds it and may be calling its custodian now.
    fn in_flight(&self, now: DateTime<Utc>) -> bool {
        self.lease_token.is_some() && self.next_attempt_at > now
    }
}
