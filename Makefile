# custseg: the two commands of the README.
#   make demo  - set everything up and run the main job on the embedded default
#   make test  - set everything up and run the whole test suite (ruff included)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup browser demo test lint bench bench-ingest bench-features clean docs serve

setup: $(STAMP)

# Pinned versions: requirements.lock constrains every package (direct and transitive).
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(VENV)/bin/custseg demo demo

# The REST API and the dashboard (http://127.0.0.1:8000/ui/) on the demo workspace.
# A token to log in with: $(VENV)/bin/custseg tokens create -w demo --scope write
# The dashboard and the REST API on the demo workspace (after `make demo`). A new write
# token is created and printed first: paste it into the login form.
serve: setup
	$(VENV)/bin/custseg tokens create --scope write --name dashboard -w demo
	$(VENV)/bin/custseg serve -w demo

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks tools

# The browser tests drive Debian's Chromium through its ChromeDriver (selenium, pinned in
# requirements.lock); both come from Debian's packages, installed here when missing.
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  echo "installing Debian's chromium and chromium-driver for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium chromium-driver; }; \
	fi

# Two workers (pytest-xdist), a test file per worker: the suite takes about 8 minutes on
# 2 cores instead of 13.
test: lint browser
	$(PY) -m pytest -n 2 --dist loadfile

docs: setup
	$(PY) -c "from custseg.docs import write_data_model; write_data_model('docs/data-model.md')"

# Each benchmark writes its section of docs/benchmarks.md; data is cached in bench-data/.
# The first run generates it (10M order lines; a 1M-customer store: about 1 hour on 2 cores).
bench: bench-ingest bench-features

bench-ingest: setup
	$(PY) benchmarks/bench_ingest.py

bench-features: setup
	$(PY) benchmarks/bench_features.py

clean:
	rm -rf $(VENV) demo .pytest_cache .ruff_cache
