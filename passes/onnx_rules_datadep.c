/* onnx_rules_datadep.c - the ops whose output SHAPE depends on their input
 * values: NonZero (how many elements are non-zero), Unique (how many
 * distinct values) and NonMaxSuppression (how many boxes survive).
 *
 * qcc's generated C has static shapes, so these ops are folded: their
 * inputs must be compile-time constants (initializers, values folded from
 * them, or graph inputs frozen with --bind), and the rule computes every
 * output here, exactly per the ONNX spec, as q.constant.  A run-time input
 * is refused with the node, the input and what would make it constant
 * (the conformance runner binds such inputs the same way). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_rules.h"
#include "qrt.h"

/* Input i, which decides the output shape by its values, as a constant. */
static bool data_input(onnx_node *n, int i, const char *what, qcc_array *out) {
  if (onnx_const_input(n, i, out)) return true;
  onnx_fail(n, "input %d (%s) must be a compile-time constant: the output shape depends on its run-time values "
               "(--bind NAME=FILE.npy makes a graph input constant)", i, what);
  return false;
}

/* An int64 constant result of the given shape; takes ownership of data. */
static MlirValue i64_result(onnx_node *n, int rank, const int64_t *dims, int64_t *data) {
  qcc_array a = {QRT_I64, rank, {0}, data, 0};
  memcpy(a.dims, dims, sizeof(int64_t) * (size_t)rank);
  a.nbytes = sizeof(int64_t) * (size_t)qcc_array_numel(&a);
  MlirValue v = onnx_constant(n, &a);
  free(data);
  return v;
}

static bool fits_fold(onnx_node *n, int64_t elems, size_t elem_size) {
  if (elems <= QCC_MAX_FOLD_BYTES / (int64_t)elem_size) return true;
  onnx_fail(n, "the result would exceed the %lld bytes qcc computes at compile time", (long long)QCC_MAX_FOLD_BYTES);
  return false;
}

static bool is_float_type(qrt_dtype t) { return t == QRT_F32 || t == QRT_F64 || t == QRT_F16 || t == QRT_BF16; }
static bool is_signed_type(qrt_dtype t) { return t == QRT_I8 || t == QRT_I16 || t == QRT_I32 || t == QRT_I64; }

static double float_at(qrt_dtype t, const void *p, int64_t i) {
  switch (t) {
  case QRT_F32: return ((const float *)p)[i];
  case QRT_F64: return ((const double *)p)[i];
  case QRT_F16: return qrt_f16_to_f32(((const uint16_t *)p)[i]);
  default: return qrt_bf16_to_f32(((const uint16_t *)p)[i]);
  }
}

/* Integers (and bool) widened without loss: signed to int64, unsigned to
 * uint64. */
static int64_t signed_at(qrt_dtype t, const void *p, int64_t i) {
  switch (t) {
  case QRT_I8: return ((const int8_t *)p)[i];
  case QRT_I16: return ((const int16_t *)p)[i];
  case QRT_I32: return ((const int32_t *)p)[i];
  default: return ((const int64_t *)p)[i];
  }
}

static uint64_t unsigned_at(qrt_dtype t, const void *p, int64_t i) {
  switch (t) {
  case QRT_U16: return ((const uint16_t *)p)[i];
  case QRT_U32: return ((const uint32_t *)p)[i];
  case QRT_U64: return ((const uint64_t *)p)[i];
  default: return ((const uint8_t *)p)[i]; /* u8, bool */
  }
}

/* ---- NonZero (opset 9, 13) ----------------------------------------------
 * int64 [rank, nnz]: the indices of the non-zero elements in row-major
 * order, one row per axis (numpy.nonzero).  NaN is non-zero, -0 is zero.
 * A scalar counts as a 1-D tensor of one element (numpy, ONNX's reference
 * runs numpy.nonzero). */
static bool nonzero_at(const qcc_array *x, int64_t i) {
  if (is_float_type(x->dtype)) {
    double v = float_at(x->dtype, x->data, i);
    return v != 0 || v != v;
  }
  size_t es = qcc_dtype_size(x->dtype);
  const unsigned char *b = (const unsigned char *)x->data + (size_t)i * es;
  for (size_t k = 0; k < es; k++)
    if (b[k]) return true;
  return false;
}

