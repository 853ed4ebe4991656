//! The shop front's tables: `checkouts` (an invoice offered, turned into a
//! purchase by its payment, once) and `dialogues` (where a conversation
//! stands), plus the purchase columns the bot owns.

use super::{NewPurchase, Result, Store, StoreError, with_db, with_tx};
use crate::clock::Millis;
use crate::domain::{
    Admission, AlertKind, Args, ClientRef, EventKind, Language, Money, Note, ProductId,
    PurchaseSource, PurchaseState, Quantity, RefundReason, Sale, UserId,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckoutState {
    /// Offered; not paid yet.
    Open,
    /// Paid once: its purchase exists.
    Paid,
}

impl CheckoutState {
    fn as_str(self) -> &'static str {
        match self {
            CheckoutState::Open => "open",
            CheckoutState::Paid => "paid",
        }
    }
}

/// What the buyer is offered, before an invoice is sent.
#[derive(Debug, Clone)]
pub struct NewCheckout {
    pub user_id: UserId,
    pub chat_id: i64,
    pub language: Language,
    /// What is offered; its Stars are the invoice total.
    pub sale: Sale,
}

#[derive(Debug, Clone)]
pub struct Checkout {
    pub id: i64,
    /// The invoice payload: unguessable, so a payload names one checkout.
    pub payload: String,
    pub user_id: UserId,
    pub chat_id: i64,
    pub language: Language,
    pub sale: Sale,
    pub state: CheckoutState,
    pub purchase_id: Option<i64>,
    pub created_at: Millis,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct CheckoutRow {
    id: i64,
    payload: String,
    user_id: i64,
    chat_id: i64,
    language: String,
    product_id: String,
    product_name: String,
    quantity: i64,
    note: String,
    unit_price: Option<String>,
    currency: String,
    stars: i64,
    state: String,
    purchase_id: Option<i64>,
    created_at: i64,
}

impl TryFrom<CheckoutRow> for Checkout {
    type Error = StoreError;
    fn try_from(r: CheckoutRow) -> Result<Self> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("checkout {}: {what}", r.id));
        Ok(Checkout {
            id: r.id,
            payload: r.payload.clone(),
            user_id: UserId(r.user_id),
            chat_id: r.chat_id,
            language: Language::from_code(Some(&r.language)),
            sale: Sale {
                product_id: ProductId::parse(&r.product_id).map_err(|_| corrupt("product id"))?,
                product_name: r.product_name.clone(),
                quantity: Quantity::new(r.quantity).map_err(|_| corrupt("quantity"))?,
                note: Note::parse_canonical(&r.note).map_err(|_| corrupt("note"))?,
                unit_price: r
                    .unit_price
                    .as_deref()
                    .map(Money::parse)
                    .transpose()
                    .map_err(|_| corrupt("unit price"))?,
                currency: r.currency.clone(),
                stars: r.stars,
            },
            state: match r.state.as_str() {
                "open" => CheckoutState::Open,
                "paid" => CheckoutState::Paid,
                _ => return Err(corrupt("state")),
            },
            purchase_id: r.purchase_id,
            created_at: r.created_at,
        })
    }
}

/// The rule that says what a payment of a known checkout becomes, given
/// whether it claimed the checkout: intake's (`intake::admission::admit`).
/// The store asks it and records the answer; it holds no sale rule itself.
pub type Admit = fn(&Checkout, &StarPayment, bool) -> Admission;

/// A `successful_payment` as Telegram reported it.
#[derive(Debug, Clone)]
pub struct StarPayment {
    pub user_id: UserId,
    pub chat_id: i64,
    pub language: Language,
    pub payload: String,
    pub currency: String,
    pub total_amount: i64,
    pub charge_id: String,
}

/// What recording a payment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// A new purchase, on its way to the supplier.
    Ordered(i64),
    /// This charge was recorded before (Telegram sent the update twice):
    /// nothing changed.
    Duplicate(i64),
    /// The payment cannot be honoured (the invoice was already paid, or
    /// the amount is not the invoice's): recorded as a purchase to refund.
    Refunding(i64, RefundReason),
    /// No invoice of ours has this payload: recorded as an orphan charge
    /// (its id here), the admins alerted with a refund button. Returned
    /// once per charge: the buyer is told once.
    UnknownInvoice(i64),
    /// That orphan charge was recorded before: nothing changed.
    UnknownAgain(i64),
}

