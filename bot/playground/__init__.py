"""The playground: a local Telegram Bot API (`bot_api`) and a chat page in the browser, to try
the real bot without Telegram (`stylebot demo`, `make demo`)."""
