# rbm -- Restricted Boltzmann Machines inside SQLite.
#
#   make            build dist/: rbm.so (the extension), librbm.a and
#                   librbm.so.0.* (the engine alone), librbm_sqlite.a (engine
#                   and glue for linking into an application)
#   make install    install them, include/rbm.h, include/rbm_sqlite.h and
#                   the pkg-config files rbm.pc, rbm_sqlite.pc under
#                   $(DESTDIR)$(PREFIX) (PREFIX=/usr/local); builds nothing
#                   that `make` has built
#   make uninstall  remove what make install put there
#   make demo       build, make a synthetic ratings database, train, recommend
#   make test       build and run every test; ends with "N passed, N failed"
#   make bench      speed and quality figures, and charts of them (needs
#                   ../shared/data/ml-100k)
#   make fuzz       every libFuzzer target in fuzz/, FUZZ_SECONDS (60) each
#   make tsan       the engine's tests under ThreadSanitizer
#   make oom        every operation with its Nth allocation failing, N = 1, 2, ...
#   make clean      remove dist/
#   make sqlite-new a newer SQLite (library and shell) and rbm built
#                   against it, for tests/sqlite_new.sh (fetched with npm)
#
# On a fresh Debian machine, as root, the targets apt-get what is missing.
# (BLAS_* use "=", not ":=", so pkg-config runs after that install.)
# -fopenmp-simd honours "#pragma omp simd" without OpenMP; -fno-trapping-math
# lets loops with selects (exp's clamp) vectorise: nothing here traps on
# floating-point exceptions, and results are the same.  -ffp-contract=fast
# (GCC's default outside strict ISO mode) fuses a * b + c into one FMA where
# the CPU has it: the AVX2 and AVX-512 clones of the hot loops.

CC ?= cc
BLAS_CFLAGS = $(shell pkg-config --cflags openblas 2>/dev/null)
BLAS_LIBS = $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
WARN = -Wall -Wextra
CFLAGS ?= -O2 -g
BASE_CFLAGS = $(WARN) -std=c11 -D_DEFAULT_SOURCE -fPIC -fopenmp-simd \
              -fno-trapping-math -ffp-contract=fast \
              -Iinclude $(BLAS_CFLAGS)
LDLIBS = $(BLAS_LIBS) -lpthread -lm
BUILD_FLAGS = $(CC) $(CFLAGS) $(WARN) -fopenmp-simd -fno-trapping-math -ffp-contract=fast

ENGINE = ext/rbm_config.c ext/rbm_keys.c ext/rbm_ratings.c ext/rbm_model.c \
         ext/rbm_units.c ext/rbm_metrics.c ext/rbm_pool.c \
         ext/rbm_train.c ext/rbm_trainer.c ext/rbm_train_fit.c \
         ext/rbm_cd_sparse.c ext/rbm_cd_dense.c ext/rbm_weights.c ext/rbm_topk.c \
         ext/rbm_predict.c ext/rbm_embed.c ext/rbm_dense.c ext/rbm_dense_train.c \
         ext/rbm_head.c
GLUE = ext/sql_extension.c ext/sql_functions.c ext/sql_options.c \
       ext/sql_source.c ext/sql_train.c ext/sql_serve.c ext/sql_track.c \
       ext/sql_reader.c ext/sql_item_states.c ext/sql_store.c \
       ext/sql_recommend.c ext/sql_vtab.c ext/sql_evaluate.c \
       ext/sql_vectors.c ext/sql_fit.c ext/sql_features.c ext/sql_sample.c \
       ext/sql_plot.c ext/svg_chart.c ext/sql_embed.c ext/sql_similar.c \
       ext/sql_tvf.c
HEADERS = include/rbm.h include/rbm_sqlite.h ext/rbm_internal.h ext/rbm_math.h \
          ext/rbm_units.h ext/rbm_blob.h ext/rbm_trainer.h ext/sql_glue.h ext/sql_serve.h \
          ext/svg_chart.h

# What make builds and make install installs.  The engine's objects serve
# rbm.so, librbm.a and librbm.so; the glue is compiled twice: for the
# loadable extension (calls go through sqlite3_api, which SQLite fills in
# at load time) and with -DSQLITE_CORE for librbm_sqlite.a, where
# sqlite3ext.h maps every call to the SQLite the application links.
VERSION := $(shell sed -n 's/^\#define RBM_VERSION "\(.*\)"/\1/p' include/rbm.h)
SOVERSION = 0
ENGINE_OBJS = $(patsubst ext/%.c,dist/obj/%.o,$(ENGINE))
GLUE_OBJS = $(patsubst ext/%.c,dist/obj/%.o,$(GLUE))
CORE_OBJS = $(patsubst ext/%.c,dist/obj/core/%.o,$(GLUE))
LIBS = dist/rbm.so dist/librbm.a dist/librbm.so.$(VERSION) dist/librbm_sqlite.a

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
INSTALL ?= install
OBJCOPY ?= objcopy

