# foxbot — हिन्दी. en.ftl के हर संदेश का अनुवाद यहाँ होना चाहिए।

welcome = आपका स्वागत है! कैटलॉग देखें, Telegram Stars से भुगतान करें और अपने कोड यहीं पाएँ।
help = कमांड:
    /start — कैटलॉग
    /orders — आपकी खरीदारी, और उनके कोड दोबारा
    /language — English या हिन्दी
    /paysupport — भुगतान और रिफ़ंड
    /cancel — जो शुरू किया उसे रोकें
    /help — यह संदेश

## Delivery
delivery-header = <b>आपका ऑर्डर #{ $purchase }</b>: { $product } × { $quantity }
delivery-resent = ⚠️ दोबारा भेजा गया: इन कोड वाला पिछला संदेश शायद आप तक नहीं पहुँचा।
delivery-part = (भाग { $n } / { $total })
delivery-view-again = ये कोड आप कभी भी /orders से दोबारा देख सकते हैं।

## Refunds
refund-done = ऑर्डर #{ $purchase } के आपके { $stars } Stars वापस कर दिए गए हैं: { $reason }
refund-reason-supplier = सप्लायर इसे पूरा नहीं कर सका।
refund-reason-paid-twice = इस बिल का भुगतान पहले ही हो चुका था; ऑर्डर आपके पहले भुगतान से ख़रीदा गया है।
refund-reason-amount-mismatch = भुगतान की गई राशि बिल से मेल नहीं खाती थी।
refund-reason-unavailable = यह प्रोडक्ट अब बेचा नहीं जा सकता था।
refund-reason-admin = दुकान ने इसे वापस कर दिया।

## The shop front
paysupport = <b>भुगतान और रिफ़ंड</b>
    भुगतान Telegram Stars में होता है। अगर हम आपका ऑर्डर नहीं पहुँचा पाते, तो आपके Stars अपने-आप लौटा दिए जाते हैं और आपको यहीं संदेश मिलता है।
    अगर कुछ गड़बड़ लगे, तो अपने ऑर्डर नंबर (/orders देखें) के साथ इसी चैट में लिखें: दुकान के मालिक इसे पढ़ते हैं।
