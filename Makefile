# streamrec — build everything into build/bin/.
#
#   make            libstream and every binary (stages/*, tests/tools/*)
#   make test       + the sanitizer build (ASan+UBSan+LSan), then tests/run
#   make bench      benchmarks (tests/bench/*.sh), ratios against jq, mlr, cat...
#   make fuzz       each libFuzzer target for FUZZ_SECONDS (default 60)
#   make demo       the whole pipeline on bundled sample data
#   make install    PREFIX=/usr/local
#   make deps       Debian packages the build and tests need (root: installs missing)
#
# Conventions, so nothing needs editing here when code is added:
#   libstream/*.c                  -> libstream.a
#   stages/NAME/*.c                -> bin/NAME   (main.c holds main())
#   tests/tools/NAME.c             -> bin/NAME
#   tests/unit/test_X.c            -> test/test_X          (+ libstream)
#   tests/unit/STAGE/test_X.c      -> test/STAGE_test_X    (+ stages/STAGE/*.c but main.c)
#   tests/fuzz/fuzz_X.c, tests/fuzz/STAGE/fuzz_X.c -> fuzz/... (clang, libFuzzer)
#   stages/NAME/libs.mk (optional) -> NAME_LIBS := -lfoo (extra link flags for
#                                     that stage, its unit tests and fuzzers) and
#                                     DEB_BUILD += its -dev package
# Variables: CC=clang, SAN=1 (sanitizers), BUILD=dir, V=1 (verbose).

# Parallel by default: a plain `make` (and `make test` in CI) uses every core.
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)

CC      ?= cc
SAN     ?= 0
ifeq ($(SAN),1)
BUILD   ?= build/asan
else
BUILD   ?= build
endif
# generated record code, per build directory: builds with different BUILD=
# run side by side without racing on it
GEN     := $(BUILD)/gen
PYTHON  ?= python3
PREFIX  ?= /usr/local

WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CFLAGS  ?= -O2 -g
override CFLAGS += -std=gnu11 $(WARN) -MMD -MP -Ilibstream -I$(GEN) -pthread
LDLIBS  := -lrdkafka -lzstd -lsqlite3 -lhiredis -lyaml -lm -pthread
ifeq ($(SAN),1)
override CFLAGS += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
override LDFLAGS += -fsanitize=address,undefined
endif

ifneq ($(V),1)
Q := @
endif

