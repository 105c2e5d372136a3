# Two commands: `make run` serves the app, `make test` runs the whole suite.
# Both create .venv and install requirements.txt on first use.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum < requirements.txt | cut -d' ' -f1)
PORT   ?= 8501

.PHONY: install warm run test lint bench bench-train bench-modern bench-app bench-room bench-tour bench-first clean

install: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

# numba compiles the LSTM loops once per source version (cached in engine/__pycache__)
warm: install
	$(PY) -c 'import engine.kernels; engine.kernels.warm_up()'

run: warm
	$(VENV)/bin/streamlit run app/serve.py --server.address=127.0.0.1 --server.port=$(PORT) \
		--server.headless=true --browser.gatherUsageStats=false

lint: install
	$(PY) -m ruff check .

test: lint warm
	$(PY) -m pytest

bench: install
	$(PY) benchmarks/engine_speed.py

bench-train: install
	$(PY) benchmarks/train_classic.py

bench-modern: install
	$(PY) benchmarks/modern_results.py

bench-app: install
	$(PY) benchmarks/app_speed.py

bench-room: install
	$(PY) benchmarks/packed_room.py

bench-tour: install
	$(PY) benchmarks/tour_showdown.py

bench-first: install
	$(PY) benchmarks/first_chart.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
