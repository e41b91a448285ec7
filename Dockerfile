# feedsvc container: build a wheel, install it into a slim runtime, run `feedsvc serve` as a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY feedsvc ./feedsvc
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin feedsvc \
    && mkdir -p /data && chown feedsvc /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
WORKDIR /app
COPY config ./config
ENV FEEDSVC_CONFIG=/app/config/feedsvc.toml \
    FEEDSVC_LISTEN=0.0.0.0:8080 \
    FEEDSVC_PUBLIC_URL=http://localhost:8080 \
    FEEDSVC_DATABASE_URL=sqlite:////data/feedsvc.db \
    FEEDSVC_DATA_DIR=/data \
    PYTHONUNBUFFERED=1
USER feedsvc
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"]
CMD ["feedsvc", "serve"]
