# foxbot — हिन्दी. en.ftl के हर संदेश का अनुवाद यहाँ होना चाहिए।

welcome = आपका स्वागत है! कैटलॉग देखें, Telegram Stars से भुगतान करें और अपने कोड यहीं पाएँ। English या हिन्दी चुनने के लिए /language भेजें।
help = कमांड:
    /start — कैटलॉग
    /orders — आपके ऑर्डर, और उनके कोड दोबारा
    /language — English या हिन्दी
    /support — दुकान को लिखें
    /paysupport — भुगतान और रिफ़ंड
    /cancel — जो शुरू किया उसे रोकें
    /help — यह संदेश

## Delivery
delivery-header = <b>आपका ऑर्डर #{ $purchase }</b>: { $product } × { $quantity }
delivery-resent = ⚠️ दोबारा भेजा गया: इन कोड वाला पिछला संदेश शायद आप तक नहीं पहुँचा।
delivery-part = (भाग { $n } / { $total })
delivery-view-again = ये कोड आप कभी भी /orders से दोबारा देख सकते हैं।

## Refunds
refund-done = { $stars ->
    [one] ऑर्डर #{ $purchase } का आपका { $stars } Star रिफ़ंड कर दिया गया है: { $reason }
   *[other] ऑर्डर #{ $purchase } के आपके { $stars } Stars रिफ़ंड कर दिए गए हैं: { $reason }
}
refund-reason-supplier = यह ऑर्डर पूरा नहीं हो सका।
refund-reason-paid-twice = इस बिल का भुगतान पहले ही हो चुका था; आपका ऑर्डर पहले भुगतान से हो गया है।
refund-reason-amount-mismatch = भुगतान की गई राशि बिल से मेल नहीं खाती थी।
refund-reason-unavailable = यह प्रोडक्ट अब उपलब्ध नहीं था।
refund-reason-admin = दुकान ने इसे रिफ़ंड कर दिया।

## The shop front
paysupport = <b>भुगतान और रिफ़ंड</b>
    भुगतान Telegram Stars में होता है। अगर हम आपका ऑर्डर नहीं पहुँचा पाते, तो आपके Stars अपने-आप लौटा दिए जाते हैं और आपको यहीं संदेश मिलता है।
    अगर कुछ गड़बड़ लगे, तो अपने ऑर्डर नंबर (/orders देखें) के साथ अपना संदेश यहीं लिखें, या /support भेजें: यह दुकान तक पहुँचेगा, और जवाब इसी चैट में आएगा।
