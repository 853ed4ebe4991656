//! The support line's rows: tickets (one open per buyer), every Telegram
//! message taken in under its chat and message id (UNIQUE: a re-delivered
//! update, or the same one at a second replica, is taken once), and the
//! copies in the admins' chats that an admin's reply is matched by. What
//! to take and whom to tell is decided in `bot::support`.

use super::{Backend, Cas, Result, Store, Tx, with_db, with_tx};
use crate::clock::Millis;
use crate::domain::UserId;

/// Who wrote a message of a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupportDirection {
    Buyer,
    Shop,
}

impl SupportDirection {
    fn as_str(self) -> &'static str {
        match self {
            SupportDirection::Buyer => "buyer",
            SupportDirection::Shop => "shop",
        }
    }
}

/// Where a message taken in stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupportStatus {
    /// Taken; being passed on.
    Pending,
    /// Reached someone (an admin, or the buyer).
    Passed,
    /// Reached no one.
    Failed,
    /// Not taken: the buyer wrote too much too fast.
    Limited,
}

impl SupportStatus {
    fn as_str(self) -> &'static str {
        match self {
            SupportStatus::Pending => "pending",
            SupportStatus::Passed => "passed",
            SupportStatus::Failed => "failed",
            SupportStatus::Limited => "limited",
        }
    }
}

/// A Telegram message the support line takes in.
#[derive(Debug, Clone)]
pub struct NewSupportMessage<'a> {
    pub chat_id: i64,
    pub message_id: i64,
    pub author: UserId,
    pub direction: SupportDirection,
    pub status: SupportStatus,
    pub ticket: Option<i64>,
    pub body: &'a str,
    pub now: Millis,
}

/// A buyer's conversation with the shop.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SupportTicket {
    pub id: i64,
    pub user_id: i64,
    pub chat_id: i64,
    pub buyer_name: String,
    /// `open` or `closed`.
    pub state: String,
    pub opened_at: Millis,
    pub last_at: Millis,
    pub last_text: String,
}

impl SupportTicket {
    pub fn is_open(&self) -> bool {
        self.state == "open"
    }

    pub fn buyer(&self) -> UserId {
        UserId(self.user_id)
    }
}

/// The buyer a ticket is opened or continued for, and their message.
#[derive(Debug, Clone)]
pub struct TicketWrite<'a> {
    pub user: UserId,
    pub chat_id: i64,
    pub buyer_name: &'a str,
    pub text: &'a str,
    pub now: Millis,
}

const TICKET_COLUMNS: &str =
    "id, user_id, chat_id, buyer_name, state, opened_at, last_at, last_text";

impl Tx {
    /// Holds the buyer's row until commit, so that two replicas taking two
    /// messages of one buyer count them one after the other (PostgreSQL;
    /// SQLite's `BEGIN IMMEDIATE` already holds the write lock).
    pub async fn lock_support_buyer(&mut self, user: UserId) -> Result<()> {
        if self.backend() == Backend::Postgres {
            with_tx!(self, c => {
                sqlx::query("SELECT 1 FROM customers WHERE user_id = $1 FOR UPDATE")
                    .bind(user.0)
                    .fetch_optional(&mut *c)
                    .await?;
            });
        }
        Ok(())
    }

    /// How many of the buyer's messages since `since` were taken (passed
    /// on, or being passed on).
    pub async fn support_messages_since(&mut self, user: UserId, since: Millis) -> Result<i64> {
        Ok(with_tx!(self, c => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM support_messages \
                 WHERE author_id = $1 AND direction = 'buyer' AND created_at >= $2 \
                   AND status IN ('pending', 'passed')",
            )
            .bind(user.0)
            .bind(since)
            .fetch_one(&mut *c)
            .await?
        }))
    }

    /// The buyer's open ticket, continued with this message, or a new one.
    /// Returns its id and whether it is new.
    pub async fn open_support_ticket(&mut self, w: &TicketWrite<'_>) -> Result<(i64, bool)> {
        let open: Option<i64> = with_tx!(self, c => {
            sqlx::query_scalar(
                "UPDATE support_tickets SET last_at = $2, last_text = $3, chat_id = $4, \
                     buyer_name = $5 \
                 WHERE user_id = $1 AND state = 'open' RETURNING id",
            )
            .bind(w.user.0)
            .bind(w.now)
            .bind(w.text)
            .bind(w.chat_id)
            .bind(w.buyer_name)
            .fetch_optional(&mut *c)
            .await?
        });
        if let Some(id) = open {
            return Ok((id, false));
        }
        let id: i64 = with_tx!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO support_tickets \
                     (user_id, chat_id, buyer_name, state, opened_at, last_at, last_text) \
                 VALUES ($1, $2, $3, 'open', $4, $4, $5) RETURNING id",
            )
            .bind(w.user.0)
            .bind(w.chat_id)
            .bind(w.buyer_name)
            .bind(w.now)
            .bind(w.text)
            .fetch_one(&mut *c)
            .await?
        });
        Ok((id, true))
    }

    /// Takes a message in under its chat and message id. Returns its row
    /// id, or `None` if that message was taken before (here or at another
    /// replica): the caller then does nothing.
    pub async fn take_support_message(&mut self, m: &NewSupportMessage<'_>) -> Result<Option<i64>> {
        Ok(with_tx!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO support_messages \
                     (chat_id, message_id, author_id, ticket_id, direction, status, body, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (chat_id, message_id) DO NOTHING RETURNING id",
            )
            .bind(m.chat_id)
            .bind(m.message_id)
            .bind(m.author.0)
            .bind(m.ticket)
            .bind(m.direction.as_str())
            .bind(m.status.as_str())
            .bind(m.body)
            .bind(m.now)
            .fetch_optional(&mut *c)
            .await?
        }))
    }
}

