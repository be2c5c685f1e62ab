# The course's commands. Each creates the virtual environment .venv from
# requirements.txt when it is missing or older than requirements.txt, then reuses it.

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# nbgrader runs alembic as a subprocess, so the environment's bin/ must be on PATH.
export PATH := $(BIN):$(PATH)

.PHONY: lab test release outputs grade

## lab: open the student notebooks in JupyterLab
# Students get nbgrader's Validate button but not its teacher tools, which
# autograder/student_lab/labconfig/page_config.json switches off. NOTEBOOKS and
# LAB_ARGS let the browser test start this same command on a scratch copy.
# (Jupyter refuses to run as root unless told; containers often run as root.)
NOTEBOOKS ?= notebooks
lab: $(VENV)/installed
	JUPYTER_CONFIG_PATH=$(CURDIR)/autograder/student_lab \
	jupyter lab --ServerApp.root_dir=$(NOTEBOOKS) $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

## test: run the whole test suite (what CI runs); installs bubblewrap and chromium when missing
test: $(VENV)/installed
	tests/install-system-packages
	python -m pytest

## grade: grade a lesson for the whole class, e.g. make grade LESSON=01-async-iterator-protocol [ZIP=class.zip]
grade: $(VENV)/installed
	python -m autograder.grade $(LESSON) $(if $(ZIP),--zip $(ZIP)) $(GRADE_ARGS)

## release: regenerate notebooks/ (student versions) from solutions/ with nbgrader
release: $(VENV)/installed
	python -m autograder.release

## outputs: re-execute the solution notebooks so that their committed outputs are true
outputs: $(VENV)/installed
	python -m autograder.outputs

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