cancelled = रद्द कर दिया गया। कैटलॉग फिर से देखने के लिए /start भेजें।
unknown-command = मैं यह कमांड नहीं जानता। /help में देखें कि मैं क्या कर सकता हूँ।
unknown-text = माफ़ कीजिए, मैं समझ नहीं पाया। बटन इस्तेमाल करें, या कैटलॉग के लिए /start और मदद के लिए /help भेजें।
language-choose = अपनी भाषा चुनें:
language-set = भाषा हिन्दी कर दी गई है।
demo-banner = 🧪 <b>डेमो दुकान</b>: यह टेस्ट के लिए है — ऑर्डर असली नहीं होते और कोई भुगतान नहीं लिया जाता।
demo-price = (डेमो: कोई भुगतान नहीं लिया जाता)
catalog-empty = अभी कुछ भी बिक्री के लिए नहीं है। कृपया थोड़ी देर बाद कोशिश करें।
catalog-choose-category = कैटेगरी चुनें:
catalog-choose-product = प्रोडक्ट चुनें:
product-unavailable-short = उपलब्ध नहीं
product-unknown = यह प्रोडक्ट अब कैटलॉग में नहीं है। /start से देखें कि क्या उपलब्ध है।
product-price = क़ीमत: ⭐ { $stars } प्रति पीस
product-stock = स्टॉक में: { $stock }
product-choose-quantity = कितने चाहिए?
product-out-of-stock = अभी स्टॉक में नहीं है।
product-unavailable = अभी उपलब्ध नहीं है।
button-back = ◀️ वापस
button-cancel = ✖️ रद्द करें
button-expired = यह बटन अब काम नहीं करता। फिर से शुरू करने के लिए /start भेजें।
button-private-only = यह बटन सिर्फ़ मेरे साथ आपकी निजी चैट में काम करता है। अपने ऑर्डर देखने के लिए वहीं खोलें।
note-ask = { $product } के लिए <b>{ $field }</b> चाहिए। कृपया यहाँ भेजें।
note-invalid = { $field } में गड़बड़ी है: { $problem }। कृपया दोबारा भेजें, या /cancel भेजें।
note-missing = कृपया पहले { $field } भेजें।
note-problem-empty = यह ख़ाली है
note-problem-too-long = { $max ->
    [one] इसमें { $max } से ज़्यादा अक्षर हैं
   *[other] इसमें { $max } से ज़्यादा अक्षर हैं
}
note-problem-control = इसमें ऐसे अक्षर हैं जो इस्तेमाल नहीं किए जा सकते
note-problem-zero-width = इसमें एक अदृश्य (ज़ीरो-विड्थ) अक्षर ({ $code }) है, जो अक्सर कॉपी-पेस्ट के साथ आ जाता है
note-problem-bidi = इसमें एक अदृश्य दिशा-चिह्न ({ $code }) है, जो इसे पढ़ने का क्रम बदल सकता है
note-problem-option = इनमें से कोई एक चुनें: { $options }
note-problem-email = यह ई-मेल पता नहीं है
note-problem-number = यह एक संख्या होनी चाहिए
note-field-player-id = प्लेयर आईडी
note-field-server = सर्वर
note-field-email = ई-मेल पता
note-field-account = अकाउंट
quantity-limits = { $max ->
    [one] एक बार में सिर्फ़ { $max } ख़रीदा जा सकता है।
   *[other] एक बार में { $min } से { $max } तक ख़रीदे जा सकते हैं।
}
quantity-stock = { $stock ->
    [one] स्टॉक में सिर्फ़ { $stock } बचा है।
   *[other] स्टॉक में सिर्फ़ { $stock } बचे हैं।
}
quantity-too-large = यह ऑर्डर एक बिल में भुगतान के लिए बहुत बड़ा है।
invoice-description = { $quantity ->
    [one] { $quantity } × { $product }। भुगतान होते ही आपका कोड इसी चैट में आ जाएगा।
   *[other] { $quantity } × { $product }। भुगतान होते ही आपके कोड इसी चैट में आ जाएँगे।
}
state-in-progress = प्रोसेस हो रहा है
state-delivering = कोड भेजे जा रहे हैं
state-delivered = डिलीवर हो गया
state-refunding = रिफ़ंड हो रहा है
state-refunded = रिफ़ंड हो गया
state-cancelled = रद्द हो गया
state-attention = दुकान इसे देख रही है
orders-none = आपका अभी तक कोई ऑर्डर नहीं है। कैटलॉग देखने के लिए /start भेजें।
orders-title = आपके ऑर्डर (नए पहले)। किसी ऑर्डर और उसके कोड देखने के लिए उस पर टैप करें:
order-not-found = आपका ऐसा कोई ऑर्डर नहीं है।
order-status = ऑर्डर #{ $purchase }: { $product } × { $quantity } — { $state }।
progress-ordering = 💳 ऑर्डर #{ $purchase } ({ $product } × { $quantity }) का भुगतान मिल गया। आपका ऑर्डर प्रोसेस हो रहा है…
progress-paid = ⏳ ऑर्डर #{ $purchase } ({ $product } × { $quantity }) प्रोसेस हो रहा है; तैयार होते ही आपके कोड यहीं आ जाएँगे।
progress-delivered = ✅ ऑर्डर #{ $purchase } ({ $product } × { $quantity }) डिलीवर हो गया है: आपके कोड नीचे वाले संदेश में हैं।
progress-refunded = ↩️ ऑर्डर #{ $purchase } ({ $product } × { $quantity }) के आपके Stars रिफ़ंड कर दिए गए हैं: { $reason }
progress-cancelled = ऑर्डर #{ $purchase } ({ $product } × { $quantity }) रद्द कर दिया गया है; पैसों के बारे में दुकान आपसे ख़ुद बात करेगी।
progress-attention = ⚠️ ऑर्डर #{ $purchase } ({ $product } × { $quantity }) में उम्मीद से ज़्यादा समय लग रहा है, इसलिए अब दुकान का एक व्यक्ति इसे देख रहा है। इसके बारे में पूछने के लिए ऑर्डर नंबर के साथ /support भेजें।
checkout-unknown = यह बिल अब मान्य नहीं है। कृपया /start से फिर शुरू करें।
checkout-already-paid = इस बिल का भुगतान पहले ही हो चुका है।
checkout-price-changed = यह बिल बनने के बाद क़ीमत बदल गई है। कृपया /start से फिर शुरू करें।
checkout-unavailable = यह प्रोडक्ट अभी बेचा नहीं जा सकता।
checkout-try-again = हमारी तरफ़ से कुछ गड़बड़ हुई। कृपया एक मिनट बाद फिर कोशिश करें।
payment-will-refund = आपका भुगतान मिल गया, पर इससे ऑर्डर नहीं हो सकता ({ $reason }) यह अपने-आप रिफ़ंड कर दिया जाएगा (रेफ़रेंस #{ $purchase })।
payment-unknown = हमें एक ऐसा भुगतान मिला जो हमारे किसी बिल से नहीं जुड़ता। दुकान को सूचना दे दी गई है और वह इसे रिफ़ंड कर देगी।
cmd-start = कैटलॉग
cmd-orders = आपके ऑर्डर और कोड
cmd-language = भाषा बदलें
cmd-help = मदद
cmd-paysupport = भुगतान और रिफ़ंड
cmd-stalled = ध्यान माँगती ख़रीदारी
cmd-balance = सप्लायर बैलेंस
cmd-order = एक ख़रीदारी का इतिहास
cmd-stats = आज के आँकड़े

## Admin
admin-failed = कुछ गड़बड़ हो गई; लॉग देखें। दोबारा कोशिश करने से पहले /order से ख़रीद जाँच लें।
admin-stalled-none = ध्यान देने लायक कुछ नहीं: कोई ख़रीद अटकी नहीं है, और कोई भी { $threshold } से ज़्यादा समय से अधूरी नहीं है।
admin-stalled-title = ⚠️ ध्यान चाहिए: { $total } (अटकी हुई ख़रीदें, और { $threshold } से ज़्यादा समय से अधूरी ख़रीदें), सबसे पुरानी पहले।
admin-stalled-more = { $more ->
        [one] …और { $more } बाक़ी है। इन्हें निपटाकर /stalled फिर भेजें।
       *[other] …और { $more } बाक़ी हैं। इन्हें निपटाकर /stalled फिर भेजें।
    }
admin-stalled-item = <b>#{ $purchase }</b> { $product } × { $quantity } · { $stars } ⭐
admin-stalled-state = स्थिति: { $state }, { $age } से (ख़रीद { $since } पहले हुई)
admin-stalled-error = आख़िरी त्रुटि: { $error }
admin-stalled-unreadable = #{ $purchase } पढ़ी नहीं जा सकती: { $problem }
admin-supplier-order = सप्लायर ऑर्डर: <code>{ $order }</code> ({ $status })
admin-no-supplier-order = कोई सप्लायर ऑर्डर जुड़ा नहीं है
admin-status-unknown = स्थिति अज्ञात
admin-button-recheck = 🔎 दोबारा जाँचें #{ $purchase }
admin-button-retry = ▶️ फिर चलाएँ #{ $purchase }
admin-button-refund = ↩️ रिफ़ंड #{ $purchase }
admin-button-close = ✖️ बंद करें #{ $purchase }
admin-action-recheck = दोबारा जाँचें
admin-action-retry = फिर चलाएँ
admin-action-refund = रिफ़ंड करें
admin-action-close = बंद करें
admin-confirm-button = ✅ हाँ, { $action } #{ $purchase }
admin-confirm-due-now = #{ $purchase } ({ $state }) को अभी दोबारा देखा जाए? उसका वर्कर इसे तुरंत उठाएगा; और कुछ नहीं बदलेगा।
admin-confirm-read-order = #{ $purchase } का सप्लायर ऑर्डर { $order } अभी पढ़ें? कुछ भी आगे नहीं बढ़ेगा: आप उसकी स्थिति देखकर तय करें।
admin-confirm-retry-watch = #{ $purchase } को फिर से काम पर लगाएँ? यह waiting_supplier में जाएगी: सप्लायर ऑर्डर { $order } दोबारा पढ़ा जाएगा, और इसके लिए कोई नया ऑर्डर कभी नहीं बनेगा।
admin-confirm-retry-reconcile = #{ $purchase } को फिर से काम पर लगाएँ? इसका पिछला ऑर्डर-अनुरोध सप्लायर तक पहुँचा या नहीं, यह पता नहीं: यह reconciling में जाएगी, जो कुछ और भेजने से पहले सप्लायर के इतिहास में वह ऑर्डर खोजेगी।
admin-confirm-retry-order = #{ $purchase } को फिर से काम पर लगाएँ? इसके लिए कोई सप्लायर ऑर्डर हो ही नहीं सकता (हर अनुरोध ठुकराया गया, भेजा ही नहीं गया, उसका न होना साबित हुआ, या वह बिना भुगतान के समाप्त हो गया): यह ordering में जाएगी, और एक नया ऑर्डर दिया जाएगा।
admin-confirm-refund = #{ $purchase } का रिफ़ंड करें? { $stars } ⭐ ख़रीदार को वापस जाएँगे।
admin-confirm-refund-partial = #{ $purchase } का रिफ़ंड करें? इसकी डिलीवरी अधूरी थी, पर Telegram केवल पूरे Stars भुगतान का रिफ़ंड कर सकता है: इससे पूरे { $stars } ⭐ वापस होंगे, और जो कोड भेजे जा चुके हैं वे ख़रीदार के पास ही रहेंगे।
admin-confirm-refund-no-stars = #{ $purchase } का रिफ़ंड करें? इसका भुगतान Stars में नहीं हुआ था ({ $source }): इसे रद्द के रूप में बंद किया जाएगा, और पैसों का हिसाब आप ख़रीदार से करें।
admin-confirm-close = #{ $purchase } को हाथ से निपटाई गई मानकर बंद करें? यह रद्द हो जाएगी: कोई रिफ़ंड नहीं होगा, और किसी सप्लायर ऑर्डर को छुआ नहीं जाएगा।
admin-confirm-hint = रद्द करने के लिए इस संदेश को अनदेखा करें।
admin-refused-finished = #{ $purchase } पूरी हो चुकी है ({ $state }): करने को कुछ नहीं है।
admin-refused-delivered-in-full = #{ $purchase } पूरी डिलीवर हो चुकी है: रिफ़ंड करने को कुछ नहीं है।
admin-refused-already-refunding = #{ $purchase } का रिफ़ंड पहले से चल रहा है।
admin-refused-busy = अभी एक वर्कर #{ $purchase } पर काम कर रहा है; एक मिनट बाद फिर कोशिश करें।
admin-refused-delivering = #{ $purchase } के कोड अभी भेजे जा रहे हैं; उसके पूरा होने तक रुकें।
admin-refused-create-in-doubt = अभी पता नहीं कि #{ $purchase } के लिए सप्लायर ऑर्डर बना है या नहीं, इसलिए अभी रिफ़ंड करने से भुगतान किया हुआ ऑर्डर पीछे छूट सकता है। मिलान पूरा होने (या ख़रीद के अटकने) तक रुकें।
admin-refused-no-order = #{ $purchase } का पढ़ने लायक कोई सप्लायर ऑर्डर नहीं है। फिर चलाने पर इसका सुरक्षित मिलान या ऑर्डर होता है।
admin-refused-unclear = #{ $purchase } के एक से ज़्यादा अनुरोधों से ऑर्डर बना हो सकता है, इसलिए फिर चलाने पर दूसरे ऑर्डर का भुगतान हो सकता है। सप्लायर अकाउंट जाँचें, फिर रिफ़ंड करें या बंद करें।
admin-refused-still-worked = #{ $purchase } पर अभी काम चल रहा है ({ $state }); हाथ से केवल अटकी हुई ख़रीद या अटका हुआ रिफ़ंड बंद किया जाता है।
admin-done-due-now = 🔄 #{ $purchase } अब तैयार है; उसका वर्कर इसे दोबारा देखेगा।
admin-done-retry = ▶️ #{ $purchase } फिर से काम पर है: { $state }।
admin-done-refund = ↩️ #{ $purchase } का रिफ़ंड हो रहा है; पूरा होने पर ख़रीदार को बताया जाएगा।
admin-done-refund-no-stars = ↩️ #{ $purchase } रिफ़ंड के लिए भेजी गई; भुगतान Stars में नहीं था, इसलिए यह रद्द के रूप में बंद होगी (पैसों का हिसाब हाथ से करें)।
admin-done-close = ✖️ #{ $purchase } रद्द के रूप में बंद की गई (हाथ से निपटाई गई)।
admin-done-read-order = 🔎 #{ $purchase } का सप्लायर ऑर्डर { $order }: { $status }। कुछ भी नहीं बदला गया।
admin-done-by = एडमिन { $admin } ने किया।
admin-lost-race = आपके देखते-देखते #{ $purchase } बदल गई (किसी और ने उसे आगे बढ़ाया): कुछ नहीं किया गया। /order { $purchase } देखें।
admin-signature-busy = इसी प्रोडक्ट, मात्रा और नोट वाली एक और ख़रीद का ऑर्डर-अनुरोध अभी संदेह में है, और #{ $purchase } का मिलान उसके साथ नहीं हो सकता। कुछ नहीं किया गया; एक मिनट बाद फिर कोशिश करें।
admin-supplier-error = सप्लायर से पढ़ा नहीं जा सका: { $error }
admin-not-found = #{ $purchase } नाम की कोई ख़रीद नहीं है।
admin-balance-title = 💰 सप्लायर बैलेंस
admin-balance-empty = सप्लायर ने कोई बैलेंस नहीं बताया।
admin-balance-line = { $currency }: { $amount }
admin-balance-runway = इस दर से { $currency } बैलेंस लगभग { $span } चलेगा।
admin-balance-error = सप्लायर बैलेंस पढ़ा नहीं जा सका: { $error }
admin-balance-no-spend = पिछले 24 घंटों में सप्लायर को कोई भुगतान नहीं हुआ।
admin-balance-spent = { $orders ->
    [one] पिछले 24 घंटों में सप्लायर को भुगतान: { $amounts } ({ $orders } ऑर्डर)।
   *[other] पिछले 24 घंटों में सप्लायर को भुगतान: { $amounts } ({ $orders } ऑर्डर)।
}
admin-unpriced = { $count ->
    [one] { $count } ख़रीद की क़ीमत पता नहीं थी, इसलिए वह इस जोड़ में शामिल नहीं है।
   *[other] { $count } ख़रीदों की क़ीमत पता नहीं थी, इसलिए वे इस जोड़ में शामिल नहीं हैं।
}
admin-order-usage = इस्तेमाल: /order 42, /order #42, सप्लायर ऑर्डर आईडी, या Telegram चार्ज आईडी।
admin-order-not-found = { $reference } से कोई ख़रीद मेल नहीं खाती।
admin-order-title = <b>ख़रीद #{ $purchase }</b>: { $product } × { $quantity }
admin-order-state = स्थिति: { $state } · { $stars } ⭐ · { $source } · ख़रीदार { $user }
admin-order-charge = Telegram चार्ज: <code>{ $charge }</code>
admin-order-created = दर्ज हुई: { $at } UTC
admin-order-timeline = घटनाक्रम (UTC):
admin-order-no-events = कोई घटना दर्ज नहीं है।
admin-order-more = { $more ->
    [one] …{ $more } पुरानी घटना नहीं दिखाई गई।
   *[other] …{ $more } पुरानी घटनाएँ नहीं दिखाई गईं।
}
admin-stats-title = 📊 आज, { $day } (UTC)
admin-stats-purchases = ख़रीदें: { $n }
admin-stats-delivered = डिलीवर हुईं: { $n }
admin-stats-refunded = रिफ़ंड हुईं: { $n } ({ $stars } ⭐)
admin-stats-revenue = आमदनी: { $stars } ⭐
admin-stats-cost = सप्लायर लागत: { $amounts }
admin-stats-no-cost = सप्लायर लागत: कुछ नहीं
admin-span-seconds = { $n } सेकंड
admin-span-minutes = { $n } मिनट
admin-span-hours = { $h } घंटे { $m } मिनट
admin-span-days = { $d } दिन { $h } घंटे

## Admin: moves decided against the whole ledger (issue #14): a refund
## refused when the codes reached the buyer and "refund anyway", the retry
## refused while a refund is underway, the wholesale cost of a refund, and
## confirmations that carry what the admin saw.
admin-button-refund-anyway = ⚠️ फिर भी रिफ़ंड करें #{ $purchase }
admin-action-refund-anyway = फिर भी रिफ़ंड करें
admin-confirm-refund-anyway = { $stars ->
    [one] #{ $purchase } का फिर भी रिफ़ंड करें? इसके कोड ख़रीदार तक पहुँच चुके हैं (भेजे गए, या /orders में देखे जा सकते हैं) और शायद इस्तेमाल भी हो चुके हैं। पूरा भुगतान, { $stars } Star, ख़रीदार को वापस जाएगा, और कोड उनके /orders से छिपा दिए जाएँगे।
   *[other] #{ $purchase } का फिर भी रिफ़ंड करें? इसके कोड ख़रीदार तक पहुँच चुके हैं (भेजे गए, या /orders में देखे जा सकते हैं) और शायद इस्तेमाल भी हो चुके हैं। पूरा भुगतान, { $stars } Stars, ख़रीदार को वापस जाएगा, और कोड उनके /orders से छिपा दिए जाएँगे।
}
admin-confirm-refund-anyway-no-stars = #{ $purchase } का फिर भी रिफ़ंड करें? इसके कोड ख़रीदार तक पहुँच चुके हैं (भेजे गए, या /orders में देखे जा सकते हैं) और शायद इस्तेमाल भी हो चुके हैं। इसका भुगतान Stars में नहीं हुआ था ({ $source }): इसे रद्द के रूप में बंद किया जाएगा, कोड /orders से छिपा दिए जाएँगे, और पैसों का हिसाब आप ख़रीदार से करें।
admin-confirm-cost-paid = 💸 इस ऑर्डर के लिए सप्लायर को भुगतान हो चुका है: थोक क़ीमत { $amount } { $currency }, जो वापस नहीं आएगी।
admin-confirm-cost-maybe = 💸 इस ऑर्डर का भुगतान शायद सप्लायर तक पहुँच गया है: थोक क़ीमत { $amount } { $currency } शायद वापस न आए।
admin-confirm-cost-paid-unknown = 💸 इस ऑर्डर के लिए सप्लायर को भुगतान हो चुका है (थोक क़ीमत पता नहीं), और वह पैसा वापस नहीं आएगा।
admin-confirm-cost-maybe-unknown = 💸 इस ऑर्डर का भुगतान शायद सप्लायर तक पहुँच गया है (थोक क़ीमत पता नहीं); वह पैसा शायद वापस न आए।
admin-confirm-expired = ⏳ यह पुष्टि एक दिन से ज़्यादा पुरानी है: कुछ नहीं किया गया। अभी की स्थिति के हिसाब से योजना यह है:
admin-confirm-changed = ⚠️ आपके देखने के बाद हालात बदल गए: कुछ नहीं किया गया। अभी की स्थिति के हिसाब से योजना यह है:
admin-refused-codes-reached = #{ $purchase } डिलीवर मानी जाती है: इसके कोड ख़रीदार तक पहुँच चुके हैं (कोई हिस्सा भेजा गया या शायद भेजा गया, या वे /orders में देखे जा सकते हैं), इसलिए इसका रिफ़ंड नहीं होगा। अगर ख़रीदार को फिर भी Stars वापस देने हैं, तो "फिर भी रिफ़ंड करें" चुनें: इससे कोड उनके /orders से छिप भी जाएँगे।
admin-refused-refund-underway = #{ $purchase } का रिफ़ंड शुरू हो चुका है या हो चुका है: इसे फिर से काम पर लगाने से ख़रीदार को कोड और Stars दोनों मिल सकते हैं। कुछ नहीं किया गया; /order { $purchase } देखें।
admin-done-refund-anyway = ↩️ #{ $purchase } का फिर भी रिफ़ंड हो रहा है; इसके कोड ख़रीदार के /orders से छिपा दिए गए हैं।

## Issue #14, hole 5: codes are counted (partial deliveries, re-orders)
delivery-partial = { $arrived ->
    [one] ⚠️ { $ordered } में से { $arrived } कोड आ गया है; बाक़ी कोड दुकान मँगवा रही है और आते ही यहीं भेज देगी।
   *[other] ⚠️ { $ordered } में से { $arrived } कोड आ गए हैं; बाक़ी कोड दुकान मँगवा रही है और आते ही यहीं भेज देगी।
}
delivery-reorder = ये आपके ऑर्डर #{ $parent } के वे कोड हैं जो पहले नहीं आए थे।
progress-partly-delivered = { $arrived ->
    [one] 📦 ऑर्डर #{ $purchase } ({ $product } × { $quantity }): { $ordered } में से { $arrived } कोड आ गया है, वह नीचे वाले संदेश में है। बाक़ी कोड दुकान मँगवा रही है।
   *[other] 📦 ऑर्डर #{ $purchase } ({ $product } × { $quantity }): { $ordered } में से { $arrived } कोड आ गए हैं, वे नीचे वाले संदेश में हैं। बाक़ी कोड दुकान मँगवा रही है।
}
alert-partial-delivery = ⚠️ <b>अधूरी डिलीवरी</b>
    { $arrived ->
        [one] ख़रीद #{ $purchase }: { $ordered } में से केवल { $arrived } कोड आया (सप्लायर ऑर्डर { $order }; सप्लायर का कहना: { $errors })। वह भेजा जा रहा है, और ख़रीदार को बताया गया है कि दुकान बाक़ी कोड मँगवा रही है। बाक़ी { $missing } कोड दुकान के ख़र्च पर दोबारा ऑर्डर करें, या पूरे भुगतान का रिफ़ंड करें।
       *[other] ख़रीद #{ $purchase }: { $ordered } में से केवल { $arrived } कोड आए (सप्लायर ऑर्डर { $order }; सप्लायर का कहना: { $errors })। वे भेजे जा रहे हैं, और ख़रीदार को बताया गया है कि दुकान बाक़ी कोड मँगवा रही है। बाक़ी { $missing } कोड दुकान के ख़र्च पर दोबारा ऑर्डर करें, या पूरे भुगतान का रिफ़ंड करें।
    }
admin-button-reorder = 🔁 बाक़ी दोबारा ऑर्डर करें #{ $purchase }
admin-confirm-reorder = { $missing ->
    [one] #{ $purchase } का { $missing } बाक़ी कोड दोबारा ऑर्डर करें? { $missing } × { $product } की नई ख़रीदारी दुकान के ख़र्च पर होगी (ख़रीदार से कुछ और नहीं लिया जाएगा), वह #{ $purchase } से जुड़ी होगी, और कोड आते ही ख़रीदार को भेजा जाएगा।
   *[other] #{ $purchase } के { $missing } बाक़ी कोड दोबारा ऑर्डर करें? { $missing } × { $product } की नई ख़रीदारी दुकान के ख़र्च पर होगी (ख़रीदार से कुछ और नहीं लिया जाएगा), वह #{ $purchase } से जुड़ी होगी, और कोड आते ही ख़रीदार को भेजे जाएँगे।
}
admin-confirm-reorder-button = ✅ हाँ, #{ $purchase } के लिए दोबारा ऑर्डर करें
admin-done-reorder = { $missing ->
    [one] 🔁 #{ $purchase } का { $missing } बाक़ी कोड ख़रीदारी #{ $child } के रूप में दुकान के ख़र्च पर दोबारा ऑर्डर किया गया।
   *[other] 🔁 #{ $purchase } के { $missing } बाक़ी कोड ख़रीदारी #{ $child } के रूप में दुकान के ख़र्च पर दोबारा ऑर्डर किए गए।
}
admin-reorder-already = #{ $purchase } पहले ही ख़रीदारी #{ $child } के रूप में दोबारा ऑर्डर हो चुका है: कुछ नया ऑर्डर नहीं किया गया। देखें /order { $child }।
admin-reorder-not-delivered = #{ $purchase } अभी दोबारा ऑर्डर नहीं हो सकता ({ $state }): केवल वही डिलीवर हुई ख़रीदारी दोबारा ऑर्डर होती है जिसके कोड कम आए हों।
admin-reorder-nothing-missing = #{ $purchase } के सभी कोड आ चुके हैं: दोबारा ऑर्डर करने को कुछ नहीं है।

## Payment edges (issue #14, holes 6, 8, 10): pre-checkout and the supplier
## balance, payments no invoice explains.
checkout-balance-short = यह प्रोडक्ट अभी नहीं दिया जा सकता: दुकान में स्टॉक फिर से भरा जा रहा है। कृपया थोड़ी देर बाद फिर कोशिश करें; आपसे कोई भुगतान नहीं लिया गया है।
alert-orphan-charge = ⚠️ <b>अनजान भुगतान</b>
    यूज़र { $user } का { $stars ->
        [one] { $stars } Star
       *[other] { $stars } Stars
    } का भुगतान हमारे किसी बिल से नहीं जुड़ता (चार्ज <code>{ $charge }</code>)। ख़रीदार को बताया गया है कि यह लौटा दिया जाएगा: अगर इसकी कोई वजह न मिले तो रिफ़ंड करें।
orphan-refund-button = ↩️ रिफ़ंड करें: { $stars ->
        [one] { $stars } Star
       *[other] { $stars } Stars
    }
orphan-refund-confirm = यूज़र { $user } को { $stars ->
        [one] { $stars } Star
       *[other] { $stars } Stars
    } रिफ़ंड करें? यह भुगतान हमारे किसी बिल से नहीं जुड़ता; इसे वापस नहीं लिया जा सकता।
orphan-refund-confirm-button = ✅ हाँ, { $stars ->
        [one] { $stars } Star
       *[other] { $stars } Stars
    } रिफ़ंड करें
orphan-refund-started = यूज़र { $user } को { $stars ->
        [one] { $stars } Star
       *[other] { $stars } Stars
    } रिफ़ंड किए जा रहे हैं (ख़रीद #{ $purchase }); Telegram की पुष्टि होते ही ख़रीदार को बताया जाएगा।
orphan-refund-already = इस भुगतान का रिफ़ंड पहले से हो रहा है (ख़रीद #{ $purchase })।
orphan-refund-not-found = ऐसा कोई भुगतान नहीं है।

## Ledger audit (issue #14): /audit and `foxbot audit`
cmd-audit = हिसाब की जाँच (Stars और सप्लायर)
audit-running = 🧾 पिछले { $days ->
    [one] 1 दिन
   *[other] { $days } दिनों
} का हिसाब Telegram और सप्लायर से मिलाया जा रहा है…
audit-title = 🧾 हिसाब की जाँच, { $since } से { $now } तक (UTC)
audit-charges = Stars चार्ज: { $total } — डिलीवर { $delivered }, रिफ़ंड { $refunded }, जारी { $progress }, गड़बड़ियाँ { $anomalies }
audit-debits = सप्लायर भुगतान: { $total } — डिलीवर { $delivered }, रिफ़ंड { $refunded }, जारी { $progress }, गड़बड़ियाँ { $anomalies }
audit-stars = मिले { $taken } ⭐, रिफ़ंड { $refunded } ⭐, शुद्ध { $net } ⭐
audit-spend = सप्लायर पर ख़र्च: { $amounts }
audit-spend-none = सप्लायर पर ख़र्च: कुछ नहीं
audit-unpriced = { $count ->
    [one] 1 सप्लायर भुगतान की रक़म पता नहीं है, इसलिए वह
   *[other] { $count } सप्लायर भुगतानों की रक़म पता नहीं है, इसलिए वे
} ख़र्च में शामिल नहीं { $count ->
    [one] है
   *[other] हैं
}।
audit-margin = मार्जिन: { $margin } USD (शुद्ध Stars, तय दर STARS_PER_USD = { $rate } पर — Telegram की भुगतान दर पर नहीं — में से USD ख़र्च घटाकर)
audit-margin-none = मार्जिन: अनुमान नहीं लगाया गया (STARS_PER_USD तय नहीं है)
audit-gap-stars-not-read = Telegram के Stars लेन-देन नहीं पढ़े गए (डेमो दुकान Stars नहीं लेती)।
audit-gap-stars-incomplete = Telegram के Stars लेन-देन अवधि की शुरुआत तक नहीं पढ़े जा सके: जो चार्ज उनमें नहीं दिखे, उन्हें जाँचा नहीं गया।
audit-gap-history-incomplete = सप्लायर का ऑर्डर इतिहास अवधि की शुरुआत तक नहीं पढ़ा जा सका: पुराने भुगतान जाँचे नहीं गए।
audit-gap-unreadable = सप्लायर इतिहास { $count ->
    [one] की 1 पंक्ति
   *[other] की { $count } पंक्तियाँ
} पढ़ी नहीं जा सकीं।
audit-gap-unverified = { $count ->
    [one] 1 डिलीवर हुई ख़रीद का सप्लायर ऑर्डर
   *[other] { $count } डिलीवर हुई ख़रीदों के सप्लायर ऑर्डर
} सप्लायर के यहाँ जाँचे नहीं जा सके।
audit-in-progress-title = जारी: { $count ->
    [one] 1 चार्ज
   *[other] { $count } चार्ज
}, सबसे पुराना पहले
audit-in-progress-item = #{ $purchase } { $state }, { $age } से
audit-age-minutes = { $n ->
    [one] 1 मिनट
   *[other] { $n } मिनट
}
audit-age-hours = { $n ->
    [one] 1 घंटे
   *[other] { $n } घंटे
}
audit-age-days = { $n ->
    [one] 1 दिन
   *[other] { $n } दिन
}
audit-more = …और { $more } बाक़ी हैं।
audit-ok = ✅ कोई गड़बड़ी नहीं: हर चार्ज और हर सप्लायर भुगतान का हिसाब मिल गया।
audit-anomalies-title = ❌ { $count ->
    [one] 1 गड़बड़ी
   *[other] { $count } गड़बड़ियाँ
}:
audit-anomalies-hint = हर तरह की गड़बड़ी में क्या करें: README का "The ledger audit" भाग देखें।
audit-anomaly-charge-without-purchase = Telegram चार्ज { $charge } की कोई ख़रीद नहीं है: Stars लिए गए और कुछ ऑर्डर नहीं हुआ।
audit-anomaly-charge-amount-mismatch = ख़रीद { $purchase } का Telegram चार्ज { $charge } ख़रीद में दर्ज Stars से मेल नहीं खाता।
audit-anomaly-payment-not-in-telegram = ख़रीद { $purchase } में चार्ज { $charge } दर्ज है, जो Telegram की सूची में नहीं है।
audit-anomaly-refund-without-record = Telegram के अनुसार चार्ज { $charge } (ख़रीद { $purchase }) का रिफ़ंड हो चुका है, पर दुकान में उसका कोई रिफ़ंड दर्ज नहीं है।
audit-anomaly-refund-not-in-telegram = ख़रीद { $purchase } का रिफ़ंड यहाँ पक्का दर्ज है, पर Telegram में चार्ज { $charge } का कोई रिफ़ंड नहीं दिखता।
audit-anomaly-delivered-and-refunded = ख़रीद { $purchase } डिलीवर हुई और उसके चार्ज { $charge } का रिफ़ंड भी हुआ: ख़रीदार के पास कोड और Stars दोनों रह गए।
audit-anomaly-delivered-without-record = ख़रीद { $purchase } डिलीवर दिखती है, पर उसकी डिलीवरी का पूरा रिकॉर्ड नहीं है।
audit-anomaly-refunded-without-refund = ख़रीद { $purchase } रिफ़ंड दिखती है, पर चार्ज { $charge } के Stars वापस नहीं गए।
audit-anomaly-closed-keeping-stars = ख़रीद { $purchase } हाथ से बंद की गई: चार्ज { $charge } का रिफ़ंड नहीं हुआ और कोई कोड नहीं भेजा गया।
audit-anomaly-unlinked-paid-order = सप्लायर ऑर्डर { $order } का भुगतान हुआ, पर वह किसी ख़रीद से जुड़ा नहीं है: उसके कोड किसी को नहीं मिले।
audit-anomaly-order-linked-twice = सप्लायर ऑर्डर { $order } एक से ज़्यादा ख़रीदों से जुड़ा है (पहली { $purchase })।
audit-anomaly-paid-order-of-closed-purchase = सप्लायर ऑर्डर { $order } का भुगतान ख़रीद { $purchase } के लिए हुआ, जो कोड के बिना बंद कर दी गई।
audit-anomaly-delivered-without-paid-order = ख़रीद { $purchase } डिलीवर दिखती है, पर सप्लायर के यहाँ उसका कोई भुगतान किया हुआ ऑर्डर नहीं है ({ $order })।

## Admin: alerts and the reasons they give, worded in each admin's language
## (issue #15). An alert is stored as its kind and arguments and worded
## from `alert-<kind>` when sent; reasons and spans are nested messages.
alert-legacy = ⚠️ <b>{ $title }</b>
    { $detail }
alert-dead-letter = 🔴 <b>अटकी हुई ख़रीद</b>
    ख़रीद #{ $purchase } पर ध्यान चाहिए: { $reason }
alert-refund = { $outcome }
alert-refund-stars = ↩️ <b>रिफ़ंड</b>
    ख़रीद #{ $purchase } का रिफ़ंड होगा: { $reason }
alert-refund-by-hand = ⚠️ <b>रिफ़ंड नहीं हुआ</b>
    ख़रीद #{ $purchase } का भुगतान Stars में नहीं हुआ था ({ $source }), इसलिए अपने-आप कुछ रिफ़ंड नहीं हुआ: { $reason }। पैसों का हिसाब ख़रीदार से करें।
alert-stall = ⚠️ <b>देरी</b>
    ख़रीद #{ $purchase }: { $stall }
alert-low-balance = ⚠️ <b>सप्लायर बैलेंस कम है</b>
    ख़रीद #{ $purchase } के लिए सप्लायर बैलेंस कम है: उसे टॉप-अप करें। { $minutes ->
        [one] ख़रीदें { $minutes } मिनट तक इंतज़ार करती हैं, फिर उनका रिफ़ंड हो जाता है।
       *[other] ख़रीदें { $minutes } मिनट तक इंतज़ार करती हैं, फिर उनका रिफ़ंड हो जाता है।
    }
alert-supplier-auth = 🔴 <b>सप्लायर हमारी कुंजी नहीं मान रहा</b>
    सप्लायर हमारी API कुंजी अस्वीकार कर रहा है (401/403): FOXRELOAD_API_KEY और IP allowlist जाँचें। ख़रीदें रोक दी गई हैं।
alert-unknown-status = ⚠️ <b>सप्लायर की अनजानी स्थिति</b>
    ख़रीद #{ $purchase }: सप्लायर ऑर्डर { $order } की स्थिति "{ $status }" बता रहा है, जिसे हम नहीं पहचानते।
alert-double-charge = ⚠️ <b>दोहरा भुगतान</b>
    ख़रीद #{ $purchase }: सप्लायर ने एक से ज़्यादा मेल खाते ऑर्डरों का पैसा लिया ({ $extra } अतिरिक्त: { $orders })। सप्लायर अकाउंट जाँचें।
alert-corrupt-row = ⚠️ <b>ख़रीद पढ़ी नहीं जा सकती</b>
    ख़रीद #{ $purchase } पढ़ी नहीं जा सकती ({ $problem }); ठीक होने तक इसे अलग रखा गया है।
alert-worker-panic = ⚠️ <b>टास्क दोबारा शुरू हुआ</b>
    { $restarts ->
        [one] { $task } रुक गया था और दोबारा शुरू किया गया (अब तक एक बार)। लॉग देखें।
       *[other] { $task } रुक गया था और दोबारा शुरू किया गया (अब तक { $restarts } बार)। लॉग देखें।
    }
alert-unknown-payment = ⚠️ <b>अनजाना भुगतान</b>
    { $stars ->
        [one] उपयोगकर्ता { $user } का { $stars } Star का भुगतान
       *[other] उपयोगकर्ता { $user } का { $stars } Stars का भुगतान
    } हमारे किसी इनवॉइस से नहीं जुड़ता (अनजाना भुगतान { $orphan }): अगर इसकी वजह न मिले तो इसका रिफ़ंड करें।
alert-incident = 🔴 <b>समस्या</b>
    { $condition }
alert-recovered = ✅ <b>ठीक हो गया</b>: { $condition }
incident-delivery-degraded = डिलीवरी विफल हो रही है: पिछले { $minutes } मिनट में पूरी हुई { $finished } ख़रीदों में से { $failed } का रिफ़ंड हुआ या उन्हें किसी व्यक्ति की ज़रूरत है।
incident-dead-letters = { $count ->
        [one] { $count } ख़रीद को किसी व्यक्ति की ज़रूरत है: /stalled देखें।
       *[other] { $count } ख़रीदों को किसी व्यक्ति की ज़रूरत है: /stalled देखें।
    }
incident-stalled = { $count ->
        [one] { $count } ख़रीद देरी की सीमा पार कर चुकी है: /stalled देखें।
       *[other] { $count } ख़रीदें देरी की सीमा पार कर चुकी हैं: /stalled देखें।
    }
incident-balance-low = { $count ->
        [one] सप्लायर बैलेंस कम है: { $count } ख़रीद टॉप-अप का इंतज़ार कर रही है, फिर उसका रिफ़ंड होगा।
       *[other] सप्लायर बैलेंस कम है: { $count } ख़रीदें टॉप-अप का इंतज़ार कर रही हैं, फिर उनका रिफ़ंड होगा।
    }
incident-supplier-auth = { $count ->
        [one] सप्लायर API कुंजी अस्वीकार कर रहा है: { $count } ख़रीद रुकी है। FOXRELOAD_API_KEY और कुंजी की IP allowlist जाँचें।
       *[other] सप्लायर API कुंजी अस्वीकार कर रहा है: { $count } ख़रीदें रुकी हैं। FOXRELOAD_API_KEY और कुंजी की IP allowlist जाँचें।
    }
incident-poller-stopped = { $count ->
        [one] भुगतान हो चुके { $count } सप्लायर ऑर्डर पर कोई प्रोसेस नज़र नहीं रख रहा: क्या foxbot चल रहा है?
       *[other] भुगतान हो चुके { $count } सप्लायर ऑर्डरों पर कोई प्रोसेस नज़र नहीं रख रहा: क्या foxbot चल रहा है?
    }
incident-name-delivery-degraded = डिलीवरी में विफलता
incident-name-dead-letters = अटकी हुई ख़रीदें
incident-name-stalled = देरी वाली ख़रीदें
incident-name-balance-low = कम सप्लायर बैलेंस
incident-name-supplier-auth = सप्लायर का कुंजी अस्वीकार करना
incident-name-poller-stopped = पोलर रुका हुआ
dead-letter-no-attempt-record = { $state } में है, पर कोई अनुरोध-रिकॉर्ड नहीं है
dead-letter-order-linked-elsewhere = सप्लायर ऑर्डर पहले से किसी दूसरी ख़रीद से जुड़ा है
dead-letter-no-order-linked = कोई सप्लायर ऑर्डर जुड़ा नहीं है
dead-letter-linked-order-not-found = जुड़ा हुआ सप्लायर ऑर्डर नहीं मिला
dead-letter-pay-order-unknown = जिस ऑर्डर का हम भुगतान कर रहे हैं, उसे सप्लायर नहीं पहचानता
dead-letter-stays-active = { $pays ->
        [one] { $pays } भुगतान-अनुरोध के बाद भी सप्लायर ऑर्डर active है
       *[other] { $pays } भुगतान-अनुरोधों के बाद भी सप्लायर ऑर्डर active है
    }
dead-letter-completed-without-codes = सप्लायर ने ऑर्डर पूरा बताया, पर दो बार अलग से पढ़ने पर भी कोई इस्तेमाल लायक कोड नहीं दिखा
dead-letter-may-or-may-not-exist = ऑर्डर बना हो भी सकता है और नहीं भी: { $why }
dead-letter-no-codes-stored = पूरे हुए ऑर्डर का कोई कोड सहेजा नहीं गया है
dead-letter-no-usable-code = पूरे हुए ऑर्डर का कोई इस्तेमाल लायक कोड सहेजा नहीं गया है
dead-letter-stored-messages-unreadable = इस डिलीवरी के सहेजे गए संदेश पढ़े नहीं जा सकते
dead-letter-sent-twice-unconfirmed = कोड दो बार भेजे गए, पर पुष्टि नहीं मिली; ख़रीदार उन्हें /orders में देख सकता है
dead-letter-codes-message-refused = Telegram ने कोड वाला संदेश अस्वीकार किया: { $error }
dead-letter-stars-refund-refused = Telegram ने Stars रिफ़ंड अस्वीकार किया: { $error }
stall-waiting-supplier = सप्लायर ऑर्डर { $order } { $since } बाद भी { $status } है (भुगतान हो चुका है; सप्लायर से पूछें)
stall-status = { $status }
stall-status-unfinished = अधूरा
stall-ordering = { $since } से कोई सप्लायर ऑर्डर शुरू नहीं हो सका{ $last }
stall-create-unknown = { $since } बाद भी पता नहीं कि सप्लायर ऑर्डर बना है या नहीं{ $last }
stall-unpaid = सप्लायर ऑर्डर { $order } का { $since } बाद भी भुगतान नहीं हुआ{ $last }
stall-delivering = { $since } बाद भी कोड डिलीवर नहीं हुए
stall-refunding = { $since } बाद भी रिफ़ंड पूरा नहीं हुआ
stall-other = { $since } बाद भी { $state } में है{ $last }
stall-last-error = { " " }(आख़िरी त्रुटि: { $error })
stall-no-error = { "" }
refund-cause-creates-exhausted = { $attempts ->
        [one] { $attempts } कोशिश में कोई सप्लायर ऑर्डर नहीं बन सका
       *[other] { $attempts } कोशिशों में कोई सप्लायर ऑर्डर नहीं बन सका
    }
refund-cause-price-rose = सप्लायर की क़ीमत मानी गई सीमा से ज़्यादा बढ़ गई
refund-cause-order-refused = सप्लायर ने ऑर्डर अस्वीकार किया: { $reply }
refund-cause-asks-too-much = सप्लायर { $total } माँग रहा है, जो मानी गई क़ीमत से ज़्यादा है
refund-cause-asks-too-much-unknown = सप्लायर मानी गई क़ीमत से ज़्यादा माँग रहा है
refund-cause-payment-refused = सप्लायर ने भुगतान अस्वीकार किया: { $reply }
refund-cause-key-refused = सप्लायर हमारी API कुंजी बार-बार अस्वीकार करता रहा
refund-cause-balance-not-topped-up = सप्लायर बैलेंस समय पर टॉप-अप नहीं हुआ
supplier-failure-failed = सप्लायर ऑर्डर विफल हुआ{ $said }
supplier-failure-cancelled = सप्लायर ने ऑर्डर रद्द किया{ $said }
supplier-failure-delivered-nothing = सप्लायर ने ऑर्डर पूरा बताया, पर कुछ भी डिलीवर नहीं किया{ $said }
supplier-said = : { $said }
supplier-said-nothing = { "" }

## Buyer localisation (issue #15): the invoice, the note fields confirmed
## before it, and the labels of the codes' parts.
invoice-title = ऑर्डर: { $product }
invoice-price-label = क़ीमत: { $quantity } × { $product }
invoice-note-line = { $field }: { $value }
note-confirm-title = { $product } × { $quantity } के लिए आपने यह जानकारी दी है, कृपया जाँच लें:
note-confirm-line = { $field }: <b>{ $value }</b>
note-confirm-question = क्या यह सही है? इसके बाद भुगतान का बिल आएगा।
note-confirm-button = ✅ हाँ, सही है
note-edit-button = ✏️ बदलें
code-label-code = कोड
code-label-pin = पिन
code-label-serial = सीरियल नंबर

## Progress: what the buyer's message says while an order waits (issue #15)
refund-reason-not-restocked = दुकान समय पर इस प्रोडक्ट का स्टॉक नहीं भर पाई।
progress-slow = ⏳ ऑर्डर #{ $purchase } ({ $product } × { $quantity }) में सामान्य से ज़्यादा समय लग रहा है। दुकान इस पर नज़र रखे हुए है; कोड तैयार होते ही यहीं आ जाएँगे।
progress-refund-slow = ⏳ ऑर्डर #{ $purchase } ({ $product } × { $quantity }) के रिफ़ंड में सामान्य से ज़्यादा समय लग रहा है। दुकान इस पर नज़र रखे हुए है; Telegram की पुष्टि होते ही आपके Stars वापस आ जाएँगे।
progress-on-hold-restock = { $minutes ->
    [one] ⏳ ऑर्डर #{ $purchase } ({ $product } × { $quantity }): दुकान इस प्रोडक्ट का स्टॉक भर रही है; स्टॉक आते ही आपका ऑर्डर आगे बढ़ेगा। अगर इसमें { $minutes } मिनट से ज़्यादा लगे, तो आपके Stars अपने-आप रिफ़ंड कर दिए जाएँगे।
   *[other] ⏳ ऑर्डर #{ $purchase } ({ $product } × { $quantity }): दुकान इस प्रोडक्ट का स्टॉक भर रही है; स्टॉक आते ही आपका ऑर्डर आगे बढ़ेगा। अगर इसमें { $minutes } मिनट से ज़्यादा लगें, तो आपके Stars अपने-आप रिफ़ंड कर दिए जाएँगे।
}
progress-on-hold = { $minutes ->
    [one] ⏳ ऑर्डर #{ $purchase } ({ $product } × { $quantity }): दुकान अपनी तरफ़ की एक दिक़्क़त ठीक कर रही है; ठीक होते ही आपका ऑर्डर आगे बढ़ेगा। अगर इसमें { $minutes } मिनट से ज़्यादा लगे, तो आपके Stars अपने-आप रिफ़ंड कर दिए जाएँगे।
   *[other] ⏳ ऑर्डर #{ $purchase } ({ $product } × { $quantity }): दुकान अपनी तरफ़ की एक दिक़्क़त ठीक कर रही है; ठीक होते ही आपका ऑर्डर आगे बढ़ेगा। अगर इसमें { $minutes } मिनट से ज़्यादा लगें, तो आपके Stars अपने-आप रिफ़ंड कर दिए जाएँगे।
}

## Support (issue #15): the support line, tickets and /tickets
cmd-support = दुकान को लिखें
cmd-tickets = खुले सपोर्ट टिकट
support-ask = ✍️ दुकान के लिए अपना संदेश यहीं लिखें (ऑर्डर नंबर लिखने से मदद मिलती है: /orders देखें)। यह दुकान चलाने वालों तक पहुँचेगा, और उनका जवाब इसी चैट में आएगा।
support-opened = ✅ आपका संदेश दुकान तक पहुँच गया है (टिकट #{ $ticket })। जवाब यहीं आएगा; आप यहाँ जो भी और लिखेंगे, वह इसी टिकट में जुड़ जाएगा।
support-sent = ✅ आपके टिकट #{ $ticket } में जोड़ दिया गया।
support-wait = आपने थोड़े समय में बहुत सारे संदेश भेजे हैं। कृपया दोबारा लिखने से पहले { $minutes ->
    [one] एक मिनट
   *[other] { $minutes } मिनट
} तक रुकें: आपके संदेश दुकान के पास हैं।
support-unreachable = माफ़ कीजिए, आपका संदेश अभी दुकान तक नहीं पहुँच सका। कृपया कुछ मिनट बाद फिर कोशिश करें।
support-too-long = यह संदेश बहुत लंबा है: कृपया इसे { $max ->
    [one] { $max } अक्षर
   *[other] { $max } अक्षरों
} से छोटा रखें, या हिस्सों में भेजें।
support-text-only = मैं दुकान तक सिर्फ़ लिखा हुआ संदेश पहुँचा सकता हूँ। कृपया अपनी बात शब्दों में लिखें, या कैटलॉग के लिए /start भेजें।
support-contact = आप दुकान से { $contact } पर भी संपर्क कर सकते हैं।
support-answer = 💬 <b>दुकान का जवाब:</b>
    { $text }
support-closed = दुकान के साथ आपकी बातचीत (टिकट #{ $ticket }) बंद कर दी गई है। अगर आपको और कुछ चाहिए, तो बस यहाँ लिखें।
support-admin-hint = किसी ख़रीदार को जवाब देने के लिए उसके टिकट वाले संदेश पर रिप्लाई करें। /tickets में खुले टिकट दिखते हैं।
support-language-en = अंग्रेज़ी
support-language-hi = हिन्दी
support-ticket-new = 🆕 <b>टिकट #{ $ticket }</b>: { $buyer } (आईडी { $id }), भाषा: { $language }
support-ticket-more = 💬 <b>टिकट #{ $ticket }</b>: { $buyer } (आईडी { $id }) का एक और संदेश, भाषा: { $language }
support-ticket-no-orders = अभी तक कोई ऑर्डर नहीं।
support-ticket-order = #{ $purchase } { $product } × { $quantity }: { $state }, { $age } पहले
support-ticket-hint = <i>जवाब देने के लिए इस संदेश पर रिप्लाई करें।</i>
support-answer-sent = ✅ { $buyer } को भेज दिया गया (टिकट #{ $ticket })।
support-answer-failed = ❌ आपका जवाब { $buyer } तक नहीं पहुँच सका (टिकट #{ $ticket }): शायद उन्होंने बॉट को ब्लॉक कर दिया है।
support-answer-closed = टिकट #{ $ticket } बंद है; कुछ नहीं भेजा गया। ख़रीदार का अगला संदेश नया टिकट खोलेगा।
support-tickets-none = कोई खुला टिकट नहीं है।
support-tickets-title = 💬 { $total ->
    [one] { $total } खुला टिकट
   *[other] { $total } खुले टिकट
}, सबसे लंबे इंतज़ार वाले पहले:
support-tickets-item = <b>#{ $ticket }</b> { $buyer } (आईडी { $id }), आख़िरी संदेश { $age } पहले:
    { $snippet }
support-button-close = ✖️ #{ $ticket } बंद करें
support-closed-done = टिकट #{ $ticket } बंद कर दिया गया; ख़रीदार को बता दिया गया।
support-closed-already = टिकट #{ $ticket } पहले ही बंद हो चुका है।
