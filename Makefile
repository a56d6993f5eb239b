# ent.pronote: day-to-day commands. GNU make; needs only Python 3.11+ and make.
#
#   make demo      run the rentrée against the sandbox (seeded on first use)
#   make diagnose  find the support FAQ's causes in the sandbox's region
#   make preflight check every screen the rentrée uses, nothing changed
#   make test      unit + sandbox + integration tests, ansible-lint, molecule,
#                  ansible-test sanity and galaxy-importer on the built collection
#
# `make help` lists every target.

PYTHON ?= python3
SANDBOX_PORT ?= 8443
# the hosting console (PRONOTE.net bases' settings; TLS client certificate required)
SANDBOX_HOSTING_PORT ?= 8444
SANDBOX_DIR ?= var/sandbox
SANDBOX_SEED ?= 42
SANDBOX_ETABS ?= 6
# the seeded sandbox's établissements; its address and CA come from
# ENT_SANDBOX_URL and ENT_SANDBOX_DIR, set by `make demo`
DEMO_INVENTORY ?= inventories/demo
# pytest: workers (0 = no xdist) and per-test time limit, in seconds
PYTEST_WORKERS ?= 2
PYTEST_TIMEOUT ?= 300

VENV := .venv
VENV_BIN := $(CURDIR)/$(VENV)/bin
VENV_STAMP := $(VENV)/.installed
# galaxy-importer pins versions the project's tools do not allow: a virtualenv of its own
GALAXY_VENV := .venv-galaxy
GALAXY_STAMP := $(GALAXY_VENV)/.installed
# the seed's report (établissements, admin and demo logins), also its stamp
SEED_STAMP := $(SANDBOX_DIR)/seed.txt

# Tools installed in the virtualenv come first, for make's own commands and
# for what they start (molecule and ansible-lint call ansible-playbook).
export PATH := $(VENV_BIN):$(PATH)
VENV_PY := $(VENV_BIN)/python

SANDBOX := $(VENV_PY) -m sandbox
SANDBOX_STOP := $(SANDBOX) stop --state-dir $(SANDBOX_DIR) >/dev/null 2>&1 || true

.DEFAULT_GOAL := help
.PHONY: help venv demo diagnose preflight demo-reset sandbox test pytest lint molecule sanity galaxy-import compat ee bench bench-national bench-realistic bench-inventory merge-bench soak reader-bench matching-report screenshot build clean distclean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# --- virtualenv --------------------------------------------------------------

venv: $(VENV_STAMP) ## create .venv and install the pinned dependencies

$(VENV_STAMP): requirements.txt requirements-test.txt constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
	  echo "error: '$(PYTHON)' not found. Install Python 3.11 or newer, or run: make PYTHON=/path/to/python3.11 ..." >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "error: $(PYTHON) is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'); 3.11 or newer is needed. Run: make PYTHON=/path/to/python3.11 ..." >&2; exit 1; }
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV) || { \
	  echo "error: '$(PYTHON) -m venv' failed (on Debian/Ubuntu: apt install python3-venv)" >&2; exit 1; }
	@# requirements-test.txt takes in requirements.txt (the collection's runtime ranges); constraints.txt pins all
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements-test.txt -c constraints.txt
	@touch $@

$(GALAXY_STAMP): requirements-galaxy.txt constraints-galaxy.txt | $(VENV_STAMP)
	@test -x $(GALAXY_VENV)/bin/python || $(PYTHON) -m venv $(GALAXY_VENV)
	$(GALAXY_VENV)/bin/pip install --disable-pip-version-check -q -r requirements-galaxy.txt -c constraints-galaxy.txt
	@touch $@

# --- sandbox and demo --------------------------------------------------------

# Seeded once; `make demo-reset` starts over. A second `make demo` must then
# report nothing changed: the modules are idempotent, the seed is not redone.
$(SEED_STAMP): | $(VENV_STAMP)
	@mkdir -p -m 700 $(SANDBOX_DIR)
	$(SANDBOX) seed --state-dir $(SANDBOX_DIR) --seed $(SANDBOX_SEED) --etabs $(SANDBOX_ETABS) > $@.tmp || { \
	  cat $@.tmp; rm -f $@.tmp; echo "(make demo-reset wipes $(SANDBOX_DIR) to start over)" >&2; exit 1; }
	@# what each school's PRONOTE exports at the rentrée (step 2 of the guide)
	$(SANDBOX) export --state-dir $(SANDBOX_DIR) --all --out-dir $(SANDBOX_DIR)/identifiants >> $@.tmp
	@mv $@.tmp $@

