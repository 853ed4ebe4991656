# foxbot — English. Every text a user sees comes from here or from hi.ftl.

welcome = Welcome to { $shop }! Browse the catalog, pay in Telegram Stars and get your codes right here.
help = Commands: /start — catalog, /orders — your purchases and codes, /language — change language, /help — this message.
