# syntax=docker/dockerfile:1
# Switchyard in a container: a static binary on a distroless base, run as a non-root user.
#   docker build -t switchyard --build-arg VERSION=$(git describe --tags --always) .
#   docker run -p 4010:4010 -v switchyard-data:/data switchyard serve --listen 0.0.0.0:4010 --data-dir /data --auth none

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/switchyard ./cmd/switchyard \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/switchyard /usr/local/bin/switchyard
# The embedded store's directory, owned by the image's non-root user (65532).
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
VOLUME /data
EXPOSE 4010
ENTRYPOINT ["/usr/local/bin/switchyard"]
# --auth sigv4 (the default) needs --credentials-file: mount one and pass it, or set SWITCHYARD_AUTH=none
# for development. Probes: GET /healthz (liveness), GET /readyz (readiness).
CMD ["serve", "--listen", "0.0.0.0:4010", "--data-dir", "/data", "--shutdown-delay", "5s"]
