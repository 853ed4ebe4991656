//! What a customer does: /start (and deep links), browsing the catalog,
//! choosing a quantity, giving the note fields a product asks for, /orders,
//! /language, /help, /paysupport. Anything else gets a polite answer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use teloxide::prelude::*;
use teloxide::types::{CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, MessageId};

use super::callback::Callback;
use super::{HandlerResult, Shop, admin, escape, payments, say, send, show, t, user_id};
use crate::domain::{Language, Note, ProductId, PurchaseState, UserId};
use crate::i18n::{self, arg, num};
use crate::intake::{self, IntakeError};
use crate::store::{CatalogProduct, PurchaseFilter, Unavailable};

/// Products per page of a category.
const PAGE: i64 = 8;
/// Purchases per page of /orders.
const ORDERS_PAGE: i64 = 8;
/// Longest text we read from a customer; longer is answered politely.
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
        say(&bot, chat, t(lang, "unknown-text")).await;
        return Ok(());
    };
    if text.len() > MAX_INPUT {
        say(&bot, chat, t(lang, "unknown-text")).await;
        return Ok(());
    }
    if let Some((command, argument)) = command(text) {
        return on_command(&bot, &shop, chat, lang, user, &command, argument).await;
    }
    match shop.store.dialogue(user).await? {
        Some(state) => match serde_json::from_value::<Dialogue>(state) {
            Ok(dialogue) => on_note_text(&bot, &shop, chat, lang, user, dialogue, text).await,
            Err(_) => {
                shop.store.clear_dialogue(user).await?;
                say(&bot, chat, t(lang, "unknown-text")).await;
                Ok(())
            }
        },
        None => {
            say(&bot, chat, t(lang, "unknown-text")).await;
            Ok(())
        }
    }
}

/// `/name@bot argument` → ("name", "argument").
fn command(text: &str) -> Option<(String, &str)> {
    let rest = text.strip_prefix('/')?;
    let (head, argument) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let name = head.split('@').next().unwrap_or(head);
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    Some((name.to_ascii_lowercase(), argument.trim()))
}

