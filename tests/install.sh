#!/bin/sh
# make install and make uninstall in a scratch prefix, and what is built
# from the installed files alone, through pkg-config:
#   - the files installed, and nothing else; the soname's symlinks
#   - examples/c_example.c with `pkg-config --cflags --libs rbm`, loading
#     the installed rbm by name (no path), as it answers from the repository
#   - `.load rbm` without a path in the sqlite3 shell (LD_LIBRARY_PATH)
#   - a program calling the engine's API (include/rbm.h), linked with
#     librbm.so and with librbm.a
#   - examples/static_example.c with `pkg-config --cflags --libs rbm_sqlite`
#   - make uninstall leaves no file behind; the same with DESTDIR
# The programs are built with the suite's CFLAGS (make asan's sanitizers).
cd "$(dirname "$0")/.." || exit 1
command -v pkg-config > /dev/null || { echo "SKIPPED: no pkg-config"; exit 0; }
status=0
say() { if [ "$1" = 0 ]; then echo "ok - $2"; else echo "not ok - $2"; status=1; fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
lib=$prefix/lib
version=$(sed -n 's/^#define RBM_VERSION "\(.*\)"/\1/p' include/rbm.h)
cc=${CC:-cc}
cflags="${CFLAGS:--O2} -Wall -Wextra"
export PKG_CONFIG_PATH="$lib/pkgconfig"
files() { (cd "$1" && find . ! -type d | sed 's|^\./||' | sort | tr '\n' ' '); }

if ! make -s install PREFIX="$prefix" > "$tmp/install.log" 2>&1; then
  cat "$tmp/install.log"; say 1 "make install PREFIX=$prefix"; exit 1
fi
want="include/rbm.h include/rbm_sqlite.h lib/librbm.a lib/librbm.so lib/librbm.so.0 lib/librbm.so.$version lib/librbm_sqlite.a lib/pkgconfig/rbm.pc lib/pkgconfig/rbm_sqlite.pc lib/rbm.so "
got=$(files "$prefix")
[ "$got" = "$want" ]; say $? "make install PREFIX=...: $got"
[ "$(readlink "$lib/librbm.so")" = librbm.so.0 ] &&
  [ "$(readlink "$lib/librbm.so.0")" = "librbm.so.$version" ] &&
  readelf -d "$lib/librbm.so.$version" | grep -q 'SONAME.*\[librbm\.so\.0\]'
say $? "librbm.so -> librbm.so.0 -> librbm.so.$version, soname librbm.so.0"
[ "$(pkg-config --modversion rbm)" = "$version" ] &&
  [ "$(pkg-config --variable=prefix rbm)" = "$prefix" ] &&
  [ "$(pkg-config --modversion rbm_sqlite)" = "$version" ]
say $? "pkg-config: rbm and rbm_sqlite $version, prefix $prefix"

# c_example from the installed files, run elsewhere with no argument: it
# loads "rbm", which the loader finds on LD_LIBRARY_PATH.  Its answers
# must be the repository build's (the same seed; the first line has times).
ok=0
$cc $cflags -o "$tmp/c_example" examples/c_example.c \
  $(pkg-config --cflags --libs rbm) > "$tmp/cc.log" 2>&1 || { cat "$tmp/cc.log"; ok=1; }
say $ok "c_example builds with \$(pkg-config --cflags --libs rbm) alone"
(cd "$tmp" && LD_LIBRARY_PATH="$lib" ./c_example) > "$tmp/c.out" 2>&1
say $? "c_example loads the installed rbm by name"
./dist/c_example dist/rbm > "$tmp/c.want" 2>&1
tail -n +2 "$tmp/c.out" > "$tmp/c.got"; tail -n +2 "$tmp/c.want" > "$tmp/c.want2"
diff "$tmp/c.want2" "$tmp/c.got" > /dev/null && [ -s "$tmp/c.got" ]
say $? "c_example installed answers as dist/c_example dist/rbm"

# The sqlite3 shell: .load rbm, no path, from a folder without dist/.
shell() { (cd "$tmp" && LD_PRELOAD="${SQLITE_PRELOAD:-}" sqlite3 -batch :memory: "$@" 2>&1); }
got=$(LD_LIBRARY_PATH="$lib" LD_DEBUG=files LD_DEBUG_OUTPUT="$tmp/ld" \
      shell ".load rbm" "SELECT rbm_version();")
[ "$got" = "$version" ] && cat "$tmp"/ld.* | grep -q "calling init: $lib/rbm.so"
say $? "sqlite3: .load rbm (LD_LIBRARY_PATH=\$PREFIX/lib) loads $lib/rbm.so"

# The engine's API without SQLite: two groups of users with opposite tastes.
cat > "$tmp/engine.c" <<'EOF'
#include <rbm.h>
#include <stdio.h>
#include <stdlib.h>

static rbm_key id(int64_t i) { rbm_key k = {0}; k.i = i; return k; }

int main(void) {
  rbm_config cfg;
  rbm_config_defaults(&cfg);
  cfg.hidden = 8; cfg.epochs = 100; cfg.threads = 1;
  if (rbm_config_check(&cfg)) return 1;
  rbm_ratings r = {0};
  for (int u = 1; u <= 20; u++)
    for (int i = 1; i <= 6; i++)
      if ((u + i) % 3 != 0) {
        rbm_key uk = id(u), ik = id(i);
        if (rbm_ratings_add(&r, &uk, &ik, (i <= 3) == (u <= 10) ? 5 : 1)) return 1;
      }
  if (rbm_ratings_finish(&r) != RBM_OK) return 1;
  rbm_model *m, *m2;
  rbm_train_report rep;
  char err[256];
  if (rbm_train(&cfg, &r, NULL, &m, &rep, err, sizeof err) != RBM_OK) {
    fprintf(stderr, "train: %s\n", err); return 1;
  }
  unsigned char *blob; size_t n;
  if (rbm_model_save(m, &blob, &n) != RBM_OK ||
      rbm_model_load(blob, n, &m2, err, sizeof err) != RBM_OK) return 1;
  /* User 1 rated items 1, 3, 4, 6 (liking 1 and 3): fold them in, then
  ** score the unrated 2 (liked by their group) and 5 (not). */
  uint32_t items[4]; uint8_t units[4]; int rated[4] = {1, 3, 4, 6};
  for (int j = 0; j < 4; j++) {
    rbm_key k = id(rated[j]);
    items[j] = (uint32_t)rbm_keys_find(&m2->items, &k);
    units[j] = (uint8_t)rbm_unit_of_value(m2, rated[j] <= 3 ? 5 : 1);
  }
  float *hidden = malloc(m2->layer.n_hidden * sizeof *hidden), probs[RBM_MAX_VALUES];
  rbm_fold_in(m2, 4, items, units, hidden);
  printf("rbm %s: %u users, %u items, %d epochs\n", RBM_VERSION,
         r.users.n, m2->n_items, rep.epochs_run);
  for (int item = 2; item <= 5; item += 3) {
    rbm_key k = id(item);
    rbm_item_probs(m2, hidden, (uint32_t)rbm_keys_find(&m2->items, &k), probs);
    printf("item %d: %s\n", item, rbm_like_probability(m2, probs) > 0.5 ? "like" : "dislike");
  }
  free(hidden); free(blob);
  rbm_model_free(m); rbm_model_free(m2); rbm_ratings_free(&r);
  return 0;
}
EOF
engine_want="rbm $version: 20 users, 6 items, 100 epochs
item 2: like
item 5: dislike"
ok=0
$cc $cflags -o "$tmp/engine_shared" "$tmp/engine.c" \
  $(pkg-config --cflags --libs rbm) > "$tmp/cc.log" 2>&1 || { cat "$tmp/cc.log"; ok=1; }
say $ok "an engine program builds with \$(pkg-config --cflags --libs rbm) (librbm.so)"
readelf -d "$tmp/engine_shared" | grep -q 'NEEDED.*\[librbm\.so\.0\]'
say $? "it needs librbm.so.0"
got=$(LD_LIBRARY_PATH="$lib" "$tmp/engine_shared" 2>&1)
[ "$got" = "$engine_want" ]; say $? "it trains, saves, loads and predicts: $(echo $got)"
# Static: librbm.a itself, then what librbm needs (--static); --as-needed
# drops the librbm.so that -lrbm names, nothing being left for it.
ok=0
$cc $cflags -o "$tmp/engine_static" "$tmp/engine.c" $(pkg-config --cflags rbm) \
  "$(pkg-config --variable=libdir rbm)/librbm.a" -Wl,--as-needed \
  $(pkg-config --static --libs rbm) > "$tmp/cc.log" 2>&1 || { cat "$tmp/cc.log"; ok=1; }
say $ok "an engine program builds with librbm.a and \$(pkg-config --static --libs rbm)"
! readelf -d "$tmp/engine_static" | grep -q 'NEEDED.*librbm'
say $? "it needs no librbm at run time"
got=$("$tmp/engine_static" 2>&1)
[ "$got" = "$engine_want" ]; say $? "it answers the same without LD_LIBRARY_PATH"

# rbm linked into an application: librbm_sqlite.a through rbm_sqlite.pc.
ok=0
$cc $cflags -o "$tmp/static_example" examples/static_example.c \
  $(pkg-config --cflags --libs rbm_sqlite) > "$tmp/cc.log" 2>&1 || { cat "$tmp/cc.log"; ok=1; }
say $ok "static_example builds with \$(pkg-config --cflags --libs rbm_sqlite) alone"
got=$("$tmp/static_example" 2>&1)
[ -n "$got" ] && [ "$got" = "$(./dist/static_example 2>&1)" ]
say $? "it answers as dist/static_example, with nothing on LD_LIBRARY_PATH"

make -s uninstall PREFIX="$prefix" > "$tmp/uninstall.log" 2>&1 || cat "$tmp/uninstall.log"
left=$(files "$prefix")
[ -z "$left" ] && [ ! -e "$lib/pkgconfig" ]
say $? "make uninstall leaves no file (${left:-none}) and no pkgconfig folder"
got=$(LD_LIBRARY_PATH="$lib" shell ".load rbm")
echo "$got" | grep -q 'rbm.so: cannot open shared object file'
say $? "then .load rbm fails"

# DESTDIR: a staged install names the real prefix in its .pc files.
stage=$tmp/stage
make -s install DESTDIR="$stage" PREFIX=/opt/rbm > "$tmp/install.log" 2>&1 || cat "$tmp/install.log"
[ "$(files "$stage/opt/rbm")" = "$want" ] &&
  grep -qx 'prefix=/opt/rbm' "$stage/opt/rbm/lib/pkgconfig/rbm.pc" &&
  [ "$(files "$stage")" = "$(files "$stage/opt/rbm" | sed 's|[^ ]* |opt/rbm/&|g')" ]
say $? "make install DESTDIR=... PREFIX=/opt/rbm stages under DESTDIR, rbm.pc says /opt/rbm"
make -s uninstall DESTDIR="$stage" PREFIX=/opt/rbm > "$tmp/uninstall.log" 2>&1 || cat "$tmp/uninstall.log"
[ -z "$(files "$stage")" ]; say $? "make uninstall DESTDIR=... leaves no file"
exit $status
