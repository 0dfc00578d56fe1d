# The two set-up commands of the README. Each works on a fresh machine: it makes the
# virtual environment and installs storebench into it first (a no-op when already done).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: bench test install web lint

# Quiet: pip's own progress is noise here; errors still print. (setuptools still prints its
# generic notice about editable installs whose package folders are mapped, as ours are.)
$(BIN)/storebench: pyproject.toml
	@echo "== install 1/4: storebench and its Python dependencies into $(VENV) (about 45 s, once)"
	@$(PY) -m venv $(VENV)
	@$(BIN)/pip install --quiet --upgrade pip
	@$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

# The Node tier (node/, docs/node.md) is installed with `npm ci` when Node >= 20 is on the PATH;
# without it the Node backends are listed as unavailable, with the reason.
NODE_OK := $(shell node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null && echo yes)
NODE_STAMP := node/node_modules/.storebench-installed

$(NODE_STAMP): node/package.json node/package-lock.json node/prisma/schema.prisma node/prisma/build.mjs
	@echo "== install 2/4: the Node systems in node/ (npm ci, compiles better-sqlite3: about 90 s, once)"
	cd node && npm ci --loglevel=error
	touch $@

install: $(BIN)/storebench $(if $(NODE_OK),$(NODE_STAMP))

# The Next.js app of the browser backends (nextjs-routes, browser-turso): npm ci and next build
# in web/, when Node 20 or newer is on the PATH; without it those backends are listed as
# unavailable with the reason. Rebuilt only when its lock file or sources change.
WEB_SOURCES := $(shell find web/app web/lib -type f 2>/dev/null) web/next.config.mjs web/tsconfig.json

web/node_modules/.package-lock.json: web/package-lock.json
	@echo "== install 3/4: the Next.js app in web/ (npm ci: about 15 s, once)"
	cd web && npm ci --no-audit --no-fund --loglevel=error

web/.next/BUILD_ID: web/node_modules/.package-lock.json $(WEB_SOURCES)
	@echo "== install 4/4: next build in web/ (about 15 s, again only when web/ changes)"
	cd web && NEXT_TELEMETRY_DISABLED=1 ./node_modules/.bin/next build > build.log 2>&1 || { cat build.log; exit 1; }

ifeq ($(NODE_OK),yes)
web: web/.next/BUILD_ID
else
web:
	@echo "no Node.js 20+ on the PATH: the browser backends (nextjs-routes, browser-turso) will be unavailable"
endif

# ruff and mypy as configured in pyproject.toml (docs/development.md). mypy cannot follow
# setuptools' editable finder for our package-dir mapping, so it reads build/mypy/storebench:
# symlinks laid out as the installed package, laid anew each time (a new module needs nothing);
# its messages are mapped back to the files in bench/ and backends/.
MYPY_TREE := build/mypy/storebench

lint: $(BIN)/storebench
	$(BIN)/ruff check .
	@rm -rf $(MYPY_TREE) && mkdir -p $(MYPY_TREE)
	@ln -s $(CURDIR)/bench/* $(MYPY_TREE)/ && ln -s $(CURDIR)/backends $(MYPY_TREE)/backends
	@$(BIN)/mypy > build/mypy/report.txt; status=$$?; \
	  sed -e 's|^$(MYPY_TREE)/backends/|backends/|' -e 's|^$(MYPY_TREE)/|bench/|' build/mypy/report.txt; exit $$status

bench: install web
	$(BIN)/storebench run $(ARGS)

test: install web
	$(BIN)/python -m pytest $(ARGS)
