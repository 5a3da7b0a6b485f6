# Relais server image. SQLite and media live in /data unless DATABASE_URL / MEDIA_DIR
# say otherwise (PostgreSQL and a shared volume for replicas).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATABASE_URL=sqlite:////data/relais.db \
    MEDIA_DIR=/data/media

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY storage ./storage
COPY migrations ./migrations
COPY relais ./relais
RUN pip install . \
 && useradd --system --uid 10001 --home-dir /data relais \
 && mkdir -p /data && chown relais /data

USER relais
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\",\"3000\")}/healthz', timeout=4)"
CMD ["relais", "serve"]
