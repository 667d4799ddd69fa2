/*
** sql_options.c -- training options from JSON (rbm_train) or key=value
** arguments (the virtual table), through one table of option names.
**
** Values are checked twice: here for their type ("hidden must be an
** integer"), in rbm_config_check() for their range.
*/
#include "sql_glue.h"

#include <limits.h>
#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* OPT_RAMP: a real, or null for none (stored as -1).  OPT_BYTES: a number
** of bytes, or text such as '512MB' or '4 GB' (binary multiples).
** OPT_THREADS: an integer, or null (stored as 0) for one per core. */
typedef enum { OPT_INT, OPT_REAL, OPT_RAMP, OPT_BOOL, OPT_SEED, OPT_CHOICE,
               OPT_BYTES, OPT_THREADS } opt_type;

/* The words an OPT_CHOICE option takes, in the order of its enum's values. */
static const char *const VISIBLE_WORDS[] = {"softmax", "binary", "implicit",
                                            NULL};
static const char *const ORIENTATION_WORDS[] = {"user", "item", "both", NULL};

static const struct option {
  const char *name;
  opt_type type;
  size_t offset;
  const char *const *words;  /* OPT_CHOICE */
} OPTIONS[] = {
    {"hidden", OPT_INT, offsetof(rbm_config, hidden), NULL},
    {"epochs", OPT_INT, offsetof(rbm_config, epochs), NULL},
    {"batch_size", OPT_INT, offsetof(rbm_config, batch_size), NULL},
    {"learning_rate", OPT_REAL, offsetof(rbm_config, learning_rate), NULL},
    {"momentum", OPT_REAL, offsetof(rbm_config, momentum), NULL},
    {"weight_decay", OPT_REAL, offsetof(rbm_config, weight_decay), NULL},
    {"cd_k", OPT_INT, offsetof(rbm_config, cd_k), NULL},
    {"seed", OPT_SEED, offsetof(rbm_config, seed), NULL},
    {"visible", OPT_CHOICE, offsetof(rbm_config, visible), VISIBLE_WORDS},
    {"orientation", OPT_CHOICE, offsetof(rbm_config, orientation),
     ORIENTATION_WORDS},
    {"like_threshold", OPT_REAL, offsetof(rbm_config, like_threshold), NULL},
    {"threads", OPT_THREADS, offsetof(rbm_config, threads), NULL},
    {"verbose", OPT_BOOL, offsetof(rbm_config, verbose), NULL},
    {"validation", OPT_REAL, offsetof(rbm_config, validation), NULL},
    {"momentum_start", OPT_RAMP, offsetof(rbm_config, momentum_start), NULL},
    {"momentum_epochs", OPT_INT, offsetof(rbm_config, momentum_epochs), NULL},
    {"lr_decay", OPT_REAL, offsetof(rbm_config, lr_decay), NULL},
    {"pcd", OPT_BOOL, offsetof(rbm_config, pcd), NULL},
    {"patience", OPT_INT, offsetof(rbm_config, patience), NULL},
    {"max_memory", OPT_BYTES, offsetof(rbm_config, max_memory), NULL},
};
#define N_OPTIONS (sizeof OPTIONS / sizeof OPTIONS[0])

static int parse_number(const char *text, double *out) {
  char *end;
  if (!text || !*text) return 0;
  *out = strtod(text, &end);
  while (*end == ' ') end++;
  return *end == 0 && isfinite(*out);
}

/* A size: a number, then optionally K, M, G or T (times 1024 each), with or
** without B or iB after, in any case: "4096", "512MB", "1.5 GiB". */
static int parse_bytes(const char *text, double *out) {
  static const char UNITS[] = "KMGT";
  char *end;
  if (!text || !*text) return 0;
  double d = strtod(text, &end);
  while (*end == ' ') end++;
  const char *u = *end ? strchr(UNITS, toupper((unsigned char)*end)) : NULL;
  if (u) {
    for (const char *k = UNITS; k <= u; k++) d *= 1024;
    end++;
    if ((end[0] == 'i' || end[0] == 'I') && (end[1] == 'b' || end[1] == 'B')) end++;
  }
  if (*end == 'b' || *end == 'B') end++;
  while (*end == ' ') end++;
  if (*end || !isfinite(d)) return 0;
  *out = d;
  return 1;
}

/* The blanks the text of a cd_k schedule may hold. */
#define SPACE " \t\n\r"

