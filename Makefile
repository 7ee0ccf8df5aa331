# lvs.cluster: see README.md. Every target installs what it needs (make setup) first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
LAB_NAME ?= default
LAB := tools/lvs-lab
# The IPVS modules need pyroute2 on the directors, which (like lab guests) may have no route to a package
# index: the controller holds the wheel and the roles and tests copy it over.
PYROUTE2_VERSION := $(shell sed -n 's/^pyroute2==//p' requirements-test.txt)
PYROUTE2_WHEEL := $(VENV)/wheels/pyroute2-$(PYROUTE2_VERSION)-py3-none-any.whl
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: help setup host-packages venv collection demo test unit sanity lint molecule lab-build lab-up lab-down \
        lab-status lab-doctor bench clean drill report drift

help:
	@echo "make demo       build the lab, boot it and show it (the main job)"
	@echo "make test       unit tests, ansible-test sanity, ansible-lint, Molecule scenarios on the lab"
	@echo "make setup      Debian packages and the Python virtualenv ($(VENV))"
	@echo "make lab-up     start lab LAB_NAME=$(LAB_NAME); make lab-down stops it; make lab-status"
	@echo "make lab-doctor the host facts the lab depends on (UML, XSAVE and the xstate shim, tun, memory, disk)"
	@echo "make drill      the fault drill: crashes, reboots, killed daemons, a cut link under client load"
	@echo "make report     the cluster as a table, JSON and SVG (lab LAB_NAME); make drift: the cluster against the inventory"
	@echo "make lint | sanity | unit | molecule | bench"

# Ends with the lab's host check: it builds the xstate shim and boots the UML kernel once (a second or two).
setup: host-packages venv
	@$(LAB) doctor

host-packages:
	@tools/setup-host.sh

venv: $(VENV)/.installed $(PYROUTE2_WHEEL)

$(PYROUTE2_WHEEL): $(VENV)/.installed
	$(VENV)/bin/pip download --quiet --no-deps --only-binary :all: -d $(VENV)/wheels pyroute2==$(PYROUTE2_VERSION)
	test -f $@

$(VENV)/.installed: requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-test.txt
	touch $@

# Build the collection and install it where ansible and ansible-test find it (build/ansible_collections/lvs/cluster).
collection: venv
	rm -rf build && mkdir -p build/dist
	$(VENV)/bin/ansible-galaxy collection build --force --output-path build/dist .
	$(VENV)/bin/ansible-galaxy collection install --offline --no-deps --force -p build build/dist/lvs-cluster-*.tar.gz

demo: setup
	tools/demo.sh $(LAB_NAME)

test: setup
	tools/run-tests.sh

unit: setup
	$(VENV)/bin/python -m pytest -q tools/tests tests/unit

sanity: setup collection
	tools/run-sanity.sh

lint: setup
	$(VENV)/bin/ansible-lint

molecule: setup collection
	tools/run-molecule.py

# The fault drill (issue 12) on a default lab of its own; DRILL_EVENTS=ci runs the CI subset (tools/lvs-drill --list).
drill: setup collection
	tools/run-drill.sh

lab-build: setup
	$(LAB) build

lab-up: setup
	$(LAB) up --name $(LAB_NAME)
	@echo "try: ansible all -i $$($(LAB) inventory --name $(LAB_NAME)) -m ping"

lab-down:
	$(LAB) down --name $(LAB_NAME)

lab-status:
	$(LAB) status --name $(LAB_NAME)

lab-doctor:
	$(LAB) doctor

# Day-2 views of lab LAB_NAME (read-only). REPORT_DIR defaults to ~/.cache/lvs-cluster/report.
REPORT_DIR ?= $(HOME)/.cache/lvs-cluster/report
report: collection
	$(VENV)/bin/ansible-playbook -i "$$($(LAB) inventory --name $(LAB_NAME))" -i inventory/lab playbooks/report.yml \
	    -e lvs_report_dir=$(REPORT_DIR)

drift: collection
	$(VENV)/bin/ansible-playbook -i "$$($(LAB) inventory --name $(LAB_NAME))" -i inventory/lab playbooks/drift.yml

# Every benchmark runs even when an earlier one misses its target; the target fails if any missed.
bench: setup
	status=0; \
	$(VENV)/bin/python bench/lab_boot.py || status=1; \
	$(VENV)/bin/python bench/xstate_shim.py || status=1; \
	$(VENV)/bin/python bench/ipvs_apply.py || status=1; \
	$(VENV)/bin/python bench/director_failover.py --idle-minutes 10 || status=1; \
	exit $$status

clean:
	rm -rf build tests/output .pytest_cache
