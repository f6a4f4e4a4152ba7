# The same binary as everywhere else, in a minimal image. Tessera needs no
# cgo (SQLite is pure Go), so the binary is static. .dockerignore keeps
# data directories, keys and backups out of the build context.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/tessera ./cmd/tessera
# The data directory, for distroless's nonroot user (uid 65532): a volume
# created from it starts with this owner and mode, so the server can write
# its SQLite database and master key there.
RUN mkdir -m 0700 /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tessera /usr/local/bin/tessera
COPY --from=build --chown=65532:65532 /out/data /data
# State lives in PostgreSQL or MariaDB (TESSERA_STORE), or, with SQLite, in
# /data: mount a volume there and back it up with `tessera backup`.
VOLUME /data
ENV TESSERA_DATA_DIR=/data \
    TESSERA_LOG_FORMAT=json \
    TESSERA_HEALTHCHECK_URL=http://127.0.0.1:8443/readyz
EXPOSE 8443
# distroless has no curl: the binary checks its own /readyz.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/tessera", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/tessera"]
CMD ["serve", "--http", "--addr", "0.0.0.0:8443"]