static int rule_nonzero(onnx_node *n, MlirValue *res) {
  qcc_shape xs;
  qcc_array x;
  if (!onnx_in_shape(n, 0, &xs)) return -1;
  if (xs.dtype == QRT_STRING || !qcc_dtype_size(xs.dtype))
    return onnx_fail(n, "element type %s is not supported", qcc_dtype_name(xs.dtype));
  if (!data_input(n, 0, "X", &x)) return -1;
  int rank = x.rank ? x.rank : 1;
  int64_t numel = qcc_array_numel(&x), nnz = 0;
  for (int64_t i = 0; i < numel; i++) nnz += nonzero_at(&x, i);
  if (!fits_fold(n, nnz * rank, sizeof(int64_t))) return qcc_array_free(&x), -1;
  int64_t *idx = malloc(sizeof(int64_t) * (size_t)(nnz * rank + 1)), k = 0;
  for (int64_t i = 0; i < numel; i++) {
    if (!nonzero_at(&x, i)) continue;
    int64_t rest = i;
    for (int d = rank - 1; d >= 0; d--) {
      int64_t dim = x.rank ? x.dims[d] : 1;
      idx[d * nnz + k] = rest % dim;
      rest /= dim;
    }
    k++;
  }
  qcc_array_free(&x);
  int64_t dims[2] = {rank, nnz};
  res[0] = i64_result(n, 2, dims, idx);
  return 0;
}

/* ---- Unique (opset 11) --------------------------------------------------
 * The distinct elements (no axis: of the flattened input) or distinct
 * slices along axis, as numpy.unique(x, True, True, True, axis) which
 * ONNX's reference runs: sorted=1 orders them ascending (slices compared
 * lexicographically in row-major order), sorted=0 by first occurrence.
 * Outputs: Y; indices (int64 [U]), each unique's first occurrence in X;
 * inverse_indices (int64, one per element or slice of X), its unique's
 * position in Y; counts (int64 [U]).  Floats compare by value: -0 equals
 * 0, NaNs equal each other and sort after every number (numpy's order). */
typedef struct slices {
  qrt_dtype t;
  const void *data;
  int64_t outer, count, inner; /* slice s: elements (o * count + s) * inner + i */
} slices;

static int cmp_elem(qrt_dtype t, const void *p, int64_t a, int64_t b) {
  if (is_float_type(t)) {
    double x = float_at(t, p, a), y = float_at(t, p, b);
    if (x != x || y != y) return (x != x) - (y != y); /* NaN last, NaNs equal */
    return (x > y) - (x < y);
  }
  if (is_signed_type(t)) {
    int64_t x = signed_at(t, p, a), y = signed_at(t, p, b);
    return (x > y) - (x < y);
  }
  uint64_t x = unsigned_at(t, p, a), y = unsigned_at(t, p, b);
  return (x > y) - (x < y);
}

static int cmp_slices(const slices *s, int64_t a, int64_t b) {
  for (int64_t o = 0; o < s->outer; o++)
    for (int64_t i = 0; i < s->inner; i++) {
      int c = cmp_elem(s->t, s->data, (o * s->count + a) * s->inner + i, (o * s->count + b) * s->inner + i);
      if (c) return c;
    }
  return 0;
}

/* Stable merge sort of slice numbers (equal slices keep X's order, so the
 * first of each run of equals is its first occurrence). */
static void sort_slices(const slices *s, int64_t *v, int64_t *tmp, int64_t len) {
  if (len < 2) return;
  int64_t h = len / 2, i = 0, j = h, k = 0;
  sort_slices(s, v, tmp, h);
  sort_slices(s, v + h, tmp, len - h);
  while (i < h && j < len) tmp[k++] = cmp_slices(s, v[j], v[i]) < 0 ? v[j++] : v[i++];
  while (i < h) tmp[k++] = v[i++];
  while (j < len) tmp[k++] = v[j++];
  memcpy(v, tmp, sizeof(int64_t) * (size_t)len);
}

