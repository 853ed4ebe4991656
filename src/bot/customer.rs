//! What a customer does: /start (and deep links), browsing the catalog,
//! choosing a quantity, giving the note fields a product asks for, /orders,
//! /language, /help. /support, /paysupport and free text that answers no
//! question of the bot's go to the support line (`support`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use super::callback::Callback;
use super::commands::{self, Command};
use super::support::{self, Written};
use super::{
    HandlerResult, Pressed, Shop, Talk, admin, escape, payments, say, send, show, t, user_id,
};
use crate::domain::{Language, Note, ProductId, PurchaseState, UserId};
use crate::i18n::{self, arg, num};
use crate::intake::{self, IntakeError};
use crate::store::{CatalogProduct, PurchaseFilter, Unavailable};

/// Products per page of a category.
const PAGE: i64 = 8;
/// Purchases per page of /orders.
const ORDERS_PAGE: i64 = 8;
/// Longest command or note answer we read; longer is answered politely.
/// (A message for the support line may be longer: `support::MAX_CHARS`.)
const MAX_INPUT: usize = 512;

/// A conversation in progress, kept in `dialogues`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Dialogue {
    /// Asking the note fields of a product, one by one.
    Notes {
        product: String,
        quantity: i64,
        values: BTreeMap<String, String>,
    },
    /// Every note field given, shown with its label for the buyer to
    /// confirm (on to the invoice) or change (asked again from the first).
    Confirm {
        product: String,
        quantity: i64,
        values: BTreeMap<String, String>,
    },
}

/// Every message that is not a payment.
pub async fn on_message(bot: Bot, shop: Shop, msg: Message) -> HandlerResult {
    // A shop talks to its buyers one to one.
    if !msg.chat.is_private() {
        return Ok(());
    }
    let Some(from) = msg.from.as_ref() else {
        return Ok(());
    };
    let Some(user) = user_id(from) else {
        return Ok(());
    };
    let chat = msg.chat.id;
    let lang = shop.language(from, chat.0).await;
    let Some(text) = msg.text() else {
        // A photo or sticker: the support line passes on text only.
        let asked = shop.store.dialogue(user).await?.is_some();
        let key = if asked || shop.is_admin(user.0) {
            "unknown-text"
        } else {
            "support-text-only"
        };
        say(&bot, chat, t(lang, key)).await;
        return Ok(());
    };
    let talk = Talk {
        bot: &bot,
        shop: &shop,
        chat,
        lang,
        user,
    };
    let written = Written {
        message_id: i64::from(msg.id.0),
        from,
        reply_to: msg.reply_to_message().map(|m| i64::from(m.id.0)),
    };
    if let Some((command, argument)) = commands::split(text) {
        return on_command(&talk, &written, &command, argument).await;
    }
    // An admin's reply to a ticket is the shop's answer to its buyer.
    if shop.is_admin(user.0) && support::answer(&talk, &written, text).await? {
        return Ok(());
    }
    on_free_text(&talk, &written, text).await
}

/// Text that is no command: the answer to the note field being asked, or
/// else a message for the support line.
async fn on_free_text(talk: &Talk<'_>, written: &Written<'_>, text: &str) -> HandlerResult {
    let (bot, shop, chat, lang, user) = talk.parts();
    match shop.store.dialogue(user).await? {
        Some(_) if text.len() > MAX_INPUT => {
            say(bot, chat, t(lang, "unknown-text")).await;
            Ok(())
        }
        Some(state) => match serde_json::from_value::<Dialogue>(state) {
            Ok(dialogue) => on_note_text(talk, dialogue, text).await,
            Err(_) => {
                shop.store.clear_dialogue(user).await?;
                say(bot, chat, t(lang, "unknown-text")).await;
                Ok(())
            }
        },
        // Admins answer by replying to a ticket; their own text goes nowhere.
        None if shop.is_admin(user.0) => {
            say(bot, chat, t(lang, "support-admin-hint")).await;
            Ok(())
        }
        None => support::from_buyer(talk, written, text).await,
    }
}

