"""The FAQ as a static web site: a maintainer's preview and a public page that opens the bot.

`build` writes the pages from a checked FAQ, `serve` rebuilds them on every change of the FAQ
files and serves them on localhost. Nothing here imports Telegram or a database.
"""
