//! Money in: the invoice (Stars, `XTR`, no provider token), the
//! pre-checkout check (answered within Telegram's 10 s from our own
//! tables), the payment recorded first thing and keyed by its charge id,
//! and the sweep of `getStarTransactions` that recovers payments whose
//! update was lost (teloxide confirms an update before its handler ends).

use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice, PreCheckoutQuery};

use super::customer::explain;
use super::{HandlerResult, Pressed, Shop, Talk, escape, say, t, user_id};
use crate::domain::{Language, Note, PurchaseSource, Quantity};
use crate::i18n::{self, arg, num};
use crate::intake;
use crate::runtime::{Loop, Pace, Runtime};
use crate::store::{CatalogProduct, NewCheckout, OrphanRefund, PaymentOutcome, StarPayment};

/// Telegram's limits on an invoice.
const TITLE_MAX: usize = 32;
const DESCRIPTION_MAX: usize = 255;

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut clipped: String = text.chars().take(max.saturating_sub(1)).collect();
    clipped.push('…');
    clipped
}

/// Offers `quantity` of `product` with `note`: an invoice, or in demo mode
/// the purchase itself (nothing is paid).
pub(super) async fn offer(
    talk: &Talk<'_>,
    product: &CatalogProduct,
    quantity: i64,
    note: Note,
) -> HandlerResult {
    let (bot, shop, chat, lang, user) = talk.parts();
    let offer = match intake::check(product, quantity, &note, shop.now(), shop.catalog_max_age) {
        Ok(o) => o,
        Err(e) => {
            say(bot, chat, explain(lang, &e)).await;
            return Ok(());
        }
    };
    if shop.demo {
        return demo_purchase(talk, &offer).await;
    }
    let checkout = shop
        .store
        .open_checkout(
            &NewCheckout {
                user_id: user,
                chat_id: chat.0,
                language: lang,
                sale: offer.sale(),
            },
            shop.now(),
        )
        .await?;
    let name = shop.product_name(&offer.product.id, lang, &offer.product.name);
    send_invoice(bot, chat, lang, &offer, name, checkout.payload.clone()).await
}

/// The invoice for an open checkout, in Stars and in the buyer's
/// language, its title, price label and description clipped to
/// Telegram's limits.
async fn send_invoice(
    bot: &Bot,
    chat: ChatId,
    lang: Language,
    offer: &intake::Offer,
    name: &str,
    payload: String,
) -> HandlerResult {
    let Ok(amount) = u32::try_from(offer.stars) else {
        say(bot, chat, t(lang, "quantity-too-large")).await;
        return Ok(());
    };
    let quantity = offer.quantity.get();
    bot.send_invoice(
        chat,
        fitted(lang, "invoice-title", name, quantity, TITLE_MAX),
        clip(&invoice_description(lang, offer, name), DESCRIPTION_MAX),
        payload,
        "XTR",
        vec![LabeledPrice::new(
            fitted(lang, "invoice-price-label", name, quantity, TITLE_MAX),
            amount,
        )],
    )
    .await?;
    Ok(())
}

/// The text `key` about `quantity` × `product` in at most `max`
/// characters: the product's name is shortened first, so that the words
/// around it stay whole.
fn fitted(lang: Language, key: &str, product: &str, quantity: i64, max: usize) -> String {
    let render = |name: &str| {
        i18n::text(
            lang,
            key,
            &[("product", arg(name)), ("quantity", num(quantity))],
        )
    };
    let around = render("").chars().count();
    clip(
        &render(&clip(product, max.saturating_sub(around).max(1))),
        max,
    )
}

/// What is bought (`name`, as the buyer reads it), and the note fields
/// given (each under its label), as the invoice says it.
fn invoice_description(lang: Language, offer: &intake::Offer, name: &str) -> String {
    let mut description = i18n::text(
        lang,
        "invoice-description",
        &[
            ("product", arg(name)),
            ("quantity", num(offer.quantity.get())),
        ],
    );
    for (field, value) in offer.note.fields() {
        description.push('\n');
        description.push_str(&i18n::text(
            lang,
            "invoice-note-line",
            &[
                ("field", arg(&super::customer::field_label(lang, field))),
                ("value", arg(value)),
            ],
        ));
    }
    description
}