async fn on_command(
    bot: &Bot,
    shop: &Shop,
    chat: ChatId,
    lang: Language,
    user: UserId,
    command: &str,
    argument: &str,
) -> HandlerResult {
    match command {
        "start" => start(bot, shop, chat, lang, user, argument).await,
        "help" => {
            say(bot, chat, t(lang, "help")).await;
            Ok(())
        }
        "paysupport" => {
            say(bot, chat, t(lang, "paysupport")).await;
            Ok(())
        }
        "cancel" => {
            shop.store.clear_dialogue(user).await?;
            say(bot, chat, t(lang, "cancelled")).await;
            Ok(())
        }
        "orders" => {
            let (text, markup) = orders_view(shop, lang, user, 0).await?;
            send(bot, chat, text, markup).await;
            Ok(())
        }
        "language" => {
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
        "stalled" | "balance" | "order" | "stats" | "audit" if shop.is_admin(user.0) => {
            admin::on_command(bot, shop, chat, lang, user, command, argument).await
        }
        _ => {
            say(bot, chat, t(lang, "unknown-command")).await;
            Ok(())
        }
    }
}

/// `/start`, with the deep links shops post in channels: `p_<id>` opens a
/// product, `buy_<id>` goes straight to buying one.
async fn start(
    bot: &Bot,
    shop: &Shop,
    chat: ChatId,
    lang: Language,
    user: UserId,
    argument: &str,
) -> HandlerResult {
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
        return begin_checkout(bot, shop, chat, lang, user, &product, quantity).await;
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
            let label = match (p.sellable(now, shop.catalog_max_age), p.stars) {
                (Ok(()), Some(stars)) => format!("{} — ⭐ {}", p.name, stars.get()),
                _ => format!("{} — {}", p.name, t(lang, "product-unavailable-short")),
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
    let mut text = format!("<b>{}</b>", escape(&p.name));
    if let Some(d) = &p.description {
        text.push_str(&format!("\n{}", escape(d)));
    }
    let back = match &p.category {
        Some(c) => Callback::Category {
            id: c.clone(),
            page: 0,
        },
        None => Callback::Categories,
    };
    match (p.sellable(shop.now(), shop.catalog_max_age), p.stars) {
        (Ok(()), Some(stars)) => {
            text.push_str(&format!(
                "\n\n{}",
                i18n::text(lang, "product-price", &[("stars", num(stars.get()))])
            ));
            if shop.demo {
                text.push_str(&format!("\n{}", t(lang, "demo-price")));
            }
            if let Some(stock) = p.stock {
                text.push_str(&format!(
                    "\n{}",
                    i18n::text(lang, "product-stock", &[("stock", num(stock))])
                ));
            }
            let max = p
                .max_qty
                .unwrap_or(10)
                .min(p.stock.unwrap_or(i64::MAX))
                .min(100);
            let choices: Vec<i64> = [1, 2, 3, 5, 10]
                .into_iter()
                .map(|n| n.max(p.min_qty))
                .filter(|n| *n <= max)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let row = choices
                .iter()
                .map(|n| {
                    button(
                        format!("× {n}"),
                        &Callback::Quantity {
                            id: p.id.as_str().to_owned(),
                            quantity: *n,
                        },
                    )
                })
                .collect();
            text.push_str(&format!("\n\n{}", t(lang, "product-choose-quantity")));
            Ok((
                text,
                keyboard(vec![row, vec![button(t(lang, "button-back"), &back)]]),
            ))
        }
        (reason, _) => {
            let why = match reason {
                Err(Unavailable::OutOfStock) => "product-out-of-stock",
                _ => "product-unavailable",
            };
            text.push_str(&format!("\n\n{}", t(lang, why)));
            Ok((
                text,
                keyboard(vec![vec![button(t(lang, "button-back"), &back)]]),
            ))
        }
    }
}

/// Buying `quantity` of `product`: the note fields first, if it asks for
/// any, then the invoice.
async fn begin_checkout(
    bot: &Bot,
    shop: &Shop,
    chat: ChatId,
    lang: Language,
    user: UserId,
    product: &CatalogProduct,
    quantity: i64,
) -> HandlerResult {
    // Checked before asking anything: no questions about a product that
    // cannot be bought.
    if let Err(e) = product.sellable(shop.now(), shop.catalog_max_age) {
        say(bot, chat, explain(lang, &IntakeError::Unavailable(e))).await;
        return Ok(());
    }
    let dialogue = Dialogue::Notes {
        product: product.id.as_str().to_owned(),
        quantity,
        values: BTreeMap::new(),
    };
    next_note(bot, shop, chat, lang, user, product, dialogue).await
}

/// Asks the next note field, or makes the offer when all are given.
async fn next_note(
    bot: &Bot,
    shop: &Shop,
    chat: ChatId,
    lang: Language,
    user: UserId,
    product: &CatalogProduct,
    dialogue: Dialogue,
) -> HandlerResult {
    let Dialogue::Notes {
        quantity, values, ..
    } = &dialogue;
    let Some(field) = product
        .note_fields
        .iter()
        .find(|f| !values.contains_key(&f.name))
    else {
        shop.store.clear_dialogue(user).await?;
        let note = Note::new(values.clone())?;
        return payments::offer(bot, shop, chat, lang, user, product, *quantity, note).await;
    };
    shop.store
        .set_dialogue(user, &serde_json::to_value(&dialogue)?, shop.now())
        .await?;
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
            ("product", arg(&escape(&product.name))),
        ],
    );
    send(bot, chat, text, keyboard(rows)).await;
    Ok(())
}

/// A note field's name as the buyer reads it.
fn field_label(lang: Language, name: &str) -> String {
    let key = format!("note-field-{}", name.replace('_', "-"));
    let label = i18n::text(lang, &key, &[]);
    if label == key { name.to_owned() } else { label }
}

