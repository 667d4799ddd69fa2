/*
** chart.c -- SVG charts from "label value" lines, for bench/run.sh.
**
**   dist/chart bars  [options] < figures > chart.svg
**   dist/chart lines [options] < figures > chart.svg
**
** Input, one item a line:
**   label value     a bar, or a point (lines: the label is the x); the
**                   value is the last field, the label what comes before
**   [title]         starts a group of bars, or a line (its legend);
**   [title | note]  a group with a note on the right ("23.3x faster")
**   # ...           a comment; blank lines are skipped too
**
** Options: --title T, --subtitle S, --x-label X, --y-label Y,
** --unit U (after each bar's value: "0.194 s"), --zero (lines: both axes
** from 0).  Bars take a colour per first word of their label, in order of
** appearance ("rbm, 1 thread" and "rbm, 2 threads" share one); lines one
** per line.  The drawing is ext/svg_chart.c's, as rbm_plot's is.
*/
#include "../ext/svg_chart.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS 4096

typedef struct item {
  char *label;
  double value;
  char *value_text;
  int group;
} item;

typedef struct group {
  char *title, *note;
} group;

static item items[MAX_ITEMS];
static group groups[MAX_ITEMS];
static int n_items, n_groups;

static void die(const char *what, int line) {
  if (line)
    fprintf(stderr, "chart: line %d: %s\n", line, what);
  else
    fprintf(stderr, "chart: %s\n", what);
  exit(1);
}

static char *copy(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (!p) die("out of memory", 0);
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n && strchr(" \t\r\n", s[n - 1])) s[--n] = 0;
  return s;
}

static void read_input(FILE *in) {
  char line[4096];
  int no = 0;
  while (fgets(line, sizeof line, in)) {
    no++;
    char *s = trim(line);
    if (!*s || *s == '#') continue;
    if (n_items == MAX_ITEMS || n_groups == MAX_ITEMS) die("too many lines", no);
    if (*s == '[') {
      char *end = strrchr(s, ']');
      if (!end) die("a group is written [title] or [title | note]", no);
      *end = 0;
      char *bar = strchr(s + 1, '|');
      if (bar) *bar = 0;
      groups[n_groups].title = copy(trim(s + 1), strlen(trim(s + 1)));
      groups[n_groups].note = bar ? copy(trim(bar + 1), strlen(trim(bar + 1))) : NULL;
      n_groups++;
      continue;
    }
    char *sp = strrchr(s, ' '), *tab = strrchr(s, '\t');
    if (tab > sp) sp = tab;
    if (!sp) die("expected: label value", no);
    char *end;
    double v = strtod(sp + 1, &end);
    if (*end || end == sp + 1 || !isfinite(v)) die("the value (the last field) is not a number", no);
    *sp = 0;
    char *label = trim(s);
    if (!n_groups) {  /* items before any [group] get an untitled one */
      groups[0].title = copy("", 0);
      n_groups = 1;
    }
    items[n_items].label = copy(label, strlen(label));
    items[n_items].value = v;
    items[n_items].value_text = copy(sp + 1, strlen(sp + 1));
    items[n_items].group = n_groups - 1;
    n_items++;
  }
}

int main(int argc, char **argv) {
  if (argc < 2 || (strcmp(argv[1], "bars") && strcmp(argv[1], "lines"))) {
    fprintf(stderr, "usage: chart bars|lines [--title T] [--subtitle S] [--x-label X]"
                    " [--y-label Y] [--unit U] [--zero] < figures > chart.svg\n");
    return 2;
  }
  int bars = !strcmp(argv[1], "bars"), zero = 0;
  const char *title = "", *subtitle = NULL, *x_label = "", *y_label = "", *unit = NULL;
  for (int i = 2; i < argc; i++) {
    const char **opt = !strcmp(argv[i], "--title")      ? &title
                       : !strcmp(argv[i], "--subtitle") ? &subtitle
                       : !strcmp(argv[i], "--x-label")  ? &x_label
                       : !strcmp(argv[i], "--y-label")  ? &y_label
                       : !strcmp(argv[i], "--unit")     ? &unit
                                                        : NULL;
    if (!strcmp(argv[i], "--zero")) {
      zero = 1;
    } else if (opt && i + 1 < argc) {
      *opt = argv[++i];
    } else {
      fprintf(stderr, "chart: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  read_input(stdin);

  char *svg;
  if (bars) {
    static svg_bar bar[MAX_ITEMS];
    static svg_bar_group grp[MAX_ITEMS];
    static char *first_words[MAX_ITEMS];
    int n_words = 0;
    for (int i = 0; i < n_items; i++) {
      size_t w = strcspn(items[i].label, " ,\t");
      int c = 0;
      while (c < n_words && (strlen(first_words[c]) != w ||
                             strncmp(first_words[c], items[i].label, w)))
        c++;
      if (c == n_words) first_words[n_words++] = copy(items[i].label, w);
      char *text = items[i].value_text;
      if (unit) {
        text = malloc(strlen(items[i].value_text) + strlen(unit) + 2);
        if (!text) die("out of memory", 0);
        sprintf(text, "%s %s", items[i].value_text, unit);
      }
      bar[i] = (svg_bar){items[i].label, items[i].value, text, c};
    }
    int g = 0;
    for (int i = 0; i < n_items;) {
      int j = i;
      while (j < n_items && items[j].group == items[i].group) j++;
      grp[g++] = (svg_bar_group){groups[items[i].group].title,
                                 groups[items[i].group].note, &bar[i], j - i};
      i = j;
    }
    svg_bars chart = {title, subtitle, x_label, grp, g};
    svg = svg_bars_render(&chart);
  } else {
    static double x[MAX_ITEMS], y[MAX_ITEMS];
    static svg_series series[MAX_ITEMS];
    int n = 0;
    for (int i = 0; i < n_items;) {
      int j = i;
      while (j < n_items && items[j].group == items[i].group) {
        char *end;
        x[j] = strtod(items[j].label, &end);
        if (*end || end == items[j].label) die("a point is written: x y", 0);
        y[j] = items[j].value;
        j++;
      }
      series[n] = (svg_series){groups[items[i].group].title, &x[i], &y[i],
                               (size_t)(j - i), n, 0};
      n++;
      i = j;
    }
    svg_lines chart = {title, subtitle, x_label, y_label, series, n,
                       0, zero, zero, NAN, NULL, -1, "no figures"};
    svg = svg_lines_render(&chart);
  }
  if (!svg) die("out of memory", 0);
  fputs(svg, stdout);
  free(svg);
  return ferror(stdout) ? 1 : 0;
}