cancelled = रद्द कर दिया। /start से कैटलॉग फिर देखें।
unknown-command = मैं यह कमांड नहीं जानता। /help में देखें कि मैं क्या कर सकता हूँ।
unknown-text = माफ़ कीजिए, मैं समझ नहीं पाया। बटन इस्तेमाल करें, या कैटलॉग के लिए /start और मदद के लिए /help भेजें।
language-choose = अपनी भाषा चुनें:
language-set = भाषा हिन्दी कर दी गई है।
demo-banner = 🧪 <b>डेमो दुकान</b>: ऑर्डर एक नकली सप्लायर को जाते हैं और कोई भुगतान नहीं लिया जाता।
demo-price = (डेमो: कोई भुगतान नहीं लिया जाता)
catalog-empty = अभी कुछ भी बिक्री के लिए नहीं है। कृपया थोड़ी देर बाद कोशिश करें।
catalog-choose-category = श्रेणी चुनें:
catalog-choose-product = प्रोडक्ट चुनें:
product-unavailable-short = उपलब्ध नहीं
product-unknown = यह प्रोडक्ट अब कैटलॉग में नहीं है। /start से देखें कि क्या उपलब्ध है।
product-price = कीमत: ⭐ { $stars } प्रति नग
product-stock = स्टॉक में: { $stock }
product-choose-quantity = कितने चाहिए?
product-out-of-stock = अभी स्टॉक में नहीं है।
product-unavailable = अभी उपलब्ध नहीं है।
button-back = ◀️ वापस
button-cancel = ✖️ रद्द करें
button-expired = यह बटन अब काम नहीं करता। फिर से शुरू करने के लिए /start भेजें।
note-ask = { $product } के लिए आपका <b>{ $field }</b> चाहिए। कृपया भेजें।
note-invalid = यह { $field } सही नहीं लगता: { $problem }। कृपया दोबारा भेजें, या /cancel करें।
note-missing = कृपया पहले अपना { $field } दें।
note-problem-empty = यह ख़ाली है
note-problem-too-long = यह { $max } अक्षरों से लंबा है
note-problem-control = इसमें ऐसे अक्षर हैं जो इस्तेमाल नहीं किए जा सकते
note-problem-option = यह इनमें से एक होना चाहिए: { $options }
note-problem-email = यह ई-मेल पता नहीं है
note-problem-number = यह एक संख्या होनी चाहिए
note-field-player-id = प्लेयर आईडी
note-field-server = सर्वर
note-field-email = ई-मेल पता
note-field-account = खाता
quantity-limits = एक बार में { $min } से { $max } तक ख़रीदे जा सकते हैं।
quantity-stock = स्टॉक में सिर्फ़ { $stock } बचे हैं।
quantity-too-large = यह ऑर्डर एक बिल में भुगतान के लिए बहुत बड़ा है।
invoice-description = { $quantity } × { $product }
state-in-progress = प्रक्रिया में
state-delivering = कोड भेजे जा रहे हैं
state-delivered = पहुँचा दिया गया
state-refunding = रिफ़ंड हो रहा है
state-refunded = रिफ़ंड हो गया
state-cancelled = रद्द
state-attention = दुकान इसे देख रही है
orders-none = आपने अभी तक कुछ नहीं ख़रीदा है। /start से कैटलॉग देखें।
orders-title = आपकी ख़रीदारी (नई पहले)। देखने और कोड पाने के लिए किसी पर टैप करें:
order-not-found = आपकी ऐसी कोई ख़रीदारी नहीं है।
order-status = ऑर्डर #{ $purchase }: { $product } × { $quantity } — { $state }।
progress-ordering = 💳 ऑर्डर #{ $purchase } ({ $product } × { $quantity }) का भुगतान मिल गया। अब ऑर्डर किया जा रहा है…
progress-paid = ⏳ ऑर्डर #{ $purchase } ({ $product } × { $quantity }) दे दिया गया है; तैयार होते ही आपके कोड आ जाएँगे।
progress-delivered = ✅ ऑर्डर #{ $purchase } ({ $product } × { $quantity }) पहुँचा दिया गया: आपके कोड नीचे वाले संदेश में हैं।
progress-refunded = ↩️ ऑर्डर #{ $purchase } ({ $product } × { $quantity }) पूरा नहीं हो सका; आपके Stars लौटा दिए गए।
progress-cancelled = ऑर्डर #{ $purchase } ({ $product } × { $quantity }) रद्द हो गया; दुकान आपसे हिसाब कर लेगी।
progress-attention = ⚠️ ऑर्डर #{ $purchase } ({ $product } × { $quantity }) में उम्मीद से ज़्यादा समय लग रहा है। दुकान को सूचना दे दी गई है और वह इसे ठीक करेगी।
checkout-unknown = यह बिल अब मान्य नहीं है। कृपया /start से फिर शुरू करें।
checkout-already-paid = इस बिल का भुगतान पहले ही हो चुका है।
checkout-price-changed = इस बिल के बाद कीमत बदल गई है। कृपया /start से फिर शुरू करें।
checkout-unavailable = यह प्रोडक्ट अभी बेचा नहीं जा सकता।
checkout-try-again = हमारी तरफ़ से कुछ गड़बड़ हुई। कृपया एक मिनट बाद फिर कोशिश करें।
payment-will-refund = आपका भुगतान मिल गया, पर इसे ऑर्डर में इस्तेमाल नहीं किया जा सकता ({ $reason }) यह अपने-आप लौटा दिया जाएगा (संदर्भ #{ $purchase })।
payment-unknown = हमें एक ऐसा भुगतान मिला जिसे किसी बिल से मिलाया नहीं जा सका। दुकान को सूचना दे दी गई है और वह इसे लौटा देगी।
cmd-start = कैटलॉग
cmd-orders = आपकी ख़रीदारी और कोड
cmd-language = भाषा बदलें
cmd-help = मदद
cmd-paysupport = भुगतान और रिफ़ंड
cmd-stalled = ध्यान माँगती ख़रीदारी
cmd-balance = सप्लायर बैलेंस
cmd-order = एक ख़रीदारी का इतिहास
cmd-stats = आज के आँकड़े