async fn on_note_text(
    bot: &Bot,
    shop: &Shop,
    chat: ChatId,
    lang: Language,
    user: UserId,
    dialogue: Dialogue,
    text: &str,
) -> HandlerResult {
    let Dialogue::Notes {
        product,
        quantity,
        mut values,
    } = dialogue;
    let Some(p) = catalog_product(shop, &product).await? else {
        shop.store.clear_dialogue(user).await?;
        say(bot, chat, t(lang, "product-unknown")).await;
        return Ok(());
    };
    let Some(field) = p.note_fields.iter().find(|f| !values.contains_key(&f.name)) else {
        shop.store.clear_dialogue(user).await?;
        return Ok(());
    };
    match intake::note_value(field, text) {
        Ok(value) => {
            values.insert(field.name.clone(), value);
            let next = Dialogue::Notes {
                product,
                quantity,
                values,
            };
            next_note(bot, shop, chat, lang, user, &p, next).await
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

fn state_key(state: PurchaseState) -> &'static str {
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
                    p.product_name,
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
async fn order_view(
    bot: &Bot,
    shop: &Shop,
    chat: ChatId,
    lang: Language,
    user: UserId,
    id: i64,
) -> HandlerResult {
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
            ("product", arg(&escape(&p.product_name))),
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

/// Button presses that are not an admin's.
#[allow(clippy::too_many_arguments)]
pub async fn on_button(
    bot: &Bot,
    shop: &Shop,
    q: &CallbackQuery,
    lang: Language,
    chat: ChatId,
    message: Option<MessageId>,
    callback: Callback,
) -> HandlerResult {
    let Some(user) = user_id(&q.from) else {
        return Ok(());
    };
    // Answered first: a slow step must not leave the button spinning.
    bot.answer_callback_query(q.id.clone()).await?;
    match callback {
        Callback::Categories => {
            let (text, markup) = categories_view(shop, lang).await?;
            show(bot, chat, message, text, markup).await;
        }
        Callback::Category { id, page } => {
            let (text, markup) = category_view(shop, lang, &id, page).await?;
            show(bot, chat, message, text, markup).await;
        }
        Callback::Product { id } => {
            let (text, markup) = product_view(shop, lang, &id).await?;
            show(bot, chat, message, text, markup).await;
        }
        Callback::Quantity { id, quantity } => match catalog_product(shop, &id).await? {
            Some(p) => begin_checkout(bot, shop, chat, lang, user, &p, quantity).await?,
            None => {
                say(bot, chat, t(lang, "product-unknown")).await;
            }
        },
        Callback::NoteOption { index } => {
            let dialogue = shop
                .store
                .dialogue(user)
                .await?
                .and_then(|d| serde_json::from_value::<Dialogue>(d).ok());
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
                (Some(value), Some(d)) => {
                    on_note_text(bot, shop, chat, lang, user, d, &value).await?;
                }
                _ => {
                    say(bot, chat, t(lang, "button-expired")).await;
                }
            }
        }
        Callback::Cancel => {
            shop.store.clear_dialogue(user).await?;
            say(bot, chat, t(lang, "cancelled")).await;
        }
        Callback::Orders { page } => {
            let (text, markup) = orders_view(shop, lang, user, page).await?;
            show(bot, chat, message, text, markup).await;
        }
        Callback::Order { id } => order_view(bot, shop, chat, lang, user, id).await?,
        Callback::Language { code } => {
            let chosen = Language::from_code(Some(&code));
            shop.store.choose_language(user, chosen, shop.now()).await?;
            say(bot, chat, t(chosen, "language-set")).await;
        }
        Callback::Admin { .. } | Callback::Reorder { .. } | Callback::OrphanRefund { .. } => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_read_with_or_without_the_bot_name() {
        assert_eq!(command("/start"), Some(("start".to_owned(), "")));
        assert_eq!(
            command("/start@fox_bot p_product_1"),
            Some(("start".to_owned(), "p_product_1"))
        );
        assert_eq!(command("/ORDERS"), Some(("orders".to_owned(), "")));
        assert_eq!(command("hello"), None);
        assert_eq!(command("/"), None);
        assert_eq!(command("/😀"), None);
    }
}