/// A typed command: its name (lower case) and what follows it.
async fn on_command(
    talk: &Talk<'_>,
    written: &Written<'_>,
    name: &str,
    argument: &str,
) -> HandlerResult {
    let (bot, shop, chat, lang, user) = talk.parts();
    let command = Command::parse(name);
    let to_support = matches!(command, Some(Command::Support | Command::PaySupport));
    if argument.len() > MAX_INPUT && !to_support {
        say(bot, chat, t(lang, "unknown-text")).await;
        return Ok(());
    }
    match command {
        Some(Command::Start) => start(talk, argument).await,
        Some(Command::Help) => {
            say(bot, chat, t(lang, "help")).await;
            Ok(())
        }
        Some(Command::Support) if argument.is_empty() => support::ask(talk).await,
        Some(Command::PaySupport) if argument.is_empty() => support::pay_support(talk).await,
        Some(Command::Support | Command::PaySupport) => {
            shop.store.clear_dialogue(user).await?;
            support::from_buyer(talk, written, argument).await
        }
        Some(Command::Cancel) => {
            shop.store.clear_dialogue(user).await?;
            say(bot, chat, t(lang, "cancelled")).await;
            Ok(())
        }
        Some(Command::Orders) => {
            let (text, markup) = orders_view(shop, lang, user, 0).await?;
            send(bot, chat, text, markup).await;
            Ok(())
        }
        Some(Command::Language) => {
            send(
                bot,
                chat,
                t(lang, "language-choose"),
                Some(language_keyboard()),
            )
            .await;
            Ok(())
        }
        // Admin commands: for anyone else, the same answer as any unknown
        // command, so they learn nothing.
        Some(Command::Admin(command)) if shop.is_admin(user.0) => {
            admin::on_command(talk, command, argument).await
        }
        Some(Command::Admin(_)) | None => {
            say(bot, chat, t(lang, "unknown-command")).await;
            Ok(())
        }
    }
}

/// `/start`, with the deep links shops post in channels: `p_<id>` opens a
/// product, `buy_<id>` goes straight to buying one.
async fn start(talk: &Talk<'_>, argument: &str) -> HandlerResult {
    let (bot, shop, chat, lang, _) = talk.parts();
    if let Some(id) = argument.strip_prefix("p_") {
        let (text, markup) = product_view(shop, lang, id).await?;
        send(bot, chat, text, markup).await;
        return Ok(());
    }
    if let Some(id) = argument.strip_prefix("buy_") {
        let Some(product) = catalog_product(shop, id).await? else {
            say(bot, chat, t(lang, "product-unknown")).await;
            return Ok(());
        };
        let quantity = product.min_qty.max(1);
        return begin_checkout(talk, &product, quantity).await;
    }
    let mut text = i18n::text(lang, "welcome", &[]);
    if shop.demo {
        text = format!("{}\n\n{text}", t(lang, "demo-banner"));
    }
    let (list, markup) = categories_view(shop, lang).await?;
    send(bot, chat, format!("{text}\n\n{list}"), markup).await;
    Ok(())
}

async fn catalog_product(shop: &Shop, id: &str) -> anyhow::Result<Option<CatalogProduct>> {
    let Ok(id) = ProductId::parse(id) else {
        return Ok(None);
    };
    Ok(shop.store.product(&id).await?.filter(|p| p.active))
}

fn button(text: String, callback: &Callback) -> Option<InlineKeyboardButton> {
    callback
        .data()
        .map(|data| InlineKeyboardButton::callback(text, data))
}

fn keyboard(rows: Vec<Vec<Option<InlineKeyboardButton>>>) -> Option<InlineKeyboardMarkup> {
    let rows: Vec<Vec<InlineKeyboardButton>> = rows
        .into_iter()
        .map(|r| r.into_iter().flatten().collect::<Vec<_>>())
        .filter(|r| !r.is_empty())
        .collect();
    (!rows.is_empty()).then(|| InlineKeyboardMarkup::new(rows))
}

