//! Purchases that enter without the bot: paid outside Telegram (a shop
//! owner's manual order, a support case), checked by the same intake as the
//! bot's (the product freshly read from the supplier, priced and read as
//! the catalog sync does), and handed to the same engine.
//!
//! A caller that may repeat itself (a script retried after a timeout, a
//! support tool clicked twice) gives an idempotency key: however often the
//! request is made under it, one purchase is recorded.

use rust_decimal::Decimal;

use super::{IntakeError, Offer};
use crate::catalog::{self, CatalogConfig};
use crate::clock::Millis;
use crate::domain::{Language, Note, ProductId, PurchaseSource, Quantity, UserId};
use crate::foxreload::{FoxReload, RejectCode, SupplierError};
use crate::store::{NewPurchase, Purchase, Store, StoreError};

/// Longest idempotency key a caller may give.
pub const MAX_IDEMPOTENCY_KEY: usize = 200;

/// A caller's name for one request (`foxbot purchase --idempotency-key`):
/// however often the request is repeated under it, one purchase is
/// recorded. 1 to [`MAX_IDEMPOTENCY_KEY`] printable ASCII characters, so
/// that it can be typed, shown and compared byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

/// Why a text is not an [`IdempotencyKey`]. The text itself is not
/// repeated: it may hold characters a terminal should not print.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadIdempotencyKey {
    #[error(
        "the idempotency key is empty; give 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters"
    )]
    Empty,
    #[error(
        "the idempotency key is {0} characters long; give 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters"
    )]
    TooLong(usize),
    #[error(
        "the idempotency key holds U+{:04X}; give 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters",
        u32::from(*.0)
    )]
    NotPrintable(char),
}