static int rule_unique(onnx_node *n, MlirValue *res) {
  qcc_shape xs;
  qcc_array x;
  if (!onnx_in_shape(n, 0, &xs)) return -1;
  if (xs.dtype == QRT_STRING || !qcc_dtype_size(xs.dtype))
    return onnx_fail(n, "element type %s is not supported", qcc_dtype_name(xs.dtype));
  int64_t sorted = onnx_attr_int(n, "sorted", 1), axis = -1;
  if (sorted != 0 && sorted != 1) return onnx_fail(n, "sorted must be 0 or 1, not %lld", (long long)sorted);
  bool has_axis = onnx_has_attr(n, "axis");
  if (has_axis && !onnx_axis(n, onnx_attr_int(n, "axis", 0), xs.rank, &axis)) return -1;
  if (has_axis && xs.rank == 0) return onnx_fail(n, "axis is given but X is a scalar");
  if (n->failed || !data_input(n, 0, "X", &x)) return -1;

  slices s = {x.dtype, x.data, 1, qcc_array_numel(&x), 1};
  if (has_axis) {
    s.count = x.dims[axis];
    for (int d = 0; d < axis; d++) s.outer *= x.dims[d];
    for (int d = (int)axis + 1; d < x.rank; d++) s.inner *= x.dims[d];
  }
  int64_t m = s.count;
  int64_t *order = malloc(sizeof(int64_t) * (size_t)(m + 1)), *tmp = malloc(sizeof(int64_t) * (size_t)(m + 1));
  for (int64_t i = 0; i < m; i++) order[i] = i;
  sort_slices(&s, order, tmp, m);

  /* Runs of equal slices in sorted order: group g's first occurrence,
   * count, and every slice's group. */
  int64_t *first = malloc(sizeof(int64_t) * (size_t)(m + 1)), *count = malloc(sizeof(int64_t) * (size_t)(m + 1));
  int64_t *group = malloc(sizeof(int64_t) * (size_t)(m + 1)), u = 0;
  for (int64_t i = 0; i < m; i++) {
    if (i == 0 || cmp_slices(&s, order[i], first[u - 1])) first[u] = order[i], count[u++] = 0;
    count[u - 1]++;
    group[order[i]] = u - 1;
  }
  /* pos[g]: group g's place in Y (sorted: g itself; else by first
   * occurrence, which orders the groups' first slice numbers) */
  int64_t *pos = malloc(sizeof(int64_t) * (size_t)(u + 1));
  for (int64_t g = 0; g < u; g++) pos[g] = g;
  if (!sorted) {
    int64_t *by_first = malloc(sizeof(int64_t) * (size_t)(u + 1)), k = 0;
    for (int64_t i = 0; i < m; i++)
      if (first[group[i]] == i) by_first[k++] = group[i]; /* groups in order of first occurrence */
    for (int64_t r = 0; r < u; r++) pos[by_first[r]] = r;
    free(by_first);
  }
  int64_t *indices = malloc(sizeof(int64_t) * (size_t)(u + 1)), *counts = malloc(sizeof(int64_t) * (size_t)(u + 1));
  int64_t *inverse = malloc(sizeof(int64_t) * (size_t)(m + 1));
  for (int64_t g = 0; g < u; g++) indices[pos[g]] = first[g], counts[pos[g]] = count[g];
  for (int64_t i = 0; i < m; i++) inverse[i] = pos[group[i]];

  /* Y: the unique slices, each copied from its first occurrence */
  qcc_array y = {x.dtype, has_axis ? x.rank : 1, {0}, NULL, 0};
  if (has_axis) memcpy(y.dims, x.dims, sizeof y.dims), y.dims[axis] = u;
  else y.dims[0] = u;
  size_t es = qcc_dtype_size(x.dtype), run = es * (size_t)s.inner;
  y.nbytes = es * (size_t)qcc_array_numel(&y);
  y.data = malloc(y.nbytes + 1);
  for (int64_t o = 0; o < s.outer; o++)
    for (int64_t k = 0; k < u; k++)
      memcpy((char *)y.data + (size_t)(o * u + k) * run,
             (const char *)x.data + (size_t)(o * s.count + indices[k]) * run, run);
  res[0] = onnx_constant(n, &y);
  free(y.data);
  qcc_array_free(&x);
  int64_t du[1] = {u}, dm[1] = {m};
  res[1] = i64_result(n, 1, du, indices);
  res[2] = i64_result(n, 1, dm, inverse);
  res[3] = i64_result(n, 1, du, counts);
  free(order), free(tmp), free(first), free(count), free(group), free(pos);
  return 0;
}

