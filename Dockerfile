# Quorum: one process serving the HTTP endpoints, the scheduler and the configured chat adapters.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    QUORUM_DATA_DIR=/data

# No OS packages: the zone database is the tzdata wheel the app depends on (zones are exact whatever the image).
RUN useradd --create-home --uid 10001 quorum \
    && mkdir -p /data /app/config \
    && chown quorum:quorum /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY storage ./storage
RUN pip install .
COPY config/quorum.example.toml ./config/quorum.example.toml
# Inside the container the server listens on every interface; publish the port to choose who reaches it.
RUN sed -e 's/^host = "127.0.0.1"/host = "0.0.0.0"/' config/quorum.example.toml > config/quorum.toml

# By number, so the host and orchestrators can tell it is not root.
USER 10001
VOLUME ["/data"]
EXPOSE 8080
# Live: the process answers (docker-compose.yml checks readiness, /health/ready, instead).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request, sys; urllib.request.urlopen('http://127.0.0.1:8080/health/live', timeout=4); sys.exit(0)"]
CMD ["quorum", "--config", "/app/config/quorum.toml", "run"]
