"""What an operator watches, in Prometheus' format (served on /metrics).

Counts and durations only: no user id, no message text, no label with unbounded values.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

UPDATES = Counter("careerbot_updates", "Updates received, by kind", ["kind"])
REPLIES = Counter("careerbot_replies", "Replies to free-text questions, by outcome", ["outcome"])
REPLY_SECONDS = Histogram(
    "careerbot_reply_seconds", "From a question's arrival to its reply sent",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
API_ERRORS = Counter("careerbot_bot_api_errors", "Bot API requests that failed, by code",
                     ["code"])
RETRY_WAITS = Counter("careerbot_retry_after_waits", "429 answers: times Telegram asked to wait")
RETRY_SECONDS = Counter("careerbot_retry_after_seconds", "Seconds Telegram asked to wait (429)")
DELIVERIES = Counter("careerbot_deliveries", "Broadcast deliveries settled, by state", ["state"])
OUTBOX_DEPTH = Gauge("careerbot_outbox_depth", "Deliveries waiting to be sent")
FAQ_INFO = Gauge("careerbot_faq_info", "The FAQ version answering now (value: load time, Unix)",
                 ["version"])


def faq_loaded(version: str, loaded_at: float) -> None:
    """Show only the FAQ version now in use."""
    FAQ_INFO.clear()
    FAQ_INFO.labels(version=version).set(loaded_at)
