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

# make installcheck: the pg_regress suite (sql/, expected/), in the order of
# tests/regress_schedule, against the installed extension on a running
# server (PGHOST, PGPORT, PGUSER: a superuser). That server needs the
# settings of tests/regress.conf (pg_qprof in shared_preload_libraries) and
# no other activity: the tests read the shared ring. sql/06_sampling.sql
# reconnects to the database by its name, regression.
REGRESS = $(shell sed -n 's/^test://p' tests/regress_schedule)
ENCODING = UTF8
NO_LOCALE = 1
override CONTRIB_TESTDB = regression

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

.DELETE_ON_ERROR:

# The error contract (docs/error-contract.md): the code PostgreSQL calls, and
# that calls PostgreSQL, is built without exceptions and RTTI, so no exception
# can be thrown or caught there. Only the files of EXCEPTIONS_OBJS use the
# standard library's allocating types: they catch every exception themselves
# and are compiled without PostgreSQL's include paths (and refused if they
# include a PostgreSQL header anyway), so no PostgreSQL error is raised or
# caught in them. tests/contract/check_error_contract.sh checks the objects.
EXCEPTIONS_OBJS = extension/sqlcommenter.o
NO_EXCEPTIONS_OBJS = $(filter-out $(EXCEPTIONS_OBJS),$(OBJS))

$(NO_EXCEPTIONS_OBJS): override CXXFLAGS += -fno-exceptions -fno-rtti

# Whatever they include, directly or not, must lie outside PostgreSQL's
# headers: listed with PostgreSQL's include paths (so that such a header is
# found and named), compiled without them.
EXCEPTIONS_CPPFLAGS = -Iextension $(filter-out -I%,$(CPPFLAGS))

$(EXCEPTIONS_OBJS): %.o: %.cpp
	@$(CXX) $(CXXFLAGS) $(CPPFLAGS) -M $< | tr ' \\' '\n\n' | \
	    grep -F -e '$(includedir)/' -e '$(includedir_server)/' | \
	    sed 's|^|$<: includes a PostgreSQL header (docs/error-contract.md): |' | \
	    { ! grep . >&2; }
	$(CXX) $(CXXFLAGS) $(EXCEPTIONS_CPPFLAGS) -c -o $@ $<

# A change of flags rebuilds every object.
$(OBJS): Makefile

# One install script, made from the pieces in extension/sql (in name order).
pg_qprof--1.0.sql: $(sort $(wildcard extension/sql/*.sql))
	cat $^ > $@

$(OBJS): $(wildcard extension/*.h)

.PHONY: deps collector bpf install-collector clean-parts test bench demo demo-diff format \
        soak check-memory deb

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
# collector's cost per sample; qprof report at scale and against pgBadger
# (docs/report-scale.md). Installs what it measures first.
bench:
	bash tests/install_deps.sh
	$(MAKE) install
	bash tests/bench/run_bench.sh
	bash tests/bench/collector_instructions.sh
	bash tests/bench/report_scale.sh
	bash tests/bench/pgbadger_compare.sh
	$(SOAK)

# The soak, about 4 minutes (tests/soak/010_soak.pl): 3 minutes of pgbench
# with 16 clients and extended-protocol clients that abort transactions with
# portals open, the collector killed every 20 s, one immediate restart; then
# every sequence number is captured once or counted lost, no backend crashed,
# no execution leaked. Also the last part of `make bench`; `make test` runs
# it with 2 minutes of load.
SOAK = QPROF_SKIP_BUILD=1 QPROF_TESTS=soak/010_soak.pl bash tests/run_tests.sh
soak:
	bash tests/install_deps.sh
	$(MAKE) install
	$(SOAK)

# The pg_regress suite once against a server under valgrind memcheck
# (tests/memory/check_memory.sh, 13 minutes): fails on an error in pg_qprof code.
check-memory:
	bash tests/install_deps.sh
	$(MAKE) install
	bash tests/memory/check_memory.sh

demo:
	bash tests/lava/demo.sh

# make demo, then the same traffic recorded before and after a planted
# regression and compared with qprof diff --fail-on (a few minutes more)
demo-diff:
	LAVA_DEMO_DIFF=1 bash tests/lava/demo.sh

# make deb: the Debian package postgresql-15-qprof (debian/), built by
# dpkg-buildpackage in a copy of the tree (the files git tracks or would add,
# as they are in the working tree) under $(DEB_DIR), which it writes nothing
# outside of; the .deb is copied to $(DEB_OUT), and lintian checks it (fails
# on an error or a warning not overridden in debian/*.lintian-overrides).
DEB_DIR ?= build-deb
DEB_OUT ?= .
LINTIAN ?= lintian --fail-on error,warning
DEB_JOBS ?= 2
deb:
	rm -rf $(DEB_DIR)/src $(DEB_DIR)/*.deb $(DEB_DIR)/*.ddeb $(DEB_DIR)/*.changes \
	    $(DEB_DIR)/*.buildinfo
	mkdir -p $(DEB_DIR)/src
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	    git ls-files -z --cached --others --exclude-standard | \
	        tar --null -T - --ignore-failed-read -cf - ; \
	else \
	    tar --exclude=./$(DEB_DIR) --exclude-vcs -cf - . ; \
	fi | tar -xf - -C $(DEB_DIR)/src
	cd $(DEB_DIR)/src && dpkg-buildpackage -b -us -uc -j$(DEB_JOBS)
	cp $(DEB_DIR)/postgresql-15-qprof_*.deb $(DEB_OUT)/
	$(LINTIAN) $(DEB_DIR)/pg-qprof_*.changes

format:
	clang-format -i extension/*.cpp extension/*.h collector/*/*.cpp collector/*/*.h