# Seeded before it starts (the seed writes the database directly), so the
# server sees a complete region from its first request. A sandbox already
# running (`make sandbox` in another terminal) is used and left running;
# otherwise the sandbox is started here and stopped on any exit. `demo` and
# `diagnose` differ only in the playbook and what they say at the end.
demo: PLAYBOOK = playbooks/rentree.yml
demo: DONE = Demo done: PRONOTE.net delegated to the CAS, PRONOTE service and identifiers in place, sign-on checked, for every établissement. 'make demo' again changes nothing. 'make diagnose' looks for the FAQ's causes.
demo: REPORT = rapport-rentree
diagnose: PLAYBOOK = playbooks/diagnose.yml
diagnose: DONE = Diagnosis done: nothing was changed. The people behind each finding (names, mode 0600): $(SANDBOX_DIR)/rapports/<UAI>-diagnostic.csv
diagnose: REPORT = rapport-diagnostic
preflight: PLAYBOOK = playbooks/preflight.yml
preflight: DONE = Preflight done: every screen the rentrée uses was opened and checked, nothing was changed.
preflight: REPORT = rapport-preflight
demo: ## run the rentrée playbook against the sandbox (started and stopped here), with its report
diagnose: ## run diagnose.yml against the sandbox: the FAQ's causes found and explained, nothing changed
preflight: ## run preflight.yml against the sandbox: every screen of the rentrée checked, nothing changed
demo diagnose preflight: $(VENV_STAMP) $(SEED_STAMP)
	@if $(SANDBOX) status --state-dir $(SANDBOX_DIR) >/dev/null 2>&1; then \
	  echo "Using the sandbox already running: $$($(SANDBOX) status --state-dir $(SANDBOX_DIR))"; stop=""; \
	else \
	  $(SANDBOX) start --detach --state-dir $(SANDBOX_DIR) --port $(SANDBOX_PORT) --hosting-port $(SANDBOX_HOSTING_PORT) || exit $$?; \
	  trap '$(SANDBOX_STOP)' EXIT; trap 'exit 130' INT TERM; stop="The sandbox is stopped."; \
	fi; \
	rc=0; ENT_SANDBOX_URL=https://127.0.0.1:$(SANDBOX_PORT)/ ENT_SANDBOX_DIR=$(abspath $(SANDBOX_DIR)) \
	  ENT_SANDBOX_HOSTING_URL=https://127.0.0.1:$(SANDBOX_HOSTING_PORT)/ \
	  ansible-playbook $(PLAYBOOK) -i $(DEMO_INVENTORY) || rc=$$?; \
	echo; \
	if [ $$rc -eq 0 ]; then echo "$(DONE)"; \
	else echo "ansible-playbook $(PLAYBOOK) exited with status $$rc; the failed établissements are listed above."; fi; \
	echo "Report (open it in a browser): $(SANDBOX_DIR)/rapports/$(REPORT).html"; \
	echo "Matching reports (names, mode 0600): $(SANDBOX_DIR)/rapports/"; \
	echo "Click through the console: 'make sandbox'.  Start over: 'make demo-reset'.  $$stop"; \
	exit $$rc

demo-reset: ## wipe the sandbox's state (it is seeded again on next use)
	@test ! -d $(SANDBOX_DIR) || $(SANDBOX_STOP)
	rm -rf $(SANDBOX_DIR)

sandbox: $(VENV_STAMP) $(SEED_STAMP) ## run the sandbox in the foreground (Ctrl-C stops it)
	@sed -n '/^Administrateurs/,$$p' $(SEED_STAMP)
	@echo "Open https://127.0.0.1:$(SANDBOX_PORT)/ : the ENT projects, their consoles and établissements."
	@echo "Hosting console (the PRONOTE.net bases): https://127.0.0.1:$(SANDBOX_HOSTING_PORT)/ with the client certificate $(SANDBOX_DIR)/client.pem and client.key."
	@echo "CA to trust in the browser: $(SANDBOX_DIR)/ca.pem.  Ctrl-C stops the sandbox."
	@$(SANDBOX) start --state-dir $(SANDBOX_DIR) --port $(SANDBOX_PORT) --hosting-port $(SANDBOX_HOSTING_PORT)

# --- tests -------------------------------------------------------------------

test: $(VENV_STAMP) ## everything CI runs: pytest, ansible-lint, molecule, sanity, galaxy-importer, compat
	@$(MAKE) --no-print-directory pytest
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory molecule
	@$(MAKE) --no-print-directory sanity
	@$(MAKE) --no-print-directory galaxy-import
	@$(MAKE) --no-print-directory compat

pytest: $(VENV_STAMP) ## unit, sandbox, real CAS (django-cas-server) and integration tests
	$(VENV_PY) -m pytest -p no:cacheprovider --timeout=$(PYTEST_TIMEOUT) \
	  $(if $(filter-out 0,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS)) \
	  tests/unit tests/sandbox tests/realcas tests/integration

lint: $(VENV_STAMP) ## ansible-lint, production profile (see .ansible-lint)
	ansible-lint

molecule: $(VENV_STAMP) ## molecule scenario extensions/molecule/default against a throwaway sandbox
	molecule test -s default

sanity: $(VENV_STAMP) ## ansible-test sanity --venv on the built collection, offline (tools/sanity.sh)
	VENV_BIN=$(VENV_BIN) tools/sanity.sh

