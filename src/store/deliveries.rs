//! The `delivery_log`: one row per purchase, ever (UNIQUE), claimed before
//! any message with codes is sent, and moved by compare-and-set.

use super::{Cas, Result, StoreError, Tx, with_tx};
use crate::clock::Millis;

/// Where the delivery of one purchase stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Claimed; the next part has certainly not been sent.
    Pending,
    /// A part is being sent: if this is found on a claim, the sender
    /// stopped mid-send and the part may have arrived.
    Sending,
    /// A send's outcome is unknown (timeout after sending).
    Unknown,
    /// Every part arrived.
    Sent,
    /// The buyer blocked the bot: the codes wait in `/orders`.
    Blocked,
}

impl DeliveryState {
    const ALL: [DeliveryState; 5] = [
        DeliveryState::Pending,
        DeliveryState::Sending,
        DeliveryState::Unknown,
        DeliveryState::Sent,
        DeliveryState::Blocked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sending => "sending",
            DeliveryState::Unknown => "unknown",
            DeliveryState::Sent => "sent",
            DeliveryState::Blocked => "blocked",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Nothing more will be sent.
    pub fn is_final(self) -> bool {
        matches!(self, DeliveryState::Sent | DeliveryState::Blocked)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct DeliveryRow {
    id: i64,
    purchase_id: i64,
    state: String,
    claimed_at: i64,
    sent_at: Option<i64>,
    message_id: Option<i64>,
    resent: i64,
    last_error: Option<String>,
    parts_sent: i64,
    parts_total: i64,
    updated_at: i64,
    parts: Option<String>,
    parts_language: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    pub purchase_id: i64,
    pub state: DeliveryState,
    pub claimed_at: Millis,
    pub sent_at: Option<Millis>,
    /// The first message of the delivery.
    pub message_id: Option<i64>,
    /// A part was sent again after an unknown outcome (at most once).
    pub resent: bool,
    pub last_error: Option<String>,
    pub parts_sent: i64,
    pub parts_total: i64,
    pub updated_at: Millis,
    /// The messages as rendered when the delivery was claimed (JSON, kept
    /// by `delivery`), and the language they were rendered in.
    pub parts: Option<String>,
    pub parts_language: Option<String>,
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = StoreError;
    fn try_from(r: DeliveryRow) -> Result<Self> {
        let state = DeliveryState::parse(&r.state).ok_or_else(|| {
            StoreError::Corrupt(format!("delivery {}: state {:?}", r.id, r.state))
        })?;
        Ok(Delivery {
            id: r.id,
            purchase_id: r.purchase_id,
            state,
            claimed_at: r.claimed_at,
            sent_at: r.sent_at,
            message_id: r.message_id,
            resent: r.resent != 0,
            last_error: r.last_error,
            parts_sent: r.parts_sent,
            parts_total: r.parts_total,
            updated_at: r.updated_at,
            parts: r.parts,
            parts_language: r.parts_language,
        })
    }
}

/// A delivery's messages as rendered for its claim.
#[derive(Debug, Clone, Copy)]
pub struct RenderedParts<'a> {
    /// JSON, as `delivery` writes and reads it.
    pub json: &'a str,
    pub total: i64,
    /// The language they were rendered in.
    pub language: &'a str,
}

/// A compare-and-set move of a delivery row.
#[derive(Debug, Clone)]
pub struct DeliveryMove {
    pub from: DeliveryState,
    pub parts_sent: i64,
    pub to: DeliveryState,
    pub new_parts_sent: i64,
    pub resent: bool,
    pub message_id: Option<i64>,
    pub error: Option<String>,
}

impl Tx {
    /// Claims the delivery of `purchase_id`: creates its row (`pending`)
    /// with its rendered `parts`, or returns the row a previous claim left,
    /// whatever its state, with the parts it stored then. The UNIQUE key on
    /// `purchase_id` makes two claimers share one row. A row from before
    /// parts were stored gets these.
    pub async fn claim_delivery(
        &mut self,
        purchase_id: i64,
        parts: &RenderedParts<'_>,
        now: Millis,
    ) -> Result<Delivery> {
        let row: DeliveryRow = with_tx!(self, c => {
            sqlx::query(
                "INSERT INTO delivery_log \
                     (purchase_id, state, claimed_at, parts_total, updated_at, parts, parts_language) \
                 VALUES ($1, 'pending', $2, $3, $2, $4, $5) ON CONFLICT (purchase_id) DO NOTHING",
            )
            .bind(purchase_id)
            .bind(now)
            .bind(parts.total)
            .bind(parts.json)
            .bind(parts.language)
            .execute(&mut *c)
            .await?;
            sqlx::query(
                "UPDATE delivery_log SET parts = $2, parts_language = $3, parts_total = $4 \
                 WHERE purchase_id = $1 AND parts IS NULL",
            )
            .bind(purchase_id)
            .bind(parts.json)
            .bind(parts.language)
            .bind(parts.total)
            .execute(&mut *c)
            .await?;
            sqlx::query_as("SELECT * FROM delivery_log WHERE purchase_id = $1")
                .bind(purchase_id)
                .fetch_one(&mut *c)
                .await?
        });
        Delivery::try_from(row)
    }

    /// Moves a delivery from the state and progress its author read.
    pub async fn move_delivery(&mut self, id: i64, m: &DeliveryMove, now: Millis) -> Result<Cas> {
        let sent_at = (m.to == DeliveryState::Sent).then_some(now);
        let rows = with_tx!(self, c => {
            sqlx::query(
                "UPDATE delivery_log SET state = $1, parts_sent = $2, resent = $3, \
                     message_id = COALESCE(message_id, $4), last_error = $5, \
                     sent_at = COALESCE($6, sent_at), updated_at = $7 \
                 WHERE id = $8 AND state = $9 AND parts_sent = $10",
            )
            .bind(m.to.as_str())
            .bind(m.new_parts_sent)
            .bind(i64::from(m.resent))
            .bind(m.message_id)
            .bind(m.error.as_deref())
            .bind(sent_at)
            .bind(now)
            .bind(id)
            .bind(m.from.as_str())
            .bind(m.parts_sent)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(Cas::from_rows(rows))
    }
}

impl super::Store {
    pub async fn delivery_of(&self, purchase_id: i64) -> Result<Option<Delivery>> {
        let row: Option<DeliveryRow> = super::with_db!(&self.db, c => {
            sqlx::query_as("SELECT * FROM delivery_log WHERE purchase_id = $1")
                .bind(purchase_id)
                .fetch_optional(c)
                .await?
        });
        row.map(Delivery::try_from).transpose()
    }
}
