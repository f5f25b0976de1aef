/* report_html.c - --report FILE.html: the text report in a self-contained
 * page (no scripts, no network) with two plots drawn as inline SVG from
 * the allocate pass's record (qcc.allocation, see passes/allocate.c):
 * bits per weight of every layer, and the size/error frontier the solver
 * explored with the chosen point marked. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static void html_text(FILE *f, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '<') fputs("&lt;", f);
    else if (s[i] == '>') fputs("&gt;", f);
    else if (s[i] == '&') fputs("&amp;", f);
    else fputc(s[i], f);
  }
}

static MlirAttribute get(MlirAttribute d, const char *name) {
  return mlirDictionaryAttrGetElementByName(d, mlirStringRefCreateFromCString(name));
}

enum { W = 760, H = 260, PAD = 48 };

/* One bar per layer: its bits per weight (0 for weightless layers). */
static void bits_plot(FILE *f, MlirAttribute rows) {
  intptr_t n = mlirArrayAttrGetNumElements(rows);
  double top = 8;
  for (intptr_t i = 0; i < n; i++) {
    MlirAttribute r = mlirArrayAttrGetElement(rows, i);
    int64_t w = mlirIntegerAttrGetValueInt(get(r, "weights"));
    double b = w ? (double)mlirIntegerAttrGetValueInt(get(r, "bits")) / (double)w : 0;
    top = b > top ? b : top;
  }
  fprintf(f, "<h2>Bits per weight, by layer</h2>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">\n", W, H);
  fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", PAD, H - PAD, W - 8, H - PAD);
  for (int t = 0; t <= (int)top; t += 4)
    fprintf(f, "<text x=\"4\" y=\"%.1f\" font-size=\"11\">%d</text>\n", H - PAD - (H - 2 * PAD) * t / top + 4, t);
  double bw = n ? (double)(W - PAD - 8) / (double)n : 0;
  for (intptr_t i = 0; i < n; i++) {
    MlirAttribute r = mlirArrayAttrGetElement(rows, i);
    int64_t w = mlirIntegerAttrGetValueInt(get(r, "weights"));
    double b = w ? (double)mlirIntegerAttrGetValueInt(get(r, "bits")) / (double)w : 0, h = (H - 2 * PAD) * b / top;
    MlirStringRef layer = mlirStringAttrGetValue(get(r, "layer")), sch = mlirStringAttrGetValue(get(r, "scheme"));
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#4a7ab5\"><title>", PAD + i * bw,
            H - PAD - h, bw * 0.8, h);
    html_text(f, layer.data, layer.length);
    fprintf(f, ": %.*s, %.2f bits</title></rect>\n", (int)sch.length, sch.data, b);
  }
  fprintf(f, "</svg>\n");
}

/* The frontier: average bits (x) against predicted output error (y, log). */
static void frontier_plot(FILE *f, MlirAttribute al, double weights) {
  MlirAttribute fb = get(al, "frontier_bits"), fc = get(al, "frontier_cost");
  intptr_t n = mlirArrayAttrGetNumElements(fb);
  if (n < 2) return;
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (intptr_t i = 0; i < n; i++) {
    double x = (double)mlirIntegerAttrGetValueInt(mlirArrayAttrGetElement(fb, i)) / weights;
    double y = log10(fmax(mlirFloatAttrGetValueDouble(mlirArrayAttrGetElement(fc, i)), 1e-12));
    x0 = fmin(x0, x), x1 = fmax(x1, x), y0 = fmin(y0, y), y1 = fmax(y1, y);
  }
  if (x1 <= x0) x1 = x0 + 1;
  if (y1 <= y0) y1 = y0 + 1;
#define PX(x) (PAD + (W - PAD - 8) * ((x) - x0) / (x1 - x0))
#define PY(y) (H - PAD - (H - 2 * PAD) * ((y) - y0) / (y1 - y0))
  fprintf(f, "<h2>Size against predicted output error (log10), the solver's frontier</h2>\n"
             "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">\n<polyline fill=\"none\" "
             "stroke=\"#b54a4a\" points=\"", W, H);
  for (intptr_t i = 0; i < n; i++) {
    double x = (double)mlirIntegerAttrGetValueInt(mlirArrayAttrGetElement(fb, i)) / weights;
    double y = log10(fmax(mlirFloatAttrGetValueDouble(mlirArrayAttrGetElement(fc, i)), 1e-12));
    fprintf(f, "%.1f,%.1f ", PX(x), PY(y));
  }
  double cx = (double)mlirIntegerAttrGetValueInt(get(al, "bits")) / weights;
  double cy = log10(fmax(mlirFloatAttrGetValueDouble(get(al, "cost")), 1e-12));
  fprintf(f, "\"/>\n<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"#222\"><title>chosen: %.3f bits per weight</title>"
             "</circle>\n", PX(cx), PY(cy), cx);
  fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\">%.2f bits</text><text x=\"%d\" y=\"%d\" font-size=\"11\">%.2f "
             "bits</text>\n<text x=\"4\" y=\"%d\" font-size=\"11\">1e%.1f</text><text x=\"4\" y=\"%d\" "
             "font-size=\"11\">1e%.1f</text>\n</svg>\n",
          PAD, H - PAD + 16, x0, W - 60, H - PAD + 16, x1, PAD, y1, H - PAD, y0);
#undef PX
#undef PY
}

int qcc_write_report_html(FILE *f, const char *text, size_t text_len, MlirOperation func) {
  fprintf(f, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>qcc report</title></head>\n<body "
             "style=\"font-family: sans-serif\">\n<h1>qcc quantization report</h1>\n");
  MlirAttribute al = mlirOperationGetAttributeByName(func, mlirStringRefCreateFromCString("qcc.allocation"));
  if (!mlirAttributeIsNull(al)) {
    double weights = (double)mlirIntegerAttrGetValueInt(get(al, "weights"));
    bits_plot(f, get(al, "layers"));
    frontier_plot(f, al, weights > 0 ? weights : 1);
  }
  fprintf(f, "<h2>Layers</h2>\n<pre>");
  html_text(f, text, text_len);
  fprintf(f, "</pre>\n</body></html>\n");
  return ferror(f) ? -1 : 0;
}
