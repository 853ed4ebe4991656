//! What the admins read about an action on a purchase: the plan a
//! confirm button answers, why an action is refused, and what was done.

use super::words::{clip, money_text, not_found, supplier_line};
use crate::bot::{escape, t};
use crate::domain::Language;
use crate::engine::admin::{Outcome, Plan, Refusal, Retry, SupplierCost};
use crate::i18n::{self, arg, num};
use crate::store::Purchase;

/// The question a confirm button answers: what the plan will do, what a
/// refund leaves with the supplier, and where the supplier's order stands.
pub(super) fn confirmation(lang: Language, p: &Purchase, plan: &Plan) -> String {
    let text = plan_text(lang, p, plan);
    let cost = match plan {
        Plan::Refund {
            cost: Some(cost), ..
        } => format!("\n{}", cost_text(lang, cost)),
        _ => String::new(),
    };
    format!(
        "{text}{cost}\n{}\n\n{}",
        supplier_line(lang, p),
        t(lang, "admin-confirm-hint")
    )
}

/// What a plan will do to `p`, worded.
fn plan_text(lang: Language, p: &Purchase, plan: &Plan) -> String {
    let id = ("purchase", num(p.id));
    match plan {
        Plan::DueNow => i18n::text(
            lang,
            "admin-confirm-due-now",
            &[id, ("state", arg(p.state.as_str()))],
        ),
        Plan::ReadOrder(order) => i18n::text(
            lang,
            "admin-confirm-read-order",
            &[id, ("order", arg(&escape(order.as_str())))],
        ),
        Plan::Retry(Retry::Watch(order)) => i18n::text(
            lang,
            "admin-confirm-retry-watch",
            &[id, ("order", arg(&escape(order.as_str())))],
        ),
        Plan::Retry(Retry::Reconcile { .. }) => {
            i18n::text(lang, "admin-confirm-retry-reconcile", &[id])
        }
        Plan::Retry(Retry::Order) => i18n::text(lang, "admin-confirm-retry-order", &[id]),
        Plan::Refund {
            partial,
            in_stars,
            withdraw_codes,
            ..
        } => refund_text(lang, p, *in_stars, *withdraw_codes, *partial),
        Plan::Close => i18n::text(lang, "admin-confirm-close", &[id]),
    }
}

/// What a refund will do: in Stars (Telegram returns them) or not (the
/// source says how it was paid), withdrawing delivered codes or not, for
/// a partial delivery or not.
fn refund_text(
    lang: Language,
    p: &Purchase,
    in_stars: bool,
    withdraw_codes: bool,
    partial: bool,
) -> String {
    let id = ("purchase", num(p.id));
    let stars = ("stars", num(p.stars));
    let source = ("source", arg(p.source.as_str()));
    match (in_stars, withdraw_codes, partial) {
        (true, true, _) => i18n::text(lang, "admin-confirm-refund-anyway", &[id, stars]),
        (false, true, _) => i18n::text(lang, "admin-confirm-refund-anyway-no-stars", &[id, source]),
        (true, false, true) => i18n::text(lang, "admin-confirm-refund-partial", &[id, stars]),
        (true, false, false) => i18n::text(lang, "admin-confirm-refund", &[id, stars]),
        (false, false, _) => i18n::text(lang, "admin-confirm-refund-no-stars", &[id, source]),
    }
}

/// The wholesale money a refund leaves with the supplier.
fn cost_text(lang: Language, cost: &SupplierCost) -> String {
    let currency = ("currency", arg(&escape(&cost.currency)));
    match (cost.certain, cost.amount) {
        (true, Some(amount)) => i18n::text(
            lang,
            "admin-confirm-cost-paid",
            &[("amount", arg(&money_text(amount))), currency],
        ),
        (false, Some(amount)) => i18n::text(
            lang,
            "admin-confirm-cost-maybe",
            &[("amount", arg(&money_text(amount))), currency],
        ),
        (true, None) => t(lang, "admin-confirm-cost-paid-unknown"),
        (false, None) => t(lang, "admin-confirm-cost-maybe-unknown"),
    }
}

