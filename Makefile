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

# Omitted trailing members are zero by the C standard: flag-table rows
# (libstream/cli.h) name only what they use, so that warning is off.
WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wno-missing-field-initializers
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
# Order-only on deps: every object waits for records.h, so with any -j nothing
# compiles (nor runs fbsgen's python3) before the Debian packages are in place;
# order-only, so a run of deps does not by itself regenerate anything.
$(GEN)/records.h $(GEN)/records.c &: $(wildcard schemas/*.fbs) libstream/fbsgen/fbsgen.py | deps
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

# ---- install ----------------------------------------------------------------
# Every stage is installed as streamrec-STAGE (fbcat too): names that will not
# collide with other software in $(BINDIR), matching the units
# (streamrec-STAGE@.service) and the man pages (streamrec-STAGE(1)), and each
# binary stays the main process of its unit (Type=notify, the watchdog) with
# no front command in between. tests/tools (kafka-mock, …) are test tools
# and are not installed. Units are generated for BINDIR and DOCDIR; man pages
# come from --help (help2man); bash completion from the flags in --help.
#   make install DESTDIR=/tmp/pkg PREFIX=/usr
BINDIR     ?= $(PREFIX)/bin
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
DOCDIR     ?= $(DATADIR)/doc/streamrec
UNITDIR    ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
INST_BINS  := $(STAGES:%=$(BUILD)/bin/%)
UNITS      := $(wildcard systemd/*.service systemd/*.timer systemd/*.target)
MANPAGES   := $(STAGES:%=$(BUILD)/man/streamrec-%.1)

# help2man runs the binary: --help gives the text, --version the version
$(BUILD)/man/streamrec-%.1: $(BUILD)/bin/%
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  MAN   $@")
	$(Q)printf '%s\n' '[SEE ALSO]' 'Installed as \fBstreamrec-$*\fR (the help text above calls it $*).' \
	  'The other stages:' $(foreach t,$(filter-out $*,$(STAGES)),'.BR streamrec-$(t) (1)') \
	  '.PP' 'Documentation: $(DOCDIR)/$*/README.md; units: $(DOCDIR)/systemd/README.md.' >$@.inc
	$(Q)help2man --no-info --no-discard-stderr --section=1 --source=streamrec \
	  --include=$@.inc --version-string="$(shell $< --version 2>/dev/null | awk '{print $$NF; exit}')" \
	  --name="$$($< --help | head -n1 | sed 's/^[^—]*— *//')" $< \
	  | sed -e 's/^\.TH [^ ]*/.TH "STREAMREC-$(shell echo $* | tr a-z A-Z)"/' \
	        -e '/^\.SH NAME/{n;s/^[^ ]* /streamrec-$* /;}' \
	        -e '/^\.SH DESCRIPTION/{n;/???\|—/{N;d;};}' >$@.tmp && mv $@.tmp $@ && rm -f $@.inc

# One completion file per command (bash-completion loads them by name):
# flags from --help, file names after flags whose value is a path.
$(BUILD)/completion/streamrec-%: $(BUILD)/bin/%
	@mkdir -p $(dir $@)
	$(Q)fn=_streamrec_$$(echo $* | tr - _); \
	flags=$$($< --help | sed -n 's/^ *\(-., \)\{0,1\}\(--[a-z0-9-]*\).*/\2/p' | sort -u | tr '\n' ' '); \
	pathflags=$$($< --help | sed -n 's/^ *\(-., \)\{0,1\}\(--[a-z0-9-]*\) \([A-Z.|-]*\(PATH\|FILE\|URI\|CSV\|YAML\|DB\|db\)[A-Za-z.|-]*\).*/\2/p' | sort -u | tr '\n' '|'); \
	subs=$$($< --help | sed -n 's/^ *\(usage:\)\{0,1\} *$* \([a-z]\{1,\}\) .*/\2/p' | sort -u | tr '\n' ' '); \
	{ echo "# bash completion for streamrec-$* (generated from its --help by make install)"; \
	  echo "$$fn() {"; \
	  echo '    local cur=$${COMP_WORDS[COMP_CWORD]} prev=$${COMP_WORDS[COMP_CWORD-1]}'; \
	  echo "    case \$$prev in $${pathflags%|}) COMPREPLY=(\$$(compgen -f -- \"\$$cur\")); compopt -o filenames 2>/dev/null; return;; esac"; \
	  echo "    if [ \$$COMP_CWORD = 1 ] && [[ \$$cur != -* ]]; then COMPREPLY=(\$$(compgen -W '$$subs' -- \"\$$cur\")); return; fi"; \
	  echo "    case \$${COMP_WORDS[1]} in"; \
	  for sub in $$subs; do \
	    echo "    $$sub) COMPREPLY=(\$$(compgen -W '$$($< $$sub --help | sed -n 's/^ *\(-., \)\{0,1\}\(--[a-z0-9-]*\).*/\2/p' | sort -u | tr '\n' ' ')' -- \"\$$cur\")); return;;"; \
	  done; \
	  echo "    esac"; \
	  echo "    COMPREPLY=(\$$(compgen -W '$$flags' -- \"\$$cur\"))"; \
	  echo "}"; \
	  echo "complete -F $$fn streamrec-$*"; } >$@

install: deps $(INST_BINS) $(MANPAGES) $(STAGES:%=$(BUILD)/completion/streamrec-%)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(DATADIR)/streamrec/schemas $(DESTDIR)$(DATADIR)/streamrec/alerter \
	  $(DESTDIR)$(DATADIR)/streamrec/monitoring $(DESTDIR)$(DOCDIR)/systemd $(DESTDIR)$(BASHCOMPDIR)
	for s in $(STAGES); do install -m 755 $(BUILD)/bin/$$s $(DESTDIR)$(BINDIR)/streamrec-$$s || exit 1; done
	install -m 644 $(MANPAGES) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(STAGES:%=$(BUILD)/completion/streamrec-%) $(DESTDIR)$(BASHCOMPDIR)/
	for u in $(UNITS); do \
	  sed -e 's|/usr/local/bin/|$(BINDIR)/|g' -e 's|/usr/local/share/doc/streamrec|$(DOCDIR)|g' $$u \
	    >$(DESTDIR)$(UNITDIR)/$$(basename $$u) && chmod 644 $(DESTDIR)$(UNITDIR)/$$(basename $$u) || exit 1; done
	install -m 644 schemas/*.fbs $(DESTDIR)$(DATADIR)/streamrec/schemas/
	install -m 644 stages/alerter/rules.default.yaml stages/alerter/rules.default.alerter.yaml \
	  $(DESTDIR)$(DATADIR)/streamrec/alerter/
	install -m 644 systemd/example.env $(DESTDIR)$(DATADIR)/streamrec/example.env
	install -m 644 systemd/grafana-streamrec-dashboard.json systemd/grafana-streamrec-provider.yml \
	  systemd/prometheus-streamrec-rules.yml $(DESTDIR)$(DATADIR)/streamrec/monitoring/
	install -m 644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -m 644 systemd/README.md $(DESTDIR)$(DOCDIR)/systemd/README.md
	for s in $(STAGES); do [ ! -f stages/$$s/README.md ] || \
	  install -m 644 -D stages/$$s/README.md $(DESTDIR)$(DOCDIR)/$$s/README.md || exit 1; done

# ---- Debian packages --------------------------------------------------------
DEB_BUILD := build-essential clang libclang-rt-14-dev llvm python3 help2man \
             librdkafka-dev libzstd-dev libsqlite3-dev libhiredis-dev libyaml-dev
DEB_TEST  := zstd jq sqlite3 flatbuffers-compiler python3-flatbuffers redis-server \
             redis-tools kcat miller python3-numpy python3-scipy python3-statsmodels python3-yaml \
             python3-pandas valgrind hyperfine procps time systemd man-db prometheus
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
