/*
** sql_vectors.c -- feature vectors in SQL.
**
**   a float32 BLOB      little-endian, 4 bytes an element: the layout
**                       sqlite-vec reads and writes; the vectors made here
**                       carry its float32 subtype (223), as vec_f32()'s do
**   a JSON array        '[0.5, 1, 0]'
**
**   rbm_vector_u8(bytes [, scale])     each byte times scale (1/255 by
**                                      default): images read with
**                                      readfile() become vectors
**   rbm_vector_agg(index, value [, n]) aggregate: long rows (id, index,
**                                      value) packed into one vector per
**                                      GROUP BY, missing indexes 0
**   rbm_vector_to_json(vector)         a vector as a JSON array, to read
**
** Every value of a vector must be a finite number.
*/
#include "sql_glue.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void sql_vector_free(sql_vector *v) {
  free(v->x);
  memset(v, 0, sizeof *v);
}

static int host_little_endian(void) {
  const uint16_t one = 1;
  return *(const uint8_t *)&one == 1;
}

/* A JSON array of numbers into floats. */
static int parse_json_vector(const char *s, sql_vector *out, char **err) {
  size_t cap = 64, n = 0;
  float *x = malloc(cap * sizeof *x);
  if (!x) return SQLITE_NOMEM;
  while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
  if (*s++ != '[') goto bad;
  for (;;) {
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
    if (*s == ']' && n == 0) {
      s++;
      break;
    }
    /* JSON numbers only: strtod would also take nan, inf and hex */
    if (!(*s == '-' || (*s >= '0' && *s <= '9'))) goto bad;
    char *end;
    double d = strtod(s, &end);
    const char *digits = *s == '-' ? s + 1 : s;
    if (end == s || (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))) goto bad;
    if (!isfinite(d) || fabs(d) > 3.4e38) {
      *err = sqlite3_mprintf("element %llu is not a finite float", (unsigned long long)n);
      free(x);
      return SQLITE_ERROR;
    }
    if (n == cap) {
      float *grown = realloc(x, 2 * cap * sizeof *x);
      if (!grown) {
        free(x);
        return SQLITE_NOMEM;
      }
      x = grown;
      cap *= 2;
    }
    x[n++] = (float)d;
    s = end;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
    if (*s == ',') {
      s++;
      continue;
    }
    if (*s++ != ']') goto bad;
    break;
  }
  while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
  if (*s) goto bad;
  out->x = x;
  out->n = (uint32_t)n;
  return SQLITE_OK;
bad:
  free(x);
  *err = sqlite3_mprintf("a vector must be a JSON array of numbers or a "
                         "float32 BLOB");
  return SQLITE_ERROR;
}

int sql_vector_from_value(sqlite3_value *v, sql_vector *out, char **err) {
  memset(out, 0, sizeof *out);
  switch (sqlite3_value_type(v)) {
    case SQLITE_BLOB: {
      int bytes = sqlite3_value_bytes(v);
      const unsigned char *p = sqlite3_value_blob(v);
      if (bytes % 4) {
        *err = sqlite3_mprintf("a float32 BLOB has a multiple of 4 bytes, "
                               "not %d", bytes);
        return SQLITE_ERROR;
      }
      size_t n = (size_t)bytes / 4;
      out->x = malloc((n ? n : 1) * sizeof *out->x);
      if (!out->x) return SQLITE_NOMEM;
      out->n = (uint32_t)n;
      if (host_little_endian()) {
        if (n) memcpy(out->x, p, n * 4);
      } else {
        for (size_t i = 0; i < n; i++) {
          uint32_t u = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
                       (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
          memcpy(&out->x[i], &u, 4);
        }
      }
      for (size_t i = 0; i < n; i++)
        if (!isfinite(out->x[i])) {
          *err = sqlite3_mprintf("element %llu is not a finite number", (unsigned long long)i);
          sql_vector_free(out);
          return SQLITE_ERROR;
        }
      return SQLITE_OK;
    }
    case SQLITE_TEXT: {
      const char *text = (const char *)sqlite3_value_text(v);
      return text ? parse_json_vector(text, out, err) : SQLITE_NOMEM;
    }
    case SQLITE_NULL:
      *err = sqlite3_mprintf("the vector is NULL");
      return SQLITE_ERROR;
    default:
      *err = sqlite3_mprintf("a vector must be a float32 BLOB or a JSON array, "
                             "not a number");
      return SQLITE_ERROR;
  }
}

/* A number, or text SQLite reads losslessly as one (a table filled by the
** shell's .import holds text). */
int sql_number_from_value(sqlite3_value *v, double *out) {
  int type = sqlite3_value_type(v);
  if (type == SQLITE_TEXT) type = sqlite3_value_numeric_type(v);
  if (type != SQLITE_INTEGER && type != SQLITE_FLOAT) return 0;
  *out = sqlite3_value_double(v);
  return isfinite(*out) && fabs(*out) <= 3.4e38;
}

void sql_result_json(sqlite3_context *ctx, sqlite3_str *s) {
  char *json = sqlite3_str_finish(s);
  if (!json) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, json, -1, sqlite3_free);
  sqlite3_result_subtype(ctx, JSON_SUBTYPE);
}