LIB_SRC    := $(wildcard libstream/*.c)
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/records.o
LIB        := $(BUILD)/lib/libstream.a
STAGES     := $(notdir $(patsubst %/,%,$(wildcard stages/*/)))
TOOLS      := $(notdir $(basename $(wildcard tests/tools/*.c)))
BINS       := $(STAGES:%=$(BUILD)/bin/%) $(TOOLS:%=$(BUILD)/bin/%)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_STAGE := $(wildcard tests/unit/*/test_*.c)
TESTS      := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/test/%) \
              $(foreach t,$(UNIT_STAGE),$(BUILD)/test/$(subst /,_,$(t:tests/unit/%.c=%)))

.PHONY: all test bench fuzz demo install deps clean check-clang unit
# keep every object (no "rm …" after a build: make test must end with the test summary)
.SECONDARY:
all: deps $(BINS) $(TESTS)

# ---- generated record code ------------------------------------------------
$(GEN)/records.h $(GEN)/records.c &: $(wildcard schemas/*.fbs) libstream/fbsgen/fbsgen.py
	@mkdir -p $(GEN)
	$(Q)$(PYTHON) libstream/fbsgen/fbsgen.py -o $(GEN) $(wildcard schemas/*.fbs)

$(BUILD)/obj/gen/records.o: $(GEN)/records.c $(GEN)/records.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC    $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# every object depends on the generated header (order-only is not enough:
# a schema change must rebuild what includes records.h; -MMD handles that)
$(BUILD)/obj/%.o: %.c | $(GEN)/records.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC    $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

# ---- stage binaries -------------------------------------------------------
define STAGE_RULES
$(1)_OBJ := $$(patsubst %.c,$(BUILD)/obj/%.o,$$(wildcard stages/$(1)/*.c))
$(BUILD)/bin/$(1): $$($(1)_OBJ) $(LIB)
	@mkdir -p $$(dir $$@)
	@$$(if $(Q),echo "  LD    $$@")
	$(Q)$(CC) $(LDFLAGS) -o $$@ $$^ $$($(1)_LIBS) $(LDLIBS)
endef
$(foreach s,$(STAGES),$(eval $(call STAGE_RULES,$(s))))

$(BUILD)/bin/%: $(BUILD)/obj/tests/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# ---- unit tests -----------------------------------------------------------
$(BUILD)/test/test_%: $(BUILD)/obj/tests/unit/test_%.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

define STAGE_TEST_RULES
$(BUILD)/test/$(1)_test_%: $(BUILD)/obj/tests/unit/$(1)/test_%.o $$(filter-out %/main.o,$$($(1)_OBJ)) $(LIB)
	@mkdir -p $$(dir $$@)
	@$$(if $(Q),echo "  LD    $$@")
	$(Q)$(CC) $(LDFLAGS) -o $$@ $$^ $$($(1)_LIBS) $(LDLIBS)
endef
$(foreach s,$(STAGES),$(eval $(call STAGE_TEST_RULES,$(s))))

unit: $(TESTS)

# ---- test, bench, fuzz, demo ----------------------------------------------
# The tests run the sanitizer build: ASan+UBSan, and LeakSanitizer at exit.
test: deps all
	$(Q)$(MAKE) --no-print-directory SAN=1 CC=clang all
	$(Q)STREAMREC_BIN=build/asan/bin STREAMREC_TESTBIN=build/asan/test tests/run $(TESTS_ARGS)

bench: deps all
	$(Q)tests/bench/run $(BENCH_ARGS)

FUZZ_SECONDS ?= 60
FUZZ_BUILD   ?= build/fuzz
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c tests/fuzz/*/fuzz_*.c)
FUZZ_BINS    := $(foreach f,$(FUZZ_SRC),$(FUZZ_BUILD)/$(subst /,_,$(f:tests/fuzz/%.c=%)))
fuzz-build: deps
	$(Q)$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang \
	  CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
	  LDFLAGS="-fsanitize=address,undefined" $(FUZZ_BINS)
fuzz: fuzz-build
	$(Q)FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run $(FUZZ_BINS)

define FUZZ_RULES
$(FUZZ_BUILD)/$(subst /,_,$(1:tests/fuzz/%.c=%)): $(1:%.c=$(FUZZ_BUILD)/obj/%.o) \
    $$(if $$(findstring /,$(1:tests/fuzz/%=%)),$$(filter-out %/main.o,$$(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$$(wildcard stages/$$(firstword $$(subst /, ,$(1:tests/fuzz/%=%)))/*.c)))) \
    $(FUZZ_BUILD)/lib/libstream.a
	@mkdir -p $$(dir $$@)
	@$$(if $(Q),echo "  FUZZ  $$@")
	$(Q)$$(CC) -fsanitize=fuzzer,address,undefined -o $$@ $$^ \
	  $$($$(firstword $$(subst /, ,$(1:tests/fuzz/%=%)))_LIBS) $(LDLIBS)
endef
$(foreach f,$(FUZZ_SRC),$(eval $(call FUZZ_RULES,$(f))))

demo: deps all
	$(Q)pipelines/demo.sh

# gcc and clang must both build cleanly with -Werror.
check-clang:
	$(Q)$(MAKE) --no-print-directory BUILD=build/clang CC=clang all

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/streamrec/schemas \
	  $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 schemas/*.fbs $(DESTDIR)$(PREFIX)/share/streamrec/schemas/
	install -m 644 $(wildcard systemd/*.service systemd/*.timer systemd/*.target) $(DESTDIR)$(PREFIX)/lib/systemd/system/ 2>/dev/null || true
	install -m 644 -D stages/alerter/rules.default.yaml $(DESTDIR)$(PREFIX)/share/streamrec/alerter/rules.default.yaml

# ---- Debian packages --------------------------------------------------------
DEB_BUILD := build-essential clang libclang-rt-14-dev llvm python3 \
             librdkafka-dev libzstd-dev libsqlite3-dev libhiredis-dev libyaml-dev
DEB_TEST  := zstd jq sqlite3 flatbuffers-compiler python3-flatbuffers redis-server \
             redis-tools kcat miller python3-numpy python3-scipy python3-statsmodels \
             python3-pandas valgrind hyperfine procps time systemd
-include $(wildcard stages/*/libs.mk)
DEB_ALL   := $(DEB_BUILD) $(DEB_TEST)
deps:
	@missing=$$(for p in $(DEB_ALL); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: installing $$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing) >&2 || { echo "deps: apt-get failed" >&2; exit 1; }; \
	  else echo "deps: missing Debian packages (run 'sudo make deps'): $$missing" >&2; exit 1; fi; \
	fi

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
