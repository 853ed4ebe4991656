//! The support line, which Telegram requires of bots that take payments.
//! A buyer's `/support` (or `/paysupport`) text, or free text that answers
//! no question of the bot's, opens or continues their ticket: it is passed
//! to every admin chat under a header naming the buyer, their language and
//! their recent orders. An admin answers by replying to it; the answer
//! reaches the buyer, whose next messages continue the same ticket until
//! an admin closes it from `/tickets`.
//!
//! Each Telegram message is taken once (a UNIQUE row per chat and message
//! id), so a re-delivered update, or the same one at a second replica,
//! passes nothing on twice; and a buyer cannot flood the admins: beyond
//! [`MESSAGES_PER_WINDOW`] messages in [`WINDOW`], they are asked to wait
//! and nothing is passed on.

use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, User};

use super::callback::Callback;
use super::customer::state_key;
use super::{HandlerResult, Pressed, Shop, Talk, escape, say, send, show, t};
use crate::clock::Millis;
use crate::domain::{Language, UserId};
use crate::domain::{Span, span};
use crate::i18n::{self, arg, num};
use crate::store::{
    NewSupportMessage, PurchaseFilter, SupportDirection, SupportStatus, SupportTicket, TicketWrite,
};

/// A buyer's messages passed on per [`WINDOW`]: enough to explain a
/// problem in a few messages, too few to flood the admins' chats.
pub const MESSAGES_PER_WINDOW: i64 = 6;
/// The window of [`MESSAGES_PER_WINDOW`].
pub const WINDOW: Millis = 10 * 60 * 1000;
/// Longest support message, in characters (the admins' copy, with its
/// header, must stay under Telegram's 4096).
pub const MAX_CHARS: usize = 2_000;
/// Recent orders shown in a ticket's header.
const HEADER_ORDERS: i64 = 5;
/// Tickets listed by /tickets.
const TICKETS_SHOWN: i64 = 15;
/// Characters of a ticket's last message shown in /tickets.
const SNIPPET: usize = 80;

/// A message as Telegram gave it: its id in the chat, and its author.
pub(super) struct Written<'a> {
    pub message_id: i64,
    pub from: &'a User,
    /// The message it replies to, if any.
    pub reply_to: Option<i64>,
}

/// Whether a buyer's message is passed on, given how many of theirs were
/// in the window before it.
fn within_rate(recent: i64) -> bool {
    recent < MESSAGES_PER_WINDOW
}

