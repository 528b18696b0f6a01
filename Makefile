# The two commands a newcomer needs: `make demo` and `make test`. Both create the environment when it is
# missing. No credentials live here: settings come from the environment (see README, `make config`).

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
HS_HOME ?= $(CURDIR)/.local
export HS_HOME

.PHONY: demo test test-fast stop config key venv lock bench bench-scale bench-dbt-tasks clean

demo: $(VENV)/.installed key
	$(BIN)/hs demo

# Every test, in TEST_WORKERS pytest-xdist workers (tests/conftest.py: which modules share a worker, longest
# first); ends with the 25 slowest, so a CI log says where the time went. TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
test: $(VENV)/.installed
	$(BIN)/pytest -ra --durations=25 $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder)

# Unit and integration tests only (skips the scheduler-driven end-to-end run).
test-fast: $(VENV)/.installed
	$(BIN)/pytest -ra -m "not e2e"

stop: $(VENV)/.installed
	$(BIN)/hs stop

config: $(VENV)/.installed
	$(BIN)/hs config

bench: $(VENV)/.installed key
	$(BIN)/python -m benchmarks

# Spark local[2] vs the DuckDB reference at 1M and 10M events, incremental vs full (minutes; data cached in $(HS_HOME)/bench).
bench-scale: $(VENV)/.installed
	HS_BENCH_SCALE_SIZES=$${HS_BENCH_SCALE_SIZES:-1000000,10000000} PYSPARK_PYTHON=$(CURDIR)/$(BIN)/python \
		$(BIN)/python -m benchmarks.scale

# One cosmos dbt task's start-up, cold vs forked from the preloading scheduler, and what it costs per publication.
bench-dbt-tasks: $(VENV)/.installed
	$(BIN)/python -m benchmarks.dbt_tasks

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

# A random pseudonymisation key for the embedded set-up, created once and never committed.
key: $(HS_HOME)/secrets/pseudonym.key

$(HS_HOME)/secrets/pseudonym.key:
	mkdir -p $(dir $@)
	umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_hex(32))" > $@

# Re-resolve every pin from the ranges in pyproject.toml into constraints.txt.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[dev]'
	{ echo "# One lock for the whole project: every package the venv holds, pinned. Regenerate with"; \
	  echo "#   make lock   (installs from pyproject ranges into a scratch venv and freezes it)"; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable | grep -viE '^(pip|setuptools|wheel)=='; } > constraints.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .local dbt_project/target dbt_project/logs
