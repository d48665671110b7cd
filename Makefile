# Two commands do all set-up on a fresh machine:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENDOR := static/vendor

.PHONY: demo test lint typecheck pytest assets install wheel clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) assets

# htmx and the Digital Agency design tokens come from npm at pinned versions and are
# served from our own origin (nothing third-party is committed).
assets: $(VENDOR)/.stamp
$(VENDOR)/.stamp: frontend/package.json frontend/package-lock.json
	npm ci --prefix frontend --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp frontend/node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	cp frontend/node_modules/@digital-go-jp/design-tokens/dist/tokens.css $(VENDOR)/tokens.css
	touch $@

# The installable package: templates, translations, static files (with the npm-built vendor
# files) and migrations travel inside it, so it runs from any directory.
wheel: install
	rm -rf dist
	$(BIN)/pip wheel --quiet --no-deps --wheel-dir dist .
	$(BIN)/python -c "from app.resources import missing_vendor_files as m; assert not m(), m()"

demo: install
	ENVIRONMENT=dev $(BIN)/portal demo

lint: install
	$(BIN)/ruff check app tests bench migrations
	$(BIN)/ruff format --check app tests bench
	$(BIN)/hadolint Dockerfile
	$(BIN)/lint-imports --no-logo

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# Every benchmark at full scale (300,000 students) on PostgreSQL; each rewrites its table in
# docs/performance.md. About an hour on a 2-core machine. CI runs each at small scale instead
# (tests/bench/test_benchmarks_run.py, on the PostgreSQL pass).
BENCH_SERVER ?= postgresql://postgres@127.0.0.1:5432/postgres
BENCH_DB ?= postgresql://postgres@127.0.0.1:5432/tobira_bench
bench: install
	psql "$(BENCH_SERVER)" -qc 'DROP DATABASE IF EXISTS tobira_bench WITH (FORCE)' -c 'CREATE DATABASE tobira_bench'
	$(BIN)/python -m bench.export_generate --database $(BENCH_DB)
	$(BIN)/python -m bench.export_benchmark --database $(BENCH_DB) --repeat 3
	$(BIN)/python -m bench.api_benchmark --database $(BENCH_DB)
	$(BIN)/python -m bench.announce_benchmark --server $(BENCH_SERVER)
	$(BIN)/python -m bench.roster_benchmark --admin-url $(BENCH_SERVER)
	$(BIN)/python -m bench.boards_benchmark --server $(BENCH_SERVER)
	$(BIN)/python -m bench.web_benchmark --profile
	psql "$(BENCH_SERVER)" -qc 'DROP DATABASE IF EXISTS tobira_bench WITH (FORCE)'

clean:
	rm -rf $(VENV) $(VENDOR) frontend/node_modules dist build
