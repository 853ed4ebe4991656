//! The fenced compare-and-set: the only `UPDATE` of a purchase's state,
//! one transition with the columns that go with it and its event row.

use serde_json::Value;
use sqlx::AssertSqlSafe;

use super::{Cas, Purchase, Result, Store, StoreError, Tx, with_tx};
use crate::clock::Millis;
use crate::domain::{EventKind, HoldReason, Money, PurchaseState, SupplierOrderId};

/// One column a transition changes besides the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    NextActionAt(Millis),
    SupplierOrderId(Option<SupplierOrderId>),
    SupplierStatus(Option<String>),
    CurrentAttempt(Option<i64>),
    /// One more supplier create started.
    CountOrderAttempt,
    Hold {
        reason: HoldReason,
        since: Millis,
        resume: PurchaseState,
    },
    ClearHold,
    PaySentAt(Option<Millis>),
    WaitingSince(Option<Millis>),
    StallAlertedAt(Option<Millis>),
    LastCheckedAt(Millis),
    LastError(Option<String>),
    OrderPrice(Option<Money>),
    /// One more pay request sent for the linked order.
    CountPay,
    /// A new order will be linked: its pays start from zero.
    ResetPays,
    /// One more direct read found the order completed without codes.
    CountEmptyRead,
    /// Give the purchase back so any worker may claim it when it is due.
    ReleaseLease,
}

enum Bind {
    Int(Option<i64>),
    Text(Option<String>),
}

impl Change {
    /// `(column = placeholder-or-expression, value)` pairs.
    fn columns(&self) -> Vec<(&'static str, Option<Bind>)> {
        use Bind::{Int, Text};
        match self {
            Change::NextActionAt(t) => vec![("next_action_at", Some(Int(Some(*t))))],
            Change::SupplierOrderId(id) => vec![(
                "supplier_order_id",
                Some(Text(id.as_ref().map(|i| i.as_str().to_owned()))),
            )],
            Change::SupplierStatus(s) => vec![("supplier_status", Some(Text(s.clone())))],
            Change::CurrentAttempt(a) => vec![("current_attempt_id", Some(Int(*a)))],
            Change::CountOrderAttempt => vec![("order_attempts = order_attempts + 1", None)],
            Change::Hold {
                reason,
                since,
                resume,
            } => vec![
                ("hold_reason", Some(Text(Some(reason.as_str().to_owned())))),
                ("hold_since", Some(Int(Some(*since)))),
                ("resume_state", Some(Text(Some(resume.as_str().to_owned())))),
            ],
            Change::ClearHold => vec![
                ("hold_reason", Some(Text(None))),
                ("hold_since", Some(Int(None))),
                ("resume_state", Some(Text(None))),
            ],
            Change::PaySentAt(t) => vec![("pay_sent_at", Some(Int(*t)))],
            Change::WaitingSince(t) => vec![("waiting_since", Some(Int(*t)))],
            Change::StallAlertedAt(t) => vec![("stall_alerted_at", Some(Int(*t)))],
            Change::LastCheckedAt(t) => vec![("last_checked_at", Some(Int(Some(*t))))],
            Change::LastError(e) => vec![("last_error", Some(Text(e.clone())))],
            Change::OrderPrice(p) => {
                vec![("order_price", Some(Text(p.map(|m| m.to_string()))))]
            }
            Change::CountPay => vec![("pays_sent = pays_sent + 1", None)],
            Change::ResetPays => vec![("pays_sent", Some(Int(Some(0))))],
            Change::CountEmptyRead => vec![("empty_reads = empty_reads + 1", None)],
            Change::ReleaseLease => vec![
                ("lease_owner", Some(Text(None))),
                ("lease_expires_at", Some(Int(None))),
            ],
        }
    }
}

/// A compare-and-set move of one purchase from the state (and claim) its
/// author read to a new state, with the columns that go with it. Applied
/// together with its event row, or not at all.
#[derive(Debug, Clone)]
#[expect(
    clippy::manual_non_exhaustive,
    reason = "#[non_exhaustive] seals only outside the crate; `_sealed` keeps literals out of the rest of it"
)]
pub struct Transition {
    pub id: i64,
    pub from: PurchaseState,
    pub fence: i64,
    pub to: PurchaseState,
    pub changes: Vec<Change>,
    pub kind: EventKind,
    pub detail: Value,
    pub actor: String,
    /// Whether the event log gets a row (reschedules are not logged).
    pub logged: bool,
    /// The stall clock keeps running across this move (one phase of work:
    /// a create that never left returns to `ordering` without resetting it).
    pub keeps_clock: bool,
    /// Private: no literal builds one outside this module.
    _sealed: (),
}

impl Transition {
    /// From what `p` says now to `to`. Only `engine::transitions` calls
    /// this: every edge is a named constructor there.
    pub(crate) fn of(p: &Purchase, to: PurchaseState, kind: EventKind) -> Self {
        Transition {
            id: p.id,
            from: p.state,
            fence: p.fence,
            to,
            changes: Vec::new(),
            kind,
            detail: Value::Object(Default::default()),
            actor: String::new(),
            logged: true,
            keeps_clock: false,
            _sealed: (),
        }
    }

    /// A move set up by hand, outside the named edges: for tests that put
    /// a purchase where they need it. Never called from `src/`.
    #[doc(hidden)]
    pub fn by_hand(p: &Purchase, to: PurchaseState, kind: EventKind) -> Self {
        Self::of(p, to, kind)
    }

    /// Keeps the stall clock (and its alert) of the state it leaves.
    pub(crate) fn keeping_clock(mut self) -> Self {
        self.keeps_clock = true;
        self
    }

