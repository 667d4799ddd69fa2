/*
** svg_chart.h -- small SVG charts: lines over a numeric x axis, and groups
** of horizontal bars.  Used by rbm_plot (sql_plot.c) and by the bench's
** chart generator (bench/chart.c); knows nothing of SQLite.
**
** The output is a standalone SVG document (UTF-8, the SVG namespace, a
** viewBox), the same bytes for the same input: numbers are written by
** integer arithmetic, never by printf, so no locale can turn a decimal
** point into a comma.  Text is escaped for XML, and bytes that are not
** UTF-8, or characters XML does not allow, become U+FFFD.
*/
#ifndef SVG_CHART_H
#define SVG_CHART_H

#include <stddef.h>

/* The palette (Okabe & Ito's, distinguishable with every common colour
** vision deficiency): blue, vermillion, bluish green, orange, reddish
** purple, sky blue, yellow, grey.  Colours are indexes into it. */
#define SVG_COLOURS 8

/* One line: n points; a point whose x or y is not finite is left out and
** breaks the line there. */
typedef struct svg_series {
  const char *label;          /* in the legend */
  const double *x, *y;
  size_t n;
  int colour;
  int dash;                   /* 0 solid, 1 dashed, 2 dotted */
} svg_series;

typedef struct svg_lines {
  const char *title;          /* bold, top left */
  const char *subtitle;       /* under it, or NULL */
  const char *x_label, *y_label;
  const svg_series *series;
  int n_series;
  int x_integers;             /* x ticks on whole numbers only */
  int x_from_zero, y_from_zero;  /* the axis starts at 0 (or below) */
  double mark_x;              /* a vertical marker at this x; NaN: none */
  const char *mark_label;     /* its text, by the marker's top */
  int mark_series;            /* the series whose point at mark_x is ringed, or -1 */
  const char *empty_note;     /* shown in the plot when there is nothing to draw */
} svg_lines;

/* The chart as an SVG document: malloc'd, NULL when out of memory. */
char *svg_lines_render(const svg_lines *c);

typedef struct svg_bar {
  const char *label;          /* left of the bar */
  double value;               /* its length, from 0 */
  const char *value_text;     /* after the bar (e.g. "0.194 s") */
  int colour;
} svg_bar;

typedef struct svg_bar_group {
  const char *title;          /* above the group's bars */
  const char *note;           /* right-aligned on the title's line, or NULL */
  const svg_bar *bar;
  int n_bars;
} svg_bar_group;

typedef struct svg_bars {
  const char *title, *subtitle;
  const char *x_label;        /* under the shared value axis */
  const svg_bar_group *group;
  int n_groups;
} svg_bars;

/* Horizontal bars on one value axis from 0, in groups; the height follows
** the number of bars.  Malloc'd, NULL when out of memory. */
char *svg_bars_render(const svg_bars *c);

#endif