void sql_result_vector(sqlite3_context *ctx, const float *x, uint32_t n) {
  size_t bytes = (size_t)n * 4;
  unsigned char *p = sqlite3_malloc64(bytes ? bytes : 1);
  if (!p) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if (host_little_endian()) {
    memcpy(p, x, bytes);
  } else {
    for (uint32_t i = 0; i < n; i++) {
      uint32_t u;
      memcpy(&u, &x[i], 4);
      for (int b = 0; b < 4; b++) p[4 * i + b] = (unsigned char)(u >> (8 * b));
    }
  }
  sqlite3_result_blob64(ctx, p, bytes, sqlite3_free);
  sqlite3_result_subtype(ctx, VECTOR_SUBTYPE);
}

/* ---- rbm_vector_u8 --------------------------------------------------------- */

static void u8_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  double scale = 1.0 / 255;
  if (sqlite3_value_type(argv[0]) != SQLITE_BLOB) {
    sql_result_error(ctx, "rbm_vector_u8", SQLITE_MISUSE,
                     sql_errorf("bytes must be a BLOB"));
    return;
  }
  if (argc > 1 && !sql_number_from_value(argv[1], &scale)) {
    sql_result_error(ctx, "rbm_vector_u8", SQLITE_MISUSE,
                     sql_errorf("scale must be a finite number"));
    return;
  }
  int n = sqlite3_value_bytes(argv[0]);
  const unsigned char *p = sqlite3_value_blob(argv[0]);
  float *x = malloc(((size_t)n ? (size_t)n : 1) * sizeof *x);
  if (!x) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  for (int i = 0; i < n; i++) x[i] = (float)(p[i] * scale);
  sql_result_vector(ctx, x, (uint32_t)n);
  free(x);
}

/* ---- rbm_vector_to_json ---------------------------------------------------- */

static void to_json_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  sql_vector v;
  char *err = NULL;
  int rc = sql_vector_from_value(argv[0], &v, &err);
  if (rc != SQLITE_OK) {
    sql_result_error(ctx, "rbm_vector_to_json", rc, err);
    return;
  }
  sqlite3_str *s = sqlite3_str_new(NULL);
  sqlite3_str_appendchar(s, 1, '[');
  for (uint32_t i = 0; i < v.n; i++)
    sqlite3_str_appendf(s, "%s%!.9g", i ? "," : "", (double)v.x[i]);
  sqlite3_str_appendchar(s, 1, ']');
  sql_vector_free(&v);
  sql_result_json(ctx, s);
}

/* ---- rbm_vector_agg -------------------------------------------------------- */

#define AGG_MAX_LENGTH (1u << 24)

typedef struct vector_agg {
  float *x;
  uint8_t *seen;
  uint32_t cap, n;   /* n: the length given, or 0 */
  uint32_t top;      /* largest index + 1 */
  char *err;
  int rc;
} vector_agg;