/// A Stars payment no invoice of ours explains, as recorded.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrphanCharge {
    pub id: i64,
    pub charge_id: String,
    pub user_id: i64,
    pub chat_id: i64,
    pub language: String,
    pub payload: String,
    pub currency: String,
    pub stars: i64,
    pub recorded_at: Millis,
    /// The purchase made to refund it, once an admin asked.
    pub refund_purchase_id: Option<i64>,
}

/// What asking to refund an orphan charge did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrphanRefund {
    /// A purchase in `refunding` now carries the charge (its id).
    Started(i64),
    /// Asked before: that purchase carries it.
    Already(i64),
    NotFound,
}

/// A charge no invoice explains: its own row, once; the alert (which
/// carries the refund button) raised in the same transaction, so it is
/// raised once too.
async fn record_orphan(
    mut tx: super::Tx,
    pay: &StarPayment,
    now: Millis,
) -> Result<PaymentOutcome> {
    let inserted: Option<i64> = with_tx!(&mut tx, c => {
        sqlx::query_scalar(
            "INSERT INTO orphan_charges (charge_id, user_id, chat_id, language, payload, \
                 currency, stars, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (charge_id) DO NOTHING RETURNING id",
        )
        .bind(&pay.charge_id)
        .bind(pay.user_id.0)
        .bind(pay.chat_id)
        .bind(pay.language.code())
        .bind(&pay.payload)
        .bind(&pay.currency)
        .bind(pay.total_amount)
        .bind(now)
        .fetch_optional(&mut *c)
        .await?
    });
    let Some(id) = inserted else {
        let id: i64 = with_tx!(&mut tx, c => {
            sqlx::query_scalar("SELECT id FROM orphan_charges WHERE charge_id = $1")
                .bind(&pay.charge_id)
                .fetch_one(&mut *c)
                .await?
        });
        return Ok(PaymentOutcome::UnknownAgain(id));
    };
    let args = Args::new()
        .num("orphan", id)
        .num("stars", pay.total_amount)
        .num("user", pay.user_id.0);
    tx.raise_alert(
        AlertKind::UnknownPayment,
        None,
        Some(&orphan_alert_key(id)),
        &args,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(PaymentOutcome::UnknownInvoice(id))
}

/// A payment of `checkout` as admitted: its purchase (the checkout's sale
/// at the Stars paid), in `ordering` or `refunding` with the reason, and
/// for an order the checkout pointing at it; the charge id's UNIQUE index
/// makes a second recording of one charge a [`StoreError::Conflict`].
async fn record_admitted(
    mut tx: super::Tx,
    pay: &StarPayment,
    checkout: &Checkout,
    admission: Admission,
    now: Millis,
) -> Result<PaymentOutcome> {
    let new = NewPurchase {
        client_ref: ClientRef::generate(),
        user_id: pay.user_id,
        chat_id: pay.chat_id,
        language: pay.language,
        // A refund returns what was paid, not what was invoiced.
        sale: Sale {
            stars: pay.total_amount,
            ..checkout.sale.clone()
        },
        source: PurchaseSource::Telegram,
        telegram_charge_id: Some(pay.charge_id.clone()),
    };
    let (state, refund) = match admission {
        Admission::Order => (PurchaseState::Ordering, None),
        Admission::Refund(reason) => (PurchaseState::Refunding, Some(reason)),
    };
    let id = tx.insert_purchase(&new, state, now).await?;
    with_tx!(&mut tx, c => {
        sqlx::query(
            "UPDATE purchases SET checkout_id = $1, refund_reason = $2, last_error = $3 \
             WHERE id = $4",
        )
        .bind(checkout.id)
        .bind(refund.map(|r| r.as_str()))
        .bind(refund.map(|r| r.for_staff()))
        .bind(id)
        .execute(&mut *c)
        .await?;
    });
    if refund.is_none() {
        with_tx!(&mut tx, c => {
            sqlx::query("UPDATE checkouts SET purchase_id = $1 WHERE id = $2")
                .bind(id)
                .bind(checkout.id)
                .execute(&mut *c)
                .await?;
        });
    }
    tx.record_event(
        Some(id),
        EventKind::PaymentRecorded,
        None,
        Some(state),
        None,
        "telegram",
        &serde_json::json!({ "checkout": checkout.id, "stars": pay.total_amount }),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(match refund {
        None => PaymentOutcome::Ordered(id),
        Some(reason) => PaymentOutcome::Refunding(id, reason),
    })
}

impl super::Tx {
    /// Claims an open checkout for the payment being recorded: `false` if
    /// it is paid already. Two charges of one invoice handled at once (two
    /// replicas) may both have read it open; this compare-and-set's row
    /// count decides, and on PostgreSQL the second UPDATE waits for the
    /// first to commit and then finds the row no longer open.
    async fn claim_checkout(&mut self, checkout: i64, now: Millis) -> Result<bool> {
        let claimed = with_tx!(self, c => {
            sqlx::query(
                "UPDATE checkouts SET state = $1, updated_at = $2 \
                 WHERE id = $3 AND state = 'open'",
            )
            .bind(CheckoutState::Paid.as_str())
            .bind(now)
            .bind(checkout)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(claimed == 1)
    }
}

/// The dedup key of an orphan charge's alert; the alert pusher reads the
/// charge back from it to offer the refund button.
pub fn orphan_alert_key(orphan: i64) -> String {
    format!("orphan:{orphan}")
}

/// The orphan charge an alert is about, from its dedup key.
pub fn orphan_of_alert_key(key: &str) -> Option<i64> {
    key.strip_prefix("orphan:")?.parse().ok()
}

fn balance_key(currency: &str) -> String {
    format!("supplier_balance:{}", currency.to_ascii_uppercase())
}

impl Store {
    /// Records an offer and gives it an unguessable payload.
    pub async fn open_checkout(&self, c: &NewCheckout, now: Millis) -> Result<Checkout> {
        let payload = format!("c{}", uuid::Uuid::new_v4().simple());
        let row: CheckoutRow = with_db!(&self.db, db => {
            sqlx::query_as(
                "INSERT INTO checkouts (payload, user_id, chat_id, language, product_id, \
                     product_name, quantity, note, unit_price, currency, stars, state, \
                     created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'open', $12, $12) \
                 RETURNING *",
            )
            .bind(&payload)
            .bind(c.user_id.0)
            .bind(c.chat_id)
            .bind(c.language.code())
            .bind(c.sale.product_id.as_str())
            .bind(&c.sale.product_name)
            .bind(c.sale.quantity.get())
            .bind(c.sale.note.canonical())
            .bind(c.sale.unit_price.map(|m| m.to_string()))
            .bind(&c.sale.currency)
            .bind(c.sale.stars)
            .bind(now)
            .fetch_one(db)
            .await?
        });
        Checkout::try_from(row)
    }

    pub async fn checkout_by_payload(&self, payload: &str) -> Result<Option<Checkout>> {
        let row: Option<CheckoutRow> = with_db!(&self.db, db => {
            sqlx::query_as("SELECT * FROM checkouts WHERE payload = $1")
                .bind(payload)
                .fetch_optional(db)
                .await?
        });
        row.map(Checkout::try_from).transpose()
    }

    /// Records a Stars payment, first thing and once: keyed by its charge
    /// id (UNIQUE), so a `successful_payment` delivered twice, or found
    /// again by the sweep, changes nothing the second time. One invoice
    /// paid twice makes one order; the second charge is refunded. Whether
    /// a payment of a known invoice orders or is refunded is `admit`'s
    /// decision (`intake::admission::admit`); this records it.
    pub async fn record_payment(
        &self,
        pay: &StarPayment,
        admit: Admit,
        now: Millis,
    ) -> Result<PaymentOutcome> {
        match self.record_payment_once(pay, admit, now).await {
            // The same charge recorded at this instant by another handler
            // (a replica given the same update): its row stands.
            Err(StoreError::Conflict(_)) => match self.purchase_by_charge(&pay.charge_id).await? {
                Some(p) => Ok(PaymentOutcome::Duplicate(p.id)),
                None => Err(StoreError::Conflict(format!(
                    "charge {} conflicted but is not recorded",
                    pay.charge_id
                ))),
            },
            other => other,
        }
    }

    async fn record_payment_once(
        &self,
        pay: &StarPayment,
        admit: Admit,
        now: Millis,
    ) -> Result<PaymentOutcome> {
        let mut tx = self.begin().await?;
        let known: Option<i64> = with_tx!(&mut tx, c => {
            sqlx::query_scalar("SELECT id FROM purchases WHERE telegram_charge_id = $1")
                .bind(&pay.charge_id)
                .fetch_optional(&mut *c)
                .await?
        });
        if let Some(id) = known {
            return Ok(PaymentOutcome::Duplicate(id));
        }
        let row: Option<CheckoutRow> = with_tx!(&mut tx, c => {
            sqlx::query_as("SELECT * FROM checkouts WHERE payload = $1")
                .bind(&pay.payload)
                .fetch_optional(&mut *c)
                .await?
        });
        let Some(checkout) = row.map(Checkout::try_from).transpose()? else {
            return record_orphan(tx, pay, now).await;
        };
        let admission = match admit(&checkout, pay, true) {
            // Only a payment that would order claims the checkout: one
            // refunded for its amount leaves the invoice open for its
            // right payment.
            Admission::Order => {
                let claimed = tx.claim_checkout(checkout.id, now).await?;
                admit(&checkout, pay, claimed)
            }
            refund => refund,
        };
        record_admitted(tx, pay, &checkout, admission, now).await
    }

    pub async fn orphan_charge(&self, id: i64) -> Result<Option<OrphanCharge>> {
        Ok(with_db!(&self.db, db => {
            sqlx::query_as("SELECT * FROM orphan_charges WHERE id = $1")
                .bind(id)
                .fetch_optional(db)
                .await?
        }))
    }

    /// An admin refunds an orphan charge: a purchase in `refunding` is made
    /// for it, which the refunder refunds once (its `refunds` row is UNIQUE,
    /// as is the purchase's charge id, so pressing twice, or on two
    /// replicas at once, refunds once).
    pub async fn refund_orphan(&self, id: i64, now: Millis) -> Result<OrphanRefund> {
        match self.refund_orphan_once(id, now).await {
            Err(StoreError::Conflict(_)) => match self.orphan_charge(id).await? {
                Some(OrphanCharge {
                    refund_purchase_id: Some(p),
                    ..
                }) => Ok(OrphanRefund::Already(p)),
                _ => Err(StoreError::Conflict(format!(
                    "orphan charge {id}: refunded elsewhere"
                ))),
            },
            other => other,
        }
    }

    async fn refund_orphan_once(&self, id: i64, now: Millis) -> Result<OrphanRefund> {
        let mut tx = self.begin().await?;
        let orphan: Option<OrphanCharge> = with_tx!(&mut tx, c => {
            sqlx::query_as("SELECT * FROM orphan_charges WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *c)
                .await?
        });
        let Some(orphan) = orphan else {
            return Ok(OrphanRefund::NotFound);
        };
        if let Some(p) = orphan.refund_purchase_id {
            return Ok(OrphanRefund::Already(p));
        }
        let corrupt = |what: &str| StoreError::Corrupt(format!("orphan charge {id}: {what}"));
        let new = NewPurchase {
            client_ref: ClientRef::generate(),
            user_id: UserId(orphan.user_id),
            chat_id: orphan.chat_id,
            language: Language::from_code(Some(&orphan.language)),
            sale: Sale {
                // No product: it names the kind of row, for /order and the audit.
                product_id: ProductId::parse("unknown_invoice").map_err(|_| corrupt("product"))?,
                product_name: "—".to_owned(),
                quantity: Quantity::new(1).map_err(|_| corrupt("quantity"))?,
                note: Note::default(),
                unit_price: None,
                currency: orphan.currency.clone(),
                stars: orphan.stars,
            },
            source: PurchaseSource::Telegram,
            telegram_charge_id: Some(orphan.charge_id.clone()),
        };
        let purchase = tx
            .insert_purchase(&new, PurchaseState::Refunding, now)
            .await?;
        let claimed = with_tx!(&mut tx, c => {
            sqlx::query(
                "UPDATE purchases SET refund_reason = $1, last_error = $2 WHERE id = $3",
            )
            .bind(RefundReason::Admin.as_str())
            .bind("an admin refunded a payment no invoice explains")
            .bind(purchase)
            .execute(&mut *c)
            .await?;
            sqlx::query(
                "UPDATE orphan_charges SET refund_purchase_id = $1 \
                 WHERE id = $2 AND refund_purchase_id IS NULL",
            )
            .bind(purchase)
            .bind(id)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        if claimed != 1 {
            return Err(StoreError::Conflict(format!("orphan charge {id}")));
        }
        tx.commit().await?;
        Ok(OrphanRefund::Started(purchase))
    }

    /// Which of `charges` are recorded already (a purchase or an orphan
    /// charge carries them).
    pub async fn known_charges(
        &self,
        charges: &[String],
    ) -> Result<std::collections::HashSet<String>> {
        let list = serde_json::Value::from(charges.to_vec()).to_string();
        let known: Vec<String> = match &self.db {
            super::Db::Sqlite(db) => {
                sqlx::query_scalar(
                    "SELECT telegram_charge_id FROM purchases WHERE telegram_charge_id IN \
                         (SELECT value FROM json_each($1)) \
                     UNION SELECT charge_id FROM orphan_charges WHERE charge_id IN \
                         (SELECT value FROM json_each($1))",
                )
                .bind(&list)
                .fetch_all(db)
                .await?
            }
            super::Db::Postgres(db) => {
                sqlx::query_scalar(
                    "SELECT telegram_charge_id FROM purchases WHERE telegram_charge_id IN \
                         (SELECT jsonb_array_elements_text($1::jsonb)) \
                     UNION SELECT charge_id FROM orphan_charges WHERE charge_id IN \
                         (SELECT jsonb_array_elements_text($1::jsonb))",
                )
                .bind(&list)
                .fetch_all(db)
                .await?
            }
        };
        Ok(known.into_iter().collect())
    }

    /// Keeps the supplier balance just read (by the incident watcher), so
    /// that pre-checkout can judge a sale without calling the supplier.
    pub async fn record_supplier_balance(
        &self,
        currency: &str,
        amount: Money,
        now: Millis,
    ) -> Result<()> {
        self.kv_set(&balance_key(currency), &amount.to_string(), now)
            .await
    }

    /// The last supplier balance read in `currency`, and when it was read.
    pub async fn supplier_balance(&self, currency: &str) -> Result<Option<(Money, Millis)>> {
        let Some((text, read_at)) = self.kv_get_with_time(&balance_key(currency)).await? else {
            return Ok(None);
        };
        let amount = Money::parse(&text)
            .map_err(|_| StoreError::Corrupt(format!("supplier balance {text:?}")))?;
        Ok(Some((amount, read_at)))
    }

    /// The wholesale cost (in `currency`) of what the buyers paid for that a
    /// balance read at `read_at` does not show as spent yet: purchases not
    /// paid at the supplier (`ordering`, `submitting`, `reconciling`,
    /// `ordered`, `on_hold`, and `paying` before its pay was sent), and
    /// those whose supplier pay was sent at or after `read_at` (the
    /// balance read before the debit), unless they are being or were
    /// refunded (a failed order's money goes back to the balance).
    /// Each at its order price (the unit price re-quoted), times its
    /// quantity; a purchase with no known price counts nothing.
    pub async fn in_flight_cost(&self, currency: &str, read_at: Millis) -> Result<Money> {
        // Two index-led halves (by state; by pay_sent_at), each row in one:
        // pre-checkout runs this for every buyer who taps Pay.
        let rows: Vec<(Option<String>, Option<String>, i64)> = with_db!(&self.db, db => {
            sqlx::query_as(
                "SELECT order_price, unit_price, quantity FROM purchases \
                 WHERE UPPER(currency) = $1 \
                   AND (state IN ('ordering', 'submitting', 'reconciling', 'ordered', 'on_hold') \
                        OR (state = 'paying' AND pay_sent_at IS NULL)) \
                 UNION ALL \
                 SELECT order_price, unit_price, quantity FROM purchases \
                 WHERE UPPER(currency) = $1 AND pay_sent_at >= $2 \
                   AND state NOT IN ('ordering', 'submitting', 'reconciling', 'ordered', \
                                     'on_hold', 'refunding', 'refunded', 'cancelled')",
            )
            .bind(currency.to_ascii_uppercase())
            .bind(read_at)
            .fetch_all(db)
            .await?
        });
        let mut total = rust_decimal::Decimal::ZERO;
        for (order_price, unit_price, quantity) in rows {
            let Some(price) = order_price.or(unit_price) else {
                continue;
            };
            let cost = Money::parse(&price)
                .ok()
                .and_then(|m| m.times(quantity))
                .ok_or_else(|| StoreError::Corrupt(format!("purchase price {price:?}")))?;
            total = total.checked_add(cost.decimal()).ok_or_else(|| {
                StoreError::Corrupt("the in-flight cost does not fit a decimal".to_owned())
            })?;
        }
        Ok(Money::new(total))
    }

    /// Remembers the message the buyer sees edited as the purchase moves.
    pub async fn set_progress_message(&self, purchase: i64, message_id: i64) -> Result<()> {
        with_db!(&self.db, db => {
            sqlx::query("UPDATE purchases SET progress_message_id = $1 WHERE id = $2")
                .bind(message_id)
                .bind(purchase)
                .execute(db)
                .await?;
        });
        Ok(())
    }

    pub async fn progress_message(&self, purchase: i64) -> Result<Option<i64>> {
        Ok(with_db!(&self.db, db => {
            sqlx::query_scalar::<_, Option<i64>>(
                "SELECT progress_message_id FROM purchases WHERE id = $1",
            )
            .bind(purchase)
            .fetch_optional(db)
            .await?
        })
        .flatten())
    }

    /// Why a purchase is refunded (what its buyer is told).
    pub async fn refund_reason(&self, purchase: i64) -> Result<RefundReason> {
        let text: Option<Option<String>> = with_db!(&self.db, db => {
            sqlx::query_scalar("SELECT refund_reason FROM purchases WHERE id = $1")
                .bind(purchase)
                .fetch_optional(db)
                .await?
        });
        Ok(text
            .flatten()
            .and_then(|t| RefundReason::parse(&t).ok())
            .unwrap_or(RefundReason::Supplier))
    }

    /// The user's dialogue state (JSON), if any.
    pub async fn dialogue(&self, user: UserId) -> Result<Option<serde_json::Value>> {
        let text: Option<String> = with_db!(&self.db, db => {
            sqlx::query_scalar("SELECT state FROM dialogues WHERE user_id = $1")
                .bind(user.0)
                .fetch_optional(db)
                .await?
        });
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    pub async fn set_dialogue(
        &self,
        user: UserId,
        state: &serde_json::Value,
        now: Millis,
    ) -> Result<()> {
        with_db!(&self.db, db => {
            sqlx::query(
                "INSERT INTO dialogues (user_id, state, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id) DO UPDATE SET state = excluded.state, \
                     updated_at = excluded.updated_at",
            )
            .bind(user.0)
            .bind(state.to_string())
            .bind(now)
            .execute(db)
            .await?;
        });
        Ok(())
    }

    pub async fn clear_dialogue(&self, user: UserId) -> Result<()> {
        with_db!(&self.db, db => {
            sqlx::query("DELETE FROM dialogues WHERE user_id = $1")
                .bind(user.0)
                .execute(db)
                .await?;
        });
        Ok(())
    }

    /// A customer's language: their `/language` choice, else what Telegram
    /// says, else English. Recorded (not overriding a choice) as seen.
    pub async fn remember_customer(
        &self,
        user: UserId,
        chat_id: i64,
        telegram_language: Language,
        now: Millis,
    ) -> Result<Language> {
        let chosen: Option<(String, i64)> = with_db!(&self.db, db => {
            sqlx::query_as(
                "INSERT INTO customers (user_id, chat_id, language, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4) \
                 ON CONFLICT (user_id) DO UPDATE SET chat_id = excluded.chat_id, \
                     updated_at = excluded.updated_at, \
                     language = CASE WHEN customers.language_set = 1 THEN customers.language \
                                     ELSE excluded.language END \
                 RETURNING language, language_set",
            )
            .bind(user.0)
            .bind(chat_id)
            .bind(telegram_language.code())
            .bind(now)
            .fetch_optional(db)
            .await?
        });
        Ok(chosen.map_or(telegram_language, |(code, _)| {
            Language::from_code(Some(&code))
        }))
    }

    /// The language `user` chose with `/language`, if they did.
    pub async fn chosen_language(&self, user: UserId) -> Result<Option<Language>> {
        let code: Option<String> = with_db!(&self.db, db => {
            sqlx::query_scalar(
                "SELECT language FROM customers WHERE user_id = $1 AND language_set = 1",
            )
            .bind(user.0)
            .fetch_optional(db)
            .await?
        });
        Ok(code.map(|c| Language::from_code(Some(&c))))
    }

    /// `/language`: the customer's choice, kept over Telegram's.
    pub async fn choose_language(
        &self,
        user: UserId,
        language: Language,
        now: Millis,
    ) -> Result<()> {
        with_db!(&self.db, db => {
            sqlx::query(
                "UPDATE customers SET language = $1, language_set = 1, updated_at = $2 \
                 WHERE user_id = $3",
            )
            .bind(language.code())
            .bind(now)
            .bind(user.0)
            .execute(db)
            .await?;
        });
        Ok(())
    }
}