/// Demo mode: the purchase is recorded as if paid (zero Stars), so a
/// newcomer sees the whole flow against the built-in simulator.
async fn demo_purchase(talk: &Talk<'_>, offer: &intake::Offer) -> HandlerResult {
    let (bot, shop, chat, lang, user) = talk.parts();
    let purchase = offer.unpaid_purchase(user, chat.0, lang, PurchaseSource::Demo);
    let id = shop.store.insert_purchase(&purchase, shop.now()).await?;
    let text = format!(
        "{}\n{}",
        t(lang, "demo-banner"),
        progress_text(
            lang,
            id,
            shop.product_name(&offer.product.id, lang, &offer.product.name),
            offer.quantity,
            "progress-ordering"
        )
    );
    if let Some(m) = say(bot, chat, text).await {
        shop.store
            .set_progress_message(id, i64::from(m.id.0))
            .await?;
    }
    Ok(())
}

/// The progress message's text for a step.
pub fn progress_text(
    lang: Language,
    purchase: i64,
    product: &str,
    quantity: Quantity,
    step: &str,
) -> String {
    i18n::text(
        lang,
        step,
        &[
            ("purchase", num(purchase)),
            ("product", arg(&escape(product))),
            ("quantity", num(quantity.get())),
        ],
    )
}

/// Re-checks, within Telegram's 10 s and from our own tables only, that
/// the invoice can still be honoured: it is ours, unpaid, for this buyer,
/// at this amount, and the product still sells at that price.
pub async fn pre_checkout(bot: Bot, shop: Shop, q: PreCheckoutQuery) -> HandlerResult {
    let lang = shop.language(&q.from, q.from.id.0 as i64).await;
    let refusal = match refuse_reason(&shop, &q).await {
        Ok(None) => None,
        Ok(Some(key)) => Some(key),
        Err(e) => {
            tracing::error!(error = %e, "pre-checkout could not be checked");
            Some("checkout-try-again".to_owned())
        }
    };
    match refusal {
        None => {
            bot.answer_pre_checkout_query(q.id, true).await?;
        }
        Some(text) => {
            let message = if text.starts_with("checkout-") {
                t(lang, &text)
            } else {
                text
            };
            bot.answer_pre_checkout_query(q.id, false)
                .error_message(message)
                .await?;
        }
    }
    Ok(())
}

/// `None`: go ahead. Otherwise a message key (`checkout-…`) or a text.
async fn refuse_reason(shop: &Shop, q: &PreCheckoutQuery) -> anyhow::Result<Option<String>> {
    let Some(checkout) = shop.store.checkout_by_payload(&q.invoice_payload).await? else {
        return Ok(Some("checkout-unknown".to_owned()));
    };
    let lang = checkout.language;
    if user_id(&q.from) != Some(checkout.user_id) {
        return Ok(Some("checkout-unknown".to_owned()));
    }
    if checkout.state != crate::store::CheckoutState::Open {
        return Ok(Some("checkout-already-paid".to_owned()));
    }
    if q.currency != "XTR" || i64::from(q.total_amount) != checkout.sale.stars {
        return Ok(Some("checkout-price-changed".to_owned()));
    }
    let Some(product) = shop.store.product(&checkout.sale.product_id).await? else {
        return Ok(Some("checkout-unavailable".to_owned()));
    };
    match intake::check(
        &product,
        checkout.sale.quantity.get(),
        &checkout.sale.note,
        shop.now(),
        shop.catalog_max_age,
    ) {
        Ok(offer) if offer.stars == checkout.sale.stars => {
            // Stars taken for what the supplier balance cannot pay would be
            // held and refunded an hour later: refused now instead.
            let cost = offer
                .product
                .wholesale
                .or(checkout.sale.unit_price)
                .and_then(|unit| unit.times(checkout.sale.quantity.get()));
            let currency = &offer.product.currency;
            let balance = shop.store.supplier_balance(currency).await?;
            let in_flight = match balance {
                Some((_, read_at)) => shop.store.in_flight_cost(currency, read_at).await?,
                None => crate::domain::Money::ZERO,
            };
            match intake::balance_covers(balance, shop.now(), in_flight, cost) {
                Ok(()) => Ok(None),
                Err(intake::BalanceShort) => {
                    tracing::warn!(
                        checkout = checkout.id,
                        "pre-checkout refused: the supplier balance is short"
                    );
                    Ok(Some("checkout-balance-short".to_owned()))
                }
            }
        }
        Ok(_) => Ok(Some("checkout-price-changed".to_owned())),
        Err(e) => Ok(Some(explain(lang, &e))),
    }
}

