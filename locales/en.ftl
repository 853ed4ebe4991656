# foxbot — English. Every text a user sees comes from here or from hi.ftl.

welcome = Welcome! Browse the catalog, pay in Telegram Stars and get your codes right here.
help = Commands:
    /start — the catalog
    /orders — your purchases, and their codes again
    /language — English or हिन्दी
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
refund-reason-supplier = the supplier could not fulfil it.
refund-reason-paid-twice = this invoice had already been paid; your first payment bought the order.
refund-reason-amount-mismatch = the amount paid did not match the invoice.
refund-reason-unavailable = the product could no longer be sold.
refund-reason-admin = the shop refunded it.

## The shop front
paysupport = <b>Payments and refunds</b>
    You pay in Telegram Stars. If we cannot deliver your order, your Stars are refunded automatically and you get a message here.
    If something looks wrong, write to this chat with your order number (see /orders): the shop owner reads it.
cancelled = Cancelled. /start shows the catalog again.
unknown-command = I don't know that command. /help lists what I can do.
unknown-text = Sorry, I didn't understand that. Use the buttons, or /start for the catalog and /help for help.
language-choose = Choose your language:
language-set = Language set to English.
demo-banner = 🧪 <b>Demo shop</b>: orders go to a simulated supplier and nothing is paid.
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
note-ask = { $product } needs your <b>{ $field }</b>. Please send it.
note-invalid = That { $field } does not look right: { $problem }. Please send it again, or /cancel.
note-missing = Please give your { $field } first.
note-problem-empty = it is empty
note-problem-too-long = it is longer than { $max } characters
note-problem-control = it contains characters that cannot be used
note-problem-option = it must be one of: { $options }
note-problem-email = it is not an e-mail address
note-problem-number = it must be a number
note-field-player-id = player ID
note-field-server = server
note-field-email = e-mail address
note-field-account = account
quantity-limits = You can buy { $min } to { $max } at a time.
quantity-stock = Only { $stock } left in stock.
quantity-too-large = That order is too large to pay in one invoice.
invoice-description = { $quantity } × { $product }
state-in-progress = in progress
state-delivering = sending codes
state-delivered = delivered
state-refunding = being refunded
state-refunded = refunded
state-cancelled = cancelled
state-attention = being looked at by the shop
orders-none = You have no purchases yet. /start shows the catalog.
orders-title = Your purchases (newest first). Tap one to see it, and its codes:
order-not-found = No such purchase of yours.
order-status = Order #{ $purchase }: { $product } × { $quantity } — { $state }.
progress-ordering = 💳 Payment received for order #{ $purchase } ({ $product } × { $quantity }). Ordering it now…
progress-paid = ⏳ Order #{ $purchase } ({ $product } × { $quantity }) is placed; your codes come as soon as it is ready.
progress-delivered = ✅ Order #{ $purchase } ({ $product } × { $quantity }) is delivered: your codes are in the message below.
progress-refunded = ↩️ Order #{ $purchase } ({ $product } × { $quantity }) could not be fulfilled; your Stars were refunded.
progress-cancelled = Order #{ $purchase } ({ $product } × { $quantity }) was cancelled; the shop will settle it with you.
progress-attention = ⚠️ Order #{ $purchase } ({ $product } × { $quantity }) is taking longer than it should. The shop has been alerted and will sort it out.
checkout-unknown = This invoice is not valid any more. Please start again with /start.
checkout-already-paid = This invoice has already been paid.
checkout-price-changed = The price has changed since this invoice. Please start again with /start.
checkout-unavailable = This product cannot be sold right now.
checkout-try-again = Something went wrong on our side. Please try again in a minute.
payment-will-refund = We received your payment, but cannot use it for an order ({ $reason }) It will be refunded automatically (reference #{ $purchase }).
payment-unknown = We received a payment we cannot match to an invoice. The shop has been alerted and will refund it.
cmd-start = Catalog
cmd-orders = Your purchases and codes
cmd-language = Change language
cmd-help = Help
cmd-paysupport = Payments and refunds
cmd-stalled = Purchases that need attention
cmd-balance = Supplier balance
cmd-order = One purchase's history
cmd-stats = Today's figures