/* cd_k as [[epoch, k], ...]: the steps of a schedule (cd_k itself, the k
** before the first step, is set to the first step's k). */
static int parse_cd_k_steps(rbm_config *cfg, const char *text, char **err) {
  const char *p = text;
  int n = 0;
#define SKIP() p += strspn(p, SPACE)
  SKIP();
  if (*p++ != '[') goto bad;
  SKIP();
  while (*p == '[') {
    long v[2];
    p++;
    for (int k = 0; k < 2; k++) {
      char *end;
      SKIP();
      v[k] = strtol(p, &end, 10);
      if (end == p) goto bad;
      p = end;
      SKIP();
      if (*p++ != (k == 0 ? ',' : ']')) goto bad;
    }
    if (n == RBM_MAX_CD_STEPS) {
      *err = sqlite3_mprintf("cd_k takes at most %d [epoch, k] steps", RBM_MAX_CD_STEPS);
      return SQLITE_ERROR;
    }
    cfg->cd_k_steps[n][0] = v[0] < 0 || v[0] > 1000000 ? -1 : (int)v[0];
    cfg->cd_k_steps[n][1] = v[1] < 0 || v[1] > 1000000 ? -1 : (int)v[1];
    n++;
    SKIP();
    if (*p == ',') p++;
    SKIP();
  }
  if (*p++ != ']' || n == 0) goto bad;
  SKIP();
  if (*p) goto bad;
#undef SKIP
  cfg->n_cd_k_steps = n;
  cfg->cd_k = cfg->cd_k_steps[0][1];
  return SQLITE_OK;
bad:
  *err = sqlite3_mprintf("cd_k must be an integer or a list of [epoch, k] "
                         "steps, like [[1, 1], [20, 3]]");
  return SQLITE_ERROR;
}

int sql_option_set(rbm_config *cfg, const char *key, const char *value,
                   char **err) {
  if (sqlite3_stricmp(key, "cd_k") == 0) {
    if (value && value[strspn(value, SPACE)] == '[')
      return parse_cd_k_steps(cfg, value, err);
    cfg->n_cd_k_steps = 0;  /* a plain k replaces a schedule */
  }
  const struct option *opt = NULL;
  for (size_t i = 0; i < N_OPTIONS; i++)
    if (sqlite3_stricmp(OPTIONS[i].name, key) == 0) opt = &OPTIONS[i];
  if (!opt) {
    *err = sqlite3_mprintf("unknown option '%s'", key);
    return SQLITE_ERROR;
  }
  void *field = (char *)cfg + opt->offset;
  double d;
  if (opt->type == OPT_RAMP && (!value || !sqlite3_stricmp(value, "null"))) {
    *(double *)field = -1;
    return SQLITE_OK;
  }
  if (opt->type == OPT_BYTES && (!value || !sqlite3_stricmp(value, "null"))) {
    *(double *)field = 0;  /* the default share, as stored options say it */
    return SQLITE_OK;
  }
  if (opt->type == OPT_THREADS && (!value || !sqlite3_stricmp(value, "null"))) {
    *(int *)field = 0;
    return SQLITE_OK;
  }
  if (!value) {  /* JSON null */
    *err = sqlite3_mprintf("option %s cannot be null", opt->name);
    return SQLITE_ERROR;
  }
  switch (opt->type) {
    case OPT_CHOICE:
      for (int w = 0; value && opt->words[w]; w++) {
        if (sqlite3_stricmp(value, opt->words[w]) == 0) {
          *(int *)field = w;  /* the enum's value */
          return SQLITE_OK;
        }
      }
      {
        sqlite3_str *words = sqlite3_str_new(NULL);
        for (int w = 0; opt->words[w]; w++)
          sqlite3_str_appendf(words, "%s'%s'",
                              w == 0 ? "" : opt->words[w + 1] ? ", " : " or ",
                              opt->words[w]);
        char *list = sqlite3_str_finish(words);
        *err = sqlite3_mprintf("%s must be %s, not '%s'", opt->name,
                               list ? list : "?", value ? value : "NULL");
        sqlite3_free(list);
      }
      return SQLITE_ERROR;
    case OPT_BOOL:
      if (value && (!sqlite3_stricmp(value, "true") || !strcmp(value, "1"))) {
        *(int *)field = 1;
      } else if (value &&
                 (!sqlite3_stricmp(value, "false") || !strcmp(value, "0"))) {
        *(int *)field = 0;
      } else {
        *err = sqlite3_mprintf("%s must be true or false", opt->name);
        return SQLITE_ERROR;
      }
      return SQLITE_OK;
    default:
      break;
  }
  if (opt->type == OPT_BYTES) {
    if (!parse_bytes(value, &d)) {
      *err = sqlite3_mprintf("%s must be a number of bytes or a size such as "
                             "'512MB' or '4GB', not '%s'", opt->name, value);
      return SQLITE_ERROR;
    }
    *(double *)field = d;
    return SQLITE_OK;
  }
  if (!parse_number(value, &d)) {
    *err = sqlite3_mprintf("%s must be a number, not '%s'", opt->name,
                           value ? value : "NULL");
    return SQLITE_ERROR;
  }
  switch (opt->type) {
    case OPT_INT:
    case OPT_THREADS:
      if (d != floor(d)) {
        *err = sqlite3_mprintf("%s must be an integer", opt->name);
        return SQLITE_ERROR;
      }
      /* Out of int range: a value rbm_config_check() rejects by name. */
      *(int *)field = fabs(d) < 1e9 ? (int)d : -1;
      break;
    case OPT_SEED:
      if (d != floor(d) || d < 0 || d > 9007199254740992.0) {
        *err = sqlite3_mprintf("seed must be an integer from 0 to 2^53");
        return SQLITE_ERROR;
      }
      *(uint64_t *)field = (uint64_t)d;
      break;
    default:
      *(double *)field = d;
      break;
  }
  return SQLITE_OK;
}

