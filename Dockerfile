# Quorum: one process serving the HTTP endpoints, the scheduler and the configured chat adapters.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    QUORUM_DATA_DIR=/data

# tzdata (the OS package) for tools in the image; the app itself reads the tzdata wheel it depends on.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 quorum \
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

USER quorum
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/health/live', timeout=4).status == 200 else 1)"
CMD ["quorum", "--config", "/app/config/quorum.toml", "run"]