async fn categories_view(
    shop: &Shop,
    lang: Language,
) -> anyhow::Result<(String, Option<InlineKeyboardMarkup>)> {
    let categories = shop
        .store
        .categories(shop.now(), shop.catalog_max_age)
        .await?;
    if categories.iter().all(|c| c.sellable == 0) {
        return Ok((t(lang, "catalog-empty"), None));
    }
    let rows = categories
        .iter()
        .filter(|c| c.sellable > 0)
        .map(|c| {
            vec![button(
                format!("{} ({})", c.name, c.sellable),
                &Callback::Category {
                    id: c.id.clone(),
                    page: 0,
                },
            )]
        })
        .collect();
    Ok((t(lang, "catalog-choose-category"), keyboard(rows)))
}

async fn category_view(
    shop: &Shop,
    lang: Language,
    category: &str,
    page: u32,
) -> anyhow::Result<(String, Option<InlineKeyboardMarkup>)> {
    let offset = i64::from(page) * PAGE;
    let products = shop.store.products_in(category, offset, PAGE).await?;
    let total = shop.store.count_products_in(category).await?;
    let now = shop.now();
    let mut rows: Vec<Vec<Option<InlineKeyboardButton>>> = products
        .iter()
        .map(|p| {
            let name = shop.product_name(&p.id, lang, &p.name);
            let label = match (p.sellable(now, shop.catalog_max_age), p.stars) {
                (Ok(()), Some(stars)) => format!("{name} — ⭐ {}", stars.get()),
                _ => format!("{name} — {}", t(lang, "product-unavailable-short")),
            };
            vec![button(
                label,
                &Callback::Product {
                    id: p.id.as_str().to_owned(),
                },
            )]
        })
        .collect();
    let mut nav = Vec::new();
    if page > 0 {
        nav.push(button(
            "◀️".to_owned(),
            &Callback::Category {
                id: category.to_owned(),
                page: page - 1,
            },
        ));
    }
    if offset + PAGE < total {
        nav.push(button(
            "▶️".to_owned(),
            &Callback::Category {
                id: category.to_owned(),
                page: page + 1,
            },
        ));
    }
    rows.push(nav);
    rows.push(vec![button(t(lang, "button-back"), &Callback::Categories)]);
    let text = if products.is_empty() {
        t(lang, "catalog-empty")
    } else {
        t(lang, "catalog-choose-product")
    };
    Ok((text, keyboard(rows)))
}

/// A product's card, with the quantities that may be bought now.
async fn product_view(
    shop: &Shop,
    lang: Language,
    id: &str,
) -> anyhow::Result<(String, Option<InlineKeyboardMarkup>)> {
    let Some(p) = catalog_product(shop, id).await? else {
        return Ok((
            t(lang, "product-unknown"),
            keyboard(vec![vec![button(
                t(lang, "button-back"),
                &Callback::Categories,
            )]]),
        ));
    };
    let mut text = format!("<b>{}</b>", escape(shop.product_name(&p.id, lang, &p.name)));
    let description = shop.overrides.description(&p.id, lang);
    if let Some(d) = description.or(p.description.as_deref()) {
        text.push_str(&format!("\n{}", escape(d)));
    }
    let back = match &p.category {
        Some(c) => Callback::Category {
            id: c.clone(),
            page: 0,
        },
        None => Callback::Categories,
    };
    let back = vec![button(t(lang, "button-back"), &back)];
    match (p.sellable(shop.now(), shop.catalog_max_age), p.stars) {
        (Ok(()), Some(stars)) => {
            text.push_str(&price_lines(lang, shop.demo, &p, stars.get()));
            let row = quantity_choices(&p)
                .into_iter()
                .map(|n| {
                    button(
                        format!("× {n}"),
                        &Callback::Quantity {
                            id: p.id.as_str().to_owned(),
                            quantity: n,
                        },
                    )
                })
                .collect();
            Ok((text, keyboard(vec![row, back])))
        }
        (reason, _) => {
            let why = match reason {
                Err(Unavailable::OutOfStock) => "product-out-of-stock",
                _ => "product-unavailable",
            };
            text.push_str(&format!("\n\n{}", t(lang, why)));
            Ok((text, keyboard(vec![back])))
        }
    }
}