/* ---- NonMaxSuppression (opset 10, 11) -----------------------------------
 * For each batch b and class c, the boxes whose score exceeds
 * score_threshold (when given), in order of decreasing score (equal scores:
 * lower box index first; NaN scores last), each kept unless its IoU with a
 * box already kept for (b, c) exceeds iou_threshold, until
 * max_output_boxes_per_class are kept (absent or <= 0: none).  Output
 * int64 [K, 3] rows (b, c, box), batches then classes, each in keeping
 * order.  Boxes are [y1, x1, y2, x2] with the corners in either order
 * (center_point_box=0) or [x_center, y_center, width, height] (1).  The
 * arithmetic is float, as ONNX Runtime and ONNX's reference do it: a box
 * pair with an empty intersection, or a box of zero area, never
 * suppresses. */
typedef struct box {
  float xmin, ymin, xmax, ymax;
} box;

static box box_at(const float *b, int64_t center) {
  box r;
  if (center) {
    float hw = b[2] / 2, hh = b[3] / 2;
    r.xmin = b[0] - hw, r.xmax = b[0] + hw, r.ymin = b[1] - hh, r.ymax = b[1] + hh;
  } else {
    r.ymin = fminf(b[0], b[2]), r.ymax = fmaxf(b[0], b[2]);
    r.xmin = fminf(b[1], b[3]), r.xmax = fmaxf(b[1], b[3]);
  }
  return r;
}

static bool suppresses(box a, box b, float iou_threshold) {
  float ix0 = fmaxf(a.xmin, b.xmin), ix1 = fminf(a.xmax, b.xmax);
  float iy0 = fmaxf(a.ymin, b.ymin), iy1 = fminf(a.ymax, b.ymax);
  if (ix1 <= ix0 || iy1 <= iy0) return false;
  float inter = (ix1 - ix0) * (iy1 - iy0);
  float area_a = (a.xmax - a.xmin) * (a.ymax - a.ymin), area_b = (b.xmax - b.xmin) * (b.ymax - b.ymin);
  float uni = area_a + area_b - inter;
  if (inter <= 0 || area_a <= 0 || area_b <= 0 || uni <= 0) return false;
  return inter / uni > iou_threshold;
}

typedef struct candidate {
  float score;
  int64_t index;
} candidate;

/* a before b: higher score, then lower index; NaN after numbers */
static int by_score(const void *pa, const void *pb) {
  const candidate *a = pa, *b = pb;
  bool na = a->score != a->score, nb = b->score != b->score;
  if (na != nb) return na ? 1 : -1;
  if (!na && a->score != b->score) return a->score > b->score ? -1 : 1;
  return (a->index > b->index) - (a->index < b->index);
}

/* A scalar (or one-element) optional input of type t, or dflt if absent. */
static bool nms_scalar(onnx_node *n, int i, const char *what, qrt_dtype t, double dflt, double *out) {
  qcc_array a;
  *out = dflt;
  if (!onnx_has_in(n, i)) return true;
  if (!data_input(n, i, what, &a)) return false;
  bool ok = a.dtype == t && qcc_array_numel(&a) == 1;
  if (ok) *out = t == QRT_I64 ? (double)((int64_t *)a.data)[0] : ((float *)a.data)[0];
  else onnx_fail(n, "input %d (%s) must hold one %s", i, what, qcc_dtype_name(t));
  qcc_array_free(&a);
  return ok;
}

