# foxbot — English. Every text a user sees comes from here or from hi.ftl.

welcome = Welcome! Browse the catalog, pay in Telegram Stars and get your codes right here. To switch between English and हिन्दी, send /language.
help = Commands:
    /start — the catalog
    /orders — your orders, and their codes again
    /language — English or हिन्दी
    /support — write to the shop
    /paysupport — payments and refunds
    /cancel — stop what you started
    /help — this message

## Delivery
delivery-header = <b>Your order #{ $purchase }</b>: { $product } × { $quantity }
delivery-resent = ⚠️ Sent again: an earlier message with these codes may not have reached you.
delivery-part = (part { $n } of { $total })
delivery-view-again = You can see these codes again any time with /orders.

## Refunds
refund-done = { $stars ->
    [one] Your { $stars } Star for order #{ $purchase } has been refunded: { $reason }
   *[other] Your { $stars } Stars for order #{ $purchase } have been refunded: { $reason }
}
refund-reason-supplier = it could not be fulfilled.
refund-reason-paid-twice = this invoice had already been paid; your first payment bought the order.
refund-reason-amount-mismatch = the amount paid did not match the invoice.
refund-reason-unavailable = the product could no longer be sold.
refund-reason-admin = the shop refunded it.

## The shop front
paysupport = <b>Payments and refunds</b>
    You pay in Telegram Stars. If we cannot deliver your order, your Stars are refunded automatically and you get a message here.
    If something looks wrong, write your message here with your order number (see /orders), or use /support: it reaches the shop, and the answer comes back in this chat.
