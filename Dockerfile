# careerbot: slim, non-root image running `careerbot run`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Dependencies first, in a layer of their own: a code or FAQ change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt \
    && useradd --create-home --uid 10001 careerbot \
    && install -d -m 0700 -o 10001 -g 10001 /data
COPY README.md ./
COPY careerbot ./careerbot
RUN pip install --no-cache-dir --no-deps .
COPY faq ./faq

USER 10001
# The database lives in /data, owned by the bot's user and private to it (mount a volume there).
# Health, readiness and metrics are served on 8080 (the webhook too, in webhook mode).
ENV CAREERBOT_FAQ_DIR=/app/faq \
    CAREERBOT_DATA_DIR=/data \
    CAREERBOT_LISTEN=0.0.0.0:8080
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
CMD ["careerbot", "run"]