impl Store {
    /// Takes a message in outside a ticket transaction (an admin's answer):
    /// as [`Tx::take_support_message`].
    pub async fn take_support_message(&self, m: &NewSupportMessage<'_>) -> Result<Option<i64>> {
        let mut tx = self.begin().await?;
        let taken = tx.take_support_message(m).await?;
        tx.commit().await?;
        Ok(taken)
    }

    /// Where a message taken in ended up.
    pub async fn set_support_status(&self, row: i64, status: SupportStatus) -> Result<()> {
        with_db!(&self.db, c => {
            sqlx::query("UPDATE support_messages SET status = $1 WHERE id = $2")
                .bind(status.as_str())
                .bind(row)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// A copy of a ticket's message in an admin's chat: a reply to it
    /// finds the ticket. Recording it twice changes nothing.
    pub async fn record_support_copy(
        &self,
        admin_chat: i64,
        message_id: i64,
        ticket: i64,
    ) -> Result<()> {
        with_db!(&self.db, c => {
            sqlx::query(
                "INSERT INTO support_copies (admin_chat_id, message_id, ticket_id) \
                 VALUES ($1, $2, $3) ON CONFLICT (admin_chat_id, message_id) DO NOTHING",
            )
            .bind(admin_chat)
            .bind(message_id)
            .bind(ticket)
            .execute(c)
            .await?;
        });
        Ok(())
    }

    /// The ticket whose copy is message `message_id` of `admin_chat`.
    pub async fn ticket_of_copy(
        &self,
        admin_chat: i64,
        message_id: i64,
    ) -> Result<Option<SupportTicket>> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM support_tickets WHERE id = \
             (SELECT ticket_id FROM support_copies WHERE admin_chat_id = $1 AND message_id = $2)"
        );
        Ok(with_db!(&self.db, c => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(admin_chat)
                .bind(message_id)
                .fetch_optional(c)
                .await?
        }))
    }

    pub async fn support_ticket(&self, id: i64) -> Result<Option<SupportTicket>> {
        let sql = format!("SELECT {TICKET_COLUMNS} FROM support_tickets WHERE id = $1");
        Ok(with_db!(&self.db, c => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Open tickets, the longest-waiting first, and how many there are.
    pub async fn open_support_tickets(&self, limit: i64) -> Result<(Vec<SupportTicket>, i64)> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM support_tickets WHERE state = 'open' \
             ORDER BY last_at, id LIMIT $1"
        );
        let tickets = with_db!(&self.db, c => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(limit)
                .fetch_all(c)
                .await?
        });
        let total: i64 = with_db!(&self.db, c => {
            sqlx::query_scalar("SELECT COUNT(*) FROM support_tickets WHERE state = 'open'")
                .fetch_one(c)
                .await?
        });
        Ok((tickets, total))
    }

    /// Closes an open ticket; `LostRace` if it was closed already (a second
    /// press, or another admin first).
    pub async fn close_support_ticket(&self, id: i64, by: UserId, now: Millis) -> Result<Cas> {
        let rows = with_db!(&self.db, c => {
            sqlx::query(
                "UPDATE support_tickets SET state = 'closed', closed_at = $2, closed_by = $3 \
                 WHERE id = $1 AND state = 'open'",
            )
            .bind(id)
            .bind(now)
            .bind(by.0)
            .execute(c)
            .await?
            .rows_affected()
        });
        Ok(Cas::from_rows(rows))
    }
}
