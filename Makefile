# TeleClaude: build, run, test, benchmark. `make help` lists the targets.

GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -s -w -X github.com/instruktai/teleclaude/internal/version.Version=$(VERSION)
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
# goreleaser v2.15.0 is the newest that builds with Go 1.26 from this
# machine's module proxy, and embeds the nfpm (v2.45.2) that mkpkgs runs.
GORELEASER  ?= github.com/goreleaser/goreleaser/v2@v2.15.0
BIN         := bin
# Pure Go everywhere (ncruces/go-sqlite3 needs no cgo): one build runs on any
# Linux, and darwin cross-compiles from here.
export CGO_ENABLED := 0

.PHONY: help build run test test-go check bench packages repo release release-snapshot pkg clean

help:
	@echo "make run    build, start a single-user daemon on SQLite, run telec against it"
	@echo "make test   every check and test, with a throwaway PostgreSQL (root runs the multi-user tests)"
	@echo "make test-go           the Go tests only, with a throwaway PostgreSQL (no static checks)"
	@echo "make check  gofmt, go mod tidy, go vet, the darwin build, staticcheck"
	@echo "make bench  benchmarks; figures go to docs/BENCHMARKS.md"
	@echo "make build  bin/teleclaude and bin/telec"
	@echo "make pkg    the macOS Installer package, dist/teleclaude_VERSION_darwin_universal.pkg"
	@echo "make packages          .deb and .rpm for amd64 and arm64 into dist/ (PKG_VERSION=v1.2.3 to set the version, ARCH=amd64 for one architecture)"
	@echo "make repo              signed APT and RPM repositories into dist/repo (TELECLAUDE_SIGNING_KEY=key.asc, REPO_URL=https://...)"
	@echo "make release           goreleaser for the tag at HEAD + signed SHA256SUMS, then dist/repo (SNAPSHOT=1 untagged)"
	@echo "make release-snapshot  goreleaser check, then a local snapshot release into build/goreleaser"
	@echo "make clean  remove bin/, build/ and dist/"

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/teleclaude ./cmd/telec

run: build
	scripts/demo.sh $(BIN)

# The test command of the README and of CI: static checks, the darwin build,
# then every Go test with a real PostgreSQL that the wrapper starts and stops.
test: check
	TELECLAUDE_TEST_REQUIRE_PG=1 scripts/with-postgres.sh $(GO) test -count=1 -timeout 30m ./...

test-go:
	scripts/with-postgres.sh $(GO) test -count=1 ./...

check:
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum not tidy: run go mod tidy"; $(GO) mod tidy -diff; exit 1; }
	@fmt=$$(gofmt -l cmd internal e2e bench packaging 2>/dev/null); if [ -n "$$fmt" ]; then echo "not gofmt'd: $$fmt"; exit 1; fi
	$(GO) vet ./...
	GOOS=darwin GOARCH=arm64 $(GO) vet ./...
	GOOS=darwin GOARCH=amd64 $(GO) build ./...
	GOBIN=$(abspath $(BIN)) $(GO) install $(STATICCHECK)
	$(BIN)/staticcheck ./...
	GOOS=darwin $(BIN)/staticcheck ./...

# The migration benchmark compares with the sqlite3 CLI and pgloader, and
# reads peak memory through GNU time; as root, install them when missing.
bench: build
	@if ! command -v sqlite3 >/dev/null || ! command -v pgloader >/dev/null || [ ! -x /usr/bin/time ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 pgloader time; \
		else echo "bench: sqlite3, pgloader or time missing (apt-get install sqlite3 pgloader time); their rows will say so"; fi; \
	fi
	scripts/with-postgres.sh $(GO) run ./bench -bin $(BIN)
	$(GO) test -run '^$$' -bench . -benchmem ./internal/osuser   # CGO_ENABLED=0, as the programs
	scripts/with-postgres.sh $(GO) test -run '^$$' -bench AppendOutput -benchtime 3x -count 3 ./internal/store

# The Linux packages (packaging/nfpm.yaml): programs, man pages and
# completions built and packed by packaging/mkpkgs with a pinned nfpm.
packages:
	$(GO) run ./packaging/mkpkgs -out dist $(if $(PKG_VERSION),-version $(PKG_VERSION)) $(if $(ARCH),-arch $(ARCH))

# The signed APT and RPM repositories of this commit, into dist/repo
# (packaging/mkrepo; docs/PACKAGING.md says how to publish them). The key:
# TELECLAUDE_SIGNING_KEY (+ TELECLAUDE_SIGNING_PASSPHRASE). REPO_URL is where
# dist/repo will be served; REPO_REPLACE=1 replaces a dist/repo of another
# version.
REPO_URL ?=
repo:
	$(GO) run ./packaging/mkrepo -out dist/repo $(if $(PKG_VERSION),-version $(PKG_VERSION)) $(if $(REPO_URL),-url '$(REPO_URL)') $(if $(REPO_REPLACE),-replace)

# A release of the tag at HEAD: goreleaser (archives, .deb, .rpm, the macOS
# .pkg and SHA256SUMS into build/goreleaser), SHA256SUMS.asc signed after
# it (see .goreleaser.yaml), then the repositories into dist/repo from
# goreleaser's .deb and .rpm, and the checksums and their signature read
# back with gpgv and sha256sum. Nothing is
# published (docs/PACKAGING.md, "Publishing a release"). SNAPSHOT=1 for an
# untagged commit.
release:
	GOBIN=$(abspath $(BIN)) $(GO) install $(GORELEASER)
	$(GO) run ./packaging/mkrepo -check-key
	$(BIN)/goreleaser release --clean $(if $(SNAPSHOT),--snapshot,--skip=publish)
	cp build/macpkg/*.pkg build/goreleaser/
	$(GO) run ./packaging/mkrepo -sign build/goreleaser/SHA256SUMS
	$(GO) run ./packaging/mkrepo -in build/goreleaser -out dist/repo $(if $(REPO_URL),-url '$(REPO_URL)') $(if $(REPO_REPLACE),-replace)
	gpgv --keyring $(abspath dist/repo/teleclaude-archive-keyring.gpg) build/goreleaser/SHA256SUMS.asc build/goreleaser/SHA256SUMS
	cd build/goreleaser && sha256sum --strict -c SHA256SUMS

release-snapshot:
	GOBIN=$(abspath $(BIN)) $(GO) install $(GORELEASER)
	$(BIN)/goreleaser check
	$(BIN)/goreleaser release --snapshot --clean

clean:
	rm -rf $(BIN) build dist

# The macOS Installer package: one universal package of universal programs
# (arm64 and x86_64), built here from darwin cross-builds by our own Go code
# (packaging/pkg/README.md). Timestamps come from the last commit, so a
# rebuild of one commit gives an identical package. With the
# TELECLAUDE_PKG_* identities it is signed, and with
# TELECLAUDE_NOTARY_API_KEY notarized (both skipped, saying so, without).
PKG_DIR           ?= dist
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null)

pkg:
	@set -e; for arch in arm64 amd64; do \
		GOOS=darwin GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(PKG_DIR)/darwin_$$arch/ ./cmd/teleclaude ./cmd/telec; \
	done
	@set -e; out=$$(SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(GO) run ./packaging/pkg/mkpkg -version $(VERSION) \
		-arm64 $(PKG_DIR)/darwin_arm64 -amd64 $(PKG_DIR)/darwin_amd64 -dir $(PKG_DIR)); \
	echo "$$out"; packaging/pkg/notarize.sh "$${out%% (*}"
