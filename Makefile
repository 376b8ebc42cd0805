# lode — build, test, demo and benchmark entry points.
#   make                 build build/lode
#   make test            install what is missing, build, start services, run every test (TAP via prove)
#   make test-only TESTS="tests/lua/pg/tx_test.lua …"   only those tests (services still started), no dependency check
#   make demo            run the example pipeline end to end on a throwaway local stack
#   make bench           benchmarks, each a ratio against a peer tool
#   make fuzz            libFuzzer targets (FUZZ_SECONDS=60 each by default)
#   make install PREFIX=/usr/local
#   SANITIZE=1           ASan + UBSan build (in build-sanitize/)

PREFIX   ?= /usr/local
CC       ?= cc
PKGS     := lua5.4 libuv libcurl openssl libpq libcjson zlib libzstd snappy liblz4 libbrotlidec libbrotlienc
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lbz2 -lm

ifeq ($(SANITIZE),1)
BUILD    ?= build-sanitize
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT      := -O1 -g
else
BUILD    ?= build
SANFLAGS :=
OPT      := -O2 -g
endif

CFLAGS_ALL := -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE $(OPT) $(SANFLAGS) \
              -Iinclude $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL := $(SANFLAGS) $(LDFLAGS)

RUNTIME_SRC := $(filter-out runtime/core/main.c,$(wildcard runtime/*.c runtime/*/*.c))
BINDING_SRC := $(wildcard bindings/*.c)
LIB_OBJ     := $(patsubst %.c,$(BUILD)/obj/%.o,$(RUNTIME_SRC) $(BINDING_SRC)) $(BUILD)/obj/modules.o
UNIT_SRC    := $(wildcard tests/unit/*.c)
UNIT_BIN    := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRC))
FUZZ_SRC    := $(wildcard tests/fuzz/*.c)

.PHONY: all deps test test-only demo bench fuzz install clean unit
all: $(BUILD)/lode

$(BUILD)/obj/%.o: %.c $(wildcard include/*.h include/lode/*.h include/lode/*/*.h runtime/*.h runtime/*/*.h bindings/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

# package.preload entries for every luaopen_lode_* in bindings/
$(BUILD)/gen/modules.c: $(BINDING_SRC) scripts/gen-modules.sh
	@mkdir -p $(dir $@)
	sh scripts/gen-modules.sh $(BINDING_SRC) > $@

$(BUILD)/obj/modules.o: $(BUILD)/gen/modules.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/liblode.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/lode: $(BUILD)/obj/runtime/core/main.o $(BUILD)/liblode.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c tests/unit/tap.h $(BUILD)/liblode.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/unit -Iruntime $< -o $@ $(BUILD)/liblode.a $(LDFLAGS_ALL) $(PKG_LIBS)

unit: $(UNIT_BIN)

deps:
	@sh scripts/deps.sh

test: deps
	@$(MAKE) --no-print-directory all unit
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) bash tests/run.sh $(TESTS)

# Run the tests without the dependency check (services are still started).
test-only: all unit
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) bash tests/run.sh $(TESTS)

demo: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) bash scripts/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) bash tests/bench/run.sh

FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Iinclude -Iruntime $(PKG_CFLAGS)
fuzz:
	@mkdir -p $(BUILD)/fuzz
	@for f in $(FUZZ_SRC); do \
	  n=$$(basename $$f .c); \
	  echo "== fuzz $$n ($(FUZZ_SECONDS)s)"; \
	  clang $(FUZZ_CFLAGS) $$f $(RUNTIME_SRC) -o $(BUILD)/fuzz/$$n $(PKG_LIBS) || exit 1; \
	  mkdir -p $(BUILD)/fuzz/$$n.corpus; \
	  $(BUILD)/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(BUILD)/fuzz/$$n.corpus tests/fuzz/seeds/$$n || exit 1; \
	done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/lode/lua
	install -m 755 $(BUILD)/lode $(DESTDIR)$(PREFIX)/bin/lode
	cp -R stdlib/. $(DESTDIR)$(PREFIX)/share/lode/lua/
	@# the dev stack's local S3 (`lode dev up --s3 s3rver`): its wrapper, and
	@# s3rver's node packages when `make deps` installed them (else lode dev
	@# installs them with npm on first use)
	install -d $(DESTDIR)$(PREFIX)/share/lode/dev
	install -m 644 tests/tools/s3rver.js $(DESTDIR)$(PREFIX)/share/lode/dev/s3rver.js
	if [ -d tests/node_modules/s3rver ]; then \
	  mkdir -p $(DESTDIR)$(PREFIX)/share/lode/dev/node_modules && \
	  for m in tests/node_modules/* tests/node_modules/.bin; do \
	    case "$$m" in */@duckdb) ;; *) cp -R "$$m" $(DESTDIR)$(PREFIX)/share/lode/dev/node_modules/ ;; esac; \
	  done; \
	fi

clean:
	rm -rf build build-sanitize
