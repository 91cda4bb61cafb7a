# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Both install what is missing first (host packages as root, .venv, images).
SHELL := /bin/bash

.PHONY: help demo test setup images vm-images ee surveys lint sanity unit molecule constraints changelog clean

help:
	@echo "make demo    run the site playbook against a throwaway PostgreSQL container (KEEP=1 keeps it, SUITE=trixie for PostgreSQL 17)"
	@echo "make test    set up, then yamllint, ansible-lint, ansible-test sanity, unit tests and every Molecule scenario"
	@echo "make setup | images | vm-images | ee | surveys | lint | sanity | unit | molecule | constraints | changelog | clean"

demo: setup
	scripts/demo.sh

test:
	scripts/test.sh

setup:
	scripts/setup.sh

images:
	scripts/build-images.sh

# The AWX execution environment localhost/pghost-ee (awx/ee, ansible-builder).
ee: setup
	scripts/build-ee.sh

# Regenerate the AWX surveys (awx/surveys) after changing an argument spec.
surveys: setup
	source scripts/env.sh && python scripts/awx_surveys.py

# Real-kernel VM disks for molecule/realkernel, made from the container images.
vm-images: images
	scripts/build-vm-images.sh

lint: setup
	source scripts/env.sh && yamllint --strict . && ansible-lint --offline --profile production

sanity: setup
	scripts/sanity.sh

unit: setup
	source scripts/env.sh && python -m pytest tests/unit tests/integration

molecule: setup
	source scripts/env.sh && for s in molecule/*/molecule.yml; do molecule test -s "$$(basename "$$(dirname "$$s")")" || exit 1; done

# Re-pin every transitive dependency after changing requirements/requirements.txt.
constraints:
	rm -rf build/constraints-venv && python3 -m venv build/constraints-venv
	build/constraints-venv/bin/pip install --quiet -r requirements/requirements.txt
	{ echo "# Full pinned environment for requirements.txt (pip freeze of a fresh .venv)."; \
	  echo "# Regenerate: make constraints"; build/constraints-venv/bin/pip freeze; } > requirements/constraints.txt

changelog: setup
	source scripts/env.sh && antsibull-changelog lint && antsibull-changelog release

clean:
	rm -rf build tests/output .pytest_cache
