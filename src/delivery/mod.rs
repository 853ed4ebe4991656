//! Delivery: the codes to the buyer exactly once, under a `delivery_log`
//! row claimed before sending, and the Stars back exactly once, under a
//! `refunds` row claimed before `refundStarPayment`.

pub mod render;
