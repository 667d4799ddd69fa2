-- functions.sql: what the extension registers, and the two informational
-- functions rbm_version() and rbm_debug().
.load dist/rbm

-- rbm_version(): three dot-separated numbers, nothing else.
SELECT 'version looks like N.N.N',
       rbm_version() GLOB '[0-9]*.[0-9]*.[0-9]*'
       AND rbm_version() NOT GLOB '*[^0-9.]*'
       AND length(rbm_version()) - length(replace(rbm_version(), '.', '')) = 2
       AND rbm_version() NOT GLOB '*..*'
       AND rbm_version() NOT GLOB '.*'
       AND rbm_version() NOT GLOB '*.';
SELECT 'version is text', typeof(rbm_version());

-- rbm_debug(): names the version, the SQLite it runs in and the BLAS.
SELECT 'debug starts with rbm <version>', rbm_debug() GLOB 'rbm ' || rbm_version() || ' *';
SELECT 'debug names OpenBLAS', instr(rbm_debug(), 'OpenBLAS') > 0;
SELECT 'debug names sqlite and its version',
       instr(rbm_debug(), 'sqlite: ' || sqlite_version()) > 0;
SELECT 'debug names the sqlite build (its source id)',
       instr(rbm_debug(), '(' || substr(sqlite_source_id(), 1, 32) || ')') > 0;
SELECT 'debug says how interrupts are seen',
       rbm_debug() GLOB '*sqlite interrupts: sqlite3_is_interrupted*'
       OR rbm_debug() GLOB '*sqlite interrupts: probe statement*';
SELECT 'debug says whether subtypes are declared',
       rbm_debug() GLOB '*sqlite result subtypes: declared (SQLITE_RESULT_SUBTYPE)*'
         = (CAST(substr(sqlite_version(), 3) AS REAL) >= 45);
SELECT 'debug names the blas thread count', rbm_debug() GLOB '*blas threads: [0-9]*';

-- The scalar functions and their arities; rbm_train is DIRECTONLY, and
-- nothing that depends on stored models is DETERMINISTIC or INNOCUOUS.
SELECT name, narg,
       (flags & 0x800) != 0 AS deterministic,
       (flags & 0x80000) != 0 AS directonly,
       (flags & 0x200000) != 0 AS innocuous
  FROM pragma_function_list WHERE name GLOB 'rbm_*' ORDER BY name, narg;

-- The virtual table modules.
SELECT name FROM pragma_module_list WHERE name GLOB 'rbm*' ORDER BY name;

-- Wrong arities are refused when the statement is prepared.
SELECT rbm_version(1);
SELECT rbm_debug('x', 1);
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{}', 'extra');
SELECT rbm_predict('m', 1);
SELECT rbm_predict('m', 1, 2, 'like', 'extra');
SELECT * FROM rbm_recommend('m', 1, 2, 3);

-- rbm_debug(model) describes how this connection serves a model (see
-- cache.sql); without one, the model errors of rbm_predict.
SELECT rbm_debug('x');
SELECT rbm_debug(1);

-- Nothing above created any table.
SELECT 'tables after failed calls', count(*) FROM sqlite_schema;

-- Loading a second time on the same connection is harmless.
.load dist/rbm
SELECT 'still works after a second load', rbm_version() = rbm_version();