/// The card's lines under a product that sells: its price (a demo shop
/// says nothing is charged), its stock, and the question.
fn price_lines(lang: Language, demo: bool, p: &CatalogProduct, stars: i64) -> String {
    let mut text = format!(
        "\n\n{}",
        i18n::text(lang, "product-price", &[("stars", num(stars))])
    );
    if demo {
        text.push_str(&format!("\n{}", t(lang, "demo-price")));
    }
    if let Some(stock) = p.stock {
        text.push_str(&format!(
            "\n{}",
            i18n::text(lang, "product-stock", &[("stock", num(stock))])
        ));
    }
    text.push_str(&format!("\n\n{}", t(lang, "product-choose-quantity")));
    text
}

/// The quantity buttons of a card: 1, 2, 3, 5 and 10, raised to the
/// product's minimum, within its maximum (10 if none), its stock and 100.
fn quantity_choices(p: &CatalogProduct) -> Vec<i64> {
    let max = p
        .max_qty
        .unwrap_or(10)
        .min(p.stock.unwrap_or(i64::MAX))
        .min(100);
    [1, 2, 3, 5, 10]
        .into_iter()
        .map(|n| n.max(p.min_qty))
        .filter(|n| *n <= max)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Buying `quantity` of `product`: the note fields first, if it asks for
/// any, then the invoice.
async fn begin_checkout(talk: &Talk<'_>, product: &CatalogProduct, quantity: i64) -> HandlerResult {
    let (bot, shop, chat, lang, _) = talk.parts();
    // Checked before asking anything: no questions about a product that
    // cannot be bought.
    if let Err(e) = product.sellable(shop.now(), shop.catalog_max_age) {
        say(bot, chat, explain(lang, &IntakeError::Unavailable(e))).await;
        return Ok(());
    }
    next_note(talk, product, quantity, BTreeMap::new()).await
}

/// Asks the next note field; when all are given, shows them to be
/// confirmed, or makes the offer at once for a product that asks none.
async fn next_note(
    talk: &Talk<'_>,
    product: &CatalogProduct,
    quantity: i64,
    values: BTreeMap<String, String>,
) -> HandlerResult {
    let (bot, shop, chat, lang, user) = talk.parts();
    let Some(field) = product
        .note_fields
        .iter()
        .find(|f| !values.contains_key(&f.name))
    else {
        if product.note_fields.is_empty() {
            shop.store.clear_dialogue(user).await?;
            return payments::offer(talk, product, quantity, Note::new(values)?).await;
        }
        let dialogue = Dialogue::Confirm {
            product: product.id.as_str().to_owned(),
            quantity,
            values,
        };
        save_dialogue(shop, user, &dialogue).await?;
        return show_notes(talk, product, &dialogue).await;
    };
    let dialogue = Dialogue::Notes {
        product: product.id.as_str().to_owned(),
        quantity,
        values,
    };
    save_dialogue(shop, user, &dialogue).await?;
    let mut rows: Vec<Vec<Option<InlineKeyboardButton>>> = field
        .options
        .iter()
        .enumerate()
        .take(24)
        .map(|(index, option)| vec![button(option.clone(), &Callback::NoteOption { index })])
        .collect();
    rows.push(vec![button(t(lang, "button-cancel"), &Callback::Cancel)]);
    let text = i18n::text(
        lang,
        "note-ask",
        &[
            ("field", arg(&escape(&field_label(lang, &field.name)))),
            (
                "product",
                arg(&escape(shop.product_name(&product.id, lang, &product.name))),
            ),
        ],
    );
    send(bot, chat, text, keyboard(rows)).await;
    Ok(())
}

/// The note fields given, each under its label in the product's order,
/// with the buttons to confirm them or give them again.
async fn show_notes(
    talk: &Talk<'_>,
    product: &CatalogProduct,
    dialogue: &Dialogue,
) -> HandlerResult {
    let Dialogue::Confirm {
        quantity, values, ..
    } = dialogue
    else {
        return Ok(());
    };
    let lang = talk.lang;
    let mut lines = vec![i18n::text(
        lang,
        "note-confirm-title",
        &[
            (
                "product",
                arg(&escape(talk.shop.product_name(
                    &product.id,
                    lang,
                    &product.name,
                ))),
            ),
            ("quantity", num(*quantity)),
        ],
    )];
    for field in &product.note_fields {
        if let Some(value) = values.get(&field.name) {
            lines.push(i18n::text(
                lang,
                "note-confirm-line",
                &[
                    ("field", arg(&escape(&field_label(lang, &field.name)))),
                    ("value", arg(&escape(value))),
                ],
            ));
        }
    }
    lines.push(String::new());
    lines.push(t(lang, "note-confirm-question"));
    let markup = keyboard(vec![
        vec![
            button(t(lang, "note-confirm-button"), &Callback::NotesConfirm),
            button(t(lang, "note-edit-button"), &Callback::NotesEdit),
        ],
        vec![button(t(lang, "button-cancel"), &Callback::Cancel)],
    ]);
    send(talk.bot, talk.chat, lines.join("\n"), markup).await;
    Ok(())
}

/// The question `user` is being asked, if any (a stored one that no longer
/// reads counts as none).
async fn dialogue_of(shop: &Shop, user: UserId) -> anyhow::Result<Option<Dialogue>> {
    let stored = shop.store.dialogue(user).await?;
    Ok(stored.and_then(|d| serde_json::from_value::<Dialogue>(d).ok()))
}

/// Records the question `user` is being asked now.
async fn save_dialogue(shop: &Shop, user: UserId, dialogue: &Dialogue) -> anyhow::Result<()> {
    let stored = serde_json::to_value(dialogue)?;
    shop.store.set_dialogue(user, &stored, shop.now()).await?;
    Ok(())
}

/// The confirm or edit button under the note fields shown: confirm makes
/// the offer, edit asks every field again from the first. A press when no
/// confirmation is pending (already pressed, or cancelled) is expired.
async fn on_notes_button(talk: &Talk<'_>, confirmed: bool) -> HandlerResult {
    let (bot, shop, chat, lang, user) = talk.parts();
    let dialogue = dialogue_of(shop, user).await?;
    let Some(Dialogue::Confirm {
        product,
        quantity,
        values,
    }) = dialogue
    else {
        say(bot, chat, t(lang, "button-expired")).await;
        return Ok(());
    };
    let Some(p) = catalog_product(shop, &product).await? else {
        shop.store.clear_dialogue(user).await?;
        say(bot, chat, t(lang, "product-unknown")).await;
        return Ok(());
    };
    if !confirmed {
        return next_note(talk, &p, quantity, BTreeMap::new()).await;
    }
    shop.store.clear_dialogue(user).await?;
    payments::offer(talk, &p, quantity, Note::new(values)?).await
}

/// A note field's name as the buyer reads it.
pub(super) fn field_label(lang: Language, name: &str) -> String {
    let key = format!("note-field-{}", name.replace('_', "-"));
    let label = i18n::text(lang, &key, &[]);
    if label == key { name.to_owned() } else { label }
}

/// A note field's value, typed or chosen: kept, and the next one asked.
async fn on_note_text(talk: &Talk<'_>, dialogue: Dialogue, text: &str) -> HandlerResult {
    let (bot, shop, chat, lang, user) = talk.parts();
    let (Dialogue::Notes { product, .. } | Dialogue::Confirm { product, .. }) = &dialogue;
    let Some(p) = catalog_product(shop, product).await? else {
        shop.store.clear_dialogue(user).await?;
        say(bot, chat, t(lang, "product-unknown")).await;
        return Ok(());
    };
    // Text while the fields are shown for confirmation: shown again, with
    // the buttons that answer it.
    let Dialogue::Notes {
        quantity,
        mut values,
        ..
    } = dialogue
    else {
        return show_notes(talk, &p, &dialogue).await;
    };
    let Some(field) = p.note_fields.iter().find(|f| !values.contains_key(&f.name)) else {
        shop.store.clear_dialogue(user).await?;
        return Ok(());
    };
    match intake::note_value(field, text) {
        Ok(value) => {
            values.insert(field.name.clone(), value);
            next_note(talk, &p, quantity, values).await
        }
        Err(problem) => {
            let text = i18n::text(
                lang,
                "note-invalid",
                &[
                    ("field", arg(&escape(&field_label(lang, &field.name)))),
                    ("problem", arg(&escape(&note_problem(lang, &problem)))),
                ],
            );
            say(bot, chat, text).await;
            Ok(())
        }
    }
}

fn note_problem(lang: Language, problem: &intake::NoteProblem) -> String {
    use intake::NoteProblem::*;
    match problem {
        Empty => t(lang, "note-problem-empty"),
        TooLong => i18n::text(
            lang,
            "note-problem-too-long",
            &[("max", num(intake::MAX_NOTE_VALUE as i64))],
        ),
        Control => t(lang, "note-problem-control"),
        Hidden(hidden) => {
            let key = match hidden {
                crate::domain::Hidden::ZeroWidth(_) => "note-problem-zero-width",
                crate::domain::Hidden::Bidi(_) => "note-problem-bidi",
            };
            i18n::text(lang, key, &[("code", arg(&hidden.code()))])
        }
        NotAnOption(options) => i18n::text(
            lang,
            "note-problem-option",
            &[("options", arg(&options.join(", ")))],
        ),
        NotEmail => t(lang, "note-problem-email"),
        NotNumber => t(lang, "note-problem-number"),
    }
}

/// Why a request cannot be sold, in the buyer's language.
pub fn explain(lang: Language, e: &IntakeError) -> String {
    match e {
        IntakeError::Unavailable(Unavailable::OutOfStock) => t(lang, "product-out-of-stock"),
        IntakeError::Unavailable(_) => t(lang, "product-unavailable"),
        IntakeError::Quantity { min, max } => i18n::text(
            lang,
            "quantity-limits",
            &[("min", num(*min)), ("max", num(*max))],
        ),
        IntakeError::Stock(n) => i18n::text(lang, "quantity-stock", &[("stock", num(*n))]),
        IntakeError::MissingNote(f) | IntakeError::UnknownNote(f) => i18n::text(
            lang,
            "note-missing",
            &[("field", arg(&escape(&field_label(lang, f))))],
        ),
        IntakeError::BadNote { field, problem } => i18n::text(
            lang,
            "note-invalid",
            &[
                ("field", arg(&escape(&field_label(lang, field)))),
                ("problem", arg(&escape(&note_problem(lang, problem)))),
            ],
        ),
        IntakeError::TooLarge => t(lang, "quantity-too-large"),
    }
}

fn language_keyboard() -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([[
        InlineKeyboardButton::callback("English", "lang:en"),
        InlineKeyboardButton::callback("हिन्दी", "lang:hi"),
    ]])
}

