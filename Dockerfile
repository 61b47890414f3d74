# syntax=docker/dockerfile:1
#
# mypay container image.
#
#   docker build -t mypay .
#   docker run --rm -p 8080:8080 -v mypay-data:/var/lib/mypay mypay
#
# The default command starts the offline demo (built-in pagoPA node simulator)
# on port 8080. For production, pass your own command, e.g.
#   docker run ... -v /etc/mypay:/etc/mypay:ro mypay serve --config /etc/mypay/mypay.toml
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

# ca-certificates: TLS towards the pagoPA node; tzdata: Europe/Rome local time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/*

ENV TZ=Europe/Rome

# Unprivileged service user owning the state directory.
RUN groupadd --system mypay \
 && useradd --system --gid mypay --home-dir /var/lib/mypay --no-create-home \
            --shell /usr/sbin/nologin mypay \
 && install -d -o mypay -g mypay -m 0750 /var/lib/mypay

COPY --from=builder /out/mypay /usr/local/bin/mypay
COPY LICENSE /usr/share/doc/mypay/LICENSE

VOLUME ["/var/lib/mypay"]
WORKDIR /var/lib/mypay
USER mypay

EXPOSE 8080
STOPSIGNAL SIGTERM

# No HEALTHCHECK: the slim image has no curl/wget, and mypay has no
# "healthcheck" subcommand. mypay serves GET /healthz: probe it from the
# orchestrator instead (e.g. a Kubernetes httpGet probe on port 8080, path /healthz).

ENTRYPOINT ["/usr/local/bin/mypay"]
CMD ["demo", "--listen", "0.0.0.0:8080", "--data-dir", "/var/lib/mypay"]
