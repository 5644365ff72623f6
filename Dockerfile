# syntax=docker/dockerfile:1
# The optionsflow images: one runtime stage holding both binaries, and two targets that
# differ only in their entrypoint, so a node that runs the operator and the workers pulls
# the layers once.
#
#   docker build --target operator -t ghcr.io/optionsflow/optionsflow-operator:0.1.0 .
#   docker build --target worker   -t ghcr.io/optionsflow/optionsflow-worker:0.1.0 .
#
# The tag is the chart's appVersion (charts/optionsflow/Chart.yaml); the chart and the
# operator default to these names. docs/image.md says how CI builds and runs the same stages
# without a registry (scripts/image-check.sh).

# The runtime base: glibc, libgcc, OpenSSL 3 (librdkafka's TLS and SCRAM), CA certificates
# and tzdata, a nonroot user 65532, no shell.
ARG RUNTIME_BASE=gcr.io/distroless/cc-debian12:nonroot
ARG RUST_IMAGE=docker.io/library/rust:1.95-bookworm

FROM ${RUST_IMAGE} AS builder
# The commit optionsflow_build_info reports: --build-arg COMMIT=$(git rev-parse --short HEAD)
ARG COMMIT=unknown
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    OPTIONSFLOW_COMMIT="${COMMIT}" cargo build --release --locked --bin optionsflow-worker --bin optionsflow-operator \
 && mkdir /out \
 && cp target/release/optionsflow-worker target/release/optionsflow-operator /out/

FROM ${RUNTIME_BASE} AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="optionsflow" \
      org.opencontainers.image.description="Collects U.S. stock and option market data on a schedule; the operator and the workers." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/optionsflow/optionsflow" \
      org.opencontainers.image.vendor="optionsflow"
COPY --from=builder /out/ /usr/local/bin/
USER 65532:65532
WORKDIR /tmp

FROM runtime AS worker
ENTRYPOINT ["/usr/local/bin/optionsflow-worker"]

FROM runtime AS operator
ENTRYPOINT ["/usr/local/bin/optionsflow-operator"]