pub(super) fn state_key(state: PurchaseState) -> &'static str {
    use PurchaseState::*;
    match state {
        Delivered => "state-delivered",
        Refunding => "state-refunding",
        Refunded => "state-refunded",
        Cancelled => "state-cancelled",
        DeadLetter => "state-attention",
        Delivering => "state-delivering",
        _ => "state-in-progress",
    }
}

/// /orders: the buyer's purchases, newest first, each opening to its codes.
async fn orders_view(
    shop: &Shop,
    lang: Language,
    user: UserId,
    page: u32,
) -> anyhow::Result<(String, Option<InlineKeyboardMarkup>)> {
    let offset = i64::from(page) * ORDERS_PAGE;
    let purchases = shop
        .store
        .purchases(&PurchaseFilter {
            states: Vec::new(),
            user_id: Some(user),
            limit: offset + ORDERS_PAGE + 1,
            oldest_first: false,
        })
        .await?;
    if purchases.is_empty() {
        return Ok((t(lang, "orders-none"), None));
    }
    let shown: Vec<_> = purchases
        .iter()
        .skip(usize::try_from(offset).unwrap_or(0))
        .take(ORDERS_PAGE as usize)
        .collect();
    let mut rows: Vec<Vec<Option<InlineKeyboardButton>>> = shown
        .iter()
        .map(|p| {
            vec![button(
                format!(
                    "#{} {} × {} — {}",
                    p.id,
                    shop.product_name(&p.product_id, lang, &p.product_name),
                    p.quantity.get(),
                    t(lang, state_key(p.state))
                ),
                &Callback::Order { id: p.id },
            )]
        })
        .collect();
    let mut nav = Vec::new();
    if page > 0 {
        nav.push(button(
            "◀️".to_owned(),
            &Callback::Orders { page: page - 1 },
        ));
    }
    if purchases.len() as i64 > offset + ORDERS_PAGE {
        nav.push(button(
            "▶️".to_owned(),
            &Callback::Orders { page: page + 1 },
        ));
    }
    rows.push(nav);
    Ok((t(lang, "orders-title"), keyboard(rows)))
}