DEB_PACKAGES = gcc make pkg-config libsqlite3-dev sqlite3 libopenblas-dev

.PHONY: all deps test-deps demo test bench clean asan tsan oom fuzz fuzz-build \
        fuzz-deps install uninstall sqlite-new

all: $(LIBS)

# Installs what is missing when root; otherwise names the one command to run.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "missing packages; run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

dist/obj/rbm_%.o: ext/rbm_%.c $(HEADERS) Makefile | deps
	@mkdir -p dist/obj
	$(CC) $(CFLAGS) $(BASE_CFLAGS) -c -o $@ $<

# The glue: sql_*.c, and svg_*.c (drawing, shared with bench/chart.c).
dist/obj/%.o: ext/%.c $(HEADERS) Makefile | deps
	@mkdir -p dist/obj
	$(CC) $(CFLAGS) $(BASE_CFLAGS) -DRBM_BUILD_FLAGS='"$(BUILD_FLAGS)"' -c -o $@ $<

dist/obj/core/%.o: ext/%.c $(HEADERS) Makefile | deps
	@mkdir -p dist/obj/core
	$(CC) $(CFLAGS) $(BASE_CFLAGS) -DRBM_BUILD_FLAGS='"$(BUILD_FLAGS)"' -DSQLITE_CORE \
	  -c -o $@ $<

