# foxbot — हिन्दी. en.ftl के हर संदेश का अनुवाद यहाँ होना चाहिए।

welcome = { $shop } में आपका स्वागत है! कैटलॉग देखें, Telegram Stars से भुगतान करें और अपने कोड यहीं पाएँ।
help = कमांड: /start — कैटलॉग, /orders — आपकी खरीदारी और कोड, /language — भाषा बदलें, /help — यह संदेश।

## Delivery
delivery-header = <b>आपका ऑर्डर #{ $purchase }</b>: { $product } × { $quantity }
delivery-resent = ⚠️ दोबारा भेजा गया: इन कोड वाला पिछला संदेश शायद आप तक नहीं पहुँचा।
delivery-part = (भाग { $n } / { $total })
delivery-view-again = ये कोड आप कभी भी /orders से दोबारा देख सकते हैं।

## Refunds
refund-done = ऑर्डर #{ $purchase } के आपके { $stars } Stars वापस कर दिए गए हैं: { $reason }
refund-reason-supplier = सप्लायर इसे पूरा नहीं कर सका।
