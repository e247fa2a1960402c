"""careerbot on Telegram: python-telegram-bot handlers, the webhook and web endpoints, the
broadcast sender and the rate limiter. Nothing outside this package imports python-telegram-bot.
"""
