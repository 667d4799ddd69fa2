/*
** svg_chart.c -- small SVG charts (see svg_chart.h): a line chart for
** rbm_plot's training curves, and grouped horizontal bars for the bench.
**
** Everything is laid out on a fixed 640-unit-wide canvas with a viewBox,
** so the picture scales; axes get "nice" ticks (steps of 1, 2 or 5 times
** a power of ten, every label with the same number of decimals); the
** background is white, so the charts read the same on a dark page.  Text
** widths are estimated (0.6 em a character), which is enough to place the
** legend and the margins: every label we measure is ours or short.
*/
#include "svg_chart.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH 640
#define FONT "Helvetica, Arial, 'DejaVu Sans', 'Liberation Sans', sans-serif"

static const char *const PALETTE[SVG_COLOURS] = {
    "#0072B2", "#D55E00", "#009E73", "#E69F00",
    "#CC79A7", "#56B4E9", "#F0E442", "#777777"};

static const char *colour(int i) {
  return PALETTE[(i % SVG_COLOURS + SVG_COLOURS) % SVG_COLOURS];
}

/* ---- output ------------------------------------------------------------- */

typedef struct buf {
  char *p;
  size_t n, cap;
  int failed;
} buf;

static void put_n(buf *b, const char *s, size_t n) {
  if (b->failed) return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->failed = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}

static void put(buf *b, const char *s) { put_n(b, s, strlen(s)); }

static void put_int(buf *b, long long v) {
  char tmp[24];
  int i = sizeof tmp;
  unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  do {
    tmp[--i] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) tmp[--i] = '-';
  put_n(b, tmp + i, sizeof tmp - i);
}

/* v with at most `decimals` decimals, trailing zeros dropped: "12.5", "40". */
static void put_num(buf *b, double v, int decimals) {
  long long scale = 1;
  for (int i = 0; i < decimals; i++) scale *= 10;
  double r = isfinite(v) ? round(v * (double)scale) : 0;
  if (r > 9e15) r = 9e15;
  if (r < -9e15) r = -9e15;
  long long q = (long long)r;
  if (q < 0) {
    put(b, "-");
    q = -q;
  }
  put_int(b, q / scale);
  long long f = q % scale;
  if (!f) return;
  char digits[24];
  int n = decimals;
  for (int i = n - 1; i >= 0; i--, f /= 10) digits[i] = (char)('0' + f % 10);
  while (n > 0 && digits[n - 1] == '0') n--;
  put(b, ".");
  put_n(b, digits, (size_t)n);
}

/* A coordinate: one decimal. */
static void put_xy(buf *b, double x, double y) {
  put_num(b, x, 1);
  put(b, ",");
  put_num(b, y, 1);
}

/* name="v" with v a coordinate. */
static void attr(buf *b, const char *name, double v) {
  put(b, " ");
  put(b, name);
  put(b, "=\"");
  put_num(b, v, 1);
  put(b, "\"");
}

/* The next character of s (valid UTF-8, allowed in XML 1.0) into *cp;
** returns its length in bytes, or 0 with *cp = 0xFFFD for a byte that does
** not start one (skip that byte). */
static int next_char(const unsigned char *s, uint32_t *cp) {
  unsigned c = s[0];
  int len;
  uint32_t v, min;
  if (c < 0x80) {
    *cp = c;
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
      *cp = 0xFFFD;
      return 0;
    }
    return 1;
  } else if (c >= 0xC2 && c <= 0xDF) {
    len = 2, v = c & 0x1F, min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3, v = c & 0x0F, min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4, v = c & 0x07, min = 0x10000;
  } else {
    *cp = 0xFFFD;
    return 0;
  }
  for (int i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) {
      *cp = 0xFFFD;
      return 0;
    }
    v = v << 6 | (s[i] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || v == 0xFFFE ||
      v == 0xFFFF) {
    *cp = 0xFFFD;
    return 0;
  }
  *cp = v;
  return len;
}