/// One purchase of the presser's, with its codes again: a view, not a
/// delivery (nothing is recorded).
async fn order_view(talk: &Talk<'_>, id: i64) -> HandlerResult {
    let (bot, shop, chat, lang, user) = talk.parts();
    let Some(p) = shop.store.purchase(id).await?.filter(|p| p.user_id == user) else {
        // Someone else's, or none: the same answer.
        say(bot, chat, t(lang, "order-not-found")).await;
        return Ok(());
    };
    let status = i18n::text(
        lang,
        "order-status",
        &[
            ("purchase", num(p.id)),
            (
                "product",
                arg(&escape(shop.product_name(
                    &p.product_id,
                    lang,
                    &p.product_name,
                ))),
            ),
            ("quantity", num(p.quantity.get())),
            ("state", arg(&t(lang, state_key(p.state)))),
        ],
    );
    match shop.store.viewable_codes(p.id).await? {
        Some(codes) if !codes.is_empty() => {
            for part in crate::delivery::message_parts(&p, lang, &codes) {
                let markup = super::telegram::copy_buttons(&part.copy);
                send(bot, chat, part.html, markup).await;
            }
        }
        _ => {
            say(bot, chat, status).await;
        }
    }
    Ok(())
}

/// Button presses that are not an admin's: browsing replaces the message
/// the button was on; anything else answers below it.
pub async fn on_button(pressed: &Pressed<'_>, callback: Callback) -> HandlerResult {
    let (bot, shop, q, lang, chat, message) = pressed.parts();
    let Some(user) = user_id(&q.from) else {
        return Ok(());
    };
    // Answered first: a slow step must not leave the button spinning.
    bot.answer_callback_query(q.id.clone()).await?;
    let talk = Talk {
        bot,
        shop,
        chat,
        lang,
        user,
    };
    match view(&talk, &callback).await? {
        Some((text, markup)) => show(bot, chat, Some(message), text, markup).await,
        None => on_step(&talk, callback).await?,
    }
    Ok(())
}

