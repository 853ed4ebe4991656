//! The bot's commands, listed once. What a typed `/name` means, the menus
//! Telegram shows (`setMyCommands`) and who may use each are all read
//! from [`COMMANDS`]; the `/help` text (in the locales) is held to it by a
//! test.

use teloxide::prelude::*;
use teloxide::types::{BotCommand, BotCommandScope, Recipient};

use super::t;
use crate::domain::Language;

/// A command a person may type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Start,
    Orders,
    Language,
    Help,
    Support,
    PaySupport,
    Cancel,
    /// For the ids in `ADMIN_IDS` only: anyone else gets the answer any
    /// unknown command gets, and learns nothing.
    Admin(AdminCommand),
}

/// The shop owner's commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminCommand {
    Stalled,
    Balance,
    Order,
    Stats,
    Audit,
    Tickets,
}

/// One command: its name after the slash, and the key of its line in the
/// command menu (`None`: typed only, never in the menu).
struct Entry {
    command: Command,
    name: &'static str,
    menu: Option<&'static str>,
}

const fn entry(command: Command, name: &'static str, menu: Option<&'static str>) -> Entry {
    Entry {
        command,
        name,
        menu,
    }
}

/// Every command, in the order of the menus.
const COMMANDS: &[Entry] = &[
    entry(Command::Start, "start", Some("cmd-start")),
    entry(Command::Orders, "orders", Some("cmd-orders")),
    entry(Command::Language, "language", Some("cmd-language")),
    entry(Command::Help, "help", Some("cmd-help")),
    entry(Command::Support, "support", Some("cmd-support")),
    entry(Command::PaySupport, "paysupport", Some("cmd-paysupport")),
    // Only meaningful while a note field is being asked.
    entry(Command::Cancel, "cancel", None),
    entry(
        Command::Admin(AdminCommand::Stalled),
        "stalled",
        Some("cmd-stalled"),
    ),
    entry(
        Command::Admin(AdminCommand::Balance),
        "balance",
        Some("cmd-balance"),
    ),
    entry(
        Command::Admin(AdminCommand::Order),
        "order",
        Some("cmd-order"),
    ),
    entry(
        Command::Admin(AdminCommand::Stats),
        "stats",
        Some("cmd-stats"),
    ),
    entry(
        Command::Admin(AdminCommand::Audit),
        "audit",
        Some("cmd-audit"),
    ),
    entry(
        Command::Admin(AdminCommand::Tickets),
        "tickets",
        Some("cmd-tickets"),
    ),
];

impl Command {
    /// The command called `name` (lower case, no slash, no `@bot`).
    pub fn parse(name: &str) -> Option<Command> {
        COMMANDS.iter().find(|e| e.name == name).map(|e| e.command)
    }

    /// Its name after the slash.
    pub fn name(self) -> &'static str {
        COMMANDS
            .iter()
            .find(|e| e.command == self)
            .map_or("", |e| e.name)
    }

    fn is_admin(self) -> bool {
        matches!(self, Command::Admin(_))
    }
}

/// `/name@bot argument` → ("name", "argument"): the name lower-cased,
/// whether or not it is a known command.
pub fn split(text: &str) -> Option<(String, &str)> {
    let rest = text.strip_prefix('/')?;
    let (head, argument) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let name = head.split('@').next().unwrap_or(head);
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    Some((name.to_ascii_lowercase(), argument.trim()))
}

/// The menu everyone sees, in `lang`.
pub fn customer_menu(lang: Language) -> Vec<BotCommand> {
    menu(lang, false)
}

/// What admins see below the customers' menu, in `lang`.
pub fn admin_menu(lang: Language) -> Vec<BotCommand> {
    menu(lang, true)
}

/// The menu of one private chat, in the language its user chose with
/// `/language`: a chat's own menu comes before the menus set per language
/// for everyone. An admin's chat keeps the admin commands; the admins'
/// menus set at the start per Telegram language are replaced too, or they
/// would come first.
pub async fn set_chat_menu(
    bot: &Bot,
    chat: ChatId,
    lang: Language,
    admin: bool,
) -> Result<(), teloxide::RequestError> {
    let mut commands = customer_menu(lang);
    if admin {
        commands.extend(admin_menu(lang));
    }
    let scope = BotCommandScope::Chat {
        chat_id: Recipient::Id(chat),
    };
    bot.set_my_commands(commands.clone())
        .scope(scope.clone())
        .await?;
    for other in Language::ALL
        .into_iter()
        .filter(|l| admin && *l != Language::En)
    {
        bot.set_my_commands(commands.clone())
            .scope(scope.clone())
            .language_code(other.code())
            .await?;
    }
    Ok(())
}

fn menu(lang: Language, admin: bool) -> Vec<BotCommand> {
    COMMANDS
        .iter()
        .filter(|e| e.command.is_admin() == admin)
        .filter_map(|e| e.menu.map(|key| BotCommand::new(e.name, t(lang, key))))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn commands_are_read_with_or_without_the_bot_name() {
        assert_eq!(split("/start"), Some(("start".to_owned(), "")));
        assert_eq!(
            split("/start@fox_bot p_product_1"),
            Some(("start".to_owned(), "p_product_1"))
        );
        assert_eq!(split("/ORDERS"), Some(("orders".to_owned(), "")));
        assert_eq!(split("hello"), None);
        assert_eq!(split("/"), None);
        assert_eq!(split("/😀"), None);
    }

    #[test]
    fn every_command_is_named_once_and_parses_back() {
        let names: BTreeSet<&str> = COMMANDS.iter().map(|e| e.name).collect();
        assert_eq!(names.len(), COMMANDS.len());
        for e in COMMANDS {
            assert_eq!(Command::parse(e.name), Some(e.command));
            assert_eq!(e.command.name(), e.name);
        }
        assert_eq!(Command::parse("steal"), None);
    }

    /// The menus Telegram shows are the ones the shop has always set.
    #[test]
    fn the_menus_list_the_commands_in_order() {
        let names = |menu: Vec<BotCommand>| menu.into_iter().map(|c| c.command).collect::<Vec<_>>();
        assert_eq!(
            names(customer_menu(Language::En)),
            [
                "start",
                "orders",
                "language",
                "help",
                "support",
                "paysupport"
            ]
        );
        assert_eq!(
            names(admin_menu(Language::Hi)),
            ["stalled", "balance", "order", "stats", "audit", "tickets"]
        );
        for lang in Language::ALL {
            for c in customer_menu(lang).into_iter().chain(admin_menu(lang)) {
                assert!(!c.description.starts_with("cmd-"), "{}", c.description);
            }
        }
    }

    /// `/help` names every command a customer may type, and no other: a
    /// command added to the list without its help line fails here.
    #[test]
    fn the_help_text_names_exactly_the_customer_commands() {
        let customer: BTreeSet<&str> = COMMANDS
            .iter()
            .filter(|e| !e.command.is_admin())
            .map(|e| e.name)
            .collect();
        for lang in Language::ALL {
            let help = t(lang, "help");
            let named: BTreeSet<&str> = help
                .split('/')
                .skip(1)
                .filter_map(|rest| rest.split(|c: char| !c.is_ascii_alphanumeric()).next())
                .filter(|name| !name.is_empty())
                .collect();
            assert_eq!(named, customer, "{lang:?}");
        }
    }
}