    /// Leaves no event row: for a reschedule that changes nothing else.
    pub(crate) fn quiet(mut self) -> Self {
        self.logged = false;
        self
    }

    pub fn set(mut self, change: Change) -> Self {
        self.changes.push(change);
        self
    }

    pub(crate) fn detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }

    pub(crate) fn by(mut self, actor: &str) -> Self {
        self.actor = actor.to_owned();
        self
    }
}

impl Store {
    /// Applies one transition in its own transaction.
    pub async fn transition(&self, t: &Transition, now: Millis) -> Result<Cas> {
        let mut tx = self.begin().await?;
        let outcome = tx.transition(t, now).await?;
        tx.commit().await?;
        Ok(outcome)
    }
}

impl Tx {
    /// Compare-and-set on `(id, state, fence)`. On [`Cas::LostRace`]
    /// nothing was written, not even the event.
    /// A move that is not in [`PurchaseState::may_move_to`]'s table is
    /// refused with [`StoreError::IllegalTransition`] and writes nothing.
    pub async fn transition(&mut self, t: &Transition, now: Millis) -> Result<Cas> {
        if !t.from.may_move_to(t.to) {
            return Err(StoreError::IllegalTransition {
                id: t.id,
                from: t.from,
                to: t.to,
            });
        }
        let (sql, binds) = update_of(t);
        let rows = with_tx!(self, c => {
            // `update_of` builds the SQL from fixed column names only.
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(t.to.as_str()).bind(now);
            for b in binds {
                q = match b {
                    Bind::Int(v) => q.bind(v),
                    Bind::Text(v) => q.bind(v),
                };
            }
            q.bind(t.id)
                .bind(t.from.as_str())
                .bind(t.fence)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        let outcome = Cas::from_rows(rows);
        if outcome.applied() && t.logged {
            self.record_event(
                Some(t.id),
                t.kind,
                Some(t.from),
                Some(t.to),
                Some(t.fence),
                &t.actor,
                &t.detail,
                now,
            )
            .await?;
        }
        Ok(outcome)
    }
}

/// The compare-and-set statement for `t`, and the values of its columns.
/// `$1` is the new state and `$2` the time; the columns' values follow, then
/// the id, state and fence the author read. Built from the fixed column
/// names of [`Change::columns`] only.
fn update_of(t: &Transition) -> (String, Vec<Bind>) {
    let mut sets = vec!["state = $1".to_owned(), "updated_at = $2".to_owned()];
    let mut binds: Vec<Bind> = Vec::new();
    let mut changes = t.changes.clone();
    if t.to != t.from && !t.keeps_clock {
        // A new state starts its own stall clock.
        sets.push("state_since = $2".to_owned());
        if !t
            .changes
            .iter()
            .any(|c| matches!(c, Change::StallAlertedAt(_)))
        {
            changes.push(Change::StallAlertedAt(None));
        }
    }
    if t.to.is_final() {
        changes.push(Change::ReleaseLease);
        sets.push("finished_at = $2".to_owned());
    }
    for change in &changes {
        for (column, bind) in change.columns() {
            match bind {
                Some(b) => {
                    binds.push(b);
                    sets.push(format!("{column} = ${}", binds.len() + 2));
                }
                None => sets.push(column.to_owned()),
            }
        }
    }
    let n = binds.len() + 2;
    let sql = format!(
        "UPDATE purchases SET {} WHERE id = ${} AND state = ${} AND fence = ${}",
        sets.join(", "),
        n + 1,
        n + 2,
        n + 3
    );
    (sql, binds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql_of(t: &Transition) -> String {
        update_of(t).0
    }

    #[test]
    fn a_move_to_a_final_state_releases_the_lease_and_finishes() {
        let p = Purchase::example(PurchaseState::Delivering, 1, 0);
        let sql = sql_of(&Transition::of(
            &p,
            PurchaseState::Delivered,
            EventKind::Delivered,
        ));
        assert!(sql.contains("finished_at = $2"), "{sql}");
        assert!(sql.contains("lease_owner = $"), "{sql}");
        assert!(sql.contains("lease_expires_at = $"), "{sql}");
    }

    #[test]
    fn a_new_state_restarts_the_stall_clock_and_its_alert() {
        let p = Purchase::example(PurchaseState::Ordering, 1, 0);
        let sql = sql_of(&Transition::of(
            &p,
            PurchaseState::Submitting,
            EventKind::CreateSent,
        ));
        assert!(sql.contains("state_since = $2"), "{sql}");
        assert!(sql.contains("stall_alerted_at = $3"), "{sql}");
    }

    #[test]
    fn a_move_keeping_the_clock_leaves_the_stall_clock_alone() {
        let p = Purchase::example(PurchaseState::Submitting, 1, 0);
        let t =
            Transition::of(&p, PurchaseState::Ordering, EventKind::CreateNotSent).keeping_clock();
        let sql = sql_of(&t);
        assert!(!sql.contains("state_since"), "{sql}");
        assert!(!sql.contains("stall_alerted_at"), "{sql}");
    }

    #[test]
    fn the_fence_binds_come_after_every_column() {
        let p = Purchase::example(PurchaseState::Paying, 1, 0);
        let t = Transition::of(&p, PurchaseState::Paying, EventKind::Reschedule)
            .quiet()
            .set(Change::NextActionAt(5))
            .set(Change::CountPay);
        let (sql, binds) = update_of(&t);
        assert_eq!(binds.len(), 1);
        assert!(
            sql.ends_with(
                "next_action_at = $3, pays_sent = pays_sent + 1 \
                 WHERE id = $4 AND state = $5 AND fence = $6"
            ),
            "{sql}"
        );
    }
}
