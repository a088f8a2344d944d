# ARGOS edge — the two commands: `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
ENV := source scripts/env.sh
ARGS ?=
PYTEST_ARGS ?=

.PHONY: setup run test test-unit lint bench check-config clean

setup:            ## venv with pinned ROS 2 Kilted wheels, vision_msgs underlay if needed, colcon build, redis/mosquitto
	@bash scripts/setup.sh

run: setup        ## ~20 s of the synthetic intersection through the whole graph, then a summary
	@$(ENV) && argos run $(ARGS)

test: setup lint  ## lint and types, then all tests: package unit tests (src/*/test) and integration (real rclpy nodes, redis-server, mosquitto)
	@$(ENV) && python -m pytest $(PYTEST_ARGS)

lint: setup       ## ruff (lint + format check) over the repository, mypy over the ROS-free cores
	@$(ENV) && ruff check . && ruff format --check . && mypy

bench: setup      ## every benchmark (`argos bench`), tables with the machine
	@$(ENV) && argos bench $(ARGS)

test-unit: setup
	@$(ENV) && python -m pytest src tests/unit $(PYTEST_ARGS)

check-config: setup
	@$(ENV) && argos check-config $(ARGS)

clean:            ## remove build products (keeps the venv)
	rm -rf build install log underlay/build underlay/install underlay/log
