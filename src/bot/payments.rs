//! Money in: the invoice (Stars, `XTR`, no provider token), the
//! pre-checkout check (answered within Telegram's 10 s from our own
//! tables), the payment recorded first thing and keyed by its charge id,
//! and the sweep of `getStarTransactions` that recovers payments whose
//! update was lost (teloxide confirms an update before its handler ends).

use teloxide::prelude::*;
use teloxide::types::{LabeledPrice, PreCheckoutQuery};

use super::customer::explain;
use super::{HandlerResult, Shop, escape, say, t, user_id};
use crate::domain::{AlertKind, Language, Note, PurchaseSource, Quantity, UserId};
use crate::i18n::{self, arg, num};
use crate::intake;
use crate::store::{CatalogProduct, NewCheckout, PaymentOutcome, StarPayment};

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
#[allow(clippy::too_many_arguments)]
pub async fn offer(
    bot: &Bot,
    shop: &Shop,
    chat: ChatId,
    lang: Language,
    user: UserId,
    product: &CatalogProduct,
    quantity: i64,
    note: Note,
) -> HandlerResult {
    let offer = match intake::check(product, quantity, &note, shop.now(), shop.catalog_max_age) {
        Ok(o) => o,
        Err(e) => {
            say(bot, chat, explain(lang, &e)).await;
            return Ok(());
        }
    };
    if shop.demo {
        return demo_purchase(bot, shop, chat, lang, user, &offer).await;
    }
    let checkout = shop
        .store
        .open_checkout(
            &NewCheckout {
                user_id: user,
                chat_id: chat.0,
                language: lang,
                product_id: offer.product.id.clone(),
                product_name: offer.product.name.clone(),
                quantity: offer.quantity,
                note: offer.note.clone(),
                unit_price: offer.product.wholesale,
                currency: offer.product.currency.clone(),
                stars: offer.stars,
            },
            shop.now(),
        )
        .await?;
    let Ok(amount) = u32::try_from(offer.stars) else {
        say(bot, chat, t(lang, "quantity-too-large")).await;
        return Ok(());
    };
    let mut description = i18n::text(
        lang,
        "invoice-description",
        &[
            ("product", arg(&offer.product.name)),
            ("quantity", num(offer.quantity.get())),
        ],
    );
    for (field, value) in offer.note.fields() {
        description.push_str(&format!("\n{field}: {value}"));
    }
    bot.send_invoice(
        chat,
        clip(&offer.product.name, TITLE_MAX),
        clip(&description, DESCRIPTION_MAX),
        checkout.payload.clone(),
        "XTR",
        vec![LabeledPrice::new(
            clip(
                &format!("{} × {}", offer.product.name, offer.quantity.get()),
                TITLE_MAX,
            ),
            amount,
        )],
    )
    .await?;
    Ok(())
}

/// Demo mode: the purchase is recorded as if paid (zero Stars), so a
/// newcomer sees the whole flow against the built-in simulator.
async fn demo_purchase(
    bot: &Bot,
    shop: &Shop,
    chat: ChatId,
    lang: Language,
    user: UserId,
    offer: &intake::Offer,
) -> HandlerResult {
    let purchase = offer.unpaid_purchase(user, chat.0, lang, PurchaseSource::Demo);
    let id = shop.store.insert_purchase(&purchase, shop.now()).await?;
    shop.engine.wake();
    let text = format!(
        "{}\n{}",
        t(lang, "demo-banner"),
        progress_text(
            lang,
            id,
            &offer.product.name,
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
    if q.currency != "XTR" || i64::from(q.total_amount) != checkout.stars {
        return Ok(Some("checkout-price-changed".to_owned()));
    }
    let Some(product) = shop.store.product(&checkout.product_id).await? else {
        return Ok(Some("checkout-unavailable".to_owned()));
    };
    match intake::check(
        &product,
        checkout.quantity.get(),
        &checkout.note,
        shop.now(),
        shop.catalog_max_age,
    ) {
        Ok(offer) if offer.stars == checkout.stars => {
            // Stars taken for what the supplier balance cannot pay would be
            // held and refunded an hour later: refused now instead.
            let cost = offer
                .product
                .wholesale
                .or(checkout.unit_price)
                .and_then(|unit| unit.times(checkout.quantity.get()));
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
/// engine; an unknown invoice alerts the admins.
async fn record(shop: &Shop, star: &StarPayment) -> anyhow::Result<PaymentOutcome> {
    let outcome = shop.store.record_payment(star, shop.now()).await?;
    match outcome {
        PaymentOutcome::Ordered(id) => {
            tracing::info!(purchase = id, stars = star.total_amount, "payment recorded");
            shop.engine.wake();
        }
        PaymentOutcome::Refunding(id, reason) => {
            tracing::warn!(purchase = id, reason = reason.as_str(), "payment to refund");
        }
        PaymentOutcome::Duplicate(_) => {}
        PaymentOutcome::UnknownInvoice => {
            let key = format!("unknown_payment:{}", star.charge_id);
            let text = format!(
                "A payment of {} Stars from user {} names no invoice of ours; refund it by hand if it is not explained.",
                star.total_amount, star.user_id.0
            );
            shop.store
                .raise_alert(
                    AlertKind::UnknownPayment,
                    None,
                    Some(&key),
                    &text,
                    shop.now(),
                )
                .await?;
        }
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
                let text =
                    progress_text(lang, id, &p.product_name, p.quantity, "progress-ordering");
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
        PaymentOutcome::UnknownInvoice => {
            say(bot, chat, t(lang, "payment-unknown")).await;
        }
        PaymentOutcome::Duplicate(_) => {}
    }
    Ok(())
}

/// Pages of `getStarTransactions` read per sweep, at most.
const SWEEP_PAGES: u32 = 10;
const SWEEP_PAGE: u8 = 100;

/// Finds incoming Stars payments with no purchase row (their update was
/// lost) and records them as their update would have; a charge already
/// refunded is left alone. Returns how many were recovered.
pub async fn sweep_star_transactions(bot: &Bot, shop: &Shop) -> anyhow::Result<usize> {
    use teloxide::types::{TransactionPartner, TransactionPartnerUserKind};
    let mut recovered = 0;
    let mut refunded = std::collections::HashSet::new();
    let mut incoming = Vec::new();
    for page in 0..SWEEP_PAGES {
        let batch = bot
            .get_star_transactions()
            .offset(page * u32::from(SWEEP_PAGE))
            .limit(SWEEP_PAGE)
            .await?;
        let n = batch.transactions.len();
        for tx in batch.transactions {
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
            incoming.push((tx.id.0.clone(), partner.user.clone(), payload, tx.amount));
        }
        if n < usize::from(SWEEP_PAGE) {
            break;
        }
    }
    for (charge, from, payload, amount) in incoming {
        if refunded.contains(&charge) || shop.store.purchase_by_charge(&charge).await?.is_some() {
            continue;
        }
        let Some(user) = user_id(&from) else { continue };
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
        if !matches!(outcome, PaymentOutcome::Duplicate(_)) {
            recovered += 1;
            tracing::warn!(?outcome, "recovered a payment whose update was lost");
            tell_payer(bot, shop, ChatId(user.0), lang, outcome).await?;
        }
    }
    Ok(recovered)
}