/// Why an action is refused, worded.
pub(super) fn refused(lang: Language, purchase: i64, refusal: &Refusal) -> String {
    let id = ("purchase", num(purchase));
    match refusal {
        Refusal::Finished(state) => i18n::text(
            lang,
            "admin-refused-finished",
            &[id, ("state", arg(state.as_str()))],
        ),
        Refusal::DeliveredInFull => i18n::text(lang, "admin-refused-delivered-in-full", &[id]),
        Refusal::CodesReachedBuyer => i18n::text(lang, "admin-refused-codes-reached", &[id]),
        Refusal::RefundUnderway => i18n::text(lang, "admin-refused-refund-underway", &[id]),
        Refusal::AlreadyRefunding => i18n::text(lang, "admin-refused-already-refunding", &[id]),
        Refusal::Busy => i18n::text(lang, "admin-refused-busy", &[id]),
        Refusal::Delivering => i18n::text(lang, "admin-refused-delivering", &[id]),
        Refusal::CreateInDoubt => i18n::text(lang, "admin-refused-create-in-doubt", &[id]),
        Refusal::NoOrderToRead => i18n::text(lang, "admin-refused-no-order", &[id]),
        Refusal::UnclearAttempts => i18n::text(lang, "admin-refused-unclear", &[id]),
        Refusal::StillWorked(state) => i18n::text(
            lang,
            "admin-refused-still-worked",
            &[id, ("state", arg(state.as_str()))],
        ),
    }
}

/// What an action did (and which admin did it), or why it did nothing.
pub(super) fn outcome_text(lang: Language, purchase: i64, admin: i64, outcome: &Outcome) -> String {
    let id = ("purchase", num(purchase));
    let done = match outcome {
        Outcome::Done(Plan::DueNow) => i18n::text(lang, "admin-done-due-now", &[id]),
        Outcome::Done(Plan::Retry(retry)) => i18n::text(
            lang,
            "admin-done-retry",
            &[id, ("state", arg(retry.state().as_str()))],
        ),
        Outcome::Done(Plan::Refund {
            in_stars: true,
            withdraw_codes: true,
            ..
        }) => i18n::text(lang, "admin-done-refund-anyway", &[id]),
        Outcome::Done(Plan::Refund { in_stars: true, .. }) => {
            i18n::text(lang, "admin-done-refund", &[id])
        }
        Outcome::Done(Plan::Refund {
            in_stars: false, ..
        }) => i18n::text(lang, "admin-done-refund-no-stars", &[id]),
        Outcome::Done(Plan::Close) => i18n::text(lang, "admin-done-close", &[id]),
        Outcome::Done(Plan::ReadOrder(order)) => i18n::text(
            lang,
            "admin-done-read-order",
            &[
                id,
                ("order", arg(&escape(order.as_str()))),
                ("status", arg(&t(lang, "admin-status-unknown"))),
            ],
        ),
        Outcome::OrderRead { order, status } => i18n::text(
            lang,
            "admin-done-read-order",
            &[
                id,
                ("order", arg(&escape(order.as_str()))),
                ("status", arg(&escape(status))),
            ],
        ),
        Outcome::Refused(refusal) => return refused(lang, purchase, refusal),
        Outcome::LostRace => return i18n::text(lang, "admin-lost-race", &[id]),
        // Worded with its new plan by the caller; alone, it is a lost race.
        Outcome::Changed(_) => return i18n::text(lang, "admin-lost-race", &[id]),
        Outcome::SignatureBusy => return i18n::text(lang, "admin-signature-busy", &[id]),
        Outcome::SupplierError(e) => {
            return i18n::text(
                lang,
                "admin-supplier-error",
                &[("error", arg(&escape(&clip(e))))],
            );
        }
        Outcome::NotFound => return not_found(lang, purchase),
    };
    format!(
        "{done}\n{}",
        i18n::text(lang, "admin-done-by", &[("admin", num(admin))])
    )
}
