# Comlink's lwsws in a container. Two stages: cargo builds in the Rust image,
# then packaging/install.sh installs that build into a slim Debian image.
# CI runs the very same two install.sh steps into a temporary root and serves
# from the result (server/tests/ops_packaging.rs), so this file is tested
# even where no Docker engine runs.
#
# It needs BuildKit (RUN --mount): the default from Docker 23 with buildx;
# with Debian's docker.io 20.10, set DOCKER_BUILDKIT=1. There is no
# "# syntax=" line on purpose: BuildKit's built-in frontend has everything
# used here, so an offline builder does not have to pull one.
#
#   docker build -t comlink .
#   docker run --rm -p 7681:7681 comlink          # http://localhost:7681/
#   docker run --rm -p 7681:7681 -v /srv/lwsws:/etc/lwsws:ro comlink
#
# The container runs as the service user lwsws from the start (no root at
# all): 7681 needs no privilege, and the "username": "lwsws" of the installed
# /etc/lwsws/conf is then a no-op switch. To serve a port < 1024, run it with
# `--user root` (lwsws binds, then switches to lwsws itself) or keep 7681 and
# map it (-p 80:7681). SIGTERM (docker stop) stops it gracefully.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# The SDK's link stub links libuv (for plugins on lws_uv_getloop).
RUN apt-get update && apt-get install -y --no-install-recommends libuv1-dev \
    && rm -rf /var/lib/apt/lists/*
# cargo build --release --locked --workspace, then the plugin SDK's link stub
# target/release/sdk/libwebsockets.so.19 (needs cc and perl; this image has both).
RUN packaging/install.sh --build-only

FROM debian:bookworm-slim
# libuv1: lwsws loads it for plugins that ask for lws_uv_getloop, and the
# SDK's libwebsockets.so (which C plugins link) needs it.
RUN apt-get update && apt-get install -y --no-install-recommends libuv1 \
    && rm -rf /var/lib/apt/lists/*
# Nothing left to build (NO_BUILD=1, and the stub is already there, so no
# compiler is needed): installs lwsws, the plugins, the data dir, /etc/lwsws,
# the unit, the logrotate file, /var/log/lwsws and the plugin SDK; as root
# without DESTDIR it also creates the system user lwsws, hands it
# /var/log/lwsws and /var/lib/lwsws, and runs ldconfig (for C plugins
# linked with -lwebsockets: the seed's LD_LIBRARY_PATH/ldconfig step).
RUN --mount=type=bind,from=build,source=/src,target=/src \
    NO_BUILD=1 /src/packaging/install.sh
USER lwsws
EXPOSE 7681
STOPSIGNAL SIGTERM
# The installed /etc/lwsws/conf sets "health-path": "/healthz": 200 while
# serving, 503 while stopping or while a packet journal does not take
# packets. `lwsws --probe` is the client (the image has no curl). A mounted
# configuration of your own keeps "health-path", or run with
# --no-healthcheck. An ECS target group checks the same path over HTTP.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
    CMD ["lwsws", "--probe", "http://127.0.0.1:7681/healthz"]
CMD ["lwsws"]
