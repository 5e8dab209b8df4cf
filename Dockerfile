# syntax=docker/dockerfile:1
# The TeleClaude daemon in a container, for docker-compose.system.yml (the
# daemon with PostgreSQL, its socket bind-mounted to the host). The programs
# are built as for the packages: pure Go, position-independent.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY internal ./internal
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -buildmode=pie \
      -ldflags "-s -w -X github.com/instruktai/teleclaude/internal/version.Version=${VERSION}" \
      -o /out/ ./cmd/teleclaude ./cmd/telec

FROM debian:12-slim
# tmux for sessions; nothing else runs here.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tmux \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/teleclaude /out/telec /usr/bin/
COPY packaging/docker/entrypoint.sh /usr/lib/teleclaude/entrypoint.sh
# System mode whatever uid compose gives us (the host's teleclaude user).
ENV TELECLAUDE_SYSTEM_MODE=1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/lib/teleclaude/entrypoint.sh"]
CMD ["serve"]
