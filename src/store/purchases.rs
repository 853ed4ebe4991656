//! Purchases: the durable intent, its state, and the two primitives the
//! engine stands on — compare-and-set transitions and claiming due work
//! under a lease.

use serde_json::Value;
use sqlx::AssertSqlSafe;

use super::{Backend, Cas, Result, Store, StoreError, Tx, json_strings, with_db, with_tx};
use crate::clock::Millis;
use crate::domain::{
    ClientRef, EventKind, HoldReason, Money, Note, ProductId, PurchaseSource, PurchaseState,
    Quantity, Signature, SupplierOrderId, UserId,
};

/// A purchase the customer paid for, about to be handed to the engine.
#[derive(Debug, Clone)]
pub struct NewPurchase {
    pub client_ref: ClientRef,
    pub user_id: UserId,
    pub chat_id: i64,
    pub language: crate::domain::Language,
    pub product_id: ProductId,
    pub product_name: String,
    pub quantity: Quantity,
    pub note: Note,
    /// The wholesale unit price the sale was based on, if it was known.
    pub unit_price: Option<Money>,
    pub currency: String,
    /// Stars paid; 0 for a purchase paid outside Telegram.
    pub stars: i64,
    pub source: PurchaseSource,
    pub telegram_charge_id: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct PurchaseRow {
    id: i64,
    client_ref: String,
    user_id: i64,
    chat_id: i64,
    product_id: String,
    product_name: String,
    quantity: i64,
    note: String,
    signature: String,
    unit_price: Option<String>,
    order_price: Option<String>,
    currency: String,
    stars: i64,
    source: String,
    telegram_charge_id: Option<String>,
    state: String,
    fence: i64,
    lease_owner: Option<String>,
    lease_expires_at: Option<i64>,
    next_action_at: i64,
    supplier_order_id: Option<String>,
    supplier_status: Option<String>,
    current_attempt_id: Option<i64>,
    order_attempts: i64,
    hold_reason: Option<String>,
    hold_since: Option<i64>,
    resume_state: Option<String>,
    pay_sent_at: Option<i64>,
    waiting_since: Option<i64>,
    stall_alerted_at: Option<i64>,
    last_checked_at: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
    updated_at: i64,
    finished_at: Option<i64>,
    state_since: i64,
    pays_sent: i64,
    empty_reads: i64,
}

/// A purchase as read from the store, with typed fields.
#[derive(Debug, Clone)]
pub struct Purchase {
    pub id: i64,
    pub client_ref: String,
    pub user_id: UserId,
    pub chat_id: i64,
    pub product_id: ProductId,
    pub product_name: String,
    pub quantity: Quantity,
    pub note: Note,
    pub signature: Signature,
    pub unit_price: Option<Money>,
    /// The unit price we offer the supplier now: the sale price, or a
    /// re-quote within the configured tolerance.
    pub order_price: Option<Money>,
    pub currency: String,
    pub stars: i64,
    pub source: PurchaseSource,
    pub telegram_charge_id: Option<String>,
    pub state: PurchaseState,
    /// The claim fence, bumped by every claim: a worker's compare-and-set
    /// names the claim it holds, so a worker whose lease was taken over
    /// cannot write.
    pub fence: i64,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<Millis>,
    pub next_action_at: Millis,
    pub supplier_order_id: Option<SupplierOrderId>,
    pub supplier_status: Option<String>,
    pub current_attempt_id: Option<i64>,
    pub order_attempts: i64,
    pub hold_reason: Option<HoldReason>,
    pub hold_since: Option<Millis>,
    pub resume_state: Option<PurchaseState>,
    pub pay_sent_at: Option<Millis>,
    pub waiting_since: Option<Millis>,
    pub stall_alerted_at: Option<Millis>,
    pub last_checked_at: Option<Millis>,
    pub last_error: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub finished_at: Option<Millis>,
    /// When the purchase entered its current state: the stall clock.
    pub state_since: Millis,
    /// Pay requests sent for the linked order.
    pub pays_sent: i64,
    /// Direct reads that found the order completed without its codes.
    pub empty_reads: i64,
}

impl TryFrom<PurchaseRow> for Purchase {
    type Error = StoreError;