/* How wide a character is, in units of an average Latin letter: 2 for the
** East Asian wide ranges and emoji, 1 for the rest. */
static size_t char_units(uint32_t cp) {
  return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                 (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                 (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                 (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1FAFF) ||
                 (cp >= 0x20000 && cp <= 0x3FFFD)
             ? 2
             : 1;
}

/* The width of text in those units, as put_text writes it. */
static size_t text_units(const char *text) {
  const unsigned char *s = (const unsigned char *)(text ? text : "");
  size_t n = 0;
  while (*s) {
    uint32_t cp;
    int len = next_char(s, &cp);
    s += len ? len : 1;
    n += char_units(cp);
  }
  return n;
}

/* text as XML character data (fit for attributes too); text wider than
** max_units is cut, with an ellipsis. */
static void put_text(buf *b, const char *text, size_t max_units) {
  const unsigned char *s = (const unsigned char *)(text ? text : "");
  int cut = text_units(text) > max_units;
  size_t units = 0;
  while (*s) {
    uint32_t cp;
    int len = next_char(s, &cp);
    units += char_units(cp);
    if (cut && units + 1 > max_units) {
      put(b, "\xE2\x80\xA6");  /* U+2026 */
      return;
    }
    if (len == 0) {
      put(b, "\xEF\xBF\xBD");  /* U+FFFD */
      s++;
      continue;
    }
    switch (cp) {
      case '&': put(b, "&amp;"); break;
      case '<': put(b, "&lt;"); break;
      case '>': put(b, "&gt;"); break;
      case '"': put(b, "&quot;"); break;
      case '\'': put(b, "&#39;"); break;
      case '\t': case '\n': case '\r': put(b, " "); break;
      default: put_n(b, (const char *)s, (size_t)len);
    }
    s += len;
  }
}

/* Estimated width of text at font size px. */
static double text_width(const char *text, double px) {
  return 0.6 * px * (double)text_units(text);
}

/* <text x y (extra)>text</text>, cut to max_units. */
static void text_at(buf *b, double x, double y, const char *extra,
                    const char *text, size_t max_units) {
  put(b, "<text");
  attr(b, "x", x);
  attr(b, "y", y);
  if (extra) {
    put(b, " ");
    put(b, extra);
  }
  put(b, ">");
  put_text(b, text, max_units);
  put(b, "</text>\n");
}

static void open_svg(buf *b, int height, const char *title, const char *subtitle) {
  put(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"");
  put_int(b, WIDTH);
  put(b, "\" height=\"");
  put_int(b, height);
  put(b, "\" viewBox=\"0 0 ");
  put_int(b, WIDTH);
  put(b, " ");
  put_int(b, height);
  put(b, "\" role=\"img\" font-family=\"" FONT "\" font-size=\"12\">\n<title>");
  put_text(b, title, 200);
  if (subtitle && *subtitle) {
    put(b, " (");
    put_text(b, subtitle, 200);
    put(b, ")");
  }
  put(b, "</title>\n<rect width=\"");
  put_int(b, WIDTH);
  put(b, "\" height=\"");
  put_int(b, height);
  put(b, "\" fill=\"#ffffff\"/>\n");
  text_at(b, 16, 26, "font-size=\"16\" font-weight=\"bold\" fill=\"#222222\"", title, 60);
  if (subtitle && *subtitle)
    text_at(b, 16, 45, "fill=\"#555555\"", subtitle, 92);
}

static char *close_svg(buf *b) {
  put(b, "</svg>\n");
  if (b->failed) {
    free(b->p);
    return NULL;
  }
  return b->p;
}

/* ---- axes ---------------------------------------------------------------- */

/* An axis from lo to hi with ticks every step = mant * 10^exp, at
** k * step for k = k0 .. k1. */
typedef struct axis {
  double lo, hi, step;
  long long k0, k1;
  int mant, exp;
} axis;

/* Ticks for [lo, hi] (lo <= hi, finite): about `target` steps of 1, 2 or
** 5 times a power of ten, the ends extended to whole steps. */
static void nice_axis(axis *a, double lo, double hi, int target, int integers) {
  double big = fabs(lo) > fabs(hi) ? fabs(lo) : fabs(hi);
  double least = big * 1e-6 > 1e-9 ? big * 1e-6 : 1e-9;
  if (integers && least < 1) least = 1;
  if (hi - lo < least) {  /* flat: a band around it */
    double mid = (lo + hi) / 2, pad = big > 0 ? big * 0.1 : 1;
    if (pad < least) pad = least;
    if (integers) {
      lo = floor(mid - pad);
      hi = ceil(mid + pad);
    } else {
      lo = mid - pad;
      hi = mid + pad;
    }
  }
  double raw = (hi - lo) / target;
  int e = (int)floor(log10(raw));
  double m = raw / pow(10, e);
  int mant = m >= 7.071 ? 10 : m >= 3.162 ? 5 : m >= 1.414 ? 2 : 1;
  if (mant == 10) {
    mant = 1;
    e++;
  }
  if (integers && e < 0) {
    mant = 1;
    e = 0;
  }
  double step = mant * pow(10, e);
  a->mant = mant;
  a->exp = e;
  a->step = step;
  a->k0 = (long long)floor(lo / step + 1e-9);
  a->k1 = (long long)ceil(hi / step - 1e-9);
  if (a->k1 <= a->k0) a->k1 = a->k0 + 1;
  a->lo = (double)a->k0 * step;
  a->hi = (double)a->k1 * step;
}

/* Tick k's label: k * mant * 10^exp, written exactly, with the decimals
** the step has (0.5, 1.0, 1.5). */
static void put_tick(buf *b, const axis *a, long long k) {
  long long m = k * a->mant;
  if (a->exp >= 0) {
    if (m == 0) {
      put(b, "0");
      return;
    }
    put_int(b, m);
    if (a->exp <= 15) {
      for (int i = 0; i < a->exp; i++) put(b, "0");
    } else {
      put(b, "e");
      put_int(b, a->exp);
    }
    return;
  }
  int d = -a->exp;
  if (d > 18) d = 18;
  char digits[48];
  unsigned long long u = m < 0 ? 0ULL - (unsigned long long)m : (unsigned long long)m;
  int n = 0;
  do {
    digits[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u || n <= d);
  if (m < 0) put(b, "-");
  for (int i = n - 1; i >= 0; i--) {
    put_n(b, &digits[i], 1);
    if (i == d) put(b, ".");
  }
}

/* Characters of the widest tick label of a. */
static size_t tick_chars(const axis *a) {
  size_t w = 1;
  for (long long k = a->k0; k <= a->k1; k++) {
    buf t = {0};
    put_tick(&t, a, k);
    if (!t.failed && t.n > w) w = t.n;
    free(t.p);
  }
  return w;
}

static double scale(const axis *a, double v, double from, double to) {
  return from + (v - a->lo) / (a->hi - a->lo) * (to - from);
}

/* A 1-unit line on the pixel grid: x.5. */
static double crisp(double v) { return floor(v) + 0.5; }

/* ---- line chart ---------------------------------------------------------- */

#define PLOTTABLE 1e12  /* points beyond this are left out, as gaps */

static int usable(double x, double y) {
  return isfinite(x) && isfinite(y) && fabs(x) <= PLOTTABLE && fabs(y) <= PLOTTABLE;
}

static const char *DASH[] = {NULL, "7 4", "2 3"};

static void stroke_style(buf *b, const svg_series *s) {
  put(b, " fill=\"none\" stroke=\"");
  put(b, colour(s->colour));
  put(b, "\" stroke-width=\"2\" stroke-linejoin=\"round\" stroke-linecap=\"round\"");
  int d = s->dash >= 0 && s->dash <= 2 ? s->dash : 0;
  if (DASH[d]) {
    put(b, " stroke-dasharray=\"");
    put(b, DASH[d]);
    put(b, "\"");
  }
}

char *svg_lines_render(const svg_lines *c) {
  enum { HEIGHT = 360 };
  buf b = {0};
  open_svg(&b, HEIGHT, c->title, c->subtitle);

  /* The data's extent. */
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  size_t points = 0;
  for (int s = 0; s < c->n_series; s++)
    for (size_t i = 0; i < c->series[s].n; i++) {
      double x = c->series[s].x[i], y = c->series[s].y[i];
      if (!usable(x, y)) continue;
      points++;
      if (x < xlo) xlo = x;
      if (x > xhi) xhi = x;
      if (y < ylo) ylo = y;
      if (y > yhi) yhi = y;
    }
  if (!points) {
    xlo = 0, xhi = c->x_integers ? 10 : 1;
    ylo = 0, yhi = 1;
  }
  if (c->x_from_zero && xlo > 0) xlo = 0;
  if (c->y_from_zero && ylo > 0) ylo = 0;
  if (c->x_integers && xhi - xlo < 2) xhi = xlo + 2;
  axis ax, ay;
  nice_axis(&ax, xlo, xhi, 6, c->x_integers);
  nice_axis(&ay, ylo, yhi, 5, 0);
  if (points) {  /* no point on the frame: a data end on a tick gets room */
    double span = ay.hi - ay.lo, lo = ylo, hi = yhi;
    if (ylo - ay.lo < 0.02 * span && !(c->y_from_zero && ay.lo == 0)) lo -= 0.05 * span;
    if (ay.hi - yhi < 0.02 * span) hi += 0.05 * span;
    if (lo != ylo || hi != yhi) nice_axis(&ay, lo, hi, 5, 0);
  }

  /* The legend, in rows under the titles. */
  double left = 34 + 0.6 * 11 * (double)tick_chars(&ay) + 10;
  double right = WIDTH - 24;
  double y = c->subtitle && *c->subtitle ? 66 : 50;
  double lx = 16;
  if (c->n_series > 0) {
    for (int s = 0; s < c->n_series; s++) {
      double w = 28 + 0.55 * 12 * (double)text_units(c->series[s].label) + 20;
      if (lx > 16 && lx + w > right) {
        lx = 16;
        y += 18;
      }
      put(&b, "<line");
      attr(&b, "x1", lx);
      attr(&b, "y1", y - 4);
      attr(&b, "x2", lx + 22);
      attr(&b, "y2", y - 4);
      stroke_style(&b, &c->series[s]);
      put(&b, "/>\n");
      text_at(&b, lx + 28, y, "fill=\"#333333\"", c->series[s].label, 80);
      lx += w;
    }
    y += 14;
  }
  double top = y, bottom = HEIGHT - 48;

  /* Grid, axes, ticks. */
  put(&b, "<g stroke=\"#e4e4e4\" stroke-width=\"1\">\n");
  for (long long k = ay.k0; k <= ay.k1; k++) {
    double py = crisp(scale(&ay, (double)k * ay.step, bottom, top));
    put(&b, "<line");
    attr(&b, "x1", left);
    attr(&b, "y1", py);
    attr(&b, "x2", right);
    attr(&b, "y2", py);
    put(&b, "/>\n");
  }
  put(&b, "</g>\n<g fill=\"#444444\" font-size=\"11\" text-anchor=\"end\">\n");
  for (long long k = ay.k0; k <= ay.k1; k++) {
    double py = scale(&ay, (double)k * ay.step, bottom, top);
    put(&b, "<text");
    attr(&b, "x", left - 8);
    attr(&b, "y", py + 4);
    put(&b, ">");
    put_tick(&b, &ay, k);
    put(&b, "</text>\n");
  }
  put(&b, "</g>\n<g stroke=\"#888888\" stroke-width=\"1\">\n");
  put(&b, "<line");
  attr(&b, "x1", left);
  attr(&b, "y1", crisp(bottom));
  attr(&b, "x2", right);
  attr(&b, "y2", crisp(bottom));
  put(&b, "/>\n");
  for (long long k = ax.k0; k <= ax.k1; k++) {
    double px = crisp(scale(&ax, (double)k * ax.step, left, right));
    put(&b, "<line");
    attr(&b, "x1", px);
    attr(&b, "y1", crisp(bottom));
    attr(&b, "x2", px);
    attr(&b, "y2", crisp(bottom) + 5);
    put(&b, "/>\n");
  }
  put(&b, "</g>\n<g fill=\"#444444\" font-size=\"11\" text-anchor=\"middle\">\n");
  for (long long k = ax.k0; k <= ax.k1; k++) {
    double px = scale(&ax, (double)k * ax.step, left, right);
    put(&b, "<text");
    attr(&b, "x", px);
    attr(&b, "y", bottom + 19);
    put(&b, ">");
    put_tick(&b, &ax, k);
    put(&b, "</text>\n");
  }
  put(&b, "</g>\n");
  text_at(&b, (left + right) / 2, HEIGHT - 12,
          "text-anchor=\"middle\" fill=\"#333333\"", c->x_label, 80);
  double mid = (top + bottom) / 2;
  put(&b, "<text x=\"18\"");
  attr(&b, "y", mid);
  put(&b, " transform=\"rotate(-90 18 ");
  put_num(&b, mid, 1);
  put(&b, ")\" text-anchor=\"middle\" fill=\"#333333\">");
  put_text(&b, c->y_label, 40);
  put(&b, "</text>\n");

  /* The marker, under the lines. */
  int marked = isfinite(c->mark_x) && c->mark_x >= ax.lo && c->mark_x <= ax.hi;
  double mx = marked ? scale(&ax, c->mark_x, left, right) : 0;
  if (marked) {
    put(&b, "<line");
    attr(&b, "x1", crisp(mx));
    attr(&b, "y1", top);
    attr(&b, "x2", crisp(mx));
    attr(&b, "y2", bottom);
    put(&b, " stroke=\"#555555\" stroke-width=\"1\" stroke-dasharray=\"3 3\"/>\n");
  }

  /* The lines: a polyline per run of usable points; a lone point, and
  ** every point of a short series, as a dot. */
  for (int s = 0; s < c->n_series; s++) {
    const svg_series *se = &c->series[s];
    size_t i = 0, shown = 0;
    for (size_t j = 0; j < se->n; j++) shown += usable(se->x[j], se->y[j]);
    int dots = shown <= 30;
    while (i < se->n) {
      while (i < se->n && !usable(se->x[i], se->y[i])) i++;
      size_t j = i;
      while (j < se->n && usable(se->x[j], se->y[j])) j++;
      if (j - i >= 2) {
        put(&b, "<polyline points=\"");
        for (size_t p = i; p < j; p++) {
          if (p > i) put(&b, " ");
          put_xy(&b, scale(&ax, se->x[p], left, right), scale(&ay, se->y[p], bottom, top));
        }
        put(&b, "\"");
        stroke_style(&b, se);
        put(&b, "/>\n");
      }
      if (j - i == 1 || dots) {
        for (size_t p = i; p < j; p++) {
          put(&b, "<circle");
          attr(&b, "cx", scale(&ax, se->x[p], left, right));
          attr(&b, "cy", scale(&ay, se->y[p], bottom, top));
          put(&b, " r=\"2.5\" fill=\"");
          put(&b, colour(se->colour));
          put(&b, "\"/>\n");
        }
      }
      i = j;
    }
  }

  if (marked) {
    if (c->mark_series >= 0 && c->mark_series < c->n_series) {
      const svg_series *se = &c->series[c->mark_series];
      for (size_t i = 0; i < se->n; i++) {
        if (se->x[i] != c->mark_x || !usable(se->x[i], se->y[i])) continue;
        put(&b, "<circle");
        attr(&b, "cx", mx);
        attr(&b, "cy", scale(&ay, se->y[i], bottom, top));
        put(&b, " r=\"5.5\" fill=\"none\" stroke=\"");
        put(&b, colour(se->colour));
        put(&b, "\" stroke-width=\"2\"/>\n");
        break;
      }
    }
    if (c->mark_label) {
      int on_left = mx > left + 0.7 * (right - left);
      text_at(&b, on_left ? mx - 5 : mx + 5, top + 12,
              on_left ? "text-anchor=\"end\" fill=\"#333333\" stroke=\"#ffffff\""
                        " stroke-width=\"3\" paint-order=\"stroke\""
                      : "fill=\"#333333\" stroke=\"#ffffff\" stroke-width=\"3\""
                        " paint-order=\"stroke\"",
              c->mark_label, 60);
    }
  }
  if (!points && c->empty_note)
    text_at(&b, (left + right) / 2, mid + 5,
            "text-anchor=\"middle\" font-size=\"13\" fill=\"#777777\"",
            c->empty_note, 80);
  return close_svg(&b);
}

/* ---- bar chart ------------------------------------------------------------ */

char *svg_bars_render(const svg_bars *c) {
  enum { BAR = 16, BAR_GAP = 6, GROUP_HEAD = 22, GROUP_GAP = 10 };
  double label_w = 60, value_w = 30, vmax = 0;
  int n_bars = 0;
  for (int g = 0; g < c->n_groups; g++)
    for (int i = 0; i < c->group[g].n_bars; i++) {
      const svg_bar *bar = &c->group[g].bar[i];
      double w = text_width(bar->label, 12);
      if (w > label_w) label_w = w;
      w = text_width(bar->value_text, 11);
      if (w > value_w) value_w = w;
      if (isfinite(bar->value) && bar->value <= PLOTTABLE && bar->value > vmax)
        vmax = bar->value;
      n_bars++;
    }
  if (label_w > 220) label_w = 220;
  double top = c->subtitle && *c->subtitle ? 64 : 48;
  double body = 0;
  for (int g = 0; g < c->n_groups; g++)
    body += GROUP_HEAD + c->group[g].n_bars * (BAR + BAR_GAP) + (g ? GROUP_GAP : 0);
  int height = (int)ceil(top + body + 50);

  buf b = {0};
  open_svg(&b, height, c->title, c->subtitle);
  double x0 = 16 + label_w + 10, x1 = WIDTH - 24 - value_w - 8;
  double bottom = top + body;
  axis av;
  nice_axis(&av, 0, vmax > 0 ? vmax : 1, 5, 0);

  put(&b, "<g stroke=\"#e4e4e4\" stroke-width=\"1\">\n");
  for (long long k = av.k0; k <= av.k1; k++) {
    double px = crisp(scale(&av, (double)k * av.step, x0, x1));
    put(&b, "<line");
    attr(&b, "x1", px);
    attr(&b, "y1", top);
    attr(&b, "x2", px);
    attr(&b, "y2", bottom);
    put(&b, "/>\n");
  }
  put(&b, "</g>\n<g fill=\"#444444\" font-size=\"11\" text-anchor=\"middle\">\n");
  for (long long k = av.k0; k <= av.k1; k++) {
    put(&b, "<text");
    attr(&b, "x", scale(&av, (double)k * av.step, x0, x1));
    attr(&b, "y", bottom + 16);
    put(&b, ">");
    put_tick(&b, &av, k);
    put(&b, "</text>\n");
  }
  put(&b, "</g>\n");
  put(&b, "<line");
  attr(&b, "x1", crisp(x0));
  attr(&b, "y1", top);
  attr(&b, "x2", crisp(x0));
  attr(&b, "y2", bottom);
  put(&b, " stroke=\"#888888\" stroke-width=\"1\"/>\n");
  text_at(&b, (x0 + x1) / 2, bottom + 36, "text-anchor=\"middle\" fill=\"#333333\"",
          c->x_label, 80);

  double y = top;
  for (int g = 0; g < c->n_groups; g++) {
    const svg_bar_group *gr = &c->group[g];
    if (g) y += GROUP_GAP;
    text_at(&b, 16, y + 15,
            "font-weight=\"bold\" fill=\"#222222\" stroke=\"#ffffff\""
            " stroke-width=\"3\" paint-order=\"stroke\"",
            gr->title, 84);
    if (gr->note && *gr->note)
      text_at(&b, WIDTH - 24, y + 15,
              "text-anchor=\"end\" font-weight=\"bold\" fill=\"#333333\" stroke=\"#ffffff\""
              " stroke-width=\"3\" paint-order=\"stroke\"",
              gr->note, 40);
    y += GROUP_HEAD;
    for (int i = 0; i < gr->n_bars; i++) {
      const svg_bar *bar = &gr->bar[i];
      double v = isfinite(bar->value) && bar->value > 0 ? bar->value : 0;
      if (v > av.hi) v = av.hi;
      double w = scale(&av, v, x0, x1) - x0;
      text_at(&b, x0 - 8, y + 12, "text-anchor=\"end\" fill=\"#333333\"", bar->label, 36);
      put(&b, "<rect");
      attr(&b, "x", x0);
      attr(&b, "y", y);
      attr(&b, "width", w);
      attr(&b, "height", BAR);
      put(&b, " fill=\"");
      put(&b, colour(bar->colour));
      put(&b, "\"/>\n");
      text_at(&b, x0 + w + 6, y + 12, "font-size=\"11\" fill=\"#333333\"",
              bar->value_text, 24);
      y += BAR + BAR_GAP;
    }
  }
  (void)n_bars;
  return close_svg(&b);
}
