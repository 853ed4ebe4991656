# foxbot — English. Every text a user sees comes from here or from hi.ftl.

welcome = Welcome to { $shop }! Browse the catalog, pay in Telegram Stars and get your codes right here.
help = Commands: /start — catalog, /orders — your purchases and codes, /language — change language, /help — this message.

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
