//! Button data: what each inline button asks for, in at most 64 bytes.
//! Data is parsed strictly; anything else (forged, oversized, from an old
//! version) is answered "expired" and changes nothing. A button only ever
//! touches the presser's own purchases: the handlers check ownership.

use teloxide::prelude::*;
use teloxide::types::CallbackQuery;

use super::{HandlerResult, Pressed, Shop, admin, customer, payments, support, t};

/// Telegram's limit on callback data.
pub const MAX_DATA: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// The category list.
    Categories,
    /// One category's products, a page of them.
    Category { id: String, page: u32 },
    /// A product's card.
    Product { id: String },
    /// Buy this many of a product.
    Quantity { id: String, quantity: i64 },
    /// The n-th option of the note field being asked.
    NoteOption { index: usize },
    /// Stop asking note fields.
    Cancel,
    /// The note fields shown are right: on to the invoice.
    NotesConfirm,
    /// The note fields shown are to be given again, from the first.
    NotesEdit,
    /// The buyer's purchases, a page.
    Orders { page: u32 },
    /// One of the buyer's purchases, with its codes.
    Order { id: i64 },
    /// Switch language.
    Language { code: String },
    /// An admin action on a purchase, asked (`confirm` none) or confirmed
    /// against what the admin was shown.
    Admin {
        action: admin::Action,
        purchase: i64,
        confirm: Option<Confirm>,
    },
    /// An admin's re-order of a purchase's missing units, asked
    /// (`confirmed` false) or confirmed.
    Reorder {
        purchase: i64,
        /// Confirmed, by a button made at this minute since the epoch.
        confirmed: Option<i64>,
    },
    /// An admin refunds a payment no invoice explains (an orphan charge),
    /// asked (`confirmed` false) or confirmed.
    OrphanRefund {
        orphan: i64,
        /// Confirmed, by a button made at this minute since the epoch.
        confirmed: Option<i64>,
    },
    /// An admin closes a support ticket (from /tickets).
    CloseTicket { ticket: i64 },
}

/// What a confirm button carries: the plan the admin saw and when it was
/// shown (`ay:<action>:<purchase>:<fence>:<fingerprint, 8 hex>:<minute>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confirm {
    pub seen: admin::Seen,
    /// When the button was made, in minutes since the Unix epoch.
    pub issued_minute: i64,
}

/// A number written the one way `data` writes it: digits only, no sign,
/// no leading zero.
fn canonical(s: &str) -> Option<i64> {
    let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits && (s == "0" || !s.starts_with('0')))
        .then(|| s.parse::<i64>().ok())
        .flatten()
}

fn fingerprint(s: &str) -> Option<u32> {
    let hex = s.len() == 8 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    hex.then(|| u32::from_str_radix(s, 16).ok()).flatten()
}