const char *sql_visible_name(rbm_visible v) { return VISIBLE_WORDS[v]; }

/* Options whose SQL default depends on visible are left at AUTO (an
** integer no option text reads as) or NAN (a number none reads as) by
** sql_defaults, and filled in by sql_resolve_defaults once every
** option has been read. */
#define AUTO INT_MIN

void sql_defaults(rbm_config *cfg) {
  rbm_config_defaults(cfg);
  cfg->orientation = AUTO;
  cfg->hidden = AUTO;
  cfg->epochs = AUTO;
  cfg->weight_decay = NAN;
  cfg->learning_rate = NAN;
}

void sql_resolve_defaults(rbm_config *cfg) {
  rbm_config engine;
  rbm_config_defaults(&engine);
  /* Ratings (softmax, binary): the best predictions on MovieLens-100K
  ** (bench/QUALITY.md) came from a user-based and an item-based model
  ** blended, each with 200 hidden units and weight decay 0.005, and the
  ** engine's learning rate.  Implicit feedback: the best top-10 on 75/25
  ** splits of u.data for its time came from 200 hidden units, weight decay
  ** 0.03 (less let the weights grow and the ranking collapse) and learning
  ** rate 0.02, with the engine's batch of 100. */
  int implicit = cfg->visible == RBM_VISIBLE_IMPLICIT;
  if ((int)cfg->orientation == AUTO)
    cfg->orientation = implicit ? RBM_ORIENT_USER : RBM_ORIENT_BOTH;
  /* Implicit: hidden from the data's shape (rbm_config_fit_shape, once
  ** the rows are read), and 100 epochs: the sweep over six shapes in
  ** bench/QUALITY.md. */
  if (cfg->hidden == AUTO) cfg->hidden = implicit ? 0 : 200;
  if (cfg->epochs == AUTO) cfg->epochs = implicit ? 100 : engine.epochs;
  if (isnan(cfg->weight_decay)) cfg->weight_decay = implicit ? 0.03 : 0.005;
  if (isnan(cfg->learning_rate))
    cfg->learning_rate = implicit ? 0.02 : engine.learning_rate;
}