# The loadable extension: sqlite3 finds sqlite3_rbm_init by the file's name.
dist/rbm.so: $(ENGINE_OBJS) $(GLUE_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -o $@ $^ $(LDLIBS)

# The engine alone, which knows nothing of SQLite.
dist/librbm.a: $(ENGINE_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

dist/librbm.so.$(VERSION): $(ENGINE_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,-soname,librbm.so.$(SOVERSION) -o $@ $^ $(LDLIBS)

# Engine and glue for linking into an application, as one object whose
# only global symbol is sqlite3_rbm_init (include/rbm_sqlite.h): the glue's
# sql_* and the engine's rbm_* names cannot clash with the application's,
# nor with a librbm.a linked beside it.
dist/librbm_sqlite.a: $(ENGINE_OBJS) $(CORE_OBJS)
	$(LD) -r -o dist/obj/librbm_sqlite.o $^
	$(OBJCOPY) --keep-global-symbol=sqlite3_rbm_init dist/obj/librbm_sqlite.o
	rm -f $@
	$(AR) rcs $@ dist/obj/librbm_sqlite.o

# The examples: c_example loads the extension (dist/rbm from here, or an
# installed rbm); static_example has it linked in.
dist/c_example: examples/c_example.c | deps
	@mkdir -p dist
	$(CC) $(CFLAGS) $(WARN) -o $@ $< -lsqlite3

dist/static_example: examples/static_example.c include/rbm_sqlite.h dist/librbm_sqlite.a
	$(CC) $(CFLAGS) $(WARN) -Iinclude -o $@ $< dist/librbm_sqlite.a -lsqlite3 $(LDLIBS)

dist/synth_ratings: examples/synth_ratings.c | deps
	@mkdir -p dist
	$(CC) $(CFLAGS) $(WARN) -o $@ $< -lsqlite3 -lm

dist/test_engine: tests/test_engine.c $(ENGINE) $(HEADERS) Makefile | deps
	@mkdir -p dist
	$(CC) $(CFLAGS) $(BASE_CFLAGS) -o $@ tests/test_engine.c $(ENGINE) $(LDLIBS)

dist/test_kernels: tests/test_kernels.c $(ENGINE) $(HEADERS) Makefile | deps
	@mkdir -p dist
	$(CC) $(CFLAGS) $(BASE_CFLAGS) -o $@ tests/test_kernels.c $(ENGINE) $(LDLIBS)

dist/score: tests/score.c | deps
	@mkdir -p dist
	$(CC) $(CFLAGS) $(WARN) -o $@ $< -lm

dist/serve: bench/serve.c | deps
	@mkdir -p dist
	$(CC) $(CFLAGS) $(WARN) -o $@ $< -lsqlite3

dist/sgemm: bench/sgemm.c | deps
	@mkdir -p dist
	$(CC) $(CFLAGS) $(WARN) $(BLAS_CFLAGS) -o $@ $< $(BLAS_LIBS) -lpthread

dist/core_latency: bench/core_latency.c | deps
	@mkdir -p dist
	$(CC) $(CFLAGS) $(WARN) -std=c11 -D_DEFAULT_SOURCE -pthread -o $@ $<

# SVG charts from "label value" lines (bench/run.sh), drawn by rbm_plot's code.
dist/chart: bench/chart.c ext/svg_chart.c ext/svg_chart.h | deps
	@mkdir -p dist
	$(CC) $(CFLAGS) $(WARN) -std=c11 -D_DEFAULT_SOURCE -o $@ bench/chart.c ext/svg_chart.c -lm

demo: dist/rbm.so dist/synth_ratings
	@sh examples/demo.sh

# xmllint (libxml2-utils) reads the SVG documents in tests/plot.sh, which
# says SKIPPED without it: installed as root, named otherwise, never needed
# to build.
test-deps:
	@$(MAKE) -s deps DEB_PACKAGES="libxml2-utils" || true

test: test-deps $(LIBS) dist/test_engine dist/test_kernels dist/synth_ratings dist/score \
      dist/c_example dist/static_example dist/chart
	@sh tests/run.sh

bench: dist/rbm.so dist/synth_ratings dist/core_latency dist/serve dist/sgemm dist/chart
	@sh bench/run.sh

# The tests again under AddressSanitizer and UndefinedBehaviorSanitizer.
asan:
	$(MAKE) clean
	RBM_SANITIZE=1 $(MAKE) test CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"

# The engine's tests (threaded training, the pool, serving's parallel
# loops) under ThreadSanitizer, built by clang.
# OpenBLAS keeps one thread there (RBM_TSAN): its own hand-over is invisible
# to the sanitizer.
TSAN_COMPILE = $(FUZZ_CC) -g -O1 -fsanitize=thread -DRBM_TSAN -Wno-pass-failed $(WARN) \
               -std=c11 -D_DEFAULT_SOURCE -Iinclude -Iext $(BLAS_CFLAGS)

dist/tsan/%: tests/%.c $(ENGINE) $(HEADERS) Makefile | fuzz-deps
	@mkdir -p dist/tsan
	$(TSAN_COMPILE) -o $@ $< $(ENGINE) $(LDLIBS)

tsan: dist/tsan/test_engine dist/tsan/test_kernels
	@status=0; for t in test_engine test_kernels; do \
	  OPENBLAS_NUM_THREADS=1 TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	    ./dist/tsan/$$t > dist/tsan/$$t.log 2>&1; \
	  rc=$$?; if [ $$rc = 0 ]; then echo "PASS tsan $$t: $$(grep -c "^ok" dist/tsan/$$t.log) checks ok"; \
	  else echo "FAIL tsan $$t (exit $$rc): see dist/tsan/$$t.log"; status=1; fi; \
	done; exit $$status

# Allocation-failure injection (tests/oom.c): the engine and glue built
# with tests/oom_shim.h forced in, under AddressSanitizer and LeakSanitizer.
OOM_CFLAGS = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
             -fno-omit-frame-pointer -fopenmp-simd $(WARN) -std=c11 -D_DEFAULT_SOURCE -fPIC \
             -Iinclude -Iext $(BLAS_CFLAGS)
OOM_OBJS = $(patsubst ext/%.c,dist/oom/obj/%.o,$(ENGINE) $(GLUE))

dist/oom/obj/%.o: ext/%.c tests/oom_shim.h $(HEADERS) Makefile | deps
	@mkdir -p dist/oom/obj
	$(CC) $(OOM_CFLAGS) -include tests/oom_shim.h -c -o $@ $<

dist/oom/oom: tests/oom.c $(OOM_OBJS)
	$(CC) $(OOM_CFLAGS) -o $@ tests/oom.c $(OOM_OBJS) -lsqlite3 $(LDLIBS)

oom: dist/oom/oom
	@tmp=$$(mktemp -d) && ASAN_OPTIONS=detect_leaks=1 ./dist/oom/oom $$tmp; \
	  rc=$$?; rm -rf $$tmp; exit $$rc

# libFuzzer targets (fuzz/*.c), built by clang with its sanitizers; the
# deps rule installs clang and its runtime as root.
FUZZ_TARGETS = blob options schedule vtab_args vectors
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -Wno-pass-failed \
              -fno-sanitize-recover=undefined -fno-omit-frame-pointer

FUZZ_COMPILE = $(FUZZ_CC) $(FUZZ_CFLAGS) $(WARN) -std=c11 -D_DEFAULT_SOURCE \
               -Iinclude -Iext $(BLAS_CFLAGS)
FUZZ_OBJS = $(patsubst ext/%.c,dist/fuzz/obj/%.o,$(ENGINE) $(GLUE))

fuzz-deps:
	@$(MAKE) -s deps DEB_PACKAGES="clang libclang-rt-dev libsqlite3-dev libopenblas-dev pkg-config"

dist/fuzz/obj/%.o: ext/%.c $(HEADERS) Makefile | fuzz-deps
	@mkdir -p dist/fuzz/obj
	$(FUZZ_COMPILE) -c -o $@ $<

dist/fuzz/%: fuzz/%.c fuzz/fuzz_sql.h $(FUZZ_OBJS)
	$(FUZZ_COMPILE) -o $@ $< $(FUZZ_OBJS) -lsqlite3 $(LDLIBS)

fuzz-build: $(FUZZ_TARGETS:%=dist/fuzz/%)

fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh fuzz/run.sh $(FUZZ_TARGETS)

# The pkg-config files name this PREFIX.  rbm.pc: the engine, librbm (the
# shared library; for the static one, librbm.a's path before
# `pkg-config --static --libs rbm`) and SQLite, whose extension rbm is.
# rbm_sqlite.pc: librbm_sqlite.a, static only, so what it needs is in Libs.
PC_SQLITE = $(shell pkg-config --exists sqlite3 2>/dev/null && echo sqlite3)
PC_BLAS = $(shell pkg-config --exists openblas 2>/dev/null && echo openblas)
PC_SED = sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
  -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
  -e 's|@SQLITE_REQUIRES@|$(PC_SQLITE)|' -e 's|@SQLITE_LIBS@|$(if $(PC_SQLITE),,-lsqlite3)|' \
  -e 's|@BLAS_REQUIRES@|$(PC_BLAS)|' -e 's|@BLAS_LIBS@|$(if $(PC_BLAS),,-lopenblas)|' \
  -e 's|   *| |g' -e 's| *$$||'
INSTALLED = $(LIBDIR)/rbm.so $(LIBDIR)/librbm.so.$(VERSION) $(LIBDIR)/librbm.so.$(SOVERSION) \
            $(LIBDIR)/librbm.so $(LIBDIR)/librbm.a $(LIBDIR)/librbm_sqlite.a \
            $(INCLUDEDIR)/rbm.h $(INCLUDEDIR)/rbm_sqlite.h \
            $(PKGCONFIGDIR)/rbm.pc $(PKGCONFIGDIR)/rbm_sqlite.pc

install: $(LIBS)
	$(INSTALL) -d "$(DESTDIR)$(LIBDIR)" "$(DESTDIR)$(INCLUDEDIR)" "$(DESTDIR)$(PKGCONFIGDIR)"
	$(INSTALL) -m 755 dist/rbm.so dist/librbm.so.$(VERSION) "$(DESTDIR)$(LIBDIR)"
	ln -sf librbm.so.$(VERSION) "$(DESTDIR)$(LIBDIR)/librbm.so.$(SOVERSION)"
	ln -sf librbm.so.$(SOVERSION) "$(DESTDIR)$(LIBDIR)/librbm.so"
	$(INSTALL) -m 644 dist/librbm.a dist/librbm_sqlite.a "$(DESTDIR)$(LIBDIR)"
	$(INSTALL) -m 644 include/rbm.h include/rbm_sqlite.h "$(DESTDIR)$(INCLUDEDIR)"
	$(PC_SED) pkgconfig/rbm.pc.in > "$(DESTDIR)$(PKGCONFIGDIR)/rbm.pc"
	$(PC_SED) pkgconfig/rbm_sqlite.pc.in > "$(DESTDIR)$(PKGCONFIGDIR)/rbm_sqlite.pc"
	chmod 644 "$(DESTDIR)$(PKGCONFIGDIR)/rbm.pc" "$(DESTDIR)$(PKGCONFIGDIR)/rbm_sqlite.pc"

# Removes every file install made, and the pkgconfig folder if that leaves
# it empty; lib and include stay, as every prefix has them.
uninstall:
	rm -f $(foreach f,$(INSTALLED),"$(DESTDIR)$(f)")
	rmdir "$(DESTDIR)$(PKGCONFIGDIR)" 2>/dev/null || true

# A newer SQLite than Debian's 3.40, to run the tests in (tests/sqlite_new.sh):
# the sqlite-autoconf tarball (the amalgamation, its headers and the shell's
# shell.c) that npm's sqlite3 package carries in deps/, fetched once into
# dist/npm.  The library is built with Debian 12's options (PRAGMA
# compile_options) plus SQLITE_STRICT_SUBTYPE=1, under which a function that
# sets a result subtype without declaring SQLITE_RESULT_SUBTYPE fails; the
# shell links it from its own folder.  dist/sqlite-new/rbm.so is the
# extension built against the newer headers (dist/sqlite-new/include), so
# that it calls sqlite3_is_interrupted().
NEW_NPM_VERSION = 6.0.1
NEW_AUTOCONF = sqlite-autoconf-3520000
NEW_NPM_DIR = dist/npm/sqlite3-$(NEW_NPM_VERSION)
NEW_SRC = $(NEW_NPM_DIR)/$(NEW_AUTOCONF)
NEW_DEFS = -DSQLITE_SECURE_DELETE -DSQLITE_ENABLE_COLUMN_METADATA \
           -DSQLITE_ENABLE_FTS3 -DSQLITE_ENABLE_FTS3_PARENTHESIS \
           -DSQLITE_ENABLE_FTS3_TOKENIZER -DSQLITE_ENABLE_FTS4 -DSQLITE_ENABLE_FTS5 \
           -DSQLITE_ENABLE_RTREE -DSQLITE_SOUNDEX -DSQLITE_ENABLE_UNLOCK_NOTIFY \
           -DSQLITE_OMIT_LOOKASIDE -DSQLITE_ENABLE_DBSTAT_VTAB \
           -DSQLITE_ENABLE_UPDATE_DELETE_LIMIT -DSQLITE_ENABLE_LOAD_EXTENSION \
           -DSQLITE_ENABLE_MATH_FUNCTIONS -DSQLITE_LIKE_DOESNT_MATCH_BLOBS \
           -DSQLITE_THREADSAFE=1 -DSQLITE_USE_URI=1 -DSQLITE_MAX_SCHEMA_RETRY=25 \
           -DSQLITE_ENABLE_PREUPDATE_HOOK -DSQLITE_ENABLE_SESSION \
           -DSQLITE_ENABLE_STMTVTAB -DSQLITE_MAX_VARIABLE_NUMBER=250000 \
           -DSQLITE_STRICT_SUBTYPE=1

$(NEW_SRC)/sqlite3.c:
	@if ! command -v npm > /dev/null 2>&1; then \
	  echo "sqlite-new: npm could not fetch sqlite3@$(NEW_NPM_VERSION): npm is not installed"; exit 1; fi
	@mkdir -p $(NEW_NPM_DIR)
	@cd $(NEW_NPM_DIR) && \
	  if ! { timeout 120 npm pack --silent sqlite3@$(NEW_NPM_VERSION) > /dev/null 2>&1 && \
	         tar xzf sqlite3-$(NEW_NPM_VERSION).tgz package/deps/$(NEW_AUTOCONF).tar.gz && \
	         tar xzf package/deps/$(NEW_AUTOCONF).tar.gz; }; then \
	    cd - > /dev/null; rm -rf $(NEW_NPM_DIR); \
	    echo "sqlite-new: npm could not fetch sqlite3@$(NEW_NPM_VERSION)"; exit 1; fi
	@touch $@

dist/sqlite-new/libsqlite3.so.0: $(NEW_SRC)/sqlite3.c Makefile
	@mkdir -p dist/sqlite-new
	$(CC) -O2 -fPIC -shared -Wl,-soname,libsqlite3.so.0 $(NEW_DEFS) -o $@ $< -lm -lpthread

dist/sqlite-new/sqlite3: dist/sqlite-new/libsqlite3.so.0
	$(CC) -O2 $(NEW_DEFS) -I$(NEW_SRC) -o $@ $(NEW_SRC)/shell.c \
	  dist/sqlite-new/libsqlite3.so.0 -Wl,-rpath,'$$ORIGIN' -lm

dist/sqlite-new/include/sqlite3ext.h: $(NEW_SRC)/sqlite3.c
	@mkdir -p dist/sqlite-new/include
	cp $(NEW_SRC)/sqlite3.h $(NEW_SRC)/sqlite3ext.h dist/sqlite-new/include/

dist/sqlite-new/rbm.so: $(ENGINE) $(GLUE) $(HEADERS) Makefile dist/sqlite-new/include/sqlite3ext.h | deps
	$(CC) $(CFLAGS) -Idist/sqlite-new/include $(BASE_CFLAGS) -DRBM_BUILD_FLAGS='"$(BUILD_FLAGS)"' -shared \
	  -o $@ $(ENGINE) $(GLUE) $(LDLIBS)

sqlite-new: dist/rbm.so dist/sqlite-new/sqlite3 dist/sqlite-new/rbm.so \
            dist/sqlite-new/include/sqlite3ext.h

clean:
	rm -rf dist
