# The two set-up commands of the README. Each works on a fresh machine: it makes the
# virtual environment and installs storebench into it first (a no-op when already done).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: bench test install

$(BIN)/storebench: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The Node tier (node/, docs/node.md) is installed with `npm ci` when Node >= 20 is on the PATH;
# without it the Node backends are listed as unavailable, with the reason.
NODE_OK := $(shell node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null && echo yes)
NODE_STAMP := node/node_modules/.storebench-installed

$(NODE_STAMP): node/package.json node/package-lock.json node/prisma/schema.prisma node/prisma/build.mjs
	cd node && npm ci --loglevel=error
	touch $@

install: $(BIN)/storebench $(if $(NODE_OK),$(NODE_STAMP))

bench: install
	$(BIN)/storebench run $(ARGS)

test: install
	$(BIN)/python -m pytest $(ARGS)