static int rule_nms(onnx_node *n, MlirValue *res) {
  qcc_shape bs, ss;
  if (!onnx_in_shape(n, 0, &bs) || !onnx_in_shape(n, 1, &ss)) return -1;
  if (bs.dtype != QRT_F32 || ss.dtype != QRT_F32) return onnx_fail(n, "boxes and scores must be float32");
  if (bs.rank != 3 || bs.dims[2] != 4 || ss.rank != 3 || ss.dims[0] != bs.dims[0] || ss.dims[2] != bs.dims[1])
    return onnx_fail(n, "boxes must be [batches, boxes, 4] and scores [batches, classes, boxes]");
  int64_t center = onnx_attr_int(n, "center_point_box", 0);
  if (center != 0 && center != 1) return onnx_fail(n, "center_point_box must be 0 or 1, not %lld", (long long)center);
  qcc_array boxes, scores;
  double max_out, iou, score_thr;
  if (n->failed || !data_input(n, 0, "boxes", &boxes)) return -1;
  if (!data_input(n, 1, "scores", &scores)) return qcc_array_free(&boxes), -1;
  bool has_thr = onnx_has_in(n, 4);
  if (!nms_scalar(n, 2, "max_output_boxes_per_class", QRT_I64, 0, &max_out) ||
      !nms_scalar(n, 3, "iou_threshold", QRT_F32, 0, &iou) ||
      !nms_scalar(n, 4, "score_threshold", QRT_F32, 0, &score_thr) || !(iou >= 0 && iou <= 1)) {
    if (!n->failed) onnx_fail(n, "iou_threshold must be in [0, 1], not %g", iou);
    qcc_array_free(&boxes), qcc_array_free(&scores);
    return -1;
  }
  int64_t nb = bs.dims[0], nbox = bs.dims[1], nc = ss.dims[1];
  int64_t per_class = max_out < 0 ? 0 : max_out > (double)nbox ? nbox : (int64_t)max_out;
  /* each candidate meets at most per_class kept boxes: bound the compile
   * time a (hostile) model can ask for */
  if ((double)nb * (double)nc * (double)nbox * (double)(per_class ? per_class : 1) > 1e10) {
    qcc_array_free(&boxes), qcc_array_free(&scores);
    return onnx_fail(n, "%lld batches x %lld classes x %lld boxes, keeping up to %lld each, is too much to fold at "
                        "compile time", (long long)nb, (long long)nc, (long long)nbox, (long long)per_class);
  }
  const float *bx = boxes.data, *sc = scores.data;
  candidate *cand = malloc(sizeof(candidate) * (size_t)(nbox + 1));
  int64_t *kept = malloc(sizeof(int64_t) * (size_t)(nbox + 1));
  int64_t cap = 16, k = 0, *rows = malloc(sizeof(int64_t) * 3 * (size_t)cap);
  for (int64_t b = 0; b < nb; b++)
    for (int64_t c = 0; c < nc && per_class > 0; c++) {
      int64_t nk = 0, ncand = 0;
      for (int64_t i = 0; i < nbox; i++) {
        float s = sc[(b * nc + c) * nbox + i];
        if (!has_thr || s > (float)score_thr) cand[ncand].score = s, cand[ncand++].index = i;
      }
      qsort(cand, (size_t)ncand, sizeof *cand, by_score);
      for (int64_t j = 0; j < ncand && nk < per_class; j++) {
        box cb = box_at(bx + (b * nbox + cand[j].index) * 4, center);
        bool drop = false;
        for (int64_t q = 0; q < nk && !drop; q++) drop = suppresses(box_at(bx + (b * nbox + kept[q]) * 4, center), cb, (float)iou);
        if (drop) continue;
        kept[nk++] = cand[j].index;
        if (k == cap) rows = realloc(rows, sizeof(int64_t) * 3 * (size_t)(cap *= 2));
        rows[3 * k] = b, rows[3 * k + 1] = c, rows[3 * k + 2] = cand[j].index;
        k++;
      }
    }
  free(cand), free(kept);
  qcc_array_free(&boxes), qcc_array_free(&scores);
  int64_t dims[2] = {k, 3};
  res[0] = i64_result(n, 2, dims, rows);
  return 0;
}

const onnx_rule onnx_rules_datadep[] = {
    {"NonZero", rule_nonzero},
    {"Unique", rule_unique},
    {"NonMaxSuppression", rule_nms},
    {NULL, NULL},
};