static int agg_grow(vector_agg *a, uint32_t want) {
  if (want <= a->cap) return 1;
  uint32_t cap = a->cap ? a->cap : 64;
  while (cap < want) cap *= 2;
  float *x = realloc(a->x, cap * sizeof *x);
  if (x) a->x = x;
  uint8_t *seen = realloc(a->seen, cap);
  if (seen) a->seen = seen;
  if (!x || !seen) return 0;
  memset(a->x + a->cap, 0, (cap - a->cap) * sizeof *x);
  memset(a->seen + a->cap, 0, cap - a->cap);
  a->cap = cap;
  return 1;
}

static void agg_step(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  vector_agg *a = sqlite3_aggregate_context(ctx, sizeof *a);
  if (!a || a->rc) return;
  double value;
  if (argc > 2) {
    sqlite3_int64 n = sqlite3_value_int64(argv[2]);
    if (sqlite3_value_type(argv[2]) != SQLITE_INTEGER || n < 1 || n > AGG_MAX_LENGTH) {
      a->err = sql_errorf("n must be an integer from 1 to %u", AGG_MAX_LENGTH);
      a->rc = SQLITE_MISUSE;
      return;
    }
    if (a->n && (uint32_t)n != a->n) {
      a->err = sql_errorf("n must be the same on every row of a group");
      a->rc = SQLITE_MISUSE;
      return;
    }
    a->n = (uint32_t)n;
  }
  sqlite3_int64 i = sqlite3_value_int64(argv[0]);
  uint32_t limit = a->n ? a->n : AGG_MAX_LENGTH;
  if (sqlite3_value_type(argv[0]) != SQLITE_INTEGER || i < 0 || i >= limit) {
    a->err = sql_errorf("index must be an integer from 0 to %u", limit - 1);
    a->rc = SQLITE_MISUSE;
    return;
  }
  if (!sql_number_from_value(argv[1], &value)) {
    a->err = sql_errorf("the value at index %lld is not a finite number", i);
    a->rc = SQLITE_MISUSE;
    return;
  }
  if (!agg_grow(a, (uint32_t)i + 1)) {
    a->rc = SQLITE_NOMEM;
    return;
  }
  if (a->seen[i]) {
    a->err = sql_errorf("index %lld is given twice", i);
    a->rc = SQLITE_MISUSE;
    return;
  }
  a->seen[i] = 1;
  a->x[i] = (float)value;
  if ((uint32_t)i + 1 > a->top) a->top = (uint32_t)i + 1;
}

static void agg_final(sqlite3_context *ctx) {
  vector_agg *a = sqlite3_aggregate_context(ctx, 0);
  if (!a) {  /* no rows */
    sqlite3_result_null(ctx);
    return;
  }
  if (a->rc) {
    sql_result_error(ctx, "rbm_vector_agg", a->rc, a->err);
  } else {
    uint32_t n = a->n ? a->n : a->top;
    if (!agg_grow(a, n)) {
      sqlite3_result_error_nomem(ctx);
    } else {
      sql_result_vector(ctx, a->x, n);
    }
  }
  free(a->x);
  free(a->seen);
}

int sql_register_vectors(sqlite3 *db) {
  int rc = SQLITE_OK;
  for (int n = 1; rc == SQLITE_OK && n <= 2; n++)
    rc = sqlite3_create_function(db, "rbm_vector_u8", n,
                                 SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS |
                                     RESULT_SUBTYPE,
                                 NULL, u8_func, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function(
        db, "rbm_vector_to_json", 1,
        SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS | RESULT_SUBTYPE, NULL,
        to_json_func, NULL, NULL);
  for (int n = 2; rc == SQLITE_OK && n <= 3; n++)
    rc = sqlite3_create_function(db, "rbm_vector_agg", n,
                                 SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS |
                                     RESULT_SUBTYPE,
                                 NULL, NULL, agg_step, agg_final);
  return rc;
}
