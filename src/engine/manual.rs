//! Purchases that enter without the bot: paid outside Telegram (a shop
//! owner's manual order, a support case), checked against the supplier's
//! catalog, and handed to the same engine.

use crate::domain::{ClientRef, Language, Note, ProductId, Quantity, UserId};
use crate::foxreload::{FoxReload, RejectCode, SupplierError};
use crate::store::{NewPurchase, Store};

#[derive(Debug, Clone)]
pub struct ManualPurchase {
    pub user: UserId,
    pub product: ProductId,
    pub quantity: Quantity,
    pub note: Note,
}

#[derive(Debug, thiserror::Error)]
pub enum ManualError {
    #[error("the supplier has no product {0}")]
    UnknownProduct(ProductId),
    #[error("{0}")]
    Invalid(String),
    #[error("cannot check the product with the supplier: {0}")]
    Supplier(#[from] SupplierError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Checks the request against the product and records the purchase in
/// state `ordering`. Returns its id.
pub async fn record(
    store: &Store,
    supplier: &FoxReload,
    req: &ManualPurchase,
    now: crate::clock::Millis,
) -> Result<i64, ManualError> {
    let product = match supplier.product(&req.product).await {
        Ok(p) => p,
        Err(e) if e.is_code(&RejectCode::NotFound) => {
            return Err(ManualError::UnknownProduct(req.product.clone()));
        }
        Err(e) => return Err(e.into()),
    };
    let qty = req.quantity.get();
    let min = product.order_min_quantity.unwrap_or(1);
    let max = product.order_max_quantity.unwrap_or(Quantity::MAX);
    if qty < min || qty > max {
        return Err(ManualError::Invalid(format!(
            "{} can be bought {min} to {max} at a time, not {qty}",
            product.name
        )));
    }
    if let Some(stock) = product.quantity
        && qty > stock
    {
        return Err(ManualError::Invalid(format!(
            "only {stock} of {} in stock",
            product.name
        )));
    }
    let missing = req.note.missing(&product.required_note_fields);
    if !missing.is_empty() {
        return Err(ManualError::Invalid(format!(
            "{} needs --note {}",
            product.name,
            missing
                .iter()
                .map(|m| format!("{m}=…"))
                .collect::<Vec<_>>()
                .join(" --note ")
        )));
    }
    if let Some(extra) = req
        .note
        .fields()
        .keys()
        .find(|k| !product.required_note_fields.contains(k))
    {
        return Err(ManualError::Invalid(format!(
            "{} does not ask for {extra:?} (it asks for: {})",
            product.name,
            if product.required_note_fields.is_empty() {
                "nothing".to_owned()
            } else {
                product.required_note_fields.join(", ")
            }
        )));
    }
    // Fields with listed options (a server, a region) take one of them.
    for (field, value) in req.note.fields() {
        let options = product
            .note_field_options
            .as_ref()
            .and_then(|o| o.get(field))
            .and_then(|o| o.as_array());
        if let Some(options) = options {
            let allowed: Vec<String> = options
                .iter()
                .map(|o| o.as_str().map_or_else(|| o.to_string(), str::to_owned))
                .collect();
            if !allowed.iter().any(|a| a == value) {
                return Err(ManualError::Invalid(format!(
                    "{field} must be one of: {}",
                    allowed.join(", ")
                )));
            }
        }
    }
    let new = NewPurchase {
        client_ref: ClientRef::generate(),
        user_id: req.user,
        chat_id: req.user.0,
        language: Language::En,
        product_id: req.product.clone(),
        product_name: product.name.chars().take(200).collect(),
        quantity: req.quantity,
        note: req.note.clone(),
        unit_price: product.price,
        currency: product.currency.clone().unwrap_or_else(|| "USD".to_owned()),
        stars: 0,
        source: crate::domain::PurchaseSource::Manual,
        telegram_charge_id: None,
    };
    Ok(store.insert_purchase(&new, now).await?)
}
