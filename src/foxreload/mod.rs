//! FoxReload, the wholesale supplier: a typed client (`client`), its error
//! classes (`error`), the one call budget (`budget`), and a simulator of the
//! API for tests and demos (`sim`).

pub mod budget;
pub mod client;
pub mod error;
pub mod model;
pub mod sim;

pub use budget::Budget;
pub use client::{ClientOptions, FoxReload, NewOrder, WriteSlot};
pub use error::{RejectCode, Rejection, SupplierError};
pub use model::{
    Balance, Category, Code, HistoryRow, Likeness, Order, OrderPage, OrderStatus, Product, Tally,
    UnreadableRow,
};