/// The view a browsing button asks for; `None` for a button that does
/// something instead.
async fn view(
    talk: &Talk<'_>,
    callback: &Callback,
) -> anyhow::Result<Option<(String, Option<InlineKeyboardMarkup>)>> {
    let (_, shop, _, lang, user) = talk.parts();
    Ok(Some(match callback {
        Callback::Categories => categories_view(shop, lang).await?,
        Callback::Category { id, page } => category_view(shop, lang, id, *page).await?,
        Callback::Product { id } => product_view(shop, lang, id).await?,
        Callback::Orders { page } => orders_view(shop, lang, user, *page).await?,
        _ => return Ok(None),
    }))
}

/// A button that does something: buy, answer a note field, cancel, open
/// an order, choose the language.
async fn on_step(talk: &Talk<'_>, callback: Callback) -> HandlerResult {
    let (bot, shop, chat, lang, user) = talk.parts();
    match callback {
        Callback::Quantity { id, quantity } => match catalog_product(shop, &id).await? {
            Some(p) => begin_checkout(talk, &p, quantity).await?,
            None => {
                say(bot, chat, t(lang, "product-unknown")).await;
            }
        },
        Callback::NoteOption { index } => on_note_option(talk, index).await?,
        Callback::NotesConfirm => on_notes_button(talk, true).await?,
        Callback::NotesEdit => on_notes_button(talk, false).await?,
        Callback::Cancel => {
            shop.store.clear_dialogue(user).await?;
            say(bot, chat, t(lang, "cancelled")).await;
        }
        Callback::Order { id } => order_view(talk, id).await?,
        Callback::Language { code } => {
            let chosen = Language::from_code(Some(&code));
            shop.store.choose_language(user, chosen, shop.now()).await?;
            say(bot, chat, t(chosen, "language-set")).await;
            // The menu follows the choice; a menu that cannot be set now
            // leaves the old one, and the choice stands.
            let admin = shop.is_admin(user.0);
            if let Err(e) = commands::set_chat_menu(bot, chat, chosen, admin).await {
                tracing::warn!(error = %e, "could not set the chat's command menu");
            }
        }
        // Views (shown by `view`) and admin buttons (routed before here).
        Callback::Categories
        | Callback::Category { .. }
        | Callback::Product { .. }
        | Callback::Orders { .. }
        | Callback::Admin { .. }
        | Callback::Reorder { .. }
        | Callback::OrphanRefund { .. }
        | Callback::CloseTicket { .. } => {}
    }
    Ok(())
}

