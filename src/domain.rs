//! Small typed values built once at the edge (parse, don't validate).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

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

/// An exact amount of money (never a float). Parses from JSON strings and
/// JSON numbers alike without passing through `f64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(Decimal);

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    pub fn new(value: Decimal) -> Self {
        Money(value.normalize())
    }

    /// Parses `"12.34"`, `"12"`, `"-1.5"` or `"1.2e3"`; surrounding spaces are
    /// tolerated, anything else is refused.
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let t = text.trim();
        if t.is_empty() || t.len() > 64 {
            return Err(invalid("money", "expected a decimal number"));
        }
        let parsed = if t.contains(['e', 'E']) {
            Decimal::from_scientific(t)
        } else {
            Decimal::from_str_exact(t)
        };
        parsed
            .map(Money::new)
            .map_err(|_| invalid("money", format!("{t:?} is not an exact decimal number")))
    }

    pub fn decimal(self) -> Decimal {
        self.0
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    pub fn times(self, quantity: i64) -> Option<Money> {
        self.0.checked_mul(Decimal::from(quantity)).map(Money::new)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for Money {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::parse(s)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Take the raw JSON text so a number like 12.34 never becomes an f64.
        let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
        let text = raw.get();
        let literal = if text.starts_with('"') {
            serde_json::from_str::<String>(text).map_err(serde::de::Error::custom)?
        } else if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            text.to_owned()
        } else {
            return Err(serde::de::Error::custom(
                "money: expected a string or a number",
            ));
        };
        Money::parse(&literal).map_err(serde::de::Error::custom)
    }
}

/// An amount of Telegram Stars (XTR), always positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Stars(i64);

impl Stars {
    /// A bound that refuses absurd amounts (a misplaced markup, a price in
    /// the wrong currency) before they reach an invoice.
    pub const MAX: i64 = 100_000;

    pub fn new(amount: i64) -> Result<Self, InvalidValue> {
        if (1..=Self::MAX).contains(&amount) {
            Ok(Stars(amount))
        } else {
            Err(invalid(
                "stars",
                format!("{amount} is outside 1..={}", Self::MAX),
            ))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Stars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One delivered code, verbatim: a string, or an object such as
/// `{code, pin}`. Its `Debug` never shows the value, so a code cannot reach
/// a log line by accident.
#[derive(Clone, PartialEq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Code(pub serde_json::Value);

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Code(<redacted>)")
    }
}

impl Code {
    /// Human-readable text of the code, for the buyer's message only.
    pub fn render(&self) -> String {
        fn scalar(v: &serde_json::Value) -> String {
            match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            }
        }
        match &self.0 {
            serde_json::Value::Object(fields) => fields
                .iter()
                .map(|(k, v)| format!("{k}: {}", scalar(v)))
                .collect::<Vec<_>>()
                .join(", "),
            serde_json::Value::Array(items) => {
                items.iter().map(scalar).collect::<Vec<_>>().join(", ")
            }
            other => scalar(other),
        }
    }
}

/// Our own reference for a purchase intent, fixed before any supplier call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientRef(Uuid);

impl ClientRef {
    pub fn generate() -> Self {
        ClientRef(Uuid::now_v7())
    }

    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        Uuid::parse_str(text)
            .map(ClientRef)
            .map_err(|_| invalid("client_ref", "expected a UUID"))
    }
}

impl fmt::Display for ClientRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

fn check_identifier(what: &'static str, text: &str) -> Result<(), InvalidValue> {
    if text.is_empty() || text.len() > 128 {
        return Err(invalid(what, "expected 1 to 128 characters"));
    }
    if !text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
    {
        return Err(invalid(
            what,
            "only letters, digits, '-', '_', '.' and ':' are allowed",
        ));
    }
    Ok(())
}

/// The supplier's id of an order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct SupplierOrderId(String);

impl SupplierOrderId {
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        check_identifier("supplier order id", text)?;
        Ok(SupplierOrderId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for SupplierOrderId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SupplierOrderId::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for SupplierOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The newest supplier order known to exist at some instant: orders of a
/// signature at or below it existed before an attempt that records it, so
/// they are never that attempt's order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Watermark {
    /// The account had no orders at all.
    Empty,
    /// The order at the top of the history.
    Order(SupplierOrderId),
}

impl Watermark {
    /// As kept in the database: `""` for [`Watermark::Empty`].
    pub fn parse_stored(text: &str) -> Result<Self, InvalidValue> {
        if text.is_empty() {
            Ok(Watermark::Empty)
        } else {
            SupplierOrderId::parse(text).map(Watermark::Order)
        }
    }

