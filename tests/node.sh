#!/bin/sh
# rbm from Node.js: examples/node_example.js loads dist/rbm.so into
# better-sqlite3, which carries its own, newer SQLite, and trains,
# predicts, recommends and fits a feature model; its output is checked.
#
# better-sqlite3 comes from the npm registry and is built from source once
# into dist/npm (a C++ compiler, make and Node's headers; a few minutes):
#   npm install --ignore-scripts better-sqlite3@VERSION   fetch, run nothing
#   npm install-scripts approve better-sqlite3             npm 11 runs no
#                                                          dependency's install
#                                                          script unless approved
#   npm rebuild better-sqlite3 --nodedir=PREFIX           its install script:
#                                                          prebuild-install, then
#                                                          node-gyp rebuild
# with npm_config_build_from_source=true, so prebuild-install downloads no
# binary, and --nodedir the prefix Node is installed under, whose
# include/node has the headers, so node-gyp downloads none.  SKIPPED
# without node or npm, or where npm cannot fetch it.
cd "$(dirname "$0")/.." || exit 1
# The last release for Node 20 (13.x needs Node 22).
BSQ_VERSION=12.11.1
dir=dist/npm/better-sqlite3-$BSQ_VERSION
module=$dir/node_modules/better-sqlite3

if [ "${RBM_SANITIZE:-0}" = 1 ]; then
  echo "SKIPPED: the sanitizer build (make asan) is not loaded into node"
  exit 0
fi
for tool in node npm; do
  if ! command -v $tool > /dev/null 2>&1; then
    echo "SKIPPED: $tool is not installed"
    exit 0
  fi
done
if [ ! -f "$module/build/Release/better_sqlite3.node" ]; then
  prefix=$(node -p 'require("path").resolve(process.execPath, "..", "..")')
  if [ ! -f "$prefix/include/node/node.h" ]; then
    echo "SKIPPED: Node's headers are not in $prefix/include/node"
    exit 0
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  echo '{"private": true}' > "$dir/package.json"
  if ! (cd "$dir" && timeout 300 npm install --ignore-scripts --no-audit --no-fund \
          "better-sqlite3@$BSQ_VERSION") > "$dir/install.log" 2>&1; then
    tail -5 "$dir/install.log"
    rm -rf "$dir"
    echo "SKIPPED: npm could not fetch better-sqlite3@$BSQ_VERSION"
    exit 0
  fi
  # (npm before 11.x runs install scripts without approval, and has no
  # install-scripts command.)
  (cd "$dir" && npm install-scripts approve better-sqlite3) >> "$dir/install.log" 2>&1
  if ! (cd "$dir" && npm_config_build_from_source=true timeout 900 \
          npm rebuild better-sqlite3 --nodedir="$prefix" --foreground-scripts) \
          >> "$dir/install.log" 2>&1 ||
     [ ! -f "$module/build/Release/better_sqlite3.node" ]; then
    grep -E 'error|Error|ERR' "$dir/install.log" | tail -10
    echo "not ok - better-sqlite3@$BSQ_VERSION did not build (see $dir/install.log)"
    exit 1
  fi
fi

bundled=$(sed -n 's/^#define SQLITE_VERSION *"\(.*\)"/\1/p' "$module/deps/sqlite3/sqlite3.h")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
NODE_PATH="$PWD/$dir/node_modules" node examples/node_example.js > "$tmp/out" 2>&1
status=$?
sed 's/^/# /' "$tmp/out"
[ $status = 0 ] || { echo "not ok - node examples/node_example.js exited $status"; exit 1; }
awk -v bundled="$bundled" '
  function check(ok, what) { print (ok ? "ok" : "not ok") " - " what; if (!ok) bad = 1 }
  /^rbm .* in SQLite / { version = $NF }
  /^trained on / { trained = ($3 == 240 && $6 == 40 && $8 == 10) }
  /^user 1, item 3:/ { r3 = $7 + 0; p3 = $9 + 0 }
  /^user 1, item 9:/ { r9 = $7 + 0; p9 = $9 + 0 }
  /^  item / { top++; if ($2 + 0 >= 6 && $2 + 0 <= 10) ok_top++ }
  /^fitted / { fitted = ($2 == 60 && $5 == 6 && $7 == 4) }
  /hidden probabilities and is / { hidden = $5; kind = $NF }
  END {
    check(version == bundled && version != "",
          "rbm runs in better-sqlite3'"'"'s own SQLite (" version ", bundled " bundled ")")
    check(trained, "rbm_train: 240 ratings of 40 users, 10 items")
    check(r3 > 4 && p3 > 0.8 && r9 < 3 && p9 < 0.2,
          "rbm_predict: user 1 likes item 3 (" r3 ", " p3 ") and not item 9 (" r9 ", " p9 ")")
    check(top == 3 && ok_top == 3, "rbm_recommend: user 21'"'"'s top 3 are from items 6-10")
    check(fitted && hidden == 4 && kind == "even",
          "rbm_fit, rbm_transform and rbm_classify on Buffers (" hidden " hidden, " kind ")")
    exit bad
  }' "$tmp/out"
