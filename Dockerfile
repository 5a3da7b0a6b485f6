# Relais server image. SQLite and media live in /data unless DATABASE_URL / MEDIA_DIR say
# otherwise (PostgreSQL and a shared volume for replicas: see docker-compose.yml and
# docs/operations.md). Two stages: the first installs into a virtual environment, the
# second copies only that environment onto a clean base (no pip cache, no build tools).

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /venv
# Dependencies first, from pyproject.toml alone: this layer is rebuilt only when they change.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
 && /venv/bin/pip install --no-cache-dir -r requirements.txt
COPY README.md ./
COPY domain ./domain
COPY storage ./storage
COPY migrations ./migrations
COPY bot ./bot
COPY adapters ./adapters
COPY relais ./relais
RUN /venv/bin/pip install --no-cache-dir --no-deps . \
 && find /venv -name '__pycache__' -prune -exec rm -rf {} +

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/venv/bin:$PATH \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATABASE_URL=sqlite:////data/relais.db \
    MEDIA_DIR=/data/media
# A numeric, unprivileged user (Kubernetes' runAsNonRoot can check a number, not a name).
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home relais \
 && mkdir -p /data/media && chown -R 10001:10001 /data
COPY --from=build /venv /venv
WORKDIR /data
USER 10001:10001
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '3000')}/healthz\", timeout=4)"]
# Migrations on start, on SQLite and PostgreSQL: replicas starting together take turns on
# an advisory lock, so one applies them and the others wait.
CMD ["relais", "serve", "--upgrade"]