    pub fn as_stored(&self) -> &str {
        match self {
            Watermark::Empty => "",
            Watermark::Order(id) => id.as_str(),
        }
    }

    pub fn order(&self) -> Option<&SupplierOrderId> {
        match self {
            Watermark::Empty => None,
            Watermark::Order(id) => Some(id),
        }
    }
}

impl fmt::Display for Watermark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Watermark::Empty => f.write_str("(no orders)"),
            Watermark::Order(id) => f.write_str(id.as_str()),
        }
    }
}

/// The supplier's id of a product.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ProductId(String);

impl ProductId {
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        check_identifier("product id", text)?;
        Ok(ProductId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for ProductId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ProductId::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for ProductId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How many units of a product one purchase asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Quantity(i64);

impl Quantity {
    pub const MAX: i64 = 1_000;

    pub fn new(n: i64) -> Result<Self, InvalidValue> {
        if (1..=Self::MAX).contains(&n) {
            Ok(Quantity(n))
        } else {
            Err(invalid(
                "quantity",
                format!("{n} is outside 1..={}", Self::MAX),
            ))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A character a person cannot see that would still reach the supplier
/// inside a note value: a player id pasted with a zero-width space, or a
/// direction mark that shows `123` while it holds `321`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hidden {
    /// Zero-width space, joiner, non-joiner, word joiner, byte-order mark.
    ZeroWidth(char),
    /// A bidirectional mark, embedding, override or isolate.
    Bidi(char),
}

impl Hidden {
    /// The first hidden character in `text`, if any.
    pub fn find(text: &str) -> Option<Hidden> {
        text.chars().find_map(|c| match c {
            '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{180E}' => {
                Some(Hidden::ZeroWidth(c))
            }
            '\u{200E}'
            | '\u{200F}'
            | '\u{061C}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}' => Some(Hidden::Bidi(c)),
            _ => None,
        })
    }

    /// The character as `U+200B`, to name it without showing it.
    pub fn code(self) -> String {
        let (Hidden::ZeroWidth(c) | Hidden::Bidi(c)) = self;
        format!("U+{:04X}", u32::from(c))
    }
}

/// The buyer's data for a product (player id, account e-mail…), kept in a
/// canonical form so that equal notes compare and serialise equally.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Note(BTreeMap<String, String>);

impl Note {
    const MAX_FIELDS: usize = 16;
    const MAX_VALUE: usize = 256;

    pub fn new(fields: BTreeMap<String, String>) -> Result<Self, InvalidValue> {
        if fields.len() > Self::MAX_FIELDS {
            return Err(invalid("note", "too many fields"));
        }
        let mut clean = BTreeMap::new();
        for (key, value) in fields {
            check_identifier("note field name", &key)?;
            let value = value.trim().to_owned();
            if value.is_empty() {
                return Err(invalid("note", format!("{key} is empty")));
            }
            if let Some(hidden) = Hidden::find(&value) {
                return Err(invalid(
                    "note",
                    format!("{key} holds an invisible character ({})", hidden.code()),
                ));
            }
            if value.chars().count() > Self::MAX_VALUE || value.chars().any(char::is_control) {
                return Err(invalid(
                    "note",
                    format!(
                        "{key} must be one line of at most {} characters",
                        Self::MAX_VALUE
                    ),
                ));
            }
            clean.insert(key, value);
        }
        Ok(Note(clean))
    }

    /// `k=v` pairs as typed on a command line.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = &'a str>) -> Result<Self, InvalidValue> {
        let mut fields = BTreeMap::new();
        for pair in pairs {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| invalid("note", format!("expected key=value, got {pair:?}")))?;
            if fields.insert(k.trim().to_owned(), v.to_owned()).is_some() {
                return Err(invalid("note", format!("{} given twice", k.trim())));
            }
        }
        Note::new(fields)
    }

    /// Reads a note back from the supplier, whose values may be numbers.
    pub fn from_json(value: &serde_json::Value) -> Option<Self> {
        let object = value.as_object()?;
        let mut fields = BTreeMap::new();
        for (k, v) in object {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => return None,
            };
            fields.insert(k.clone(), text);
        }
        Note::new(fields).ok()
    }

    pub fn parse_canonical(text: &str) -> Result<Self, InvalidValue> {
        let fields: BTreeMap<String, String> = serde_json::from_str(text)
            .map_err(|_| invalid("note", "stored note is not a JSON object of strings"))?;
        Note::new(fields)
    }

    pub fn canonical(&self) -> String {
        // A BTreeMap of strings always serialises; keys come out sorted.
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".to_owned())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn fields(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// The names in `required` that this note lacks.
    pub fn missing<'a>(&self, required: &'a [String]) -> Vec<&'a str> {
        required
            .iter()
            .filter(|name| !self.0.contains_key(name.as_str()))
            .map(String::as_str)
            .collect()
    }
}

