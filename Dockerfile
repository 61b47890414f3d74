# syntax=docker/dockerfile:1
#
# mypay container image.
#
#   docker build -t mypay .
#   docker run --rm -p 8080:8080 -p 8081:8081 \
#     -e MYPAY_SERVER_PUBLIC_URL=http://<this host's address>:8080 mypay
#
# The default command starts the offline demo on port 8080, with its pagoPA
# simulator (Node, Checkout, PSPs) on 8081: both published with the same
# numbers, and the host's address given as the public URL, so that a browser on
# another machine opens the printed addresses and completes a payment (the
# container cannot know the host's address; tests/it/demo_lan.rs runs this
# environment and CMD). For production run `serve`, configured by environment
# (MYPAY_<SECTION>_<KEY>, see packaging/mypay.toml) or by a mounted
# /etc/mypay/mypay.toml, which is read by default:
#   docker run -d --name mypay -p 443:8080 -v mypay-data:/var/lib/mypay \
#     -e MYPAY_SERVER_PUBLIC_URL=https://pagamenti.comune.example.it \
#     -e MYPAY_STATION_BROKER_ID=01234567890 -e MYPAY_STATION_STATION_ID=01234567890_01 \
#     -e MYPAY_STATION_NODE_AUTH=mtls -e MYPAY_TLS_CLIENT_CA=/etc/mypay/tls/pagopa-node-ca.pem \
#     -v /etc/mypay/tls:/etc/mypay/tls:ro \
#     -e MYPAY_NODE_BASE_URL=https://api.platform.pagopa.it mypay serve
# Without MYPAY_TLS_CERT/MYPAY_TLS_KEY, serve makes a self-signed certificate
# in the volume on first start (tls.mode = "auto"); MYPAY_TLS_MODE=off serves
# plain HTTP behind a TLS-terminating proxy.
#
# Needs BuildKit (the default builder since Docker 23) for the cache mounts.

############################ build stage ############################
FROM rust:1-bookworm AS builder

WORKDIR /build

# The whole build context (see .dockerignore: no target/, .git/, data, *.db).
# web/ must be present: its assets are embedded into the binary at compile time.
COPY . .

# Cache the crates.io registry and the target directory between builds; the
# binary is copied out of the cached target dir in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/build/target \
    cargo build --release --locked \
 && install -D -m 0755 target/release/mypay /out/mypay

############################ runtime stage ##########################
FROM debian:bookworm-slim

LABEL org.opencontainers.image.title="mypay" \
      org.opencontainers.image.description="pagoPA payments appliance for Italian local authorities" \
      org.opencontainers.image.licenses="EUPL-1.2"

# No extra packages: the binary embeds its web assets, fonts, the time zone database (jiff) and the
# Mozilla root certificates (webpki-roots), and needs only glibc, which the slim image has.

# Unprivileged service user owning the state directory.
RUN groupadd --system mypay \
 && useradd --system --gid mypay --home-dir /var/lib/mypay --no-create-home \
            --shell /usr/sbin/nologin mypay \
 && install -d -o mypay -g mypay -m 0750 /var/lib/mypay

COPY --from=builder /out/mypay /usr/local/bin/mypay
COPY LICENSE /usr/share/doc/mypay/LICENSE

# Configuration by environment: these two fit any container; the rest (public URL, station, node,
# TLS, mail...) is given with -e or --env-file, or in a mounted /etc/mypay/mypay.toml.
ENV MYPAY_DATA_DIR=/var/lib/mypay \
    MYPAY_SERVER_LISTEN=0.0.0.0:8080

VOLUME ["/var/lib/mypay"]
WORKDIR /var/lib/mypay
USER mypay

# 8081: the demo's pagoPA simulator only (`serve` does not use it).
EXPOSE 8080 8081
STOPSIGNAL SIGTERM

# The binary probes itself (a slim image has no curl): GET /healthz on the listen address, over
# HTTPS (self-signed accepted) or HTTP; exit 0 only on a 200, which needs the database to answer.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/mypay", "healthcheck", "--timeout", "4"]

ENTRYPOINT ["/usr/local/bin/mypay"]
CMD ["demo"]
