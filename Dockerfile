# The windlass binary in a small image: `windlass operator` by default (see
# deploy/deployment.yaml and docs/operator.md); any other verb works too
# (`docker run IMAGE server …`).
#
#   docker build -t windlass:latest .
#
# Build stage: the release binary from the locked dependencies.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p windlass-cli \
 && cp target/release/windlass /windlass

# Run stage: Debian slim (a shell for `shell` tasks, CA certificates for
# `http` tasks and the API server), as an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /windlass /usr/local/bin/windlass
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["windlass"]
CMD ["operator", "--db=/data/windlass.db", "--listen=0.0.0.0:8080"]