    fn try_from(r: PurchaseRow) -> Result<Self> {
        let corrupt =
            |e: crate::domain::InvalidValue| StoreError::Corrupt(format!("purchase {}: {e}", r.id));
        Ok(Purchase {
            id: r.id,
            user_id: UserId(r.user_id),
            chat_id: r.chat_id,
            product_id: ProductId::parse(&r.product_id).map_err(corrupt)?,
            product_name: r.product_name.clone(),
            quantity: Quantity::new(r.quantity).map_err(corrupt)?,
            note: Note::parse_canonical(&r.note).map_err(corrupt)?,
            signature: Signature::from_stored(r.signature.clone()),
            order_price: r
                .order_price
                .as_deref()
                .map(Money::parse)
                .transpose()
                .map_err(corrupt)?,
            unit_price: r
                .unit_price
                .as_deref()
                .map(Money::parse)
                .transpose()
                .map_err(corrupt)?,
            state: PurchaseState::parse(&r.state).map_err(corrupt)?,
            supplier_order_id: r
                .supplier_order_id
                .as_deref()
                .map(SupplierOrderId::parse)
                .transpose()
                .map_err(corrupt)?,
            resume_state: r
                .resume_state
                .as_deref()
                .map(PurchaseState::parse)
                .transpose()
                .map_err(corrupt)?,
            source: PurchaseSource::parse(&r.source).map_err(corrupt)?,
            hold_reason: r
                .hold_reason
                .as_deref()
                .map(HoldReason::parse)
                .transpose()
                .map_err(corrupt)?,
            client_ref: r.client_ref,
            currency: r.currency,
            stars: r.stars,
            telegram_charge_id: r.telegram_charge_id,
            fence: r.fence,
            lease_owner: r.lease_owner,
            lease_expires_at: r.lease_expires_at,
            next_action_at: r.next_action_at,
            supplier_status: r.supplier_status,
            current_attempt_id: r.current_attempt_id,
            order_attempts: r.order_attempts,
            hold_since: r.hold_since,
            pay_sent_at: r.pay_sent_at,
            waiting_since: r.waiting_since,
            stall_alerted_at: r.stall_alerted_at,
            last_checked_at: r.last_checked_at,
            last_error: r.last_error,
            created_at: r.created_at,
            updated_at: r.updated_at,
            finished_at: r.finished_at,
            state_since: r.state_since,
            pays_sent: r.pays_sent,
            empty_reads: r.empty_reads,
        })
    }
}

fn typed(rows: Vec<PurchaseRow>) -> Result<Vec<Purchase>> {
    rows.into_iter().map(Purchase::try_from).collect()
}

/// A purchase row that does not read as a purchase (a bad state name, a
/// broken note): reported and set aside, never a reason to stop the others.
#[derive(Debug, Clone)]
pub struct CorruptRow {
    pub id: i64,
    pub problem: String,
}

/// Rows read for work: the good ones, and those that could not be read.
#[derive(Debug, Default)]
pub struct Rows {
    pub purchases: Vec<Purchase>,
    pub corrupt: Vec<CorruptRow>,
}

fn sorted(rows: Vec<PurchaseRow>) -> Rows {
    let mut out = Rows::default();
    for row in rows {
        let id = row.id;
        match Purchase::try_from(row) {
            Ok(p) => out.purchases.push(p),
            Err(e) => out.corrupt.push(CorruptRow {
                id,
                problem: e.to_string(),
            }),
        }
    }
    out
}

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

/// What an admin or a customer view asks for.
#[derive(Debug, Clone, Default)]
pub struct PurchaseFilter {
    pub states: Vec<PurchaseState>,
    pub user_id: Option<UserId>,
    pub limit: i64,
    /// Oldest first (the poller: the longest-waiting must never starve);
    /// otherwise newest first (what people want to see).
    pub oldest_first: bool,
}

/// The partial UNIQUE index (migration 0006) that lets one idempotency key
/// record one purchase.
const IDEMPOTENCY_KEY_INDEX: &str = "purchases_idempotency_key";

/// Whether `e` is [`IDEMPOTENCY_KEY_INDEX`] refusing a second purchase
/// under a key. PostgreSQL names the index; SQLite names no constraint,
/// only the column (`UNIQUE constraint failed: purchases.idempotency_key`).
fn is_idempotency_key_taken(e: &StoreError) -> bool {
    match e {
        StoreError::Conflict(what) => {
            what == IDEMPOTENCY_KEY_INDEX || what.ends_with("purchases.idempotency_key")
        }
        _ => false,
    }
}

fn state_names(states: &[PurchaseState]) -> String {
    let names: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
    json_strings(&names)
}

impl Store {
    /// Records a paid purchase (and its customer) in state `ordering`.
    /// A Telegram charge id already recorded gives [`StoreError::Conflict`].
    pub async fn insert_purchase(&self, p: &NewPurchase, now: Millis) -> Result<i64> {
        let mut tx = self.begin().await?;
        let id = tx.insert_purchase(p, PurchaseState::Ordering, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Records a paid purchase in state `ordering` under the caller's
    /// idempotency key, written by the same INSERT. `None`: the key has
    /// already recorded a purchase ([`Store::purchase_by_idempotency_key`]
    /// finds it) and nothing was written. The UNIQUE index decides, not a
    /// read before the write: of two callers racing with one key, exactly
    /// one records a purchase and the other gets `None`.
    pub async fn insert_purchase_once(
        &self,
        p: &NewPurchase,
        idempotency_key: &str,
        now: Millis,
    ) -> Result<Option<i64>> {
        let mut tx = self.begin().await?;
        match tx
            .insert_purchase_row(p, PurchaseState::Ordering, Some(idempotency_key), now)
            .await
        {
            Ok(id) => {
                tx.commit().await?;
                Ok(Some(id))
            }
            // Dropping the transaction rolls back the customer row too.
            Err(e) if is_idempotency_key_taken(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The purchase recorded under an idempotency key, if any.
    pub async fn purchase_by_idempotency_key(&self, key: &str) -> Result<Option<Purchase>> {
        let row: Option<PurchaseRow> = with_db!(&self.db, c => {
            sqlx::query_as("SELECT * FROM purchases WHERE idempotency_key = $1")
                .bind(key)
                .fetch_optional(c)
                .await?
        });
        row.map(Purchase::try_from).transpose()
    }

    pub async fn purchase(&self, id: i64) -> Result<Option<Purchase>> {
        let row: Option<PurchaseRow> = with_db!(&self.db, c => {
            sqlx::query_as("SELECT * FROM purchases WHERE id = $1")
                .bind(id)
                .fetch_optional(c)
                .await?
        });
        row.map(Purchase::try_from).transpose()
    }

    pub async fn purchase_by_charge(&self, charge_id: &str) -> Result<Option<Purchase>> {
        let row: Option<PurchaseRow> = with_db!(&self.db, c => {
            sqlx::query_as("SELECT * FROM purchases WHERE telegram_charge_id = $1")
                .bind(charge_id)
                .fetch_optional(c)
                .await?
        });
        row.map(Purchase::try_from).transpose()
    }

    pub async fn purchase_by_order(&self, order: &SupplierOrderId) -> Result<Option<Purchase>> {
        let row: Option<PurchaseRow> = with_db!(&self.db, c => {
            sqlx::query_as("SELECT * FROM purchases WHERE supplier_order_id = $1")
                .bind(order.as_str())
                .fetch_optional(c)
                .await?
        });
        row.map(Purchase::try_from).transpose()
    }

    /// Newest first unless the filter asks for the oldest. A row that does
    /// not read fails the whole call: see [`Store::purchases_for_work`].
    pub async fn purchases(&self, filter: &PurchaseFilter) -> Result<Vec<Purchase>> {
        typed(self.purchase_rows(filter).await?)
    }

    /// As [`Store::purchases`], with rows that do not read set apart
    /// instead of failing the call.
    pub async fn purchases_for_work(&self, filter: &PurchaseFilter) -> Result<Rows> {
        Ok(sorted(self.purchase_rows(filter).await?))
    }

    async fn purchase_rows(&self, filter: &PurchaseFilter) -> Result<Vec<PurchaseRow>> {
        let limit = if filter.limit > 0 { filter.limit } else { 100 };
        // Built from fixed fragments only.
        let sql = format!(
            "SELECT * FROM purchases \
             WHERE ($1 = '[]' OR state IN ({})) \
               AND ($2 IS NULL OR user_id = $2) \
             ORDER BY CASE WHEN $4 THEN id ELSE -id END LIMIT $3",
            self.backend().json_list(1)
        );
        let rows: Vec<PurchaseRow> = with_db!(&self.db, c => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(state_names(&filter.states))
                .bind(filter.user_id.map(|u| u.0))
                .bind(limit)
                .bind(filter.oldest_first)
                .fetch_all(c)
                .await?
        });
        Ok(rows)
    }

    /// Takes up to `limit` purchases in one of `states` that are due and not
    /// held by a live lease, bumping their `fence`. Two claimers never get
    /// the same row: on SQLite the single statement runs under the one write
    /// lock; on PostgreSQL rows another claimer is taking are skipped.
    /// A claimed row that does not read is set aside (due never) and
    /// returned among [`Rows::corrupt`], so it cannot wedge the claims.
    pub async fn claim_due(
        &self,
        owner: &str,
        states: &[PurchaseState],
        now: Millis,
        lease_ms: Millis,
        limit: i64,
    ) -> Result<Rows> {
        let backend = self.backend();
        // SKIP LOCKED: concurrent claimers in other processes pass over rows
        // another claimer is taking, instead of waiting for them or taking
        // them twice. (SQLite has one writer; it needs no row locks.)
        let lock = match backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE purchases \
             SET fence = fence + 1, lease_owner = $1, lease_expires_at = $2, updated_at = $3 \
             WHERE id IN (SELECT id FROM purchases \
                 WHERE state IN ({}) \
                   AND next_action_at <= $3 \
                   AND (lease_expires_at IS NULL OR lease_expires_at <= $3) \
                 ORDER BY next_action_at, id LIMIT $4{lock}) \
             RETURNING *",
            backend.json_list(5)
        );
        let rows: Vec<PurchaseRow> = with_db!(&self.db, c => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(owner)
                .bind(now.saturating_add(lease_ms))
                .bind(now)
                .bind(limit)
                .bind(state_names(states))
                .fetch_all(c)
                .await?
        });
        let rows = sorted(rows);
        for bad in &rows.corrupt {
            with_db!(&self.db, c => {
                sqlx::query("UPDATE purchases SET next_action_at = $1 WHERE id = $2")
                    .bind(Millis::MAX)
                    .bind(bad.id)
                    .execute(c)
                    .await?;
            });
        }
        Ok(rows)
    }

    /// Extends a lease the caller still holds, before a slow step.
    pub async fn renew_lease(&self, p: &Purchase, owner: &str, until: Millis) -> Result<Cas> {
        let rows = with_db!(&self.db, c => {
            sqlx::query(
                "UPDATE purchases SET lease_expires_at = $1 \
                 WHERE id = $2 AND state = $3 AND fence = $4 AND lease_owner = $5",
            )
            .bind(until)
            .bind(p.id)
            .bind(p.state.as_str())
            .bind(p.fence)
            .bind(owner)
            .execute(c)
            .await?
            .rows_affected()
        });
        Ok(Cas::from_rows(rows))
    }

    /// Applies one transition in its own transaction.
    pub async fn transition(&self, t: &Transition, now: Millis) -> Result<Cas> {
        let mut tx = self.begin().await?;
        let outcome = tx.transition(t, now).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Purchases in one of `states` that entered it at or before
    /// `alert_before` and were not alerted in it yet, or at or before
    /// `dead_before`: longest waiting first.
    pub async fn stalled(
        &self,
        states: &[PurchaseState],
        alert_before: Millis,
        dead_before: Millis,
        limit: i64,
        now: Millis,
    ) -> Result<Rows> {
        // A purchase whose lease is held is being worked on this moment: the
        // sweep looks at it once the worker has let go, so that it never
        // moves a purchase under a worker that has just sent the codes or
        // the refund.
        let sql = format!(
            "SELECT * FROM purchases \
             WHERE state IN ({}) AND state_since <= $2 \
               AND (stall_alerted_at IS NULL OR state_since <= $3) \
               AND (lease_expires_at IS NULL OR lease_expires_at <= $5) \
             ORDER BY state_since, id LIMIT $4",
            self.backend().json_list(1)
        );
        let rows: Vec<PurchaseRow> = with_db!(&self.db, c => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(state_names(states))
                .bind(alert_before)
                .bind(dead_before)
                .bind(limit)
                .bind(now)
                .fetch_all(c)
                .await?
        });
        Ok(sorted(rows))
    }

    /// When the next purchase in one of `states` becomes due (or its lease
    /// runs out), for idle sleeps.
    pub async fn next_due_at(&self, states: &[PurchaseState]) -> Result<Option<Millis>> {
        let backend = self.backend();
        let sql = format!(
            "SELECT MIN({}(next_action_at, COALESCE(lease_expires_at, 0))) FROM purchases \
             WHERE state IN ({})",
            backend.greatest(),
            backend.json_list(1)
        );
        let at: Option<i64> = with_db!(&self.db, c => {
            sqlx::query_scalar(AssertSqlSafe(sql))
                .bind(state_names(states))
                .fetch_one(c)
                .await?
        });
        Ok(at)
    }

    /// The buyer's language (English if the customer is unknown).
    pub async fn language_of(&self, user: UserId) -> Result<crate::domain::Language> {
        let code: Option<String> = with_db!(&self.db, c => {
            sqlx::query_scalar("SELECT language FROM customers WHERE user_id = $1")
                .bind(user.0)
                .fetch_optional(c)
                .await?
        });
        Ok(crate::domain::Language::from_code(code.as_deref()))
    }

    /// How many purchases are in each state.
    pub async fn state_counts(&self) -> Result<Vec<(PurchaseState, i64)>> {
        let rows: Vec<(String, i64)> = with_db!(&self.db, c => {
            sqlx::query_as("SELECT state, COUNT(*) FROM purchases GROUP BY state ORDER BY state")
                .fetch_all(c)
                .await?
        });
        rows.into_iter()
            .map(|(s, n)| {
                PurchaseState::parse(&s)
                    .map(|s| (s, n))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }
}

impl Tx {
    /// Records a paid purchase (and its customer) in `state`: `ordering`,
    /// or `refunding` for a payment that cannot be honoured.
    pub async fn insert_purchase(
        &mut self,
        p: &NewPurchase,
        state: PurchaseState,
        now: Millis,
    ) -> Result<i64> {
        self.insert_purchase_row(p, state, None, now).await
    }

    /// [`Tx::insert_purchase`], with the caller's idempotency key (if any)
    /// written by the same INSERT, so that the UNIQUE index sees the key
    /// and the purchase as one.
    async fn insert_purchase_row(
        &mut self,
        p: &NewPurchase,
        state: PurchaseState,
        idempotency_key: Option<&str>,
        now: Millis,
    ) -> Result<i64> {
        let signature = Signature::of(&p.product_id, p.quantity, &p.note);
        let id: i64 = with_tx!(self, c => {
            sqlx::query(
                "INSERT INTO customers (user_id, chat_id, language, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4) ON CONFLICT (user_id) DO NOTHING",
            )
            .bind(p.user_id.0)
            .bind(p.chat_id)
            .bind(p.language.code())
            .bind(now)
            .execute(&mut *c)
            .await?;
            sqlx::query_scalar(
                "INSERT INTO purchases (client_ref, user_id, chat_id, product_id, product_name, \
                     quantity, note, signature, unit_price, order_price, currency, stars, source, \
                     telegram_charge_id, state, next_action_at, created_at, updated_at, \
                     state_since, idempotency_key) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, $13, $15, \
                     $14, $14, $14, $14, $16) RETURNING id",
            )
            .bind(p.client_ref.to_string())
            .bind(p.user_id.0)
            .bind(p.chat_id)
            .bind(p.product_id.as_str())
            .bind(&p.product_name)
            .bind(p.quantity.get())
            .bind(p.note.canonical())
            .bind(signature.as_str())
            .bind(p.unit_price.map(|m| m.to_string()))
            .bind(&p.currency)
            .bind(p.stars)
            .bind(p.source.as_str())
            .bind(p.telegram_charge_id.as_deref())
            .bind(now)
            .bind(state.as_str())
            .bind(idempotency_key)
            .fetch_one(&mut *c)
            .await?
        });
        self.record_event(
            Some(id),
            EventKind::Created,
            None,
            Some(state),
            Some(0),
            "",
            &serde_json::json!({ "source": p.source.as_str(), "stars": p.stars }),
            now,
        )
        .await?;
        Ok(id)
    }

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
        let rows = with_tx!(self, c => {
            // The SQL is built from the fixed column names above only.
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

    pub async fn purchase(&mut self, id: i64) -> Result<Option<Purchase>> {
        let row: Option<PurchaseRow> = with_tx!(self, c => {
            sqlx::query_as("SELECT * FROM purchases WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *c)
                .await?
        });
        row.map(Purchase::try_from).transpose()
    }
}

#[cfg(test)]
impl Purchase {
    /// A purchase paid in Stars, for unit tests of pure decisions.
    pub(crate) fn example(state: PurchaseState, quantity: i64, now: Millis) -> Purchase {
        use crate::domain::{Note, ProductId, PurchaseSource, Quantity, Signature, UserId};
        let product = ProductId::parse("product_1").unwrap();
        let quantity = Quantity::new(quantity).unwrap();
        let note = Note::default();
        Purchase {
            id: 7,
            client_ref: "c".to_owned(),
            user_id: UserId(1),
            chat_id: 1,
            signature: Signature::of(&product, quantity, &note),
            product_id: product,
            product_name: "Steam".to_owned(),
            quantity,
            note,
            unit_price: None,
            order_price: None,
            currency: "USD".to_owned(),
            stars: 100,
            source: PurchaseSource::Telegram,
            telegram_charge_id: Some("charge".to_owned()),
            state,
            fence: 3,
            lease_owner: None,
            lease_expires_at: None,
            next_action_at: now,
            supplier_order_id: None,
            supplier_status: None,
            current_attempt_id: None,
            order_attempts: 0,
            hold_reason: None,
            hold_since: None,
            resume_state: None,
            pay_sent_at: None,
            waiting_since: None,
            stall_alerted_at: None,
            last_checked_at: None,
            last_error: None,
            created_at: now,
            updated_at: now,
            finished_at: None,
            state_since: now,
            pays_sent: 0,
            empty_reads: 0,
        }
    }
}