/// A `successful_payment`: recorded first thing, once per charge.
pub async fn paid(bot: Bot, shop: Shop, msg: Message) -> HandlerResult {
    let (Some(payment), Some(from)) = (msg.successful_payment(), msg.from.as_ref()) else {
        return Ok(());
    };
    let Some(user) = user_id(from) else {
        return Ok(());
    };
    let lang = shop.language(from, msg.chat.id.0).await;
    let star = StarPayment {
        user_id: user,
        chat_id: msg.chat.id.0,
        language: lang,
        payload: payment.invoice_payload.clone(),
        currency: payment.currency.clone(),
        total_amount: i64::from(payment.total_amount),
        charge_id: payment.telegram_payment_charge_id.0.clone(),
    };
    let outcome = record(&shop, &star).await?;
    tell_payer(&bot, &shop, msg.chat.id, lang, outcome).await
}

/// Records a payment (from its update or from the sweep) and wakes the
/// engine. A charge no invoice explains is recorded once, with its alert
/// (refund button included) in the same transaction.
async fn record(shop: &Shop, star: &StarPayment) -> anyhow::Result<PaymentOutcome> {
    let outcome = shop
        .store
        .record_payment(star, intake::admission::admit, shop.now())
        .await?;
    match outcome {
        PaymentOutcome::Ordered(id) => {
            tracing::info!(purchase = id, stars = star.total_amount, "payment recorded");
        }
        PaymentOutcome::Refunding(id, reason) => {
            tracing::warn!(purchase = id, reason = reason.as_str(), "payment to refund");
        }
        PaymentOutcome::UnknownInvoice(orphan) => {
            tracing::warn!(
                orphan,
                stars = star.total_amount,
                "a payment names no invoice"
            );
        }
        PaymentOutcome::Duplicate(_) | PaymentOutcome::UnknownAgain(_) => {}
    }
    Ok(outcome)
}

async fn tell_payer(
    bot: &Bot,
    shop: &Shop,
    chat: ChatId,
    lang: Language,
    outcome: PaymentOutcome,
) -> HandlerResult {
    match outcome {
        PaymentOutcome::Ordered(id) => {
            if let Some(p) = shop.store.purchase(id).await? {
                let name = shop.product_name(&p.product_id, lang, &p.product_name);
                let text = progress_text(lang, id, name, p.quantity, "progress-ordering");
                if let Some(m) = say(bot, chat, text).await {
                    shop.store
                        .set_progress_message(id, i64::from(m.id.0))
                        .await?;
                }
            }
        }
        PaymentOutcome::Refunding(id, reason) => {
            let why = i18n::refund_reason_key(reason);
            let text = i18n::text(
                lang,
                "payment-will-refund",
                &[("purchase", num(id)), ("reason", arg(&t(lang, &why)))],
            );
            say(bot, chat, text).await;
        }
        PaymentOutcome::UnknownInvoice(_) => {
            say(bot, chat, t(lang, "payment-unknown")).await;
        }
        PaymentOutcome::Duplicate(_) | PaymentOutcome::UnknownAgain(_) => {}
    }
    Ok(())
}

/// `getStarTransactions` gives at most this many per call.
const SWEEP_PAGE: u8 = 100;
/// A transaction may be listed a little after its date: each sweep reads
/// back this far before the newest date the last one saw.
const SWEEP_SLACK_SECS: i64 = 5 * 60;
/// A guard against a listing that never ends (10 million transactions).
const SWEEP_MAX_PAGES: usize = 100_000;
const SWEEP_MARK: &str = "stars_sweep";

/// Where the last complete sweep got to: the newest transaction date it
/// saw (unix seconds) and, when it read to the end, how many there were.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct SweepMark {
    newest: i64,
    count: Option<usize>,
}

/// The order `getStarTransactions` lists in. Telegram documents none, so
/// it is read from the dates of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListOrder {
    NewestFirst,
    OldestFirst,
    /// One date throughout (or fewer than two): cannot tell.
    Unknown,
}

fn list_order(dates: &[i64]) -> ListOrder {
    match (dates.first(), dates.last()) {
        (Some(first), Some(last)) if first > last => ListOrder::NewestFirst,
        (Some(first), Some(last)) if first < last => ListOrder::OldestFirst,
        _ => ListOrder::Unknown,
    }
}

