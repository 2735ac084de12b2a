# CloudPortal: `make run` starts a working portal, `make test` runs the tests.
# The interpreter of .venv: the distribution's /usr/bin/python3.11 when it can make virtualenvs
# (Debian: python3.11-venv), else python3.11 from the PATH. Distribution builds (and the
# python:3.11 image the Dockerfile uses) are compiled with profile-guided and link-time
# optimisation; a default pyenv or source build is not: on the same machine its web and workers
# used 10-20 % more CPU per VM created (docs/benchmarks.md, 4 Dec). `make PYTHON=...` chooses.
SYSTEM_PYTHON := $(shell /usr/bin/python3.11 -c 'import ensurepip' >/dev/null 2>&1 && echo /usr/bin/python3.11)
PYTHON ?= $(or $(SYSTEM_PYTHON),python3.11)
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT

.PHONY: run demo test install install-dev migrate admin clean bench-query bench-flow messages screenshots

$(VENV)/.installed: requirements.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "needs $(PYTHON) (python3.11 with venv)"; exit 1; }
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); echo "$(PYTHON) cannot create a virtualenv: on Debian, apt-get install -y python3.11-venv"; exit 1; }
	@echo "$(VENV): $$($(PY) -c 'import sys; print(sys.version.split()[0], sys._base_executable)')"
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

# mysqlclient compiles against the MariaDB client headers; only needed with a mysql:// DATABASE_URL.
$(VENV)/.installed-mysql: $(VENV)/.installed requirements-mysql.txt
	@pkg-config --exists mysqlclient 2>/dev/null || pkg-config --exists libmariadb 2>/dev/null || { \
	  echo "DATABASE_URL is mysql://: install the client headers first:"; \
	  echo "  apt-get install -y default-libmysqlclient-dev pkg-config"; exit 1; }
	$(PY) -m pip install --quiet -r requirements-mysql.txt
	@touch $@

MYSQL_DEP := $(if $(filter mysql%,$(DATABASE_URL)),$(VENV)/.installed-mysql,)

# libvirt-python compiles against libvirt's headers; installed only where they are
# (the libvirt host agent backend and its tests need it; without it they are skipped).
$(VENV)/.installed-libvirt: $(VENV)/.installed requirements-libvirt.txt
	$(PY) -m pip install --quiet -r requirements-libvirt.txt
	@touch $@

LIBVIRT_DEP := $(if $(shell pkg-config --exists libvirt 2>/dev/null && echo yes),$(VENV)/.installed-libvirt,)

# noVNC (VM console), Tabler and htmx (browser console) come from npm (package.json, package-lock.json),
# served by the portal itself. Without npm the portal still runs; its pages say how to get them.
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else \
	  echo "note: npm is missing, so the VM console (noVNC) is not installed; to add it:"; \
	  echo "  apt-get install -y npm && make install"; \
	fi

install: $(VENV)/.installed $(MYSQL_DEP) node_modules/.installed
install-dev: $(VENV)/.installed-dev $(MYSQL_DEP) $(LIBVIRT_DEP) node_modules/.installed

migrate: install
	$(PY) manage.py migrate --no-input

admin: migrate
	$(PY) manage.py ensure_admin

run: admin
	$(PY) manage.py runportal --port $(PORT)

# with `make run` running: a zone, simulated hosts, an image, storage, a network and an
# offering through its API (idempotent); prints the call that creates a first VM
demo: install
	$(PY) manage.py demo

# Two pytest-xdist workers: most of the suite's time is spent waiting on the processes it starts
# (Celery workers, agents, web servers, libvirtd and QEMU, Chromium), not on the CPU. Groups keep a
# module's tests (and its module-scoped servers) on one worker; tests/parallel.py gives each worker
# its own Redis databases (pass `-p tests.parallel` with -n when running pytest by hand).
# `make test PYTEST_XDIST=` runs them in one process.
PYTEST_XDIST ?= -p tests.parallel -n 2 --dist loadgroup

test: install-dev
	$(PY) -m pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

bench-query: install-dev
	$(PY) bench/query_list.py

bench-flow: install-dev
	$(PY) bench/flow_throughput.py

# the console's translations (locale/zh_Hans): strings gathered into the .po, the .mo compiled and
# committed beside it, so running the portal needs no gettext; this needs it (apt-get install gettext)
messages: install
	$(PY) manage.py makemessages -l zh_Hans --no-location --ignore=node_modules --ignore=.venv --ignore=var \
	  --ignore=tests --ignore=bench
	$(PY) manage.py compilemessages -l zh_Hans

# the console's main pages as PNG files in docs/images/ (docs/console-ui.md, README): a portal of its own
# on SQLite in a temporary directory, filled by `manage.py demo` and a few VMs, shot by Chromium at
# 1280x800 (apt-get install -y chromium fonts-wqy-microhei; pngquant, if installed, shrinks the files)
screenshots: install-dev
	$(PY) docs/screenshots.py $(SCREENSHOTS_ARGS)

clean:
	rm -rf $(VENV) var node_modules
