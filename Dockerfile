# feedsvc container: `feedsvc serve` as uid 10001, store and feeds in /data, the bundled demo by default.
#
# Build with Docker (BuildKit), or with podman/buildah using `--format docker` (the OCI format, their
# default, drops HEALTHCHECK):   docker build -t feedsvc .   |   buildah bud --format docker -t feedsvc .
#
# Layers, from the most to the least stable: the base; the dependencies, installed from requirements.lock
# (exact versions with their sha256 hashes, generated from pyproject.toml by `make lock`); the demo
# configuration; the feedsvc wheel. A change to feedsvc's code rebuilds only the last, small layer.
#
# The base is pinned by digest so that two builds start from the same bytes. To move to a newer base (Python
# or Debian security fixes): look up the current digest of the tag, e.g.
#   docker buildx imagetools inspect python:3.11-slim-bookworm     (or: skopeo inspect --raw docker://...)
# put it below, rebuild and run `make image-test`. `make image-test` builds with
# --build-arg PYTHON_IMAGE=<a Debian bookworm + Python 3.11 base it makes locally>.
ARG PYTHON_IMAGE=docker.io/library/python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b

# --- build stage: wheels for the locked dependencies and for feedsvc (nothing of this stage is shipped).
# Every download is checked against the hashes in the lock files; an sdist-only dependency (feedgen) is
# built with the locked setuptools, without build isolation, so nothing unpinned takes part.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/build
COPY docker/build-requirements.lock /tmp/build-requirements.lock
RUN --mount=type=cache,target=/root/.cache/pip \
    /opt/build/bin/pip install --require-hashes --only-binary=:all: --no-deps -r /tmp/build-requirements.lock
COPY requirements.lock /tmp/requirements.lock
RUN --mount=type=cache,target=/root/.cache/pip \
    /opt/build/bin/pip wheel --require-hashes --no-deps --no-build-isolation --wheel-dir /wheels \
        -r /tmp/requirements.lock
COPY pyproject.toml README.md /src/
COPY feedsvc /src/feedsvc
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /dist /src

# --- runtime stage
FROM ${PYTHON_IMAGE}
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN groupadd --gid 10001 feedsvc \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin feedsvc \
    && mkdir -p /data && chown feedsvc:feedsvc /data && chmod 0750 /data \
    && python -m venv --without-pip /opt/venv
# Dependencies: this layer changes only with requirements.lock (copied to say what the image holds). The
# base's pip installs into the venv (--python), which keeps pip and setuptools out of it; the wheels come
# from the build stage through a mount, so they take no room here; the test suites of numpy and scipy
# (about 50 MB) are left out.
COPY requirements.lock /opt/venv/requirements.lock
RUN --mount=type=bind,from=build,source=/wheels,target=/tmp/wheels \
    python -m pip --python /opt/venv/bin/python install --no-index --no-deps /tmp/wheels/*.whl \
    && find /opt/venv/lib/python3.11/site-packages/numpy /opt/venv/lib/python3.11/site-packages/scipy \
        -depth -type d -name tests -exec rm -rf {} +
WORKDIR /app
COPY config ./config
# feedsvc itself: the only layers a code change rebuilds.
COPY --from=build /dist /tmp/dist
RUN python -m pip --python /opt/venv/bin/python install --no-index --no-deps /tmp/dist/*.whl \
    && rm -rf /tmp/dist
# FEEDSVC_PUBLIC_URL is the address feed readers reach the service at: feed self links and story links are
# built from it. The default suits `docker run -p 8080:8080` on your own machine; set it to the public URL
# (e.g. https://feeds.example.org) anywhere else.
ENV PATH=/opt/venv/bin:$PATH \
    FEEDSVC_CONFIG=/app/config/feedsvc.toml \
    FEEDSVC_LISTEN=0.0.0.0:8080 \
    FEEDSVC_PUBLIC_URL=http://localhost:8080 \
    FEEDSVC_DATABASE_URL=sqlite:////data/feedsvc.db \
    FEEDSVC_DATA_DIR=/data
USER feedsvc
VOLUME ["/data"]
EXPOSE 8080
# The probe follows FEEDSVC_LISTEN's port; it needs nothing but the image's Python.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as u; port = os.environ.get('FEEDSVC_LISTEN', ':8080').rpartition(':')[2]; sys.exit(u.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status != 200)"]
STOPSIGNAL SIGTERM
CMD ["feedsvc", "serve"]
