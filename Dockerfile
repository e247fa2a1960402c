# careerbot: slim, non-root image running `careerbot run`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY careerbot ./careerbot
# The database lives in /data, owned by the bot's user and private to it (mount a volume there).
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 careerbot \
    && install -d -m 0700 -o 10001 -g 10001 /data
COPY faq ./faq

USER 10001
ENV CAREERBOT_FAQ_DIR=/app/faq \
    CAREERBOT_DATA_DIR=/data
VOLUME ["/data"]
CMD ["careerbot", "run"]
