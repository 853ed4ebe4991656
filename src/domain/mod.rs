//! Small typed values built once at the edge (parse, don't validate).
//!
//! One file per seam: `money` (Money, Stars), `ids` (ClientRef, SupplierOrderId,
//! Watermark, ProductId, UserId), `note` (Quantity, Note, Hidden, Signature),
//! `code` (Code), `language` (Language), `overrides` (CatalogOverrides,
//! the shop's per-language product names), `states` (PurchaseState and the kinds
//! stored by name), `reasons` (why a purchase goes to a person or a refund),
//! `phrase` (a text for people as a message id and arguments, worded when shown),
//! `budget` (the supplier call budget's Priority and SharedLimit), `sale`
//! (Sale, what a checkout offers and a purchase records, and the Admission
//! of its payment). Everything is re-exported here: use `crate::domain::X`.

/// Why a value from outside was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {problem}")]
pub struct InvalidValue {
    pub what: &'static str,
    pub problem: String,
}

fn invalid(what: &'static str, problem: impl Into<String>) -> InvalidValue {
    InvalidValue {
        what,
        problem: problem.into(),
    }
}

/// Names a string-kinded enum stored in the database by its snake_case name.
macro_rules! stored_names {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name { $($(#[$vmeta])* $variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }

            pub fn parse(text: &str) -> Result<Self, InvalidValue> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|k| k.as_str() == text)
                    .ok_or_else(|| invalid(stringify!($name), format!("unknown value {text:?}")))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

mod budget;
mod code;
mod ids;
mod language;
mod money;
mod note;
mod overrides;
mod phrase;
mod reasons;
mod sale;
mod states;

pub use budget::{Priority, SharedLimit};
pub use code::Code;
pub use ids::{ClientRef, ProductId, SupplierOrderId, UserId, Watermark};
pub use language::Language;
pub use money::{Money, Stars};
pub use note::{Hidden, Note, Quantity, Signature};
pub use overrides::CatalogOverrides;
pub use phrase::{Arg, Args, Phrase, Span, span};
pub use reasons::{DeadLetterReason, Failure, RefundCause, Stall, SupplierFailure};
pub use sale::{Admission, Sale};
pub use states::{
    AlertKind, EventKind, HoldReason, Owner, PurchaseSource, PurchaseState, RefundReason, ShopMode,
};