impl IdempotencyKey {
    pub fn parse(text: &str) -> Result<Self, BadIdempotencyKey> {
        if text.is_empty() {
            return Err(BadIdempotencyKey::Empty);
        }
        // Printable ASCII: space to '~'. No control characters, no
        // look-alike Unicode that would make two keys seem one.
        if let Some(c) = text.chars().find(|c| !matches!(c, ' '..='~')) {
            return Err(BadIdempotencyKey::NotPrintable(c));
        }
        if text.len() > MAX_IDEMPOTENCY_KEY {
            return Err(BadIdempotencyKey::TooLong(text.len()));
        }
        Ok(IdempotencyKey(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone)]
pub struct ManualPurchase {
    pub user: UserId,
    pub product: ProductId,
    pub quantity: Quantity,
    pub note: Note,
}

/// What a manual purchase did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// A new purchase, in state `ordering`: a running engine orders it.
    New(i64),
    /// The idempotency key had already recorded this very request as
    /// purchase `.0`; nothing new was recorded.
    Already(i64),
}

impl Recorded {
    /// The purchase the request stands for, new or not.
    pub fn id(self) -> i64 {
        match self {
            Recorded::New(id) | Recorded::Already(id) => id,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ManualError {
    #[error("the supplier has no product {0}")]
    UnknownProduct(ProductId),
    /// The supplier's row is one a catalog sync would skip.
    #[error("the supplier's product {id} cannot be sold: {problem}")]
    BadProduct { id: ProductId, problem: String },
    /// The shared intake refused the request.
    #[error("cannot buy {product}: {reason}")]
    Refused {
        product: String,
        reason: IntakeError,
    },
    /// The key already recorded a purchase of something else: neither is
    /// what the caller asked for, so nothing is recorded.
    #[error(
        "idempotency key \"{key}\" was used for a different request: purchase #{purchase} is {recorded}; nothing recorded"
    )]
    KeyReused {
        key: IdempotencyKey,
        purchase: i64,
        recorded: String,
    },
    #[error("cannot check the product with the supplier: {0}")]
    Supplier(#[from] SupplierError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks the request as [`record_once`] does, with no key and the pricing
/// of a shop with no markup at one Star per US dollar: for callers without
/// the shop's settings (tests, tools). A manual purchase pays no Stars, so
/// the rate only decides whether the supplier's price converts at all.
pub async fn record(
    store: &Store,
    supplier: &FoxReload,
    req: &ManualPurchase,
    now: Millis,
) -> Result<i64, ManualError> {
    let pricing = CatalogConfig {
        categories: Vec::new(),
        markup_percent: Decimal::ZERO,
        stars_per_usd: Decimal::ONE,
        max_age: catalog::DEFAULT_MAX_AGE,
        sync_every: catalog::DEFAULT_SYNC_EVERY,
    };
    Ok(record_once(store, supplier, &pricing, req, None, now)
        .await?
        .id())
}

/// Reads the product from the supplier, checks the request with the one
/// intake ([`super::check`], as the bot does) and records the purchase in
/// state `ordering`: no Stars, source `manual`.
///
/// With a key, the request is recorded once: a key that already recorded
/// this request gives [`Recorded::Already`], one that recorded another
/// request gives [`ManualError::KeyReused`]. The key is written by the
/// purchase's own INSERT; its UNIQUE index, not the read before it,
/// settles callers racing with one key.
pub async fn record_once(
    store: &Store,
    supplier: &FoxReload,
    pricing: &CatalogConfig,
    req: &ManualPurchase,
    key: Option<&IdempotencyKey>,
    now: Millis,
) -> Result<Recorded, ManualError> {
    if let Some(key) = key
        && let Some(earlier) = store.purchase_by_idempotency_key(key.as_str()).await?
    {
        return repeated(store, supplier, pricing, req, key, &earlier, now).await;
    }
    let offer = check(store, supplier, pricing, req, now).await?;
    let new = purchase_of(&offer, req.user);
    let Some(key) = key else {
        return Ok(Recorded::New(store.insert_purchase(&new, now).await?));
    };
    if let Some(id) = store.insert_purchase_once(&new, key.as_str(), now).await? {
        return Ok(Recorded::New(id));
    }
    // Another run with this key recorded its purchase after our read above.
    let earlier = store
        .purchase_by_idempotency_key(key.as_str())
        .await?
        .ok_or_else(|| {
            StoreError::Corrupt(format!(
                "idempotency key \"{key}\" is taken, but no purchase holds it"
            ))
        })?;
    let sale = &new.sale;
    if same_order(&earlier, new.user_id, &sale.product_id, sale.quantity)
        && earlier.note == sale.note
    {
        Ok(Recorded::Already(earlier.id))
    } else {
        Err(key_reused(key, &earlier))
    }
}

/// A request under a key that already recorded `earlier`: answered from
/// our own table (the product may have sold out since: the request was
/// accepted when it was first made).
async fn repeated(
    store: &Store,
    supplier: &FoxReload,
    pricing: &CatalogConfig,
    req: &ManualPurchase,
    key: &IdempotencyKey,
    earlier: &Purchase,
    now: Millis,
) -> Result<Recorded, ManualError> {
    if !same_order(earlier, req.user, &req.product, req.quantity) {
        return Err(key_reused(key, earlier));
    }
    if earlier.note == req.note {
        return Ok(Recorded::Already(earlier.id));
    }
    // Only the note differs as typed. It may be the same note once checked
    // (an option's spelling), so the intake decides; a note it refuses is
    // not the one recorded either.
    match check(store, supplier, pricing, req, now).await {
        Ok(offer) if offer.note == earlier.note => Ok(Recorded::Already(earlier.id)),
        Ok(_)
        | Err(
            ManualError::Refused { .. }
            | ManualError::BadProduct { .. }
            | ManualError::UnknownProduct(_),
        ) => Err(key_reused(key, earlier)),
        Err(e) => Err(e),
    }
}

/// The request as an offer: the product read from the supplier now,
/// checked and priced as a catalog sync would, then the shared intake.
async fn check(
    store: &Store,
    supplier: &FoxReload,
    pricing: &CatalogConfig,
    req: &ManualPurchase,
    now: Millis,
) -> Result<Offer, ManualError> {
    // The synced catalog answers without a supplier call: a busy shop's key
    // has no request to spare, and a 429 would refuse the purchase. The
    // supplier is asked only about a product the catalog does not hold
    // fresh (never synced, or its row is stale).
    let product = match store.product(&req.product).await? {
        Some(product)
            if !matches!(
                product.sellable(now, pricing.max_age),
                Err(crate::store::Unavailable::Stale)
            ) =>
        {
            product
        }
        _ => from_supplier(supplier, pricing, req, now).await?,
    };
    super::check(
        &product,
        req.quantity.get(),
        &req.note,
        now,
        pricing.max_age,
    )
    .map_err(|reason| ManualError::Refused {
        product: product.name.clone(),
        reason,
    })
}

/// The product as the supplier shows it now, priced as a catalog sync
/// would (fresh at `now`, whatever the maximum age).
async fn from_supplier(
    supplier: &FoxReload,
    pricing: &CatalogConfig,
    req: &ManualPurchase,
    now: Millis,
) -> Result<crate::store::CatalogProduct, ManualError> {
    let product = match supplier.product(&req.product).await {
        Ok(p) => p,
        Err(e) if e.is_code(&RejectCode::NotFound) => {
            return Err(ManualError::UnknownProduct(req.product.clone()));
        }
        Err(e) => return Err(e.into()),
    };
    catalog::product_from_supplier(product, pricing, now).map_err(|problem| {
        ManualError::BadProduct {
            id: req.product.clone(),
            problem,
        }
    })
}

/// The purchase row of an accepted manual request: paid outside Telegram,
/// so no Stars; the buyer's chat is their user id.
fn purchase_of(offer: &Offer, user: UserId) -> NewPurchase {
    offer.unpaid_purchase(user, user.0, Language::En, PurchaseSource::Manual)
}

/// A key names one request: the same buyer, product, quantity and note
/// fields. Anything else under it is refused rather than answered with a
/// purchase of something the caller did not ask for.
fn same_order(earlier: &Purchase, user: UserId, product: &ProductId, quantity: Quantity) -> bool {
    earlier.user_id == user && earlier.product_id == *product && earlier.quantity == quantity
}

fn key_reused(key: &IdempotencyKey, earlier: &Purchase) -> ManualError {
    let mut recorded = format!(
        "{} × {} for user {}",
        earlier.quantity.get(),
        earlier.product_id,
        earlier.user_id.0
    );
    for (field, value) in earlier.note.fields() {
        recorded.push_str(&format!(" --note {field}={value}"));
    }
    ManualError::KeyReused {
        key: key.clone(),
        purchase: earlier.id,
        recorded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idempotency_key_is_1_to_200_printable_ascii_characters() {
        for ok in ["k", "order 2024-05-01 #7", "~!@", &"x".repeat(200)] {
            assert_eq!(IdempotencyKey::parse(ok).unwrap().as_str(), ok);
        }
        assert_eq!(IdempotencyKey::parse(""), Err(BadIdempotencyKey::Empty));
        assert_eq!(
            IdempotencyKey::parse(&"x".repeat(201)),
            Err(BadIdempotencyKey::TooLong(201))
        );
        assert_eq!(
            IdempotencyKey::parse("a\tb"),
            Err(BadIdempotencyKey::NotPrintable('\t'))
        );
        assert_eq!(
            IdempotencyKey::parse("caf\u{e9}"),
            Err(BadIdempotencyKey::NotPrintable('\u{e9}'))
        );
        assert_eq!(
            BadIdempotencyKey::NotPrintable('\u{e9}').to_string(),
            "the idempotency key holds U+00E9; give 1 to 200 printable ASCII characters"
        );
    }
}
