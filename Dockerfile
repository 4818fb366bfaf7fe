# syntax=docker/dockerfile:1

# Build: a locked release build. protox compiles the protos in Rust, so the
# image needs no protoc.
FROM rust:1.95-slim-bookworm AS build
# jemalloc, the service's allocator, is built from its C sources with make,
# which the slim image lacks.
RUN apt-get update \
    && apt-get install -y --no-install-recommends make=4.3-4.1 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY proto ./proto
COPY src ./src
# The workspace's other crate: importjobctl, the command-line client.
COPY crates ./crates
# Cargo.toml names these targets; the build does not compile them.
COPY benches ./benches
COPY tests ./tests
# build.rs also writes the API's descriptor set (every file, imports and
# comments included) where IMPORT_JOB_SERVICE_PROTOSET says, for the image.
RUN IMPORT_JOB_SERVICE_PROTOSET=/src/import_job_service.binpb \
    cargo build --release --locked --bin import-job-service --bin importjobctl

# Run: glibc and nothing else (no shell, no package manager), as a non-root
# user. Credentials come from the environment at run time (an IAM role, or
# AWS_* variables), never from the image.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/import-job-service /usr/local/bin/import-job-service
# The client too, for calls from inside the container (`--entrypoint importjobctl`).
COPY --from=build /src/target/release/importjobctl /usr/local/bin/importjobctl
# The API's descriptor set, for `grpcurl -protoset` and JSON-transcoding proxies.
COPY --from=build /src/import_job_service.binpb /usr/share/import-job-service/import_job_service.binpb
USER 65532:65532
EXPOSE 50051
ENV IMPORT_JOB_SERVICE_LISTEN=0.0.0.0:50051 \
    IMPORT_JOB_SERVICE_LOG_FORMAT=json
ENTRYPOINT ["/usr/local/bin/import-job-service"]
