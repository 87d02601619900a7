# winpki — two commands: `make demo` and `make test`. Everything else follows from them.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-lowest bench lint system-packages clean

# System packages the SoftHSM tests and OpenSSL interop need (installed when missing).
system-packages:
	@missing=""; \
	command -v softhsm2-util >/dev/null 2>&1 || missing="$$missing softhsm2"; \
	command -v pkcs11-tool   >/dev/null 2>&1 || missing="$$missing opensc"; \
	command -v openssl       >/dev/null 2>&1 || missing="$$missing openssl"; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO="sudo"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: system-packages $(STAMP)

demo: install
	$(PY) -m winpki.demo $(DEMO_ARGS)

test: install
	$(PY) -m pytest -q

# The suite against the lowest version of every dependency pyproject.toml allows
# (uv's lowest-direct resolution), so that the lower bounds stay true. Benchmarks skipped.
LOWEST := .venv-lowest
test-lowest: install
	$(PY) -m pip install -q uv
	$(PY) -m uv venv -q --allow-existing --python $(PY) $(LOWEST)
	$(PY) -m uv pip install -q --python $(LOWEST)/bin/python --resolution lowest-direct -e '.[test]'
	$(LOWEST)/bin/python -m pytest -q -m "not slow" --benchmark-disable

bench: install
	$(PY) -m pytest tests/bench --benchmark-enable --benchmark-only -q

lint: install
	$(VENV)/bin/ruff check capi csp schannel winpki tests
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) .venv-lowest build dist *.egg-info
