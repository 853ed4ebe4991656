//! `/order`: one purchase as admins read it, found by its id, its charge
//! or its supplier order, with every event it went through.

use teloxide::types::InlineKeyboardMarkup;

use super::MESSAGE_BUDGET;
use super::confirm::purchase_buttons;
use super::words::{clip, pack, supplier_line, utc};
use crate::bot::{Talk, escape, say, send, t};
use crate::domain::{AlertKind, Language, PurchaseState};
use crate::i18n::{self, arg, num};
use crate::ops::reports::{self, OrderRef};
use crate::store::{Event, Purchase};

/// Messages one `/order` timeline may take.
const TIMELINE_MESSAGES: usize = 4;

/// `/order <id, charge or supplier order>`: the purchase and its events,
/// with its buttons when there is something to do by hand.
pub(super) async fn order(talk: &Talk<'_>, argument: &str) -> anyhow::Result<()> {
    let (bot, shop, chat, lang, _) = talk.parts();
    let Some(reference) = OrderRef::parse(argument) else {
        say(bot, chat, t(lang, "admin-order-usage")).await;
        return Ok(());
    };
    let Some(p) = reports::find_purchase(&shop.store, &reference).await? else {
        let text = i18n::text(
            lang,
            "admin-order-not-found",
            &[("reference", arg(&escape(argument.trim())))],
        );
        say(bot, chat, text).await;
        return Ok(());
    };
    let events = shop.store.events_of(p.id).await?;
    let mut messages = timeline(lang, &p, &events);
    let last = messages.pop().unwrap_or_default();
    for text in messages {
        say(bot, chat, text).await;
    }
    // The buttons go under the purchase when there is something to do by
    // hand: anything unfinished, and a partial delivery's refund.
    let actionable = match p.state {
        PurchaseState::Refunded | PurchaseState::Cancelled => false,
        PurchaseState::Delivered => shop
            .store
            .alerts_of(p.id)
            .await?
            .iter()
            .any(|a| a.kind == AlertKind::PartialDelivery.as_str()),
        _ => true,
    };
    let markup = actionable.then(|| InlineKeyboardMarkup::new([purchase_buttons(lang, p.id)]));
    send(bot, chat, last, markup).await;
    Ok(())
}

/// The purchase and its events, in as many messages as it takes (up to a
/// few; the oldest events are left out past that).
fn timeline(lang: Language, p: &Purchase, events: &[Event]) -> Vec<String> {
    let mut head = timeline_head(lang, p);
    if events.is_empty() {
        head.push(t(lang, "admin-order-no-events"));
    }
    let lines: Vec<String> = events.iter().map(event_line).collect();
    let head_len: usize = head.iter().map(|l| l.len() + 1).sum();
    let budget = (TIMELINE_MESSAGES * MESSAGE_BUDGET).saturating_sub(head_len);
    let shown = newest_that_fit(&lines, budget);
    let hidden = lines.len() - shown;
    if hidden > 0 {
        head.push(i18n::text(
            lang,
            "admin-order-more",
            &[("more", num(hidden as i64))],
        ));
    }
    let head = head.join("\n");
    pack(std::iter::once(head.as_str()).chain(lines[hidden..].iter().map(String::as_str)))
}

/// The purchase itself: what, its state, the supplier's order, the
/// charge, the last error, when it was made; then the timeline's title.
fn timeline_head(lang: Language, p: &Purchase) -> Vec<String> {
    let mut head = vec![
        i18n::text(
            lang,
            "admin-order-title",
            &[
                ("purchase", num(p.id)),
                ("product", arg(&escape(&clip(&p.product_name)))),
                ("quantity", num(p.quantity.get())),
            ],
        ),
        i18n::text(
            lang,
            "admin-order-state",
            &[
                ("state", arg(p.state.as_str())),
                ("stars", num(p.stars)),
                ("source", arg(p.source.as_str())),
                ("user", num(p.user_id.0)),
            ],
        ),
        supplier_line(lang, p),
    ];
    if let Some(charge) = &p.telegram_charge_id {
        head.push(i18n::text(
            lang,
            "admin-order-charge",
            &[("charge", arg(&escape(charge)))],
        ));
    }
    if let Some(error) = &p.last_error {
        head.push(i18n::text(
            lang,
            "admin-stalled-error",
            &[("error", arg(&escape(&clip(error))))],
        ));
    }
    head.push(i18n::text(
        lang,
        "admin-order-created",
        &[("at", arg(&utc(p.created_at, "%Y-%m-%d %H:%M:%S")))],
    ));
    head.push(String::new());
    head.push(t(lang, "admin-order-timeline"));
    head
}

/// How many of the last `lines` fit in `budget` characters (a newline
/// each): the newest events matter most.
fn newest_that_fit(lines: &[String], mut budget: usize) -> usize {
    let mut shown = 0;
    for line in lines.iter().rev() {
        if line.len() + 1 > budget {
            break;
        }
        budget -= line.len() + 1;
        shown += 1;
    }
    shown
}

/// One event, as admins read it: time, kind, move, who, what.
fn event_line(e: &Event) -> String {
    let mut line = format!(
        "<code>{}</code> {}",
        utc(e.at, "%m-%d %H:%M:%S"),
        escape(&e.kind)
    );
    match (&e.from_state, &e.to_state) {
        (Some(from), Some(to)) if from != to => {
            line.push_str(&format!(" {} → {}", escape(from), escape(to)));
        }
        (None, Some(to)) => line.push_str(&format!(" → {}", escape(to))),
        _ => {}
    }
    if let Some(actor) = e.actor.as_deref().filter(|a| !a.is_empty()) {
        line.push_str(&format!(" · {}", escape(&clip(actor))));
    }
    let detail = e.detail.trim();
    if !detail.is_empty() && detail != "{}" && detail != "null" {
        line.push_str(&format!(" · {}", escape(&clip(detail))));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_line_escapes_what_it_shows() {
        let e = Event {
            id: 1,
            purchase_id: Some(7),
            at: 0,
            kind: "admin_action".to_owned(),
            from_state: Some("dead_letter".to_owned()),
            to_state: Some("refunding".to_owned()),
            fence: Some(1),
            actor: Some("admin:9000".to_owned()),
            detail: r#"{"why":"<b>x</b>"}"#.to_owned(),
        };
        let line = event_line(&e);
        assert!(line.contains("dead_letter → refunding"), "{line}");
        assert!(line.contains("admin:9000"));
        assert!(
            line.contains("&lt;b&gt;") && !line.contains("<b>"),
            "{line}"
        );
    }

    #[test]
    fn a_long_timeline_keeps_the_newest_events() {
        let lines: Vec<String> = ["old", "older than the rest", "new"]
            .map(str::to_owned)
            .to_vec();
        assert_eq!(newest_that_fit(&lines, 100), 3);
        assert_eq!(newest_that_fit(&lines, 4), 1);
        assert_eq!(newest_that_fit(&lines, 3), 0);
        assert_eq!(newest_that_fit(&lines, 25), 2);
    }
}