type StarTx = teloxide::types::StarTransaction;

fn date_of(tx: &StarTx) -> i64 {
    tx.date.timestamp()
}

/// One page. A 429 is waited out (a first sweep of a long history reads
/// many pages, and giving up would start it over from the top).
async fn star_page(bot: &Bot, offset: usize) -> anyhow::Result<Vec<StarTx>> {
    let offset = u32::try_from(offset)?;
    let mut waits = 0;
    loop {
        match bot
            .get_star_transactions()
            .offset(offset)
            .limit(SWEEP_PAGE)
            .await
        {
            Ok(page) => return Ok(page.transactions),
            Err(teloxide::RequestError::RetryAfter(wait)) if waits < 5 => {
                waits += 1;
                tokio::time::sleep(wait.duration()).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Reads every transaction the last sweep may not have seen, in whichever
/// order Telegram lists them. Returns them and where this sweep got to.
async fn unseen_transactions(
    bot: &Bot,
    last: Option<SweepMark>,
) -> anyhow::Result<(Vec<StarTx>, SweepMark)> {
    let floor = last.map(|m| m.newest.saturating_sub(SWEEP_SLACK_SECS));
    let before_floor = |tx: &StarTx| floor.is_some_and(|f| date_of(tx) < f);
    let first = star_page(bot, 0).await?;
    let dates: Vec<i64> = first.iter().map(date_of).collect();
    let mut reading = Reading {
        seen: Vec::new(),
        count: None,
        pages: 1,
    };
    match list_order(&dates) {
        ListOrder::NewestFirst => {
            // From the newest back to the first page that reaches past
            // the floor: everything after it was there at the last sweep.
            let reached = |page: &[StarTx]| page.last().is_some_and(before_floor);
            reading.read_on(bot, 0, first, reached).await?;
        }
        order => {
            // Oldest first: from where the last sweep ended, stepping back
            // until a page starts before the floor (a transaction listed
            // late sits before the end); unknown: from the start. Then on
            // to the end.
            let start = match (order, last) {
                (ListOrder::OldestFirst, Some(SweepMark { count: Some(c), .. })) => {
                    c.saturating_sub(usize::from(SWEEP_PAGE))
                }
                _ => 0,
            };
            let (start, page) = reading.step_back(bot, start, first, &before_floor).await?;
            reading.read_on(bot, start, page, |_| false).await?;
        }
    }
    let newest = reading
        .seen
        .iter()
        .map(date_of)
        .chain(last.map(|m| m.newest))
        .max()
        .unwrap_or(0);
    tracing::debug!(
        pages = reading.pages,
        read = reading.seen.len(),
        "Stars sweep read"
    );
    let count = reading.count;
    Ok((reading.seen, SweepMark { newest, count }))
}

/// A sweep's reading of `getStarTransactions` so far.
struct Reading {
    seen: Vec<StarTx>,
    /// How many transactions there are, once the end was read.
    count: Option<usize>,
    /// Pages read, against a listing that never ends.
    pages: usize,
}

impl Reading {
    /// Keeps `page` (read at `offset`) and the pages after it, up to the
    /// end of the listing or to the first page `done` says is enough.
    async fn read_on(
        &mut self,
        bot: &Bot,
        mut offset: usize,
        mut page: Vec<StarTx>,
        done: impl Fn(&[StarTx]) -> bool,
    ) -> anyhow::Result<()> {
        let page_len = usize::from(SWEEP_PAGE);
        loop {
            let n = page.len();
            let enough = done(&page);
            self.seen.extend(page);
            if n < page_len {
                self.count = Some(offset + n);
                return Ok(());
            }
            if enough {
                return Ok(());
            }
            offset += page_len;
            self.pages += 1;
            anyhow::ensure!(
                self.pages <= SWEEP_MAX_PAGES,
                "getStarTransactions never ends"
            );
            page = star_page(bot, offset).await?;
        }
    }

    /// From `start` (the first page is `first`), steps back twice as far
    /// each time until a page starts before the floor or the start of the
    /// listing is reached. Returns where it stopped and that page.
    async fn step_back(
        &mut self,
        bot: &Bot,
        mut start: usize,
        first: Vec<StarTx>,
        before_floor: &impl Fn(&StarTx) -> bool,
    ) -> anyhow::Result<(usize, Vec<StarTx>)> {
        let mut step = usize::from(SWEEP_PAGE);
        let mut page = if start == 0 {
            first
        } else {
            star_page(bot, start).await?
        };
        while start > 0 && !page.first().is_some_and(before_floor) {
            start = start.saturating_sub(step);
            step = step.saturating_mul(2);
            self.pages += 1;
            page = star_page(bot, start).await?;
        }
        Ok((start, page))
    }
}

/// Finds incoming Stars payments with no row of ours (their update was
/// lost) and records them as their update would have; a charge already
/// refunded is left alone. Reads from where the last sweep got to (a mark
/// in `kv`), which moves on only when every payment found is recorded.
/// Returns how many were recovered.
pub async fn sweep_star_transactions(bot: &Bot, shop: &Shop) -> anyhow::Result<usize> {
    let last: Option<SweepMark> = match shop.store.kv_get(SWEEP_MARK).await? {
        Some(text) => serde_json::from_str(&text).ok(),
        None => None,
    };
    let (transactions, mark) = unseen_transactions(bot, last).await?;
    let (refunded, incoming) = incoming_payments(transactions);
    let mut known = std::collections::HashSet::new();
    let ids: Vec<String> = incoming.iter().map(|p| p.charge.clone()).collect();
    for chunk in ids.chunks(usize::from(SWEEP_PAGE)) {
        known.extend(shop.store.known_charges(chunk).await?);
    }
    let mut recovered = 0;
    for payment in incoming {
        if refunded.contains(&payment.charge) || known.contains(&payment.charge) {
            continue;
        }
        if recover(bot, shop, payment).await? {
            recovered += 1;
        }
    }
    shop.store
        .kv_set(SWEEP_MARK, &serde_json::to_string(&mark)?, shop.now())
        .await?;
    Ok(recovered)
}

/// An invoice payment read from `getStarTransactions`.
struct Incoming {
    charge: String,
    from: teloxide::types::User,
    payload: String,
    amount: u32,
}

/// Sorts what a sweep read: the charges refunded, and the invoice
/// payments (each once, though a page may show one twice).
fn incoming_payments(
    transactions: Vec<StarTx>,
) -> (std::collections::HashSet<String>, Vec<Incoming>) {
    use teloxide::types::{TransactionPartner, TransactionPartnerUserKind};
    let mut refunded = std::collections::HashSet::new();
    let mut incoming = Vec::new();
    let mut listed = std::collections::HashSet::new();
    for tx in transactions {
        if tx.receiver.is_some() {
            refunded.insert(tx.id.0.clone());
            continue;
        }
        let Some(TransactionPartner::User(partner)) = &tx.source else {
            continue;
        };
        let TransactionPartnerUserKind::InvoicePayment(payment) = &partner.kind else {
            continue;
        };
        let Some(payload) = payment.invoice_payload.clone() else {
            continue;
        };
        // Pages move while they are read: a transaction may show twice.
        if listed.insert(tx.id.0.clone()) {
            incoming.push(Incoming {
                charge: tx.id.0.clone(),
                from: partner.user.clone(),
                payload,
                amount: tx.amount,
            });
        }
    }
    (refunded, incoming)
}

/// Records a payment whose update was lost, as its update would have, and
/// tells the payer. True when it was new to us.
async fn recover(bot: &Bot, shop: &Shop, payment: Incoming) -> anyhow::Result<bool> {
    let Incoming {
        charge,
        from,
        payload,
        amount,
    } = payment;
    let Some(user) = user_id(&from) else {
        return Ok(false);
    };
    let lang = shop.language(&from, user.0).await;
    let star = StarPayment {
        user_id: user,
        // A private chat's id is its user's.
        chat_id: user.0,
        language: lang,
        payload,
        currency: "XTR".to_owned(),
        total_amount: i64::from(amount),
        charge_id: charge,
    };
    let outcome = record(shop, &star).await?;
    if matches!(
        outcome,
        PaymentOutcome::Duplicate(_) | PaymentOutcome::UnknownAgain(_)
    ) {
        return Ok(false);
    }
    tracing::warn!(?outcome, "recovered a payment whose update was lost");
    tell_payer(bot, shop, ChatId(user.0), lang, outcome).await?;
    Ok(true)
}

/// An admin's press on an orphan charge's refund button: asked first, then
/// (confirmed) a purchase in `refunding` carries the charge and the
/// refunder returns the Stars once. Anyone else gets "expired".
pub(super) async fn on_orphan_refund(
    pressed: &Pressed<'_>,
    orphan: i64,
    confirmed: Option<i64>,
) -> HandlerResult {
    let (bot, shop, _, lang, chat, message) = pressed.parts();
    let Some(admin) = super::admin::admin_press(pressed).await? else {
        return Ok(());
    };
    let Some(charge) = shop.store.orphan_charge(orphan).await? else {
        say(bot, chat, t(lang, "orphan-refund-not-found")).await;
        return Ok(());
    };
    let args = |purchase: Option<i64>| {
        let mut args = vec![("stars", num(charge.stars)), ("user", num(charge.user_id))];
        if let Some(p) = purchase {
            args.push(("purchase", num(p)));
        }
        args
    };
    let now = shop.now();
    if let Some(why) = super::admin::must_ask(lang, confirmed, now) {
        let text = format!(
            "{why}{}",
            i18n::text(lang, "orphan-refund-confirm", &args(None))
        );
        let label = i18n::text(lang, "orphan-refund-confirm-button", &args(None));
        let confirmed = Some(super::admin::confirm_minute(now));
        super::send(bot, chat, text, orphan_button(label, orphan, confirmed)).await;
        return Ok(());
    }
    let text = match shop.store.refund_orphan(orphan, now).await {
        Ok(OrphanRefund::Started(p)) => {
            tracing::info!(
                orphan,
                purchase = p,
                admin,
                "an orphan charge is being refunded"
            );
            i18n::text(lang, "orphan-refund-started", &args(Some(p)))
        }
        Ok(OrphanRefund::Already(p)) => i18n::text(lang, "orphan-refund-already", &args(Some(p))),
        Ok(OrphanRefund::NotFound) => t(lang, "orphan-refund-not-found"),
        Err(e) => {
            tracing::error!(orphan, error = %e, "an orphan refund failed");
            t(lang, "admin-failed")
        }
    };
    // The confirmation becomes the record of what was done (its button goes).
    super::show(bot, chat, Some(message), text, None).await;
    Ok(())
}

/// The alert for an orphan charge, in `lang`, with its refund button.
pub async fn orphan_alert(
    shop: &Shop,
    lang: Language,
    orphan: i64,
) -> anyhow::Result<Option<(String, Option<InlineKeyboardMarkup>)>> {
    let Some(charge) = shop.store.orphan_charge(orphan).await? else {
        return Ok(None);
    };
    let args = [
        ("stars", num(charge.stars)),
        ("user", num(charge.user_id)),
        ("charge", arg(&escape(&charge.charge_id))),
    ];
    let text = i18n::text(lang, "alert-orphan-charge", &args);
    let label = i18n::text(lang, "orphan-refund-button", &args);
    Ok(Some((text, orphan_button(label, orphan, None))))
}

/// An orphan charge's refund button: asking, or `confirmed` by a button
/// made at that minute.
fn orphan_button(
    label: String,
    orphan: i64,
    confirmed: Option<i64>,
) -> Option<InlineKeyboardMarkup> {
    super::Callback::OrphanRefund { orphan, confirmed }
        .data()
        .map(|data| InlineKeyboardMarkup::new([[InlineKeyboardButton::callback(label, data)]]))
}

/// Sweeps `getStarTransactions` every `every` for payments whose update
/// was lost.
pub(super) fn spawn_star_sweep(
    bot: Bot,
    shop: Shop,
    every: std::time::Duration,
    rt: &Runtime,
) -> tokio::task::JoinHandle<()> {
    // One replica sweeps at a time: the others would only read the same.
    let spec = Loop::single_role("stars-sweep", every).on_timer();
    rt.spawn(spec, move |_| {
        let (bot, shop) = (bot.clone(), shop.clone());
        async move {
            match sweep_star_transactions(&bot, &shop).await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(recovered = n, "Stars sweep recovered lost payments"),
                Err(e) => tracing::warn!(error = %e, "Stars sweep failed; trying again later"),
            }
            Ok::<_, std::convert::Infallible>(Pace::Idle)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listing_order_is_read_from_the_dates() {
        assert_eq!(list_order(&[30, 20, 10]), ListOrder::NewestFirst);
        assert_eq!(list_order(&[10, 10, 20]), ListOrder::OldestFirst);
        assert_eq!(list_order(&[10, 10]), ListOrder::Unknown);
        assert_eq!(list_order(&[]), ListOrder::Unknown);
    }
}