/// An option of the note field being asked, pressed: as if typed. A
/// press on an old question (the dialogue moved on or ended) is expired.
async fn on_note_option(talk: &Talk<'_>, index: usize) -> HandlerResult {
    let (bot, shop, chat, lang, user) = talk.parts();
    let dialogue = dialogue_of(shop, user).await?;
    let Some(Dialogue::Notes { product, .. }) = &dialogue else {
        say(bot, chat, t(lang, "button-expired")).await;
        return Ok(());
    };
    let option = catalog_product(shop, product).await?.and_then(|p| {
        let Some(Dialogue::Notes { values, .. }) = &dialogue else {
            return None;
        };
        p.note_fields
            .iter()
            .find(|f| !values.contains_key(&f.name))
            .and_then(|f| f.options.get(index).cloned())
    });
    match (option, dialogue) {
        (Some(value), Some(d)) => on_note_text(talk, d, &value).await,
        _ => {
            say(bot, chat, t(lang, "button-expired")).await;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(min_qty: i64, max_qty: Option<i64>, stock: Option<i64>) -> CatalogProduct {
        CatalogProduct {
            id: ProductId::parse("product_1").unwrap(),
            name: "Steam Wallet".to_owned(),
            description: None,
            category: None,
            wholesale: None,
            currency: String::new(),
            stars: None,
            stock,
            min_qty,
            max_qty,
            note_fields: Vec::new(),
            active: true,
            synced_ok: true,
            refreshed_at: 0,
        }
    }

    #[test]
    fn a_card_offers_only_quantities_that_may_be_bought() {
        assert_eq!(quantity_choices(&product(1, None, None)), [1, 2, 3, 5, 10]);
        assert_eq!(quantity_choices(&product(3, None, None)), [3, 5, 10]);
        assert_eq!(quantity_choices(&product(1, Some(4), None)), [1, 2, 3]);
        assert_eq!(quantity_choices(&product(1, None, Some(2))), [1, 2]);
        assert_eq!(
            quantity_choices(&product(1, Some(500), None)),
            [1, 2, 3, 5, 10]
        );
        assert!(quantity_choices(&product(20, None, Some(5))).is_empty());
    }
}
