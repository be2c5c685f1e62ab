# The course's commands. Each creates the virtual environment .venv from
# requirements.txt when it is missing or older than requirements.txt, then reuses it.

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# nbgrader runs alembic as a subprocess, so the environment's bin/ must be on PATH.
export PATH := $(BIN):$(PATH)

.PHONY: lab test release outputs grade catalogs check-translation

# The edition: English by default; `make lab LANG=zh_CN` (and `make grade ... LANG=zh_CN`) picks the
# Simplified Chinese one, a course of its own in zh_CN/. Only LANG given on the make command line
# counts, never the machine's locale, and it is not passed on to the programs as their locale.
EDITIONS := zh_CN
ifeq ($(origin LANG),command line)
ifneq ($(filter-out en $(EDITIONS),$(LANG)),)
$(error there is no edition LANG=$(LANG): the editions are en $(EDITIONS))
endif
COURSE := $(if $(filter en,$(LANG)),$(CURDIR),$(CURDIR)/$(LANG))
unexport LANG
else
COURSE := $(CURDIR)
endif

## lab: open the student notebooks in JupyterLab (LANG=zh_CN: the Chinese edition, with JupyterLab in Chinese)
# Students get nbgrader's Validate button but not its teacher tools, which
# autograder/student_lab/labconfig/page_config.json switches off; it runs in the
# edition's course folder, so that Validate reads that edition's nbgrader_config.py.
# A translated edition's JupyterLab settings (autograder/student_lab/<edition>/settings)
# set its interface language. NOTEBOOKS and LAB_ARGS let the browser test start this
# same command on a scratch copy.
# (Jupyter refuses to run as root unless told; containers often run as root.)
NOTEBOOKS ?= $(COURSE)/notebooks
LAB_SETTINGS := $(wildcard $(CURDIR)/autograder/student_lab/$(notdir $(COURSE))/settings)
lab: $(VENV)/installed
	cd $(COURSE) && JUPYTER_CONFIG_PATH=$(CURDIR)/autograder/student_lab \
	jupyter lab --ServerApp.root_dir=$(abspath $(NOTEBOOKS)) $(if $(LAB_SETTINGS),--LabApp.app_settings_dir=$(LAB_SETTINGS)) \
	$(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

## test: run the whole test suite (what CI runs); installs bubblewrap and chromium when missing
test: $(VENV)/installed
	tests/install-system-packages
	python -m pytest

## grade: grade a lesson for the whole class, e.g. make grade LESSON=01-async-iterator-protocol [ZIP=class.zip] [LANG=zh_CN]
grade: $(VENV)/installed
	python -m autograder.grade $(LESSON) --course $(COURSE) $(if $(ZIP),--zip $(abspath $(ZIP))) $(GRADE_ARGS)

## release: build every edition: notebooks/ from solutions/ with nbgrader, zh_CN/ from solutions/ and the catalogs
release: $(VENV)/installed
	python -m autograder.release

## outputs: re-execute the solution notebooks of every edition so that their committed outputs are true
outputs: $(VENV)/installed
	python -m autograder.outputs
	$(foreach edition,$(EDITIONS),python -m autograder.outputs --course $(edition) &&) true

## catalogs: extract the English again into the translation catalogs (translations kept, changed ones marked fuzzy)
catalogs: $(VENV)/installed
	python -m autograder.i18n.catalogs

## check-translation: check the catalogs, or one: make check-translation CATALOG=translations/zh_CN/progress.po
check-translation: $(VENV)/installed
	python -m autograder.i18n.check $(CHECK_ARGS) $(CATALOG)

$(VENV)/installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# ---- The classroom on JupyterHub (autograder/hub/) ----
.PHONY: hub
CHP := $(VENV)/proxy/node_modules/.bin/configurable-http-proxy

## hub: a local classroom on this machine: JupyterHub with nbgrader's exchange, an instructor and three students
# HUB_ARGS passes options, e.g. HUB_ARGS="--port 8001 --students ann,ben"; the browser test starts it this way.
hub: $(VENV)/installed $(CHP)
	python -m autograder.hub $(HUB_ARGS)

# configurable-http-proxy, JupyterHub's proxy, from npm into the virtual environment.
$(CHP):
	@command -v npm >/dev/null || { echo "make hub needs npm (Debian: apt-get install npm)" >&2; exit 1; }
	npm install --prefix $(VENV)/proxy --no-audit --no-fund --loglevel=error configurable-http-proxy@5.3.0
