# syntax=docker/dockerfile:1

# Build: a locked release build. protox compiles the protos in Rust, so the
# image needs no protoc.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY proto ./proto
COPY src ./src
# Cargo.toml names these targets; the build does not compile them.
COPY benches ./benches
COPY tests ./tests
RUN cargo build --release --locked --bin import-job-service

# Run: glibc and nothing else (no shell, no package manager), as a non-root
# user. Credentials come from the environment at run time (an IAM role, or
# AWS_* variables), never from the image.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/import-job-service /usr/local/bin/import-job-service
USER 65532:65532
EXPOSE 50051
ENV IMPORT_JOB_SERVICE_LISTEN=0.0.0.0:50051 \
    IMPORT_JOB_SERVICE_LOG_FORMAT=json
ENTRYPOINT ["/usr/local/bin/import-job-service"]