/// What makes two supplier orders interchangeable: (item, quantity, note).
/// At most one create per signature may be unresolved at a time.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Signature(String);

impl Signature {
    pub fn of(product: &ProductId, quantity: Quantity, note: &Note) -> Self {
        Signature(format!("{}|{}|{}", product, quantity, note.canonical()))
    }

    pub fn from_stored(text: String) -> Self {
        Signature(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A language the bot speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    #[default]
    En,
    Hi,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::En, Language::Hi];

    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Hi => "hi",
        }
    }

    /// Telegram's `language_code` ("hi", "en-US", …) or a stored code;
    /// anything we do not speak falls back to English.
    pub fn from_code(code: Option<&str>) -> Self {
        match code.map(|c| c.split(['-', '_']).next().unwrap_or("")) {
            Some(c) if c.eq_ignore_ascii_case("hi") => Language::Hi,
            _ => Language::En,
        }
    }
}

/// A Telegram user id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub i64);

impl UserId {
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        match text.trim().parse::<i64>() {
            Ok(id) if id > 0 => Ok(UserId(id)),
            _ => Err(invalid(
                "telegram user id",
                format!("expected a positive whole number, got {text:?}"),
            )),
        }
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a purchase stands. Each state knows how to resume after a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PurchaseState {
    /// Paid by the customer; the next step is to start a supplier create.
    Ordering,
    /// A create is about to be, or may have been, sent.
    Submitting,
    /// A create's outcome is unknown; the supplier's history will tell.
    Reconciling,
    /// A supplier order is linked and not yet paid.
    Ordered,
    /// Pay may have been sent; the order's status will tell.
    Paying,
    /// Waiting for the operator (a balance top-up, a key fix) until a deadline.
    OnHold,
    /// Paid at the supplier; the poller watches it.
    WaitingSupplier,
    /// Codes received; sending them to the buyer.
    Delivering,
    /// Returning the customer's Stars.
    Refunding,
    Delivered,
    Refunded,
    /// Closed without a refund: it was not paid in Stars (a manual or demo
    /// purchase); admins were told.
    Cancelled,
    /// Needs a person: admins were alerted and it shows in `/stalled`.
    DeadLetter,
}

impl PurchaseState {
    pub const ALL: [PurchaseState; 13] = [
        PurchaseState::Ordering,
        PurchaseState::Submitting,
        PurchaseState::Reconciling,
        PurchaseState::Ordered,
        PurchaseState::Paying,
        PurchaseState::OnHold,
        PurchaseState::WaitingSupplier,
        PurchaseState::Delivering,
        PurchaseState::Refunding,
        PurchaseState::Delivered,
        PurchaseState::Refunded,
        PurchaseState::Cancelled,
        PurchaseState::DeadLetter,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PurchaseState::Ordering => "ordering",
            PurchaseState::Submitting => "submitting",
            PurchaseState::Reconciling => "reconciling",
            PurchaseState::Ordered => "ordered",
            PurchaseState::Paying => "paying",
            PurchaseState::OnHold => "on_hold",
            PurchaseState::WaitingSupplier => "waiting_supplier",
            PurchaseState::Delivering => "delivering",
            PurchaseState::Refunding => "refunding",
            PurchaseState::Delivered => "delivered",
            PurchaseState::Refunded => "refunded",
            PurchaseState::Cancelled => "cancelled",
            PurchaseState::DeadLetter => "dead_letter",
        }
    }

    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| invalid("purchase state", format!("unknown state {text:?}")))
    }

    /// Nothing more will happen without a person.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            PurchaseState::Delivered
                | PurchaseState::Refunded
                | PurchaseState::Cancelled
                | PurchaseState::DeadLetter
        )
    }

    /// Worked by the purchase workers (as opposed to watched by the poller,
    /// or finished).
    pub fn is_claimable(self) -> bool {
        !self.is_final() && self != PurchaseState::WaitingSupplier
    }
}

