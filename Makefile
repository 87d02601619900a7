# winpki — two commands: `make demo` and `make test`. Everything else follows from them.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-lowest test-openssl4 bench lint system-packages clean

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

# The TLS key path (schannel.tls, SSPI, client certificates) on OpenSSL 4, while Python's ssl
# (the tests' clients) stays on the OpenSSL it links. The release's source as Debian ships
# it, checked against the SHA-256 of Debian's signed .dsc, built once (libssl/libcrypto
# only) into .openssl/, then schannel.tls loads it through WINPKI_OPENSSL_LIBDIR.
OPENSSL4_VERSION := 4.0.2
OPENSSL4_SHA256  := 736b467530f916737b7031310ccb21d8218c6229e61e8e160cd1d3458cd543a8
# The Debian archive this machine's apt uses (its first .../debian source), so the download
# goes where apt's do; OPENSSL4_MIRROR=<archive URL> overrides it.
OPENSSL4_MIRROR  ?= $(shell sed -n -e 's|^URIs: *\([^ ]*/debian\)/*$$|\1|p' \
                      -e 's|^deb \(\[[^]]*\] \)*\([^ ]*/debian\)/* .*|\2|p' \
                      /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -n 1)
OPENSSL4_URL     := $(OPENSSL4_MIRROR)/pool/main/o/openssl/openssl_$(OPENSSL4_VERSION).orig.tar.gz
OPENSSL4_HOME    := $(CURDIR)/.openssl/$(OPENSSL4_VERSION)
OPENSSL4_LIB     := $(OPENSSL4_HOME)/lib
SCHANNEL_TESTS   := tests/test_tls_endpoint.py tests/test_tls_hardening.py tests/test_tls_provider.py \
                    tests/test_sspi.py tests/test_clientcert.py tests/test_clientcert_events.py \
                    tests/test_clientcert_renegotiation.py tests/test_serve.py \
                    tests/test_schannel_bindings.py tests/test_schannel_protocols.py \
                    tests/test_httpapi.py tests/test_iis_web.py tests/test_doctor_clients.py \
                    tests/test_winhttpcertcfg.py

$(OPENSSL4_LIB)/libssl.so.4:
	@test -n "$(OPENSSL4_MIRROR)" || { echo "no Debian archive in apt's sources: set OPENSSL4_MIRROR"; exit 1; }
	@rm -rf $(OPENSSL4_HOME) && mkdir -p $(OPENSSL4_HOME)/src $(OPENSSL4_LIB)
	curl -fsSL -o $(OPENSSL4_HOME)/openssl.tar.gz $(OPENSSL4_URL)
	echo "$(OPENSSL4_SHA256)  $(OPENSSL4_HOME)/openssl.tar.gz" | sha256sum -c --quiet -
	tar xzf $(OPENSSL4_HOME)/openssl.tar.gz -C $(OPENSSL4_HOME)/src --strip-components=1
	cd $(OPENSSL4_HOME)/src && ./config --prefix=$(OPENSSL4_HOME) --openssldir=$(OPENSSL4_HOME)/ssl \
	  --libdir=lib shared no-tests no-docs >/dev/null
	$(MAKE) -s -C $(OPENSSL4_HOME)/src -j$$(nproc) build_libs >/dev/null
	cp -P $(OPENSSL4_HOME)/src/libcrypto.so.4 $(OPENSSL4_HOME)/src/libssl.so.4 $(OPENSSL4_LIB)/
	rm -rf $(OPENSSL4_HOME)/src $(OPENSSL4_HOME)/openssl.tar.gz

test-openssl4: install $(OPENSSL4_LIB)/libssl.so.4
	WINPKI_OPENSSL_LIBDIR=$(OPENSSL4_LIB) $(PY) -m pytest -q $(SCHANNEL_TESTS)

bench: install
	$(PY) -m pytest tests/bench --benchmark-enable --benchmark-only -q

lint: install
	$(VENV)/bin/ruff check capi csp schannel winpki tests
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) .venv-lowest .openssl build dist *.egg-info