fn token_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 48
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl Callback {
    pub fn parse(data: &str) -> Option<Callback> {
        if data.len() > MAX_DATA {
            return None;
        }
        let parts: Vec<&str> = data.split(':').collect();
        let number = |s: &str| s.parse::<u32>().ok().filter(|n| *n < 10_000);
        let id = |s: &str| s.parse::<i64>().ok().filter(|n| *n > 0);
        Some(match parts.as_slice() {
            ["cats"] => Callback::Categories,
            ["cat", c, page] if token_ok(c) => Callback::Category {
                id: (*c).to_owned(),
                page: number(page)?,
            },
            ["p", p] if token_ok(p) => Callback::Product {
                id: (*p).to_owned(),
            },
            ["q", p, n] if token_ok(p) => Callback::Quantity {
                id: (*p).to_owned(),
                quantity: i64::from(number(n)?),
            },
            ["nv", i] => Callback::NoteOption {
                index: number(i)? as usize,
            },
            ["x"] => Callback::Cancel,
            ["nc"] => Callback::NotesConfirm,
            ["ne"] => Callback::NotesEdit,
            ["ol", page] => Callback::Orders {
                page: number(page)?,
            },
            ["o", n] => Callback::Order { id: id(n)? },
            ["lang", code @ ("en" | "hi")] => Callback::Language {
                code: (*code).to_owned(),
            },
            ["a", action, n] => Callback::Admin {
                action: admin::Action::parse(action)?,
                purchase: id(n)?,
                confirm: None,
            },
            ["ay", action, n, fence, print, minute] => Callback::Admin {
                action: admin::Action::parse(action)?,
                purchase: canonical(n).filter(|n| *n > 0)?,
                confirm: Some(Confirm {
                    seen: admin::Seen {
                        fence: canonical(fence)?,
                        fingerprint: fingerprint(print)?,
                    },
                    issued_minute: canonical(minute)?,
                }),
            },
            ["ro", n] => Callback::Reorder {
                purchase: id(n)?,
                confirmed: None,
            },
            ["roy", n, minute] => Callback::Reorder {
                purchase: id(n)?,
                confirmed: Some(canonical(minute)?),
            },
            ["or", n] => Callback::OrphanRefund {
                orphan: id(n)?,
                confirmed: None,
            },
            ["ory", n, minute] => Callback::OrphanRefund {
                orphan: id(n)?,
                confirmed: Some(canonical(minute)?),
            },
            ["tkc", n] => Callback::CloseTicket { ticket: id(n)? },
            _ => return None,
        })
    }

    /// The data to put on a button; `None` if it would not fit (an id too
    /// long), so that no button ever carries data Telegram refuses.
    pub fn data(&self) -> Option<String> {
        let data = match self {
            Callback::Categories => "cats".to_owned(),
            Callback::Category { id, page } => format!("cat:{id}:{page}"),
            Callback::Product { id } => format!("p:{id}"),
            Callback::Quantity { id, quantity } => format!("q:{id}:{quantity}"),
            Callback::NoteOption { index } => format!("nv:{index}"),
            Callback::Cancel => "x".to_owned(),
            Callback::NotesConfirm => "nc".to_owned(),
            Callback::NotesEdit => "ne".to_owned(),
            Callback::Orders { page } => format!("ol:{page}"),
            Callback::Order { id } => format!("o:{id}"),
            Callback::Language { code } => format!("lang:{code}"),
            Callback::Admin {
                action,
                purchase,
                confirm: None,
            } => format!("a:{}:{purchase}", action.as_str()),
            Callback::Admin {
                action,
                purchase,
                confirm: Some(c),
            } => format!(
                "ay:{}:{purchase}:{}:{:08x}:{}",
                action.as_str(),
                c.seen.fence,
                c.seen.fingerprint,
                c.issued_minute
            ),
            Callback::Reorder {
                purchase,
                confirmed: None,
            } => format!("ro:{purchase}"),
            Callback::Reorder {
                purchase,
                confirmed: Some(minute),
            } => format!("roy:{purchase}:{minute}"),
            Callback::OrphanRefund {
                orphan,
                confirmed: None,
            } => format!("or:{orphan}"),
            Callback::OrphanRefund {
                orphan,
                confirmed: Some(minute),
            } => format!("ory:{orphan}:{minute}"),
            Callback::CloseTicket { ticket } => format!("tkc:{ticket}"),
        };
        (Callback::parse(&data).as_ref() == Some(self)).then_some(data)
    }
}

/// Every button press. Answered in every case (or the button spins).
pub async fn on_callback(bot: Bot, shop: Shop, q: CallbackQuery) -> HandlerResult {
    // The chat and message the button is on (none on an inline message).
    let place = q.message.as_ref().map(|m| (m.chat().id, m.id()));
    let lang = shop
        .language(&q.from, place.map_or(q.from.id.0 as i64, |(c, _)| c.0))
        .await;
    let parsed = q.data.as_deref().and_then(Callback::parse);
    let (Some(callback), Some((chat, message))) = (parsed, place) else {
        bot.answer_callback_query(q.id.clone())
            .text(t(lang, "button-expired"))
            .await?;
        return Ok(());
    };
    let pressed = Pressed {
        bot: &bot,
        shop: &shop,
        q: &q,
        lang,
        chat,
        message,
    };
    match callback {
        Callback::Admin {
            action,
            purchase,
            confirm,
        } => admin::on_button(&pressed, action, purchase, confirm).await,
        Callback::Reorder {
            purchase,
            confirmed,
        } => admin::on_reorder_button(&pressed, purchase, confirmed).await,
        Callback::OrphanRefund { orphan, confirmed } => {
            payments::on_orphan_refund(&pressed, orphan, confirmed).await
        }
        Callback::CloseTicket { ticket } => support::on_close_button(&pressed, ticket).await,
        // A buyer's buttons act only in their own private chat: a button
        // on a message forwarded to a group would show codes to the group.
        _ if !own_private_chat(&q) => {
            bot.answer_callback_query(q.id.clone())
                .text(t(lang, "button-private-only"))
                .await?;
            Ok(())
        }
        other => customer::on_button(&pressed, other).await,
    }
}

