# syntax=docker/dockerfile:1
# Build stage: Bun comes from the npm registry (a devDependency), then compiles one self-contained binary.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && mkdir -p /data-skeleton && chown 65532:65532 /data-skeleton

# Run stage: glibc and libgcc only (what the Bun runtime links against); no shell, no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/dist/local-telemetry-api /usr/local/bin/local-telemetry-api
# A new volume is seeded from this folder, so it starts owned by the non-root user.
COPY --from=build --chown=65532:65532 /data-skeleton /data
ENV TELEMETRY_API_HOST=0.0.0.0 \
    TELEMETRY_API_PORT=8765 \
    TELEMETRY_DB_PATH=/data/telemetry.sqlite
VOLUME /data
EXPOSE 8765
USER 65532:65532
# No curl in the image: the binary checks its own /health.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/local-telemetry-api", "healthcheck"]
# SIGTERM (docker stop) commits queued writes, checkpoints the WAL and exits 0 within 10 s.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/local-telemetry-api"]
CMD ["serve"]
