#!/bin/sh
# Run careerbot: on Telegram when TELEGRAM_BOT_TOKEN is set, otherwise as a chat in this terminal.
set -e
cd "$(dirname "$0")"
. scripts/venv.sh
exec .venv/bin/careerbot run "$@"
