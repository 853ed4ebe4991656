//! The languages the bot speaks.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_falls_back_to_english() {
        assert_eq!(Language::from_code(Some("hi-IN")), Language::Hi);
        assert_eq!(Language::from_code(Some("ru")), Language::En);
        assert_eq!(Language::from_code(None), Language::En);
    }
}
