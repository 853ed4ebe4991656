//! A delivered code, kept out of logs.

use std::fmt;

use serde::{Deserialize, Serialize};

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
