# The two set-up commands of the README. Each works on a fresh machine: it makes the
# virtual environment and installs storebench into it first (a no-op when already done).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: bench test install

# Quiet: pip's own progress is noise here; errors still print. (setuptools still notes that an
# editable install of packages in the project root is one; that goes with the package layout.)
$(BIN)/storebench: pyproject.toml
	@echo "installing storebench and its dependencies into $(VENV) (a minute or two, once)"
	@$(PY) -m venv $(VENV)
	@$(BIN)/pip install --quiet --upgrade pip
	@$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/storebench

bench: install
	$(BIN)/storebench run $(ARGS)

test: install
	$(BIN)/python -m pytest $(ARGS)
