//! foxbot: a Telegram shop for digital goods bought wholesale from FoxReload.
//!
//! The purchase pipeline reads top to bottom: `bot` takes orders and
//! payments, `engine` turns each paid purchase into exactly one paid supplier
//! order (through `foxreload`), and `delivery` sends the codes or refunds the
//! Stars. Everything durable goes through `store`.

pub mod app;
pub mod bench;
pub mod bot;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crash;
pub mod delivery;
pub mod domain;
pub mod engine;
pub mod foxreload;
pub mod i18n;
pub mod intake;
pub mod ops;
pub mod runtime;
pub mod store;
pub mod telemetry;
