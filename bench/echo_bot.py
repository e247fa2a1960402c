"""A minimal python-telegram-bot echo bot: the framework's ceiling in bench_telegram.py.

One MessageHandler replying the text, ``concurrent_updates(64)``, no logging, and the same rate
limiter and HTTP settings as careerbot, so that the comparison isolates careerbot's own work
(matching, keyboards, storage).
Reads TELEGRAM_BOT_TOKEN and TELEGRAM_API_BASE_URL (the server root, e.g. http://127.0.0.1:PORT;
the bot calls {root}/bot{token}/{method}), like `careerbot run`. Started by bench_telegram.py:

    TELEGRAM_BOT_TOKEN=... TELEGRAM_API_BASE_URL=... .venv/bin/python bench/echo_bot.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from careerbot.telegram.http import bot_api_request
from careerbot.telegram.limits import TelegramRateLimiter


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and message.text:
        await message.reply_text(message.text)


def build(token: str, api_root: str) -> Application:  # type: ignore[type-arg]
    application = (ApplicationBuilder().token(token).base_url(f"{api_root.rstrip('/')}/bot")
                   .rate_limiter(TelegramRateLimiter())
                   .request(bot_api_request(256))
                   .get_updates_request(bot_api_request())
                   .concurrent_updates(64).build())
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT, echo))
    return application


def main() -> None:
    application = build(os.environ["TELEGRAM_BOT_TOKEN"],
                        os.environ.get("TELEGRAM_API_BASE_URL", "https://api.telegram.org"))
    application.run_polling(allowed_updates=["message"], drop_pending_updates=False)


if __name__ == "__main__":
    main()