galaxy-import: $(GALAXY_STAMP) ## galaxy-importer, Galaxy's and Automation Hub's check, on the built tarball
	rm -rf build/galaxy
	ansible-galaxy collection build --force --output-path build/galaxy .
	@# it looks for ansible-doc and ansible-lint on PATH: its own virtualenv's
	cd build/galaxy && PATH=$(CURDIR)/$(GALAXY_VENV)/bin:$$PATH $(CURDIR)/$(GALAXY_VENV)/bin/python -m galaxy_importer.main ent-pronote-*.tar.gz

# The oldest ansible-core versions meta/runtime.yml allows (requires_ansible >=2.17.0); the main
# virtualenv has the newest. Each gets a virtualenv of its own, with the collection's requirements.txt
# and the test tools at the versions of constraints.txt (but ansible-core and its resolvelib).
COMPAT_CORES ?= 2.17 2.18
COMPAT_TESTS := tests/unit tests/integration/test_rentree.py tests/integration/test_requirements.py
compat: $(VENV_STAMP) ## the unit tests and the rentrée's integration tests under ansible-core 2.17 and 2.18
	@mkdir -p var/compat
	@grep -v -E '^(ansible-core|resolvelib)==' constraints.txt > var/compat/constraints.txt
	@set -e; for v in $(COMPAT_CORES); do \
	  d=var/compat/$$v; test -x $$d/bin/python || $(PYTHON) -m venv $$d; \
	  $$d/bin/pip install --disable-pip-version-check -q "ansible-core==$$v.*" -r requirements.txt pytest pytest-timeout \
	    hypothesis jmespath cssselect Flask cryptography python-cas ansible-runner -c var/compat/constraints.txt; \
	  echo "== ansible-core $$($$d/bin/python -c 'import ansible; print(ansible.__version__)')"; \
	  $$d/bin/python -m pytest -p no:cacheprovider -q --timeout=$(PYTEST_TIMEOUT) $(COMPAT_TESTS) \
	    --deselect tests/unit/test_collection.py::test_the_changelog_is_generated_from_changelogs; \
	done

ee: $(VENV_STAMP) ## the execution environment's build context in build/ee (ansible-builder create; no container engine)
	rm -rf build/ee build/ee-collection
	ansible-galaxy collection build --force --output-path build/ee-collection .
	mv build/ee-collection/ent-pronote-*.tar.gz build/ee-collection/ent-pronote.tar.gz
	ansible-builder create -f execution-environment.yml -c build/ee --output-filename Containerfile
	@echo "Build it with: podman build -t ent-pronote-ee build/ee   (or docker build)"

bench: $(VENV_STAMP) ## time the playbook on many établissements (tools/bench.py)
	$(VENV_PY) tools/bench.py

bench-national: $(VENV_STAMP) ## the rentrée of 2,000 établissements through the inventory plugin: one controller vs 4 slices, merge, memory
	$(VENV_PY) tools/bench_national.py

bench-realistic: $(VENV_STAMP) ## the whole rentrée of 500 établissements of realistic size (~1,000 pupils each), Ansible vs the floor
	$(VENV_PY) tools/bench.py --phase rentree --etabs 500 --rentree-scale 33

bench-inventory: $(VENV_STAMP) ## time the inventory plugin on 2,000 établissements over 4 ENT projects, cold and from its cache
	$(VENV_PY) tools/bench_inventory.py

soak: $(VENV_STAMP) ## the rentrée through fault profiles (500s, expiring sessions, outage, two runs, SIGKILL): what each left (tools/soak.py)
	$(VENV_PY) tools/soak.py

merge-bench: $(VENV_STAMP) ## time of the merge of 2,000 établissements' records into the region's report (tools/merge_bench.py)
	$(VENV_PY) tools/merge_bench.py

reader-bench: $(VENV_STAMP) ## peak memory and time of the identifiers reader on big generated files
	$(VENV_PY) tools/reader_bench.py

matching-report: $(VENV_STAMP) ## precision and recall of the identifiers matching on a seeded region
	$(VENV_PY) tools/matching_report.py

screenshot: $(VENV_STAMP) ## docs/report.png: the report page of a demo region (needs chromium)
	$(VENV_PY) tools/screenshot_report.py

# --- housekeeping ------------------------------------------------------------

build: $(VENV_STAMP) ## build the collection tarball into build/
	ansible-galaxy collection build --force --output-path build .

clean: ## stop the sandbox; remove its state, build output and caches (keeps .venv)
	@test ! -d $(SANDBOX_DIR) || ! test -x $(VENV)/bin/python || $(SANDBOX_STOP)
	rm -rf var build .ansible .pytest_cache .hypothesis
	find . -path ./$(VENV) -prune -o -path ./collections -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean ## clean, and remove .venv (and .venv-galaxy) too
	rm -rf $(VENV) $(GALAXY_VENV)