int sql_json_members(sqlite3 *db, const char *json, const char *example,
                     sql_json_member member, void *ctx, char **err) {
  sqlite3_stmt *st = NULL;
  /* The last row always comes: a non-object is told from an empty one. */
  int rc = sqlite3_prepare_v2(
      db,
      "SELECT json_type(?1), key, value, type FROM json_each(?1)"
      " UNION ALL SELECT json_type(?1), NULL, NULL, NULL",
      -1, &st, NULL);
  if (rc != SQLITE_OK) {
    *err = sqlite3_mprintf("options: %s", sqlite3_errmsg(db));
    return rc;
  }
  sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *top = (const char *)sqlite3_column_text(st, 0);
    if (!top && sqlite3_errcode(db) == SQLITE_NOMEM) {
      rc = SQLITE_NOMEM;
      break;
    }
    if (!top || strcmp(top, "object") != 0) {
      *err = sqlite3_mprintf("options must be a JSON object, like '%s'", example);
      rc = SQLITE_ERROR;
      break;
    }
    if (sqlite3_column_type(st, 1) == SQLITE_NULL) continue;
    rc = member(ctx, (const char *)sqlite3_column_text(st, 1),
                (const char *)sqlite3_column_text(st, 3),
                (const char *)sqlite3_column_text(st, 2), err);
    if (rc != SQLITE_OK) break;
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  if (rc != SQLITE_OK && !*err)
    *err = sqlite3_mprintf("options: %s",
                           rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return rc;
}

/* One member of rbm_train's options. */
static int train_option(void *cfg, const char *key, const char *type,
                        const char *value, char **err) {
  if (!strcmp(type, "true") || !strcmp(type, "false")) value = type;
  if (!strcmp(type, "null")) value = NULL;  /* sql_option_set: only a ramp may be */
  int schedule = !strcmp(type, "array") && !sqlite3_stricmp(key, "cd_k");
  if ((!strcmp(type, "array") && !schedule) || !strcmp(type, "object")) {
    *err = sqlite3_mprintf("option %s cannot be a JSON container", key);
    return SQLITE_ERROR;
  }
  return sql_option_set(cfg, key, value, err);
}

int sql_options_from_json(sqlite3 *db, const char *json, rbm_config *cfg,
                          char **err) {
  return sql_json_members(db, json, "{\"hidden\": 100}", train_option, cfg, err);
}

char *sql_options_to_json(const rbm_config *c) {
  sqlite3_str *steps = sqlite3_str_new(NULL);
  if (c->n_cd_k_steps) {
    sqlite3_str_appendchar(steps, 1, '[');
    for (int j = 0; j < c->n_cd_k_steps; j++)
      sqlite3_str_appendf(steps, "%s[%d,%d]", j ? "," : "", c->cd_k_steps[j][0],
                          c->cd_k_steps[j][1]);
    sqlite3_str_appendchar(steps, 1, ']');
  } else {
    sqlite3_str_appendf(steps, "%d", c->cd_k);
  }
  char *cd = sqlite3_str_finish(steps);
  char threads[16] = "null";  /* one per core, wherever it is served */
  if (c->threads > 0) snprintf(threads, sizeof threads, "%d", c->threads);
  char *ramp = c->momentum_start < 0 ? sqlite3_mprintf("null")
                                     : sqlite3_mprintf("%!.15g", c->momentum_start);
  char *memory = c->max_memory > 0 ? sqlite3_mprintf("%!.15g", c->max_memory)
                                   : sqlite3_mprintf("null");  /* the default share */
  if (!cd || !ramp || !memory) {  /* out of memory: no options rather than wrong ones */
    sqlite3_free(cd);
    sqlite3_free(ramp);
    sqlite3_free(memory);
    return NULL;
  }
  char *json = sqlite3_mprintf(
      "{\"hidden\":%d,\"epochs\":%d,\"batch_size\":%d,\"learning_rate\":%!.15g,"
      "\"momentum\":%!.15g,\"weight_decay\":%!.15g,\"cd_k\":%s,\"seed\":%llu,"
      "\"visible\":\"%s\",\"orientation\":\"%s\",\"like_threshold\":%!.15g,"
      "\"threads\":%s,\"verbose\":%s,\"validation\":%!.15g,\"patience\":%d,"
      "\"momentum_start\":%s,\"momentum_epochs\":%d,\"lr_decay\":%!.15g,"
      "\"pcd\":%s,\"max_memory\":%s}",
      c->hidden, c->epochs, c->batch_size, c->learning_rate, c->momentum,
      c->weight_decay, cd, (unsigned long long)c->seed,
      VISIBLE_WORDS[c->visible], ORIENTATION_WORDS[c->orientation],
      c->like_threshold, threads, c->verbose ? "true" : "false",
      c->validation, c->patience,
      ramp, c->momentum_epochs, c->lr_decay,
      c->pcd ? "true" : "false", memory);
  sqlite3_free(cd);
  sqlite3_free(ramp);
  sqlite3_free(memory);
  return json;
}
