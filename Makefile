# pg_qprof — top-level build. The extension is built with PGXS; the collector
# and the BPF programs have their own Makefiles under collector/ and bpf/.

EXTENSION   = pg_qprof
MODULE_big  = pg_qprof
OBJS        = $(patsubst %.cpp,%.o,$(sort $(wildcard extension/*.cpp)))
DATA_built  = pg_qprof--1.0.sql
EXTRA_CLEAN = pg_qprof--1.0.sql

PG_CONFIG  ?= pg_config
PG_CPPFLAGS = -Iextension
PG_CXXFLAGS = -std=c++17 -Wno-register -Wall -Wextra -Wno-unused-parameter \
              -Wno-missing-field-initializers -fno-omit-frame-pointer
SHLIB_LINK  = -lstdc++

# No JIT bitcode for a C++ extension.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

.DELETE_ON_ERROR:

# One install script, made from the pieces in extension/sql (in name order).
pg_qprof--1.0.sql: $(sort $(wildcard extension/sql/*.sql))
	cat $^ > $@

$(OBJS): $(wildcard extension/*.h)

.PHONY: deps collector bpf install-collector clean-parts test bench demo format

# Installs the Debian packages the build and the tests need (only missing ones).
deps:
	bash tests/install_deps.sh

collector:
	$(MAKE) -C collector

bpf:
	$(MAKE) -C bpf

install-collector: collector
	$(MAKE) -C collector install

# `make` and `make install` cover the collector too (qprof on PATH).
all: collector
install: install-collector
clean: clean-parts
clean-parts:
	$(MAKE) -C collector clean
	-$(MAKE) -C bpf clean

test:
	bash tests/run_tests.sh

# Instruction counts (valgrind): the extension's hot path, then the
# collector's cost per sample. Installs what it measures first.
bench:
	bash tests/install_deps.sh
	$(MAKE) install
	bash tests/bench/run_bench.sh
	bash tests/bench/collector_instructions.sh

demo:
	bash tests/lava/demo.sh

format:
	clang-format -i extension/*.cpp extension/*.h collector/*.cpp collector/*.h