/// The text to pass on: control characters and invisible direction marks
/// (which could make a message read differently in the admins' chat) left
/// out, line breaks kept.
fn cleaned(text: &str) -> String {
    text.chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .filter(|c| {
            !matches!(*c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// What came of taking a buyer's message in.
enum Taken {
    /// Taken before (a re-delivered update): nothing to do.
    Again,
    /// Over the rate: not passed on.
    Limited,
    /// Taken into ticket `ticket` (new or continued) as row `row`.
    Ticket { ticket: i64, row: i64, new: bool },
}

/// `/support` with nothing after it: the buyer is asked to write.
pub(super) async fn ask(talk: &Talk<'_>) -> HandlerResult {
    talk.shop.store.clear_dialogue(talk.user).await?;
    let text = with_contact(talk.shop, talk.lang, t(talk.lang, "support-ask"));
    say(talk.bot, talk.chat, text).await;
    Ok(())
}

/// `/paysupport` with nothing after it: how paying and refunds work, and
/// that a message written here reaches the shop.
pub(super) async fn pay_support(talk: &Talk<'_>) -> HandlerResult {
    talk.shop.store.clear_dialogue(talk.user).await?;
    let text = with_contact(talk.shop, talk.lang, t(talk.lang, "paysupport"));
    say(talk.bot, talk.chat, text).await;
    Ok(())
}

/// `text`, and the shop's other contact (`SUPPORT_CONTACT`) if it has one.
fn with_contact(shop: &Shop, lang: Language, text: String) -> String {
    match &shop.support_contact {
        Some(contact) => {
            let line = i18n::text(
                lang,
                "support-contact",
                &[("contact", arg(&escape(contact)))],
            );
            format!("{text}\n\n{line}")
        }
        None => text,
    }
}

/// A buyer's message for the shop: taken once, within the rate, passed to
/// every admin; the buyer is told whether it reached the shop.
pub(super) async fn from_buyer(
    talk: &Talk<'_>,
    written: &Written<'_>,
    text: &str,
) -> HandlerResult {
    let (bot, shop, chat, lang, _) = talk.parts();
    let body = cleaned(text);
    if body.is_empty() {
        say(bot, chat, t(lang, "support-ask")).await;
        return Ok(());
    }
    if body.chars().count() > MAX_CHARS {
        let text = i18n::text(lang, "support-too-long", &[("max", num(MAX_CHARS as i64))]);
        say(bot, chat, text).await;
        return Ok(());
    }
    let (ticket, row, new) = match take(talk, written, &body).await? {
        Taken::Again => return Ok(()),
        Taken::Limited => {
            let minutes = WINDOW / 60_000;
            let text = i18n::text(lang, "support-wait", &[("minutes", num(minutes))]);
            say(bot, chat, with_contact(shop, lang, text)).await;
            return Ok(());
        }
        Taken::Ticket { ticket, row, new } => (ticket, row, new),
    };
    let reached = pass_on(talk, written.from, ticket, new, &body).await?;
    let status = if reached {
        SupportStatus::Passed
    } else {
        SupportStatus::Failed
    };
    shop.store.set_support_status(row, status).await?;
    let key = match (reached, new) {
        (false, _) => "support-unreachable",
        (true, true) => "support-opened",
        (true, false) => "support-sent",
    };
    let text = i18n::text(lang, key, &[("ticket", num(ticket))]);
    say(bot, chat, with_contact(shop, lang, text)).await;
    Ok(())
}

/// Takes the message in, in one transaction: the buyer's row held (so
/// replicas count their messages one at a time), the rate checked, the
/// ticket opened or continued, the message recorded under its UNIQUE key.
async fn take(talk: &Talk<'_>, written: &Written<'_>, body: &str) -> anyhow::Result<Taken> {
    let (_, shop, chat, _, user) = talk.parts();
    let now = shop.now();
    let mut tx = shop.store.begin().await?;
    tx.lock_support_buyer(user).await?;
    let recent = tx.support_messages_since(user, now - WINDOW).await?;
    let admitted = within_rate(recent);
    let mut opened = None;
    if admitted {
        let name = buyer_name(written.from);
        let write = TicketWrite {
            user,
            chat_id: chat.0,
            buyer_name: &name,
            text: body,
            now,
        };
        opened = Some(tx.open_support_ticket(&write).await?);
    }
    let message = NewSupportMessage {
        chat_id: chat.0,
        message_id: written.message_id,
        author: user,
        direction: SupportDirection::Buyer,
        status: if admitted {
            SupportStatus::Pending
        } else {
            SupportStatus::Limited
        },
        ticket: opened.map(|(id, _)| id),
        body,
        now,
    };
    // Taken before: dropping the transaction undoes the ticket's update.
    let Some(row) = tx.take_support_message(&message).await? else {
        return Ok(Taken::Again);
    };
    tx.commit().await?;
    Ok(match opened {
        Some((ticket, new)) => Taken::Ticket { ticket, row, new },
        None => Taken::Limited,
    })
}

/// How a buyer is named to the admins: their name, and @username if any.
fn buyer_name(user: &User) -> String {
    let mut name = user.full_name();
    if let Some(username) = &user.username {
        name = format!("{name} (@{username})");
    }
    name
}

/// Sends the message to every admin chat under the ticket's header, each
/// copy recorded so that a reply to it finds the ticket. Whether any
/// admin got it. One admin's failure does not keep it from the others.
async fn pass_on(
    talk: &Talk<'_>,
    from: &User,
    ticket: i64,
    new: bool,
    body: &str,
) -> anyhow::Result<bool> {
    let (bot, shop, _, lang, _) = talk.parts();
    let mut reached = false;
    for admin in &shop.admins {
        let admin_lang = shop
            .store
            .language_of(UserId(*admin))
            .await
            .unwrap_or(Language::En);
        let header = header(talk, admin_lang, from, ticket, new, lang).await?;
        let html = format!("{header}\n\n<blockquote>{}</blockquote>", escape(body));
        let Some(sent) = send(bot, ChatId(*admin), html, None).await else {
            continue;
        };
        reached = true;
        // Without the copy a reply to it finds no ticket; the admin can
        // still answer a later message of the buyer's.
        if let Err(e) = shop
            .store
            .record_support_copy(*admin, i64::from(sent.id.0), ticket)
            .await
        {
            tracing::warn!(admin, ticket, error = %e, "could not record a ticket's copy");
        }
    }
    Ok(reached)
}

/// Who wrote, in what language, their recent orders, and how to answer.
async fn header(
    talk: &Talk<'_>,
    lang: Language,
    from: &User,
    ticket: i64,
    new: bool,
    buyer_lang: Language,
) -> anyhow::Result<String> {
    let Talk { shop, user, .. } = *talk;
    let key = if new {
        "support-ticket-new"
    } else {
        "support-ticket-more"
    };
    let language = t(lang, &format!("support-language-{}", buyer_lang.code()));
    let mut lines = vec![i18n::text(
        lang,
        key,
        &[
            ("ticket", num(ticket)),
            ("buyer", arg(&escape(&buyer_name(from)))),
            ("id", num(user.0)),
            ("language", arg(&language)),
        ],
    )];
    let orders = shop
        .store
        .purchases(&PurchaseFilter {
            user_id: Some(user),
            limit: HEADER_ORDERS,
            ..PurchaseFilter::default()
        })
        .await?;
    if orders.is_empty() {
        lines.push(t(lang, "support-ticket-no-orders"));
    }
    let now = shop.now();
    for p in &orders {
        lines.push(i18n::text(
            lang,
            "support-ticket-order",
            &[
                ("purchase", num(p.id)),
                ("product", arg(&escape(&p.product_name))),
                ("quantity", num(p.quantity.get())),
                ("state", arg(&t(lang, state_key(p.state)))),
                ("age", arg(&age(lang, now - p.created_at))),
            ],
        ));
    }
    lines.push(t(lang, "support-ticket-hint"));
    Ok(lines.join("\n"))
}

/// A span of time, in its largest two units.
fn age(lang: Language, ms: Millis) -> String {
    match span(ms) {
        Span::Seconds(n) => i18n::text(lang, "admin-span-seconds", &[("n", num(n))]),
        Span::Minutes(n) => i18n::text(lang, "admin-span-minutes", &[("n", num(n))]),
        Span::Hours(h, m) => i18n::text(lang, "admin-span-hours", &[("h", num(h)), ("m", num(m))]),
        Span::Days(d, h) => i18n::text(lang, "admin-span-days", &[("d", num(d)), ("h", num(h))]),
    }
}

/// An admin's message: if it replies to a ticket's copy, it is the shop's
/// answer, passed to the buyer once. Returns whether it was one.
pub(super) async fn answer(
    talk: &Talk<'_>,
    written: &Written<'_>,
    text: &str,
) -> anyhow::Result<bool> {
    let (bot, shop, chat, lang, user) = talk.parts();
    let Some(replied) = written.reply_to else {
        return Ok(false);
    };
    let Some(ticket) = shop.store.ticket_of_copy(chat.0, replied).await? else {
        return Ok(false);
    };
    if !ticket.is_open() {
        let text = i18n::text(lang, "support-answer-closed", &[("ticket", num(ticket.id))]);
        say(bot, chat, text).await;
        return Ok(true);
    }
    let body = cleaned(text);
    if body.is_empty() || body.chars().count() > MAX_CHARS {
        let text = i18n::text(lang, "support-too-long", &[("max", num(MAX_CHARS as i64))]);
        say(bot, chat, text).await;
        return Ok(true);
    }
    let message = NewSupportMessage {
        chat_id: chat.0,
        message_id: written.message_id,
        author: user,
        direction: SupportDirection::Shop,
        status: SupportStatus::Pending,
        ticket: Some(ticket.id),
        body: &body,
        now: shop.now(),
    };
    // Taken before (a re-delivered update): the buyer has it already.
    let Some(row) = shop.store.take_support_message(&message).await? else {
        return Ok(true);
    };
    let buyer_lang = shop.store.language_of(ticket.buyer()).await?;
    let html = i18n::text(
        buyer_lang,
        "support-answer",
        &[("text", arg(&escape(&body)))],
    );
    let reached = say(bot, ChatId(ticket.chat_id), html).await.is_some();
    let (status, key) = if reached {
        (SupportStatus::Passed, "support-answer-sent")
    } else {
        (SupportStatus::Failed, "support-answer-failed")
    };
    shop.store.set_support_status(row, status).await?;
    let args = [
        ("ticket", num(ticket.id)),
        ("buyer", arg(&escape(&ticket.buyer_name))),
    ];
    say(bot, chat, i18n::text(lang, key, &args)).await;
    Ok(true)
}

/// `/tickets`: the open tickets, longest waiting first, a button each to
/// close it.
pub(super) async fn tickets(talk: &Talk<'_>) -> HandlerResult {
    let (text, markup) = tickets_view(talk.shop, talk.lang).await?;
    send(talk.bot, talk.chat, text, markup).await;
    Ok(())
}

async fn tickets_view(
    shop: &Shop,
    lang: Language,
) -> anyhow::Result<(String, Option<InlineKeyboardMarkup>)> {
    let (open, total) = shop.store.open_support_tickets(TICKETS_SHOWN).await?;
    if open.is_empty() {
        return Ok((t(lang, "support-tickets-none"), None));
    }
    let now = shop.now();
    let mut lines = vec![i18n::text(
        lang,
        "support-tickets-title",
        &[("total", num(total))],
    )];
    lines.extend(open.iter().map(|ticket| ticket_line(lang, ticket, now)));
    let rows: Vec<Vec<InlineKeyboardButton>> = open
        .iter()
        .filter_map(|ticket| {
            let data = Callback::CloseTicket { ticket: ticket.id }.data()?;
            let label = i18n::text(lang, "support-button-close", &[("ticket", num(ticket.id))]);
            Some(vec![InlineKeyboardButton::callback(label, data)])
        })
        .collect();
    Ok((lines.join("\n\n"), Some(InlineKeyboardMarkup::new(rows))))
}

fn ticket_line(lang: Language, ticket: &SupportTicket, now: Millis) -> String {
    let mut snippet: String = ticket.last_text.chars().take(SNIPPET).collect();
    if ticket.last_text.chars().count() > SNIPPET {
        snippet.push('…');
    }
    i18n::text(
        lang,
        "support-tickets-item",
        &[
            ("ticket", num(ticket.id)),
            ("buyer", arg(&escape(&ticket.buyer_name))),
            ("id", num(ticket.user_id)),
            ("age", arg(&age(lang, now - ticket.last_at))),
            ("snippet", arg(&escape(&snippet))),
        ],
    )
}

/// An admin's press of "Close" under /tickets: the ticket is closed once
/// (a second press, or another admin's, finds it closed), the buyer is
/// told, and the list is shown again.
pub(super) async fn on_close_button(pressed: &Pressed<'_>, ticket: i64) -> HandlerResult {
    let (bot, shop, q, lang, chat, message) = pressed.parts();
    let Some(admin) = super::admin::pressing_admin(pressed).await? else {
        return Ok(());
    };
    let closed = shop
        .store
        .close_support_ticket(ticket, UserId(admin), shop.now())
        .await?;
    let key = if closed.applied() {
        "support-closed-done"
    } else {
        "support-closed-already"
    };
    bot.answer_callback_query(q.id.clone())
        .text(i18n::text(lang, key, &[("ticket", num(ticket))]))
        .await?;
    if closed.applied()
        && let Some(row) = shop.store.support_ticket(ticket).await?
    {
        let buyer_lang = shop.store.language_of(row.buyer()).await?;
        let text = i18n::text(buyer_lang, "support-closed", &[("ticket", num(ticket))]);
        say(
            bot,
            ChatId(row.chat_id),
            with_contact(shop, buyer_lang, text),
        )
        .await;
    }
    let (text, markup) = tickets_view(shop, lang).await?;
    show(bot, chat, Some(message), text, markup).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buyer_is_held_at_the_rate() {
        assert!(within_rate(0));
        assert!(within_rate(MESSAGES_PER_WINDOW - 1));
        assert!(!within_rate(MESSAGES_PER_WINDOW));
    }

    #[test]
    fn invisible_marks_and_control_characters_are_not_passed_on() {
        assert_eq!(
            cleaned("  hi\u{202E}there\u{0}\n#12 \u{200B}"),
            "hithere\n#12"
        );
        assert_eq!(cleaned("\u{202e}\u{0}"), "");
    }

    #[test]
    fn every_support_text_exists_in_both_languages() {
        for lang in Language::ALL {
            for key in [
                "support-ask",
                "support-opened",
                "support-sent",
                "support-wait",
                "support-unreachable",
                "support-too-long",
                "support-contact",
                "support-answer",
                "support-closed",
                "support-ticket-new",
                "support-tickets-item",
            ] {
                assert_ne!(i18n::text(lang, key, &[]), key, "{key}");
            }
            for other in Language::ALL {
                let key = format!("support-language-{}", other.code());
                assert_ne!(i18n::text(lang, &key, &[]), key);
            }
        }
    }
}