/// Whether the button was pressed in the presser's own private chat.
fn own_private_chat(q: &CallbackQuery) -> bool {
    q.message.as_ref().is_some_and(|m| {
        let chat = m.chat();
        chat.is_private() && u64::try_from(chat.id.0).is_ok_and(|id| id == q.from.id.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_button_round_trips() {
        let all = [
            Callback::Categories,
            Callback::Category {
                id: "cat_gift_cards".to_owned(),
                page: 2,
            },
            Callback::Product {
                id: "product_01krgf8b".to_owned(),
            },
            Callback::Quantity {
                id: "product_ff_100".to_owned(),
                quantity: 5,
            },
            Callback::NoteOption { index: 3 },
            Callback::Cancel,
            Callback::NotesConfirm,
            Callback::NotesEdit,
            Callback::Orders { page: 1 },
            Callback::Order { id: 42 },
            Callback::Language {
                code: "hi".to_owned(),
            },
            Callback::Admin {
                action: admin::Action::Refund,
                purchase: 7,
                confirm: None,
            },
            Callback::Admin {
                action: admin::Action::RefundAnyway,
                purchase: 7,
                confirm: Some(Confirm {
                    seen: admin::Seen {
                        fence: 0,
                        fingerprint: 0x00ab_cdef,
                    },
                    issued_minute: 29_400_000,
                }),
            },
            Callback::Reorder {
                purchase: 7,
                confirmed: None,
            },
            Callback::Reorder {
                purchase: 7,
                confirmed: Some(29_400_000),
            },
            Callback::OrphanRefund {
                orphan: 3,
                confirmed: Some(29_400_000),
            },
            Callback::OrphanRefund {
                orphan: 3,
                confirmed: None,
            },
            Callback::CloseTicket { ticket: 12 },
        ];
        for c in all {
            let data = c.data().expect("fits");
            assert!(data.len() <= MAX_DATA);
            assert_eq!(Callback::parse(&data), Some(c));
        }
    }

    #[test]
    fn forged_and_oversized_data_is_refused() {
        for bad in [
            "",
            "o:-1",
            "o:0",
            "o:abc",
            "o:1:2",
            "lang:fr",
            "q:p:999999999",
            "p:has space",
            "p:a/b",
            "a:steal:1",
            // A confirmation without what was seen (the old form), or with
            // it written any other way than the one `data` writes.
            "ay:refund:7",
            "ay:refund:7:3:abcdef01",
            "ay:refund:7:3:abcdef0:29400000",
            "ay:refund:7:3:ABCDEF01:29400000",
            "ay:refund:7:+3:abcdef01:29400000",
            "ay:refund:7:03:abcdef01:29400000",
            "ay:refund:0:3:abcdef01:29400000",
            "ay:refund:7:-1:abcdef01:29400000",
            "ay:refund:7:3:abcdef01:",
            "ay:refund:7:3:abcdef01:29400000:1",
            "ro:0",
            "roy:-3",
            "ro:7:1",
            "roy:7",
            "roy:7:029400000",
            "ory:3",
            "ory:3:-1",
            "tkc:0",
            "tkc:-4",
            "tkc:1:2",
            &"p:".repeat(40),
            "cat:x:1;DROP TABLE",
        ] {
            assert_eq!(Callback::parse(bad), None, "{bad:?}");
        }
        let long = Callback::Product { id: "x".repeat(60) };
        assert_eq!(long.data(), None);
    }

    #[test]
    fn a_confirm_button_fits_with_the_largest_realistic_numbers() {
        let c = Callback::Admin {
            action: admin::Action::RefundAnyway,
            purchase: 999_999_999_999,
            confirm: Some(Confirm {
                seen: admin::Seen {
                    fence: 999_999_999_999,
                    fingerprint: u32::MAX,
                },
                issued_minute: 99_999_999,
            }),
        };
        let data = c.data().expect("fits");
        assert!(data.len() <= MAX_DATA, "{data}");
    }

    proptest! {
        #[test]
        fn parsing_never_panics(data in ".{0,80}") {
            let _ = Callback::parse(&data);
        }

        /// A confirmation is read only in the one form it is written in.
        #[test]
        fn a_confirm_button_parses_only_as_written(
            action in prop::sample::select(vec!["refund", "refund_anyway", "retry", "close", "recheck", "steal"]),
            purchase in "[-+0-9]{1,20}",
            fence in "[-+0-9]{1,20}",
            print in "[0-9a-fA-F]{6,9}",
            minute in "[-+0-9]{1,10}",
        ) {
            let data = format!("ay:{action}:{purchase}:{fence}:{print}:{minute}");
            if let Some(c) = Callback::parse(&data) {
                prop_assert_eq!(c.data(), Some(data));
            }
        }
    }
}
