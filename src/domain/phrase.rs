//! A text for people, kept as what it says rather than how it reads: a
//! Fluent message id and its arguments. Alerts and the reasons they carry
//! are stored this way and worded only when shown, in the reader's
//! language (`i18n::phrase`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A message id of the locales and the arguments it is worded with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phrase {
    pub id: String,
    #[serde(default)]
    pub args: Args,
}

/// The arguments of a message, by name; stored as a JSON object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Args(BTreeMap<String, Arg>);

/// One argument: a number (plural forms are chosen from it), a text shown
/// as it is (a supplier's reply, an order id), or a phrase worded in the
/// same language as the message around it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Arg {
    Number(i64),
    Text(String),
    Phrase(Phrase),
}

impl Args {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn num(mut self, name: &str, n: i64) -> Self {
        self.0.insert(name.to_owned(), Arg::Number(n));
        self
    }

    pub fn text(mut self, name: &str, text: impl Into<String>) -> Self {
        self.0.insert(name.to_owned(), Arg::Text(text.into()));
        self
    }

    pub fn phrase(mut self, name: &str, phrase: Phrase) -> Self {
        self.0.insert(name.to_owned(), Arg::Phrase(phrase));
        self
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Arg)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn get(&self, name: &str) -> Option<&Arg> {
        self.0.get(name)
    }

    /// The JSON object stored for these arguments.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Arguments read back from their stored JSON object.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

impl Phrase {
    pub fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            args: Args::new(),
        }
    }

    pub fn num(mut self, name: &str, n: i64) -> Self {
        self.args = self.args.num(name, n);
        self
    }

    pub fn text(mut self, name: &str, text: impl Into<String>) -> Self {
        self.args = self.args.text(name, text);
        self
    }

    pub fn phrase(mut self, name: &str, phrase: Phrase) -> Self {
        self.args = self.args.phrase(name, phrase);
        self
    }

    /// A span of time in its largest two units ("12 min", "3 h 5 min").
    pub fn span(ms: i64) -> Self {
        match span(ms) {
            Span::Seconds(n) => Phrase::new("admin-span-seconds").num("n", n),
            Span::Minutes(n) => Phrase::new("admin-span-minutes").num("n", n),
            Span::Hours(h, m) => Phrase::new("admin-span-hours").num("h", h).num("m", m),
            Span::Days(d, h) => Phrase::new("admin-span-days").num("d", d).num("h", h),
        }
    }
}

/// A span of time as people read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    Seconds(i64),
    Minutes(i64),
    /// Hours and minutes.
    Hours(i64, i64),
    /// Days and hours.
    Days(i64, i64),
}

pub fn span(ms: i64) -> Span {
    let secs = ms.max(0) / 1000;
    match secs {
        0..120 => Span::Seconds(secs),
        120..7_200 => Span::Minutes(secs / 60),
        7_200..172_800 => Span::Hours(secs / 3600, secs % 3600 / 60),
        _ => Span::Days(secs / 86_400, secs % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_stored_as_a_json_object_and_read_back_the_same() {
        let args = Args::new().num("purchase", 7).text("order", "o-1").phrase(
            "reason",
            Phrase::new("dead-letter-stays-active").num("pays", 3),
        );
        let json = args.to_json();
        assert_eq!(
            json,
            r#"{"order":"o-1","purchase":7,"reason":{"id":"dead-letter-stays-active","args":{"pays":3}}}"#
        );
        assert_eq!(Args::from_json(&json).unwrap(), args);
        assert!(Args::from_json("[1]").is_err(), "an object only");
    }
}