cancelled = Cancelled. /start shows the catalog again.
unknown-command = I don't know that command. /help lists what I can do.
unknown-text = Sorry, I didn't understand that. Use the buttons, or /start for the catalog and /help for help.
language-choose = Choose your language:
language-set = Language set to English.
demo-banner = 🧪 <b>Demo shop</b>: a test shop — orders are not real and nothing is paid.
demo-price = (demo: no payment is taken)
catalog-empty = Nothing is for sale right now. Please try again later.
catalog-choose-category = Choose a category:
catalog-choose-product = Choose a product:
product-unavailable-short = unavailable
product-unknown = That product is not in the catalog any more. /start shows what is.
product-price = Price: ⭐ { $stars } each
product-stock = In stock: { $stock }
product-choose-quantity = How many?
product-out-of-stock = Out of stock at the moment.
product-unavailable = Not available at the moment.
button-back = ◀️ Back
button-cancel = ✖️ Cancel
button-expired = This button has expired. /start to begin again.
button-private-only = This button works only in your private chat with me. Open it there to see your orders.
note-ask = { $product } needs your <b>{ $field }</b>. Please send it.
note-invalid = That { $field } does not look right: { $problem }. Please send it again, or /cancel.
note-missing = Please give your { $field } first.
note-problem-empty = it is empty
note-problem-too-long = { $max ->
    [one] it is longer than { $max } character
   *[other] it is longer than { $max } characters
}
note-problem-control = it contains characters that cannot be used
note-problem-zero-width = it contains an invisible zero-width character ({ $code }), often pasted along with it
note-problem-bidi = it contains an invisible text-direction mark ({ $code }) that can change how it reads
note-problem-option = it must be one of: { $options }
note-problem-email = it is not an e-mail address
note-problem-number = it must be a number
note-field-player-id = player ID
note-field-server = server
note-field-email = e-mail address
note-field-account = account
quantity-limits = { $max ->
    [one] You can buy only { $max } at a time.
   *[other] You can buy { $min } to { $max } at a time.
}
quantity-stock = { $stock ->
    [one] Only { $stock } is left in stock.
   *[other] Only { $stock } are left in stock.
}
quantity-too-large = That order is too large to pay in one invoice.
invoice-description = { $quantity ->
    [one] { $quantity } × { $product }. Your code comes to this chat right after payment.
   *[other] { $quantity } × { $product }. Your codes come to this chat right after payment.
}
state-in-progress = in progress
state-delivering = sending codes
state-delivered = delivered
state-refunding = being refunded
state-refunded = refunded
state-cancelled = cancelled
state-attention = being looked at by the shop
orders-none = You have no orders yet. /start shows the catalog.
orders-title = Your orders (newest first). Tap one to see it, and its codes:
order-not-found = You have no such order.
order-status = Order #{ $purchase }: { $product } × { $quantity } — { $state }.
progress-ordering = 💳 Payment received for order #{ $purchase } ({ $product } × { $quantity }). Ordering it now…
progress-paid = ⏳ Order #{ $purchase } ({ $product } × { $quantity }) is placed; your codes come as soon as it is ready.
progress-delivered = ✅ Order #{ $purchase } ({ $product } × { $quantity }) is delivered: your codes are in the message below.
progress-refunded = ↩️ Your Stars for order #{ $purchase } ({ $product } × { $quantity }) were refunded: { $reason }
progress-cancelled = Order #{ $purchase } ({ $product } × { $quantity }) was cancelled; the shop will settle it with you.
progress-attention = ⚠️ Order #{ $purchase } ({ $product } × { $quantity }) is taking longer than it should, so a person from the shop is now looking at it. To ask about it, send /support with the order number.
checkout-unknown = This invoice is not valid any more. Please start again with /start.
checkout-already-paid = This invoice has already been paid.
checkout-price-changed = The price has changed since this invoice. Please start again with /start.
checkout-unavailable = This product cannot be sold right now.
checkout-try-again = Something went wrong on our side. Please try again in a minute.
payment-will-refund = We received your payment, but cannot use it for an order ({ $reason }) It will be refunded automatically (reference #{ $purchase }).
payment-unknown = We received a payment we cannot match to an invoice. The shop has been alerted and will refund it.
cmd-start = Catalog
cmd-orders = Your orders and codes
cmd-language = Change language
cmd-help = Help
cmd-paysupport = Payments and refunds
cmd-stalled = Purchases that need attention
cmd-balance = Supplier balance
cmd-order = One purchase's history
cmd-stats = Today's figures

## Admin
admin-failed = Something went wrong; see the logs. Check the purchase with /order before trying again.
admin-stalled-none = Nothing needs attention: no dead letters, and nothing unfinished for longer than { $threshold }.
admin-stalled-title = ⚠️ Needing attention: { $total } (dead letters, and purchases unfinished for longer than { $threshold }), oldest first.
admin-stalled-more = { $more ->
        [one] …and { $more } more purchase. Settle these, then send /stalled again.
       *[other] …and { $more } more purchases. Settle these, then send /stalled again.
    }
admin-stalled-item = <b>#{ $purchase }</b> { $product } × { $quantity } · { $stars } ⭐
admin-stalled-state = state: { $state } for { $age } (bought { $since } ago)
admin-stalled-error = last error: { $error }
admin-stalled-unreadable = #{ $purchase } cannot be read: { $problem }
admin-supplier-order = supplier order: <code>{ $order }</code> ({ $status })
admin-no-supplier-order = no supplier order linked
admin-status-unknown = status unknown
admin-button-recheck = 🔎 Re-check #{ $purchase }
admin-button-retry = ▶️ Retry #{ $purchase }
admin-button-refund = ↩️ Refund #{ $purchase }
admin-button-close = ✖️ Close #{ $purchase }
admin-action-recheck = re-check
admin-action-retry = retry
admin-action-refund = refund
admin-action-close = close
admin-confirm-button = ✅ Yes, { $action } #{ $purchase }
admin-confirm-due-now = Look at #{ $purchase } ({ $state }) again now? Its worker takes it up at once; nothing else changes.
admin-confirm-read-order = Read supplier order { $order } of #{ $purchase } now? Nothing moves: you see its status, then decide.
admin-confirm-retry-watch = Put #{ $purchase } back to work? It goes to waiting_supplier: supplier order { $order } is read again, and no new order is ever created for it.
admin-confirm-retry-reconcile = Put #{ $purchase } back to work? Its last create may or may not have reached the supplier: it goes to reconciling, which looks for that order in the supplier's history before anything else is sent.
admin-confirm-retry-order = Put #{ $purchase } back to work? No supplier order can exist for it (every create was refused, never left, was proven absent or expired unpaid): it goes to ordering, and one new order is placed.
admin-confirm-refund = Refund #{ $purchase }? { $stars } ⭐ go back to the buyer.
admin-confirm-refund-partial = Refund #{ $purchase }? Its delivery was partial, but Telegram can only refund a whole Stars payment: this refunds the whole { $stars } ⭐, and the codes already sent stay with the buyer.
admin-confirm-refund-no-stars = Refund #{ $purchase }? It was not paid in Stars ({ $source }): it is closed as cancelled, and you settle the money with the buyer.
admin-confirm-close = Close #{ $purchase } as settled by hand? It becomes cancelled: nothing is refunded, and no supplier order is touched.
admin-confirm-hint = Ignore this message to cancel.
admin-refused-finished = #{ $purchase } is finished ({ $state }): there is nothing to do.
admin-refused-delivered-in-full = #{ $purchase } was delivered in full: there is nothing to refund.
admin-refused-already-refunding = #{ $purchase } is already being refunded.
admin-refused-busy = A worker is on #{ $purchase } right now; try again in a minute.
admin-refused-delivering = The codes of #{ $purchase } are being sent right now; wait for that to finish.
admin-refused-create-in-doubt = Whether a supplier order exists for #{ $purchase } is not known yet, so a refund now could leave a paid order behind. Wait for the reconciliation (or the dead letter).
admin-refused-no-order = #{ $purchase } has no supplier order to read. Retry reconciles or orders it safely.
admin-refused-unclear = More than one create of #{ $purchase } may have made an order, so a retry could pay for a second one. Check the supplier account, then refund or close it.
admin-refused-still-worked = #{ $purchase } is still being worked ({ $state }); only a dead letter or a stuck refund is closed by hand.
admin-done-due-now = 🔄 #{ $purchase } is due now; its worker looks at it again.
admin-done-retry = ▶️ #{ $purchase } is back at work: { $state }.
admin-done-refund = ↩️ #{ $purchase } is being refunded; the buyer is told when it is done.
admin-done-refund-no-stars = ↩️ #{ $purchase } goes to refunding; it was not paid in Stars, so it is closed as cancelled (settle the money by hand).
admin-done-close = ✖️ #{ $purchase } is closed as cancelled (settled by hand).
admin-done-read-order = 🔎 Supplier order { $order } of #{ $purchase }: { $status }. Nothing was moved.
admin-done-by = Done by admin { $admin }.
admin-lost-race = #{ $purchase } changed while you looked (someone else moved it): nothing was done. See /order { $purchase }.
admin-signature-busy = Another purchase of the same product, quantity and note has a create in doubt right now, and #{ $purchase } cannot be reconciled beside it. Nothing was done; try again in a minute.
admin-supplier-error = Could not read the supplier: { $error }
admin-not-found = There is no purchase #{ $purchase }.
admin-balance-title = 💰 Supplier balance
admin-balance-empty = The supplier reports no balance.
admin-balance-line = { $currency }: { $amount }
admin-balance-runway = At that rate, the { $currency } balance lasts about { $span }.
admin-balance-error = Could not read the supplier balance: { $error }
admin-balance-no-spend = Nothing was paid to the supplier in the last 24 h.
admin-balance-spent = { $orders ->
    [one] Paid to the supplier in the last 24 h: { $amounts } ({ $orders } order).
   *[other] Paid to the supplier in the last 24 h: { $amounts } ({ $orders } orders).
}
admin-unpriced = { $count ->
    [one] { $count } purchase had no known price and is not counted.
   *[other] { $count } purchases had no known price and are not counted.
}
admin-order-usage = Usage: /order 42, /order #42, a supplier order id, or a Telegram charge id.
admin-order-not-found = No purchase matches { $reference }.
admin-order-title = <b>Purchase #{ $purchase }</b>: { $product } × { $quantity }
admin-order-state = state: { $state } · { $stars } ⭐ · { $source } · buyer { $user }
admin-order-charge = Telegram charge: <code>{ $charge }</code>
admin-order-created = recorded { $at } UTC
admin-order-timeline = Timeline (UTC):
admin-order-no-events = No events recorded.
admin-order-more = { $more ->
    [one] …{ $more } older event not shown.
   *[other] …{ $more } older events not shown.
}
admin-stats-title = 📊 Today, { $day } (UTC)
admin-stats-purchases = Purchases: { $n }
admin-stats-delivered = Delivered: { $n }
admin-stats-refunded = Refunded: { $n } ({ $stars } ⭐)
admin-stats-revenue = Revenue: { $stars } ⭐
admin-stats-cost = Supplier cost: { $amounts }
admin-stats-no-cost = Supplier cost: none
admin-span-seconds = { $n } s
admin-span-minutes = { $n } min
admin-span-hours = { $h } h { $m } min
admin-span-days = { $d } d { $h } h

## Admin: moves decided against the whole ledger (issue #14): a refund
## refused when the codes reached the buyer and "refund anyway", the retry
## refused while a refund is underway, the wholesale cost of a refund, and
## confirmations that carry what the admin saw.
admin-button-refund-anyway = ⚠️ Refund #{ $purchase } anyway
admin-action-refund-anyway = refund anyway
admin-confirm-refund-anyway = { $stars ->
    [one] Refund #{ $purchase } anyway? Its codes reached the buyer (sent, or viewable in /orders) and may already be used. The whole payment, { $stars } Star, goes back to the buyer, and the codes are hidden from their /orders.
   *[other] Refund #{ $purchase } anyway? Its codes reached the buyer (sent, or viewable in /orders) and may already be used. The whole payment, { $stars } Stars, goes back to the buyer, and the codes are hidden from their /orders.
}
admin-confirm-refund-anyway-no-stars = Refund #{ $purchase } anyway? Its codes reached the buyer (sent, or viewable in /orders) and may already be used. It was not paid in Stars ({ $source }): it is closed as cancelled, the codes are hidden from /orders, and you settle the money with the buyer.
admin-confirm-cost-paid = 💸 The supplier was paid for this order: { $amount } { $currency } at wholesale, which does not come back.
admin-confirm-cost-maybe = 💸 A payment for this order may have reached the supplier: { $amount } { $currency } at wholesale may not come back.
admin-confirm-cost-paid-unknown = 💸 The supplier was paid for this order (the wholesale price is not known), and that money does not come back.
admin-confirm-cost-maybe-unknown = 💸 A payment for this order may have reached the supplier (the wholesale price is not known); that money may not come back.
admin-confirm-expired = ⏳ This confirmation is more than a day old: nothing was done. The plan as it stands now:
admin-confirm-changed = ⚠️ Things changed since you looked: nothing was done. The plan as it stands now:
admin-refused-codes-reached = #{ $purchase } counts as delivered: its codes reached the buyer (a part was sent or may have been, or they are viewable in /orders), so it is not refunded. If the buyer must get the Stars back all the same, use "Refund anyway": it also hides the codes from their /orders.
admin-refused-refund-underway = A refund of #{ $purchase } is claimed or already done: putting it back to work could give the buyer both the codes and the Stars. Nothing was done; see /order { $purchase }.
admin-done-refund-anyway = ↩️ #{ $purchase } is being refunded anyway; its codes are hidden from the buyer's /orders.

## Issue #14, hole 5: codes are counted (partial deliveries, re-orders)
delivery-partial = { $arrived ->
    [one] ⚠️ { $arrived } of { $ordered } codes has arrived; the shop is getting the rest and will send them here.
   *[other] ⚠️ { $arrived } of { $ordered } codes have arrived; the shop is getting the rest and will send them here.
}
delivery-reorder = These are the codes that were missing from your order #{ $parent }.
progress-partly-delivered = { $arrived ->
    [one] 📦 Order #{ $purchase } ({ $product } × { $quantity }): { $arrived } of { $ordered } codes has arrived and is in the message below. The shop is getting the rest.
   *[other] 📦 Order #{ $purchase } ({ $product } × { $quantity }): { $arrived } of { $ordered } codes have arrived and are in the message below. The shop is getting the rest.
}
alert-partial-delivery = ⚠️ <b>Partial delivery</b>
    { $arrived ->
        [one] Purchase #{ $purchase }: only { $arrived } of { $ordered } codes arrived (supplier order { $order }; the supplier says: { $errors }). It is being delivered, and the buyer is told the shop is getting the rest. Re-order the { $missing } missing at the shop's cost, or refund the whole charge.
       *[other] Purchase #{ $purchase }: only { $arrived } of { $ordered } codes arrived (supplier order { $order }; the supplier says: { $errors }). They are being delivered, and the buyer is told the shop is getting the rest. Re-order the { $missing } missing at the shop's cost, or refund the whole charge.
    }
admin-button-reorder = 🔁 Re-order missing #{ $purchase }
admin-confirm-reorder = { $missing ->
    [one] Re-order the { $missing } missing code of #{ $purchase }? A new purchase of { $missing } × { $product } is placed at the shop's cost (the buyer pays nothing more), linked to #{ $purchase }, and its code goes to the buyer when it arrives.
   *[other] Re-order the { $missing } missing codes of #{ $purchase }? A new purchase of { $missing } × { $product } is placed at the shop's cost (the buyer pays nothing more), linked to #{ $purchase }, and its codes go to the buyer when they arrive.
}
admin-confirm-reorder-button = ✅ Yes, re-order for #{ $purchase }
admin-done-reorder = { $missing ->
    [one] 🔁 The { $missing } missing code of #{ $purchase } is re-ordered as purchase #{ $child }, at the shop's cost.
   *[other] 🔁 The { $missing } missing codes of #{ $purchase } are re-ordered as purchase #{ $child }, at the shop's cost.
}
admin-reorder-already = #{ $purchase } was already re-ordered as purchase #{ $child }: nothing new was ordered. See /order { $child }.
admin-reorder-not-delivered = #{ $purchase } cannot be re-ordered now ({ $state }): only a delivered purchase with codes missing can.
admin-reorder-nothing-missing = #{ $purchase } has every code it ordered: there is nothing to re-order.

## Payment edges (issue #14, holes 6, 8, 10): pre-checkout and the supplier
## balance, payments no invoice explains.
checkout-balance-short = This product cannot be delivered right now: the shop is restocking. Please try again later; nothing was charged.
alert-orphan-charge = ⚠️ <b>Unknown payment</b>
    { $stars ->
        [one] A payment of { $stars } Star
       *[other] A payment of { $stars } Stars
    } from user { $user } names no invoice of ours (charge <code>{ $charge }</code>). The buyer was told it will be refunded: refund it unless it is explained.
orphan-refund-button = ↩️ Refund { $stars ->
        [one] { $stars } Star
       *[other] { $stars } Stars
    }
orphan-refund-confirm = { $stars ->
        [one] Refund { $stars } Star
       *[other] Refund { $stars } Stars
    } to user { $user }? The payment names no invoice of ours; this cannot be undone.
orphan-refund-confirm-button = ✅ Yes, refund { $stars ->
        [one] { $stars } Star
       *[other] { $stars } Stars
    }
orphan-refund-started = { $stars ->
        [one] Refunding { $stars } Star
       *[other] Refunding { $stars } Stars
    } to user { $user } (purchase #{ $purchase }); the buyer is told when Telegram confirms it.
orphan-refund-already = This payment is already being refunded (purchase #{ $purchase }).
orphan-refund-not-found = There is no such payment.

## Ledger audit (issue #14): /audit and `foxbot audit`
cmd-audit = Ledger audit (Stars and supplier)
audit-running = 🧾 Auditing the last { $days ->
    [one] day
   *[other] { $days } days
} against Telegram and the supplier…
audit-title = 🧾 Ledger audit, { $since } to { $now } (UTC)
audit-charges = Star charges: { $total } — delivered { $delivered }, refunded { $refunded }, in progress { $progress }, anomalies { $anomalies }
audit-debits = Supplier debits: { $total } — delivered { $delivered }, refunded { $refunded }, in progress { $progress }, anomalies { $anomalies }
audit-stars = Stars taken { $taken } ⭐, refunded { $refunded } ⭐, net { $net } ⭐
audit-spend = Supplier spend: { $amounts }
audit-spend-none = Supplier spend: none
audit-unpriced = { $count ->
    [one] 1 supplier debit has
   *[other] { $count } supplier debits have
} no known amount and { $count ->
    [one] is
   *[other] are
} not in the spend.
audit-margin = Margin: { $margin } USD (net Stars at the configured STARS_PER_USD = { $rate }, not Telegram's payout rate, less the USD spend)
audit-margin-none = Margin: not estimated (STARS_PER_USD is not set)
audit-gap-stars-not-read = Telegram's star transactions were not read (a demo shop takes no Stars).
audit-gap-stars-incomplete = Telegram's star transactions were not read back to the start of the period: charges missing from them are not judged.
audit-gap-history-incomplete = The supplier's order history was not read back to the start of the period: older debits are not judged.
audit-gap-unreadable = { $count ->
    [one] 1 supplier history row
   *[other] { $count } supplier history rows
} could not be read.
audit-gap-unverified = { $count ->
    [one] 1 delivered purchase's supplier order
   *[other] { $count } delivered purchases' supplier orders
} could not be checked at the supplier.
audit-in-progress-title = In progress: { $count ->
    [one] 1 charge
   *[other] { $count } charges
}, oldest first
audit-in-progress-item = #{ $purchase } { $state } for { $age }
audit-age-minutes = { $n ->
    [one] 1 minute
   *[other] { $n } minutes
}
audit-age-hours = { $n ->
    [one] 1 hour
   *[other] { $n } hours
}
audit-age-days = { $n ->
    [one] 1 day
   *[other] { $n } days
}
audit-more = …and { $more } more.
audit-ok = ✅ No anomalies: every charge and every supplier debit is accounted for.
audit-anomalies-title = ❌ { $count ->
    [one] 1 anomaly
   *[other] { $count } anomalies
}:
audit-anomalies-hint = What to do for each kind: see "The ledger audit" in the README.
audit-anomaly-charge-without-purchase = Telegram charge { $charge } has no purchase: the Stars were taken and nothing was ordered.
audit-anomaly-charge-amount-mismatch = Telegram charge { $charge } of purchase { $purchase } differs from the Stars the purchase records.
audit-anomaly-payment-not-in-telegram = Purchase { $purchase } records charge { $charge }, which Telegram does not list.
audit-anomaly-refund-without-record = Telegram shows charge { $charge } (purchase { $purchase }) refunded, and the shop has no refund for it.
audit-anomaly-refund-not-in-telegram = The refund of purchase { $purchase } is confirmed here, and Telegram shows no refund of charge { $charge }.
audit-anomaly-delivered-and-refunded = Purchase { $purchase } was delivered and its charge { $charge } refunded: the buyer kept both codes and Stars.
audit-anomaly-delivered-without-record = Purchase { $purchase } is delivered without a finished delivery record.
audit-anomaly-refunded-without-refund = Purchase { $purchase } is marked refunded, and the Stars of charge { $charge } were not returned.
audit-anomaly-closed-keeping-stars = Purchase { $purchase } was closed by hand: charge { $charge } was not refunded and no codes were sent.
audit-anomaly-unlinked-paid-order = Supplier order { $order } was paid and belongs to no purchase: nobody got its codes.
audit-anomaly-order-linked-twice = Supplier order { $order } is tied to more than one purchase (first { $purchase }).
audit-anomaly-paid-order-of-closed-purchase = Supplier order { $order } was paid for purchase { $purchase }, which was closed without its codes.
audit-anomaly-delivered-without-paid-order = Purchase { $purchase } is delivered, and the supplier shows no paid order for it ({ $order }).

## Admin: alerts and the reasons they give, worded in each admin's language
## (issue #15). An alert is stored as its kind and arguments and worded
## from `alert-<kind>` when sent; reasons and spans are nested messages.
alert-legacy = ⚠️ <b>{ $title }</b>
    { $detail }
alert-dead-letter = 🔴 <b>Dead letter</b>
    Purchase #{ $purchase } needs attention: { $reason }
alert-refund = { $outcome }
alert-refund-stars = ↩️ <b>Refund</b>
    Purchase #{ $purchase } will be refunded: { $reason }
alert-refund-by-hand = ⚠️ <b>Not refunded</b>
    Purchase #{ $purchase } was not paid in Stars ({ $source }), so nothing was refunded automatically: { $reason }. Settle it with the buyer.
alert-stall = ⚠️ <b>Stall</b>
    Purchase #{ $purchase }: { $stall }
alert-low-balance = ⚠️ <b>Low supplier balance</b>
    The supplier balance is too low for purchase #{ $purchase }: top it up. { $minutes ->
        [one] Purchases wait up to { $minutes } minute, then are refunded.
       *[other] Purchases wait up to { $minutes } minutes, then are refunded.
    }
alert-supplier-auth = 🔴 <b>Supplier refuses our key</b>
    The supplier refuses our API key (401/403): check FOXRELOAD_API_KEY and the IP allowlist. Purchases are on hold.
alert-unknown-status = ⚠️ <b>Unknown supplier status</b>
    Purchase #{ $purchase }: the supplier reports an unknown status "{ $status }" for order { $order }.
alert-double-charge = ⚠️ <b>Double charge</b>
    Purchase #{ $purchase }: the supplier charged for more than one matching order ({ $extra } extra: { $orders }). Check the supplier account.
alert-corrupt-row = ⚠️ <b>Unreadable purchase</b>
    Purchase #{ $purchase } cannot be read ({ $problem }); it is set aside until repaired.
alert-worker-panic = ⚠️ <b>Task restarted</b>
    { $restarts ->
        [one] { $task } panicked and was restarted (once so far). See the logs.
       *[other] { $task } panicked and was restarted ({ $restarts } times so far). See the logs.
    }
alert-unknown-payment = ⚠️ <b>Unknown payment</b>
    { $stars ->
        [one] A payment of { $stars } Star
       *[other] A payment of { $stars } Stars
    } from user { $user } names no invoice of ours (unknown payment { $orphan }): refund it unless it is explained.
alert-incident = 🔴 <b>Incident</b>
    { $condition }
alert-recovered = ✅ <b>Recovered</b>: { $condition }
incident-delivery-degraded = Deliveries are failing: { $failed } of the { $finished } purchases finished in the last { $minutes } minutes were refunded or need a person.
incident-dead-letters = { $count ->
        [one] { $count } purchase needs a person: see /stalled.
       *[other] { $count } purchases need a person: see /stalled.
    }
incident-stalled = { $count ->
        [one] { $count } purchase is past the stall threshold: see /stalled.
       *[other] { $count } purchases are past the stall threshold: see /stalled.
    }
incident-balance-low = { $count ->
        [one] The supplier balance is too low: { $count } purchase waits for a top-up, then is refunded.
       *[other] The supplier balance is too low: { $count } purchases wait for a top-up, then are refunded.
    }
incident-supplier-auth = { $count ->
        [one] The supplier refuses the API key: { $count } purchase waits. Check FOXRELOAD_API_KEY and the key's IP allowlist.
       *[other] The supplier refuses the API key: { $count } purchases wait. Check FOXRELOAD_API_KEY and the key's IP allowlist.
    }
incident-poller-stopped = { $count ->
        [one] No process is watching the { $count } paid supplier order: is foxbot running?
       *[other] No process is watching the { $count } paid supplier orders: is foxbot running?
    }
incident-name-delivery-degraded = deliveries failing
incident-name-dead-letters = dead letters
incident-name-stalled = stalled purchases
incident-name-balance-low = low supplier balance
incident-name-supplier-auth = supplier refusing the key
incident-name-poller-stopped = poller stopped
dead-letter-no-attempt-record = { $state } without an attempt record
dead-letter-order-linked-elsewhere = the supplier order is already linked to another purchase
dead-letter-no-order-linked = no supplier order is linked
dead-letter-linked-order-not-found = the linked supplier order is not found
dead-letter-pay-order-unknown = the supplier does not know the order we pay
dead-letter-stays-active = { $pays ->
        [one] the supplier order stays active after { $pays } pay request
       *[other] the supplier order stays active after { $pays } pay requests
    }
dead-letter-completed-without-codes = the supplier completed the order but shows no codes (none usable), read alone twice
dead-letter-may-or-may-not-exist = an order may or may not exist: { $why }
dead-letter-no-codes-stored = no codes are stored for a completed order
dead-letter-no-usable-code = no usable code is stored for a completed order
dead-letter-stored-messages-unreadable = the stored messages of this delivery cannot be read
dead-letter-sent-twice-unconfirmed = the codes were sent twice without a confirmation; the buyer can view them in /orders
dead-letter-codes-message-refused = Telegram refused the codes message: { $error }
dead-letter-stars-refund-refused = Telegram refused the Stars refund: { $error }
stall-waiting-supplier = the supplier order { $order } is still { $status } after { $since } (paid; ask the supplier)
stall-status = { $status }
stall-status-unfinished = unfinished
stall-ordering = no supplier order could be started for { $since }{ $last }
stall-create-unknown = whether the supplier order exists is still unknown after { $since }{ $last }
stall-unpaid = the supplier order { $order } is still unpaid after { $since }{ $last }
stall-delivering = the codes are still not delivered after { $since }
stall-refunding = the refund is still not done after { $since }
stall-other = still { $state } after { $since }{ $last }
stall-last-error = { " " }(last error: { $error })
stall-no-error = { "" }
refund-cause-creates-exhausted = { $attempts ->
        [one] no supplier order could be placed in { $attempts } attempt
       *[other] no supplier order could be placed in { $attempts } attempts
    }
refund-cause-price-rose = the supplier's price rose beyond the accepted tolerance
refund-cause-order-refused = the supplier refused the order: { $reply }
refund-cause-asks-too-much = the supplier asks { $total }, beyond the accepted price
refund-cause-asks-too-much-unknown = the supplier asks more than the accepted price
refund-cause-payment-refused = the supplier refused payment: { $reply }
refund-cause-key-refused = the supplier kept refusing our API key
refund-cause-balance-not-topped-up = the supplier balance was not topped up in time
supplier-failure-failed = the supplier order failed{ $said }
supplier-failure-cancelled = the supplier cancelled the order{ $said }
supplier-failure-delivered-nothing = the supplier completed the order but delivered nothing{ $said }
supplier-said = : { $said }
supplier-said-nothing = { "" }

## Buyer localisation (issue #15): the invoice, the note fields confirmed
## before it, and the labels of the codes' parts.
invoice-title = Order: { $product }
invoice-price-label = Price: { $quantity } × { $product }
invoice-note-line = { $field }: { $value }
note-confirm-title = Please check what you entered for { $product } × { $quantity }:
note-confirm-line = { $field }: <b>{ $value }</b>
note-confirm-question = Is this right? The invoice comes next.
note-confirm-button = ✅ Yes, that's right
note-edit-button = ✏️ Change
code-label-code = Code
code-label-pin = PIN
code-label-serial = Serial no.

## Progress: what the buyer's message says while an order waits (issue #15)
refund-reason-not-restocked = the shop could not restock this product in time.
progress-slow = ⏳ Order #{ $purchase } ({ $product } × { $quantity }) is taking longer than usual. The shop is keeping an eye on it; your codes come here as soon as they are ready.
progress-refund-slow = ⏳ The refund of order #{ $purchase } ({ $product } × { $quantity }) is taking longer than usual. The shop is keeping an eye on it; your Stars come back as soon as Telegram confirms it.
progress-on-hold-restock = { $minutes ->
    [one] ⏳ Order #{ $purchase } ({ $product } × { $quantity }): the shop is restocking this product, and your order goes ahead as soon as it is back. If that takes more than { $minutes } minute, your Stars are refunded automatically.
   *[other] ⏳ Order #{ $purchase } ({ $product } × { $quantity }): the shop is restocking this product, and your order goes ahead as soon as it is back. If that takes more than { $minutes } minutes, your Stars are refunded automatically.
}
progress-on-hold = { $minutes ->
    [one] ⏳ Order #{ $purchase } ({ $product } × { $quantity }): the shop is fixing a problem on its side, and your order goes ahead as soon as it is fixed. If that takes more than { $minutes } minute, your Stars are refunded automatically.
   *[other] ⏳ Order #{ $purchase } ({ $product } × { $quantity }): the shop is fixing a problem on its side, and your order goes ahead as soon as it is fixed. If that takes more than { $minutes } minutes, your Stars are refunded automatically.
}

## Support (issue #15): the support line, tickets and /tickets
cmd-support = Write to the shop
cmd-tickets = Open support tickets
support-ask = ✍️ Write your message to the shop here (your order number helps: see /orders). It goes to the people who run the shop, and their answer comes back in this chat.
support-opened = ✅ Your message reached the shop (ticket #{ $ticket }). The answer comes here; anything more you write here is added to it.
support-sent = ✅ Added to your ticket #{ $ticket }.
support-wait = You have written a lot in a short time. Please wait up to { $minutes ->
    [one] a minute
   *[other] { $minutes } minutes
} before writing again: the shop has your messages.
support-unreachable = Sorry, your message could not reach the shop just now. Please try again in a few minutes.
support-too-long = That message is too long: please keep it under { $max ->
    [one] { $max } character
   *[other] { $max } characters
}, or send it in parts.
support-text-only = I can pass only written text on to the shop. Please describe it in words, or use /start for the catalog.
support-contact = You can also reach the shop at { $contact }.
support-answer = 💬 <b>The shop answers:</b>
    { $text }
support-closed = Your conversation with the shop (ticket #{ $ticket }) is closed. If you need anything else, just write here.
support-admin-hint = To answer a buyer, reply to their ticket's message. /tickets lists the open tickets.
support-language-en = English
support-language-hi = Hindi
support-ticket-new = 🆕 <b>Ticket #{ $ticket }</b> from { $buyer } (id { $id }), language: { $language }
support-ticket-more = 💬 <b>Ticket #{ $ticket }</b>: more from { $buyer } (id { $id }), language: { $language }
support-ticket-no-orders = No orders yet.
support-ticket-order = #{ $purchase } { $product } × { $quantity }: { $state }, { $age } ago
support-ticket-hint = <i>Reply to this message to answer.</i>
support-answer-sent = ✅ Sent to { $buyer } (ticket #{ $ticket }).
support-answer-failed = ❌ Your answer could not reach { $buyer } (ticket #{ $ticket }): they may have blocked the bot.
support-answer-closed = Ticket #{ $ticket } is closed; nothing was sent. The buyer's next message opens a new ticket.
support-tickets-none = No open tickets.
support-tickets-title = 💬 { $total ->
    [one] { $total } open ticket
   *[other] { $total } open tickets
}, longest waiting first:
support-tickets-item = <b>#{ $ticket }</b> { $buyer } (id { $id }), last message { $age } ago:
    { $snippet }
support-button-close = ✖️ Close #{ $ticket }
support-closed-done = Ticket #{ $ticket } is closed; the buyer was told.
support-closed-already = Ticket #{ $ticket } was already closed.
