# The same binary as everywhere else, in a minimal image. Tessera needs no
# cgo (SQLite is pure Go), so the binary is static.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/tessera ./cmd/tessera

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tessera /usr/local/bin/tessera
# State lives in PostgreSQL (TESSERA_STORE); /data holds only what an
# instance needs locally when SQLite is used.
VOLUME /data
ENV TESSERA_DATA_DIR=/data
EXPOSE 8443
ENTRYPOINT ["/usr/local/bin/tessera"]
CMD ["serve", "--http", "--addr", "0.0.0.0:8443"]
