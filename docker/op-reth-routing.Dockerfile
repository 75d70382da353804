# op-reth with the routing execution extension installed (crates/exex-reth, binary
# `op-reth-routing`). reth and op-reth come from GitHub (pinned tag v1.10.2 in
# crates/exex-reth/Cargo.toml), so this image builds only where GitHub is reachable.
FROM rust:1.91-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends clang libclang-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cd crates/exex-reth && cargo build --release --bin op-reth-routing

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/crates/exex-reth/target/release/op-reth-routing /usr/local/bin/
EXPOSE 8545 8546 8547 8551 9547 30303
ENTRYPOINT ["op-reth-routing"]