impl PurchaseState {
    /// The table of allowed moves: the store refuses any other. Staying in
    /// a non-final state (a reschedule) is always allowed. Nothing leaves a
    /// final state but by an admin's hand (`engine::admin`, the only code
    /// that builds these moves): a dead letter back to work, refunded or
    /// closed; a delivered purchase refunded. No worker ever claims a final
    /// state, so these edges open no path to the engine.
    pub fn may_move_to(self, to: PurchaseState) -> bool {
        use PurchaseState::*;
        match self {
            // Back to work only where no create is sent blindly: a linked
            // order is read by the poller (`waiting_supplier`), a create in
            // doubt is reconciled, and `ordering` only when no order can
            // exist (the admin code decides which, from the attempts).
            DeadLetter => {
                return matches!(
                    to,
                    WaitingSupplier | Reconciling | Ordering | Refunding | Cancelled
                );
            }
            // A partial delivery's refund (the admin code checks that the
            // delivery was partial; the table cannot).
            Delivered => return to == Refunding,
            Refunded | Cancelled => return false,
            _ => {}
        }
        if self == to {
            return true;
        }
        // Any purchase may need a person.
        if to == DeadLetter {
            return true;
        }
        match self {
            Ordering => matches!(to, Submitting | Reconciling | OnHold | Refunding),
            Submitting => matches!(
                to,
                Ordering | Reconciling | Ordered | WaitingSupplier | OnHold | Refunding
            ),
            Reconciling => matches!(to, Ordering | Ordered | WaitingSupplier),
            Ordered => matches!(
                to,
                Ordering | Paying | OnHold | WaitingSupplier | Delivering | Refunding
            ),
            // A pay that may have been sent never leads to a new order.
            Paying => matches!(
                to,
                Ordered | OnHold | WaitingSupplier | Delivering | Refunding
            ),
            OnHold => matches!(
                to,
                Ordering | Ordered | WaitingSupplier | Delivering | Refunding
            ),
            WaitingSupplier => matches!(to, Ordered | Delivering | Refunding),
            Delivering => to == Delivered,
            Refunding => matches!(to, Refunded | Cancelled),
            // Answered above.
            Delivered | Refunded | Cancelled | DeadLetter => false,
        }
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

stored_names! {
    /// What an event row records about a purchase.
    pub enum EventKind {
        Created => "created",
        CreateSent => "create_sent",
        CreateNotSent => "create_not_sent",
        CreateAmbiguous => "create_ambiguous",
        CreateRejected => "create_rejected",
        CreateAbsent => "create_absent",
        ScanClean => "scan_clean",
        PriceRequoted => "price_requoted",
        OrderLinked => "order_linked",
        OrderExpired => "order_expired",
        PaySent => "pay_sent",
        PayNotSent => "pay_not_sent",
        PayPending => "pay_pending",
        OrderPaid => "order_paid",
        OrderUnpaid => "order_unpaid",
        OrderCompleted => "order_completed",
        CodesMissing => "codes_missing",
        OnHold => "on_hold",
        HoldLifted => "hold_lifted",
        RefundNeeded => "refund_needed",
        DeadLetter => "dead_letter",
        StallAlerted => "stall_alerted",
        Delivered => "delivered",
        Refunded => "refunded",
        Cancelled => "cancelled",
        Reschedule => "reschedule",
        Checked => "checked",
        /// A Stars payment was recorded (first thing, keyed by its charge).
        PaymentRecorded => "payment_recorded",
        /// An admin acted on a purchase (who and what in the detail).
        AdminAction => "admin_action",
    }
}

stored_names! {
    /// What an admin alert is about.
    pub enum AlertKind {
        DeadLetter => "dead_letter",
        Refund => "refund",
        Stall => "stall",
        LowBalance => "low_balance",
        SupplierAuth => "supplier_auth",
        UnknownStatus => "unknown_status",
        DoubleCharge => "double_charge",
        CorruptRow => "corrupt_row",
        PartialDelivery => "partial_delivery",
        WorkerPanic => "worker_panic",
        /// A Stars payment no invoice of ours explains: refund it by hand.
        UnknownPayment => "unknown_payment",
        /// A condition started (degraded delivery, dead letters, stalls, a
        /// balance or key problem, the poller stopped).
        Incident => "incident",
        /// That condition cleared.
        Recovered => "recovered",
    }
}

stored_names! {
    /// Why a purchase waits for the operator.
    pub enum HoldReason {
        /// The supplier balance is too low: waiting for a top-up.
        Balance => "balance",
        /// The supplier refuses our key (401/403).
        Auth => "auth",
    }
}

stored_names! {
    /// Where a purchase came from.
    pub enum PurchaseSource {
        /// Paid in Telegram Stars.
        Telegram => "telegram",
        /// Entered by an operator (`foxbot purchase`), paid outside Telegram.
        Manual => "manual",
        /// Demo mode: the built-in simulator, nothing paid.
        Demo => "demo",
    }
}

stored_names! {
    /// Which kind of shop a database belongs to, recorded by the first
    /// start: a demo database (the built-in simulator, nothing paid) never
    /// runs live, and a live one never runs as a demo.
    pub enum ShopMode {
        /// No `FOXRELOAD_API_KEY`: the simulator is the supplier.
        Demo => "demo",
        /// The real supplier, real payments.
        Live => "live",
    }
}

stored_names! {
    /// Why a purchase is refunded: each has its own words for the buyer.
    pub enum RefundReason {
        /// The supplier failed or cancelled the order (or it could not be placed).
        Supplier => "supplier",
        /// The same invoice was paid a second time.
        PaidTwice => "paid_twice",
        /// The amount paid was not the invoice's.
        AmountMismatch => "amount_mismatch",
        /// The product could no longer be sold when the payment arrived.
        Unavailable => "unavailable",
        /// An admin refunded it.
        Admin => "admin",
    }
}

impl fmt::Display for PurchaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_parses_strings_and_numbers_exactly() {
        let from_string: Money = serde_json::from_str("\"12.34\"").unwrap();
        let from_number: Money = serde_json::from_str("12.34").unwrap();
        assert_eq!(from_string, from_number);
        assert_eq!(from_string.to_string(), "12.34");
        // More digits than an exact decimal holds: refused, never rounded.
        assert!(serde_json::from_str::<Money>("0.1000000000000000055511151231257827").is_err());
        let long: Money = serde_json::from_str("1234567.123456789").unwrap();
        assert_eq!(long.to_string(), "1234567.123456789");
        let sci: Money = serde_json::from_str("1.5e2").unwrap();
        assert_eq!(sci.to_string(), "150");
    }

    proptest::proptest! {
        /// Any exact decimal, sent as a JSON string or as a JSON number,
        /// parses to exactly itself.
        #[test]
        fn money_round_trips_exactly_from_strings_and_numbers(
            mantissa in -10_000_000_000_000i64..10_000_000_000_000i64,
            scale in 0u32..=10,
        ) {
            let d = Decimal::new(mantissa, scale);
            let text = d.to_string();
            let from_string: Money = serde_json::from_str(&format!("\"{text}\"")).unwrap();
            let from_number: Money = serde_json::from_str(&text).unwrap();
            proptest::prop_assert_eq!(from_string.decimal(), d);
            proptest::prop_assert_eq!(from_number.decimal(), d);
        }

        /// Arbitrary text never panics the parser.
        #[test]
        fn money_parsing_never_panics(text in "\\PC{0,40}") {
            let _ = Money::parse(&text);
            let _ = serde_json::from_str::<Money>(&text);
        }
    }

    #[test]
    fn money_refuses_what_is_not_a_number() {
        for bad in [
            "true", "null", "[]", "{}", "\"abc\"", "\"\"", "\"1,5\"", "\"NaN\"",
        ] {
            assert!(
                serde_json::from_str::<Money>(bad).is_err(),
                "{bad} was accepted"
            );
        }
    }

    #[test]
    fn equal_notes_give_equal_signatures_whatever_the_order() {
        let product = ProductId::parse("product_1").unwrap();
        let q = Quantity::new(2).unwrap();
        let a = Note::from_pairs(["zone=2", "player_id=77"]).unwrap();
        let b = Note::from_pairs(["player_id=77", "zone=2"]).unwrap();
        assert_eq!(
            Signature::of(&product, q, &a),
            Signature::of(&product, q, &b)
        );
        let c = Note::from_pairs(["player_id=78", "zone=2"]).unwrap();
        assert_ne!(
            Signature::of(&product, q, &a),
            Signature::of(&product, q, &c)
        );
    }

    #[test]
    fn notes_from_the_supplier_accept_numbers_and_refuse_nesting() {
        let n = Note::from_json(&serde_json::json!({"player_id": 77})).unwrap();
        assert_eq!(n, Note::from_pairs(["player_id=77"]).unwrap());
        assert!(Note::from_json(&serde_json::json!({"a": {"b": 1}})).is_none());
    }

    #[test]
    fn identifiers_refuse_hostile_text() {
        assert!(SupplierOrderId::parse("").is_err());
        assert!(SupplierOrderId::parse("a b").is_err());
        assert!(SupplierOrderId::parse("x\n").is_err());
        assert!(SupplierOrderId::parse(&"a".repeat(129)).is_err());
        assert!(SupplierOrderId::parse("3f2a-99_x").is_ok());
    }

    #[test]
    fn language_falls_back_to_english() {
        assert_eq!(Language::from_code(Some("hi-IN")), Language::Hi);
        assert_eq!(Language::from_code(Some("ru")), Language::En);
        assert_eq!(Language::from_code(None), Language::En);
    }
}
