# The auditor (crates/audit, binary `routing-audit`): crates.io only, builds anywhere.
FROM rust:1.91-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p routing-audit --bin routing-audit

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/routing-audit /usr/local/bin/
ENTRYPOINT ["routing-audit"]
