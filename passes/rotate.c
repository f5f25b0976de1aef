/* rotate.c - the rotate pass (--rotate): orthogonal rotations fused into
 * the weights so that activations lose their outlier channels before
 * quantization, while the float model computes the same function.
 *
 * For every residual stream that rotation_space.c finds unblocked:
 *  1. LayerNorm streams: centre every writer (W <- W (I - 11^T/d), also
 *     biases, tables and added constants), so the stream is zero-mean and
 *     each LayerNorm equals an RMSNorm (SliceGPT);
 *  2. fold each norm's gamma and beta into its readers (W <- diag(gamma) W,
 *     b <- b + beta W); the norm keeps scale 1;
 *  3. pick Q (d x d): randomized Hadamard (H diag(+-1) / sqrt(d), fixed
 *     seed; a seeded random orthogonal matrix when d has no Hadamard
 *     construction), random orthogonal, KLT (eigenvectors of the covariance
 *     of the norms' outputs on the calibration set), or KLT then Hadamard;
 *  4. writers W <- W Q (tables E <- E Q, addends c <- c Q), readers
 *     W <- Q^T W;
 *  5. --smooth: per-channel scales s on each norm's output in the rotated
 *     basis (OSTQuant's orthogonal-then-scaling pair; the norm's scale is
 *     the only per-channel producer there): norm scale 1/s, readers
 *     W <- diag(s) W, s_j = max|x_j|^a / max|W_j|^(1-a);
 *  6. --online-hadamard: stream writers whose input is not a rotated space
 *     (the MLP down projection after the gate; with `all` also the attention
 *     output projection) get q.hadamard on their input, computed at run time
 *     by the fast Walsh-Hadamard kernel, and W <- H^T W; with --smooth the
 *     scales go before it (smooth-fused rotation, MambaQuant), 1/s folded
 *     into the gate's linear branch.
 * Metrics per rotated reader input (max|x|/std and QSUR before and after)
 * go into attributes the report prints; blocked streams get a remark (-v)
 * and the function attribute qcc.rotation naming the op and the reason.
 * Invariant: the float function is unchanged up to rounding. */
#include "rotate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib_data.h"
#include "evaluator.h"
#include "linalg.h"
#include "name_map.h"
#include "passes.h"
#include "quant_options.h"
#include "smooth.h"
#include "weight_algebra.h"

qcc_rotate_options qcc_rotate_opts = {QCC_ROT_NONE, -1.0, false, QCC_ONLINE_MLP, 0x5eed, true, false};

const char qcc_rotate_flags_help[] =
    "  --rotate none|hadamard|random|klt|klt+hadamard\n"
    "                        rotate residual streams, weights absorb it (default\n"
    "                        none; klt needs --calib)\n"
    "  --smooth ALPHA|auto   per-channel smoothing of linear inputs (SmoothQuant; in\n"
    "                        the rotated basis with --rotate), migration strength\n"
    "                        ALPHA in [0, 1] (auto: searched per layer); needs --calib\n"
    "  --online-hadamard none|mlp|all\n"
    "                        run-time Hadamard on the inputs of stream writers: the\n"
    "                        MLP down projection (mlp, default) or also attention\n"
    "                        output projections (all)\n"
    "  --rotate-heads hadamard|none\n"
    "                        with --rotate: a Hadamard on the head dimension of\n"
    "                        Q and K and of V (undone in the output projection),\n"
    "                        folded into the projections or online (default\n"
    "                        hadamard)\n"
    "  --rotate-seed N       seed of the random signs / matrices (default 24301)\n";

int qcc_rotate_parse_flag(int argc, char **argv, int *i) {
  bool missing = false;
  const char *v;
  if ((v = qcc_flag_value(argc, argv, i, "--rotate", &missing))) {
    static const char *const names[] = {"none", "hadamard", "random", "klt", "klt+hadamard"};
    for (int k = 0; k < 5; k++)
      if (!strcmp(v, names[k])) return qcc_rotate_opts.kind = (qcc_rotation_kind)k, 1;
    return qcc_error("--rotate: expected none, hadamard, random, klt or klt+hadamard, got '%s'", v), -1;
  }
  if ((v = qcc_flag_value(argc, argv, i, "--smooth", &missing))) {
    char *end;
    double a = strtod(v, &end);
    if (!strcmp(v, "auto")) qcc_rotate_opts.smooth_auto = true, qcc_rotate_opts.smooth_alpha = 0.5;
    else if (!*end && a >= 0 && a <= 1) qcc_rotate_opts.smooth_alpha = a;
    else return qcc_error("--smooth: expected a number in [0, 1] or auto, got '%s'", v), -1;
    return 1;
  }
  if ((v = qcc_flag_value(argc, argv, i, "--online-hadamard", &missing))) {
    if (!strcmp(v, "none")) qcc_rotate_opts.online = QCC_ONLINE_NONE;
    else if (!strcmp(v, "mlp")) qcc_rotate_opts.online = QCC_ONLINE_MLP;
    else if (!strcmp(v, "all")) qcc_rotate_opts.online = QCC_ONLINE_ALL;
    else return qcc_error("--online-hadamard: expected none, mlp or all, got '%s'", v), -1;
    return 1;
  }
  if ((v = qcc_flag_value(argc, argv, i, "--rotate-heads", &missing))) {
    if (!strcmp(v, "none")) qcc_rotate_opts.heads = false;
    else if (!strcmp(v, "hadamard")) qcc_rotate_opts.heads = true;
    else return qcc_error("--rotate-heads: expected hadamard or none, got '%s'", v), -1;
    return 1;
  }
  if ((v = qcc_flag_value(argc, argv, i, "--rotate-seed", &missing))) {
    char *end;
    unsigned long long s = strtoull(v, &end, 10);
    if (*end || !*v) return qcc_error("--rotate-seed: expected a non-negative integer, got '%s'", v), -1;
    qcc_rotate_opts.seed = s;
    return 1;
  }
  if (missing) return qcc_error("flag '%s' needs a value", argv[*i]), -1;
  return 0;
}

/* x H_n / sqrt n (or x H_n^T / sqrt n: the kernel's H_m (x) S_p with the
 * m x m factor transposed; S_p is symmetric) before `before`. */
static MlirValue insert_hadamard(MlirOperation before, MlirValue x, int64_t n, bool transposed) {
  int64_t p2, m;
  qcc_hadamard_factor(n, &p2, &m);
  MlirValue hm = {NULL};
  if (m > 1) { /* the m x m factor of a non-power-of-two size, as int8 +-1 */
    double *Hm = malloc(sizeof(double) * (size_t)(m * m));
    int8_t *h8 = malloc((size_t)(m * m));
    qcc_hadamard(m, Hm);
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < m; j++) h8[i * m + j] = (int8_t)(Hm[transposed ? j * m + i : i * m + j] > 0 ? 1 : -1);
    qcc_array a = {QRT_I8, 2, {m, m}, h8, (size_t)(m * m)};
    hm = qcc_make_constant(before, mlirOperationGetLocation(before), &a);
    free(Hm);
    free(h8);
  }
  q_hadamard_attrs ha = {1.0 / sqrt((double)n)};
  return qcc_insert_before(before, q_hadamard_create(mlirOperationGetLocation(before), mlirValueGetType(x), x, hm, &ha));
}

MlirValue qcc_insert_online_hadamard(MlirOperation before, MlirValue x, int64_t n) {
  return insert_hadamard(before, x, n, false);
}

/* max|x| / std over all elements, and QSUR reported as its d-th root
 * relative to the isotropic optimum: sqrt(geomean(eig C) / max_j C_jj),
 * C the covariance; 1 for an isotropic distribution, towards 0 as the
 * variance concentrates in few channels or directions (eigenvalues below
 * 1e-9 of the largest are left out: a centred stream has one zero). */
static void layer_metrics(const qcc_chan_stats *s, double *max_std, double *qsur) {
  const int64_t d = s->d;
  double n = s->n_rows * d, mean = 0;
  for (int64_t j = 0; j < d; j++) mean += s->sum[j];
  mean /= n;
  double var = s->sumsq / n - mean * mean;
  *max_std = var > 0 ? s->maxabs / sqrt(var) : 0;
  *qsur = 0;
  if (!s->cov || s->n_rows < 2) return;
  double *C = malloc(sizeof(double) * (size_t)(d * d)), *w = malloc(sizeof(double) * (size_t)d);
  double *V = malloc(sizeof(double) * (size_t)(d * d)), cmax = 0;
  for (int64_t i = 0; i < d; i++)
    for (int64_t j = 0; j < d; j++)
      C[i * d + j] = s->cov[i * d + j] / s->n_rows - (s->sum[i] / s->n_rows) * (s->sum[j] / s->n_rows);
  for (int64_t j = 0; j < d; j++) cmax = fmax(cmax, C[j * d + j]);
  if (cmax > 0 && qcc_sym_eigen(d, C, w, V)) {
    double lg = 0;
    int64_t k = 0;
    for (int64_t j = 0; j < d; j++)
      if (w[j] > 1e-9 * w[0]) lg += log(w[j]), k++;
    *qsur = k ? sqrt(exp(lg / k) / cmax) : 0;
  }
  free(C);
  free(w);
  free(V);
}

static void set_f64(MlirOperation op, const char *name, double v) {
  MlirContext ctx = mlirOperationGetContext(op);
  mlirOperationSetAttributeByName(op, mlirStringRefCreateFromCString(name), mlirFloatAttrDoubleGet(ctx, mlirF64TypeGet(ctx), v));
}

/* ---- the transform ---- */

/* The constant operand idx of op as a [dims[0], rest] matrix: a
 * convolution's weight, whose output channels lead. */
static qcc_mat read_channels_first(MlirOperation op, int idx) {
  qcc_shape s;
  qcc_shape_of(mlirOperationGetOperand(op, idx), &s);
  qcc_mat m = qcc_mat_read(mlirOperationGetOperand(op, idx));
  m.c = m.r * m.c / s.dims[0];
  m.r = s.dims[0];
  return m;
}

/* fn(op, operand, Q, channels_first) on every constant a writer holds:
 * matmul weights and biases, tables and addends are rows of d values; a
 * convolution's weight has its d output channels first (its bias is a row).
 * Model inputs hold none (rotate_inputs). */
static void for_each_writer_const(const qcc_stream *s, void (*fn)(MlirOperation, int, const double *, bool), const double *Q) {
  for (int i = 0; i < s->n_writers; i++) {
    const qcc_stream_writer *w = &s->writers[i];
    if (w->kind == QCC_WRITER_MATMUL || w->kind == QCC_WRITER_CONV) {
      fn(w->op, 1, Q, w->kind == QCC_WRITER_CONV);
      if (mlirOperationGetNumOperands(w->op) > 2 && !mlirValueIsNull(mlirOperationGetOperand(w->op, 2)))
        fn(w->op, 2, Q, false);
    } else if (w->kind != QCC_WRITER_INPUT) {
      fn(w->op, w->operand, Q, false);
    }
  }
}

/* Centres a writer's constant over the stream's channels: each row of d
 * values, or for a convolution's weight (channels first) each column,
 * W <- (I - 11^T/d) W. */
static void centre_fn(MlirOperation op, int idx, const double *Q, bool channels_first) {
  (void)Q;
  qcc_mat m = channels_first ? read_channels_first(op, idx) : qcc_mat_read(mlirOperationGetOperand(op, idx));
  const int64_t groups = channels_first ? m.c : m.r, len = channels_first ? m.r : m.c;
  const int64_t gstep = channels_first ? 1 : m.c, step = channels_first ? m.c : 1;
  for (int64_t g = 0; g < groups; g++) {
    double mu = 0;
    for (int64_t j = 0; j < len; j++) mu += m.v[g * gstep + j * step];
    mu /= len;
    for (int64_t j = 0; j < len; j++) m.v[g * gstep + j * step] -= mu;
  }
  qcc_mat_write(op, idx, &m);
  free(m.v);
}

static void rotate_fn(MlirOperation op, int idx, const double *Q, bool channels_first) {
  if (!channels_first) {
    qcc_mat m = qcc_mat_read(mlirOperationGetOperand(op, idx));
    qcc_mat_rows_times(&m, Q);
    qcc_mat_write(op, idx, &m);
    free(m.v);
    return;
  }
  qcc_mat m = read_channels_first(op, idx); /* output channel j' = sum_j Q[j, j'] channel j */
  double *out = malloc(sizeof(double) * (size_t)(m.r * m.c));
  qcc_mat_mul_tn(m.r, m.r, m.c, Q, m.v, out);
  free(m.v);
  m.v = out;
  qcc_mat_write(op, idx, &m);
  free(m.v);
}

/* The norms' gains and biases (null when absent) of a stream's outputs,
 * read before fold_norms makes them 1 and 0. */
typedef struct output_affine {
  qcc_mat gain[QCC_STREAM_MAX], bias[QCC_STREAM_MAX];
} output_affine;

static void read_output_affine(const qcc_stream *s, output_affine *a) {
  for (int o = 0; o < s->n_outputs; o++) {
    int k = s->out_norm[o];
    a->gain[o] = k < 0 ? (qcc_mat){0, 0, NULL} : qcc_mat_read(q_norm_in(s->norms[k], 1));
    a->bias[o] = k < 0 || !q_norm_num_in(s->norms[k], 2) ? (qcc_mat){0, 0, NULL} : qcc_mat_read(q_norm_in(s->norms[k], 2));
  }
}

static MlirValue insert_binary(MlirOperation before, const char *kind, MlirValue x, const double *c, int64_t d) {
  q_binary_attrs a;
  snprintf(a.kind.s, sizeof a.kind.s, "%s", kind);
  return qcc_insert_before(before, q_binary_create(mlirOperationGetLocation(before), mlirValueGetType(x), x,
                                                   qcc_vector_const(before, c, d), &a));
}

/* Model outputs on the stream get the inverse rotation online, before the
 * return: x Q^T = (x * signs) H^T / sqrt d for the stream itself; a norm's
 * output v = n(x) Q * scale (the norm's scale is now 1, or 1/s when
 * smoothed) becomes (v / scale) Q^T * gain + bias, what the norm returned
 * before (per-channel factors commute with the ops between the norm and
 * the return, which move whole rows). */
static void unrotate_outputs(const qcc_stream *s, const double *signs, output_affine *a) {
  const int64_t d = s->d;
  double *f = malloc(sizeof(double) * (size_t)d);
  for (int o = 0; o < s->n_outputs; o++) {
    MlirOperation ret = s->out_ops[o];
    MlirValue y = mlirOperationGetOperand(ret, s->out_operand[o]);
    int k = s->out_norm[o];
    qcc_mat scale = k < 0 ? (qcc_mat){0, 0, NULL} : qcc_mat_read(q_norm_in(s->norms[k], 1));
    for (int64_t j = 0; j < d; j++) f[j] = scale.v ? signs[j] / scale.v[j] : signs[j];
    y = insert_hadamard(ret, insert_binary(ret, "mul", y, f, d), d, true);
    if (a->gain[o].v) y = insert_binary(ret, "mul", y, a->gain[o].v, d);
    if (a->bias[o].v) y = insert_binary(ret, "add", y, a->bias[o].v, d);
    mlirOperationSetOperand(ret, s->out_operand[o], y);
    free(scale.v);
    free(a->gain[o].v);
    free(a->bias[o].v);
  }
  free(f);
}

/* Model inputs on the stream: x <- x Q where the function starts, by the
 * run-time Hadamard kernel (Q = H diag(signs) / sqrt d, so the kernel's x H
 * / sqrt d, then the signs), centred first on a LayerNorm stream (x - mean
 * over the last axis, so that the stream stays zero-mean). */
static void rotate_inputs(MlirOperation func, const qcc_stream *s, const double *signs) {
  MlirOperation first = mlirBlockGetFirstOperation(qcc_func_body(func));
  for (int i = 0; i < s->n_writers; i++) {
    if (s->writers[i].kind != QCC_WRITER_INPUT) continue;
    MlirValue x = s->writers[i].input;
    MlirLocation loc = mlirOperationGetLocation(first);
    MlirType t = mlirValueGetType(x);
    /* the uses to move, taken before the new ops add their own */
    MlirOpOperand uses[QCC_STREAM_MAX];
    int n = 0;
    for (MlirOpOperand u = mlirValueGetFirstUse(x); !mlirOpOperandIsNull(u) && n < QCC_STREAM_MAX; u = mlirOpOperandGetNextUse(u))
      uses[n++] = u;
    MlirOperation owners[QCC_STREAM_MAX];
    unsigned at[QCC_STREAM_MAX];
    for (int k = 0; k < n; k++) owners[k] = mlirOpOperandGetOwner(uses[k]), at[k] = mlirOpOperandGetOperandNumber(uses[k]);
    MlirValue y = x;
    if (s->layer_norm) {
      qcc_shape ms;
      qcc_shape_of(x, &ms);
      ms.dims[ms.rank - 1] = 1;
      q_reduce_attrs ra = {{"mean"}, {1, {ms.rank - 1}}};
      MlirValue mean = qcc_insert_before(first, q_reduce_create(loc, qcc_tensor_type(mlirOperationGetContext(func), &ms), x, &ra));
      q_binary_attrs sa = {{"sub"}};
      y = qcc_insert_before(first, q_binary_create(loc, t, x, mean, &sa));
    }
    y = qcc_insert_online_hadamard(first, y, s->d);
    q_binary_attrs ma = {{"mul"}};
    y = qcc_insert_before(first, q_binary_create(loc, t, y, qcc_vector_const(first, signs, s->d), &ma));
    for (int k = 0; k < n; k++) mlirOperationSetOperand(owners[k], at[k], y);
  }
}

/* Q <- Q P with P the reflection that maps u Q back to u (u = ones /
 * sqrt d, a row): then u Q P = u, Q P is orthogonal, and for any x,
 * mean(x Q P) = mean(x) and LN(x Q P) = LN(x) Q P. P only mixes along
 * u Q - u, so Q's spreading of outliers survives in the other directions. */
static void fix_ones(int64_t d, double *Q) {
  double *z = malloc(sizeof(double) * (size_t)d), zz = 0;
  const double u = 1 / sqrt((double)d);
  for (int64_t j = 0; j < d; j++) { /* z = u Q - u */
    double w = 0;
    for (int64_t i = 0; i < d; i++) w += u * Q[i * d + j];
    z[j] = w - u;
    zz += z[j] * z[j];
  }
  if (zz > 1e-24)
    for (int64_t i = 0; i < d; i++) { /* row i of Q (I - 2 z^T z / zz) */
      double qz = 0;
      for (int64_t j = 0; j < d; j++) qz += Q[i * d + j] * z[j];
      for (int64_t j = 0; j < d; j++) Q[i * d + j] -= 2 * qz * z[j] / zz;
    }
  free(z);
}

/* A norm with scale `scale` (d values) and no bias, replacing `norm`: an
 * RMSNorm, or a LayerNorm on a keep_mean stream. */
static MlirOperation renorm(MlirOperation norm, const double *scale, int64_t d, bool layer) {
  q_norm_attrs a = q_norm_get(norm);
  snprintf(a.kind.s, sizeof a.kind.s, "%s", layer ? "layer" : "rms");
  MlirValue y = mlirOperationGetResult(norm, 0);
  MlirOperation n = q_norm_create(mlirOperationGetLocation(norm), mlirValueGetType(y), q_norm_in(norm, 0),
                                  qcc_vector_const(norm, scale, d), (MlirValue){NULL}, &a);
  mlirBlockInsertOwnedOperationBefore(mlirOperationGetBlock(norm), norm, n);
  mlirValueReplaceAllUsesOfWith(y, mlirOperationGetResult(n, 0));
  mlirOperationDestroy(norm);
  return n;
}

/* gamma, beta of each norm into its readers; norms become scale-1 RMSNorms. */
static void fold_norms(qcc_stream *s) {
  const int64_t d = s->d;
  double *diag = calloc((size_t)(d * d), sizeof(double)), *ones = malloc(sizeof(double) * (size_t)d);
  for (int64_t j = 0; j < d; j++) ones[j] = 1;
  for (int k = 0; k < s->n_norms; k++) {
    qcc_mat g = qcc_mat_read(q_norm_in(s->norms[k], 1)), b = {0, 0, NULL};
    if (q_norm_num_in(s->norms[k], 2)) b = qcc_mat_read(q_norm_in(s->norms[k], 2));
    for (int r = 0; r < s->n_readers; r++) {
      if (s->reader_norm[r] != k) continue;
      MlirOperation mm = s->readers[r];
      qcc_mat w = qcc_mat_read(q_matmul_in(mm, 1));
      if (b.v) { /* bias += beta W, with the weight before gamma */
        double *bias = calloc((size_t)w.c, sizeof(double));
        if (!mlirValueIsNull(q_matmul_in(mm, 2))) {
          qcc_mat ob = qcc_mat_read(q_matmul_in(mm, 2));
          memcpy(bias, ob.v, sizeof(double) * (size_t)w.c);
          free(ob.v);
        }
        for (int64_t j = 0; j < d; j++)
          for (int64_t n = 0; n < w.c; n++) bias[n] += b.v[j] * w.v[j * w.c + n];
        MlirValue bc = qcc_vector_const(mm, bias, w.c);
        if (mlirValueIsNull(q_matmul_in(mm, 2))) {
          /* a matmul without bias: rebuild it with one */
          MlirOperation nm = q_matmul_create(mlirOperationGetLocation(mm), mlirValueGetType(mlirOperationGetResult(mm, 0)),
                                             q_matmul_in(mm, 0), q_matmul_in(mm, 1), bc, (MlirValue){NULL});
          mlirBlockInsertOwnedOperationBefore(mlirOperationGetBlock(mm), mm, nm);
          mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(mm, 0), mlirOperationGetResult(nm, 0));
          /* a reader that also writes the stream (a residual block's
           * linear) must be rotated as the rebuilt op */
          for (int w = 0; w < s->n_writers; w++)
            if (mlirOperationEqual(s->writers[w].op, mm)) s->writers[w].op = nm;
          mlirOperationDestroy(mm);
          s->readers[r] = mm = nm;
        } else {
          mlirOperationSetOperand(mm, 2, bc);
        }
        free(bias);
      }
      for (int64_t j = 0; j < d; j++) diag[j * d + j] = g.v[j];
      qcc_reader_left(mm, diag);
      free(w.v);
    }
    s->norms[k] = renorm(s->norms[k], ones, d, s->keep_mean);
    free(g.v);
    free(b.v);
  }
  free(diag);
  free(ones);
}

/* Q for a stream of width d; cov (d x d covariance) for KLT. */
static double *choose_q(int64_t d, const double *cov, char *what, size_t cap) {
  double *Q = malloc(sizeof(double) * (size_t)(d * d));
  qcc_rotation_kind k = qcc_rotate_opts.kind;
  bool had = k == QCC_ROT_HADAMARD || k == QCC_ROT_KLT_HADAMARD;
  double *H = NULL;
  if (had) {
    H = malloc(sizeof(double) * (size_t)(d * d));
    char why[160];
    if (!qcc_random_hadamard(d, qcc_rotate_opts.seed, H)) {
      qcc_random_orthogonal(d, qcc_rotate_opts.seed, H);
      snprintf(what, cap, "random orthogonal (no Hadamard matrix of order %lld: %s)", (long long)d,
               qcc_hadamard_why_not(d, why, sizeof why) ? why : "?");
    } else {
      snprintf(what, cap, "randomized Hadamard");
    }
  }
  if (k == QCC_ROT_RANDOM) {
    qcc_random_orthogonal(d, qcc_rotate_opts.seed, Q);
    snprintf(what, cap, "random orthogonal");
  } else if (k == QCC_ROT_HADAMARD) {
    memcpy(Q, H, sizeof(double) * (size_t)(d * d));
  } else {
    double *w = malloc(sizeof(double) * (size_t)d);
    qcc_sym_eigen(d, cov, w, Q); /* columns: eigenvectors, x Q decorrelates */
    free(w);
    if (H) {
      double *KH = malloc(sizeof(double) * (size_t)(d * d));
      qcc_mat_mul(d, d, d, Q, H, KH);
      free(Q);
      Q = KH;
      char tail[200];
      snprintf(tail, sizeof tail, "KLT then %s", what);
      snprintf(what, cap, "%s", tail);
    } else {
      snprintf(what, cap, "KLT");
    }
  }
  free(H);
  return Q;
}

/* Is x a rotated space already (a stream value or a norm output path)? */
static bool in_streams(const qcc_stream *ss, int n, MlirValue x) {
  for (int i = 0; i < n; i++)
    for (int k = 0; k < ss[i].n_values; k++)
      if (mlirValueEqual(ss[i].values[k], x)) return true;
  return false;
}

/* Online Hadamard (with smoothing first when asked) on the input of writer
 * matmul mm. xst: calibration qcc_chan_stats of that input before any change. */
static bool online_hadamard(MlirOperation mm, const qcc_chan_stats *xst, char *what, size_t cap) {
  MlirValue x = q_matmul_in(mm, 0);
  qcc_mat w = qcc_mat_read(q_matmul_in(mm, 1));
  const int64_t K = w.r;
  char why[160];
  if (qcc_hadamard_why_not(K, why, sizeof why)) {
    snprintf(what, cap, "no online Hadamard: %s", why);
    free(w.v);
    return false;
  }
  bool smoothed = false;
  if (qcc_rotate_opts.smooth_alpha >= 0 && xst) {
    MlirOperation prod = qcc_smoothing_producer(x);
    if (!mlirOperationIsNull(prod)) {
      double *s = malloc(sizeof(double) * (size_t)K);
      qcc_smoothing_scales(xst, &mm, 1, s);
      qcc_mat pw = qcc_mat_read(q_matmul_in(prod, 1));
      for (int64_t r = 0; r < pw.r; r++)
        for (int64_t j = 0; j < K; j++) pw.v[r * K + j] /= s[j];
      qcc_mat_write(prod, 1, &pw);
      free(pw.v);
      if (!mlirValueIsNull(q_matmul_in(prod, 2))) {
        qcc_mat pb = qcc_mat_read(q_matmul_in(prod, 2));
        for (int64_t j = 0; j < K; j++) pb.v[j] /= s[j];
        qcc_mat_write(prod, 2, &pb);
        free(pb.v);
      }
      for (int64_t j = 0; j < K; j++)
        for (int64_t n = 0; n < w.c; n++) w.v[j * w.c + n] *= s[j];
      free(s);
      smoothed = true;
    }
  }
  /* y = (x H / sqrt K) (H^T / sqrt K) W: the kernel computes x H_K / sqrt K */
  double *H = malloc(sizeof(double) * (size_t)(K * K)), *out = malloc(sizeof(double) * (size_t)(K * w.c));
  qcc_hadamard(K, H);
  qcc_mat_mul_tn(K, K, w.c, H, w.v, out);
  for (int64_t i = 0; i < K * w.c; i++) out[i] /= sqrt((double)K);
  free(w.v);
  w.v = out;
  qcc_mat_write(mm, 1, &w);
  free(w.v);
  MlirValue hx = qcc_insert_online_hadamard(mm, x, K);
  mlirOperationSetOperand(mm, 0, hx);
  free(H);
  snprintf(what, cap, "%sonline Hadamard of order %lld", smoothed ? "smoothing + " : "", (long long)K);
  return true;
}

typedef struct target {
  int stream, index;
  bool writer;
} target;

static MlirOperation target_op(const qcc_stream *ss, target t) {
  return t.writer ? ss[t.stream].writers[t.index].op : ss[t.stream].readers[t.index];
}

static void note(MlirOperation func, char (*lines)[400], int n) {
  MlirContext ctx = mlirOperationGetContext(func);
  MlirAttribute *a = malloc(sizeof(MlirAttribute) * (size_t)(n + 1));
  for (int i = 0; i < n; i++) a[i] = mlirStringAttrGet(ctx, mlirStringRefCreateFromCString(lines[i]));
  mlirOperationSetAttributeByName(func, mlirStringRefCreateFromCString("qcc.rotation"), mlirArrayAttrGet(ctx, n, a));
  free(a);
}

/* Writer matmuls that get an online Hadamard under the current option. */
static bool wants_online(const qcc_stream *ss, int n_streams, MlirOperation mm) {
  if (qcc_rotate_opts.online == QCC_ONLINE_NONE) return false;
  MlirValue x = q_matmul_in(mm, 0);
  if (in_streams(ss, n_streams, x) || !mlirValueIsAOpResult(x)) return false;
  MlirOperation p = mlirOpResultGetOwner(x);
  bool elementwise = q_binary_is(p) || q_unary_is(p);
  return qcc_rotate_opts.online == QCC_ONLINE_ALL || elementwise;
}

int qcc_pass_rotate(MlirModule m) {
  if (qcc_rotate_opts.kind == QCC_ROT_NONE) return 0;
  const char *calib_path = qcc_quant_opts.calib_path;
  bool klt = qcc_rotate_opts.kind == QCC_ROT_KLT || qcc_rotate_opts.kind == QCC_ROT_KLT_HADAMARD;
  if (klt && !calib_path) return qcc_error("--rotate klt needs calibration data: give --calib DIR"), -1;
  if (qcc_rotate_opts.smooth_alpha >= 0 && !calib_path)
    return qcc_error("--smooth needs calibration data (the channels' maxima): give --calib DIR"), -1;
  static qcc_stream streams[16];
  int n_streams = 0, rc = 0;
  static char lines[64][400];
  int n_lines = 0;
  /* heads first: it only rewrites projection weights inside attention and
   * adds q.hadamard ops there, which the stream analysis below does not
   * see through (stream readers and writers keep their operands) */
  if (qcc_rotate_opts.heads) qcc_rotate_heads(m, lines, &n_lines, 32);
  qcc_find_streams(m, streams, 16, &n_streams);
  MlirOperation func = qcc_module_func(m);
  qcc_calib_set calib = {0, 0, NULL};
  bool have_calib = calib_path && !qcc_calib_load_for(m, calib_path, &calib);
  if (calib_path && !have_calib) return -1;

  /* a linear layer that reads a LayerNorm stream directly, not through a
   * norm (a head after the last block with no final norm), would read the
   * centred stream: such a stream keeps its mean (keep_mean) */
  for (int i = 0; i < n_streams; i++)
    for (int r = 0; r < streams[i].n_readers && streams[i].layer_norm; r++)
      streams[i].keep_mean |= streams[i].reader_norm[r] < 0;
  /* model inputs and outputs on a stream are rotated online by the
   * Hadamard kernel, which only a randomized Hadamard Q matches; a
   * centred stream has lost its mean, so it cannot be returned */
  for (int i = 0; i < n_streams; i++) {
    qcc_stream *s = &streams[i];
    bool input = false, output = s->n_outputs > 0;
    for (int w = 0; w < s->n_writers; w++) input |= s->writers[w].kind == QCC_WRITER_INPUT;
    if (s->blocked || (!input && !output)) continue;
    const char *what = input ? "the function feeds a model input into the stream" : "a model output reads the stream";
    char why[160] = "";
    for (int o = 0; o < s->n_outputs && !*why; o++)
      if (s->out_norm[o] < 0 && s->layer_norm && !s->keep_mean)
        what = "func.return returns the stream as a model output",
        snprintf(why, sizeof why, "a LayerNorm stream is centred, so its mean would be lost");
    if (!*why && s->keep_mean)
      snprintf(why, sizeof why,
               "a linear layer reads the LayerNorm stream without a norm, so its rotation fixes the ones vector, "
               "which the online Hadamard kernel does not");
    if (!*why && qcc_rotate_opts.kind != QCC_ROT_HADAMARD)
      snprintf(why, sizeof why, "its online rotation is the Hadamard kernel: use --rotate hadamard");
    if (!*why && !qcc_hadamard_why_not(s->d, why, sizeof why)) continue;
    s->blocked = true;
    snprintf(s->why, sizeof s->why, "%s (%s)", what, why);
  }
  /* the quantized inputs whose metrics we report: readers and online
   * Hadamard candidates (resolved through the streams, since folding may
   * rebuild a reader) */
  target *targets = calloc(2 * QCC_STREAM_MAX * (size_t)(n_streams + 1), sizeof(target));
  int n_targets = 0;
  for (int i = 0; i < n_streams; i++) {
    if (streams[i].blocked) continue;
    for (int r = 0; r < streams[i].n_readers; r++) targets[n_targets++] = (target){i, r, false};
    for (int w = 0; w < streams[i].n_writers; w++)
      if (streams[i].writers[w].kind == QCC_WRITER_MATMUL && wants_online(streams, n_streams, streams[i].writers[w].op))
        targets[n_targets++] = (target){i, w, true};
  }
  qcc_chan_stats_set before = {{0}};
  qcc_ptr_map_init(&before.by_value);
  double *mstd0 = calloc((size_t)n_targets + 1, sizeof(double)), *qsur0 = calloc((size_t)n_targets + 1, sizeof(double));
  qcc_chan_stats **xst0 = calloc((size_t)n_targets + 1, sizeof(qcc_chan_stats *));
  /* the inputs' channel statistics before: smoothing's (online Hadamard
   * layers) and --report's metrics, which alone need covariances */
  const bool metrics = have_calib && qcc_rotate_opts.metrics;
  if (have_calib && (metrics || qcc_rotate_opts.smooth_alpha >= 0)) {
    for (int t = 0; t < n_targets; t++)
      xst0[t] = qcc_chan_stats_want(&before, q_matmul_in(target_op(streams, targets[t]), 0), metrics);
    rc = qcc_chan_stats_run(m, &calib, &before);
    for (int t = 0; !rc && metrics && t < n_targets; t++) layer_metrics(xst0[t], &mstd0[t], &qsur0[t]);
  }

  int n_rotated = 0;
  const char *first_block = NULL;
  for (int i = 0; i < n_streams && !rc; i++) {
    qcc_stream *s = &streams[i];
    if (s->blocked) {
      if (!first_block) first_block = s->why;
      /* a stream is found again from each of its norms past the block
       * (the walk stops there): say it once */
      bool said = false;
      for (int j = 0; j < i && !said; j++) said = streams[j].blocked && !strcmp(streams[j].why, s->why);
      if (said) continue;
      if (n_lines < 64) snprintf(lines[n_lines++], 400, "stream of width %lld not rotated: %s", (long long)s->d, s->why);
      qcc_remark("rotate: stream of width %lld not rotated: %s", (long long)s->d, s->why);
      continue;
    }
    if (s->layer_norm && !s->keep_mean) for_each_writer_const(s, centre_fn, NULL);
    static output_affine affine;
    read_output_affine(s, &affine);
    fold_norms(s);
    double *cov = NULL;
    if (klt) {
      qcc_chan_stats_set st = {{0}};
      qcc_ptr_map_init(&st.by_value);
      for (int k = 0; k < s->n_norms; k++) qcc_chan_stats_want(&st, mlirOperationGetResult(s->norms[k], 0), true);
      rc = qcc_chan_stats_run(m, &calib, &st);
      cov = calloc((size_t)(s->d * s->d), sizeof(double));
      double rows = 0;
      for (int k = 0; k < s->n_norms; k++) {
        qcc_chan_stats *x = qcc_chan_stats_want(&st, mlirOperationGetResult(s->norms[k], 0), true);
        for (int64_t j = 0; j < s->d * s->d; j++) cov[j] += x->cov[j];
        rows += x->n_rows;
      }
      for (int64_t j = 0; j < s->d * s->d; j++) cov[j] /= rows > 0 ? rows : 1;
      qcc_chan_stats_free(&st);
    }
    char what[300] = "";
    double *Q = choose_q(s->d, cov, what, sizeof what);
    free(cov);
    if (s->keep_mean) fix_ones(s->d, Q);
    for_each_writer_const(s, rotate_fn, Q);
    int n_inputs = 0, n_convs = 0;
    for (int w = 0; w < s->n_writers; w++)
      n_inputs += s->writers[w].kind == QCC_WRITER_INPUT, n_convs += s->writers[w].kind == QCC_WRITER_CONV;
    double *signs = malloc(sizeof(double) * (size_t)s->d);
    qcc_random_signs(s->d, qcc_rotate_opts.seed, signs);
    if (n_inputs) rotate_inputs(func, s, signs);
    double *Qt = malloc(sizeof(double) * (size_t)(s->d * s->d));
    for (int64_t a = 0; a < s->d; a++)
      for (int64_t b = 0; b < s->d; b++) Qt[a * s->d + b] = Q[b * s->d + a];
    for (int r = 0; r < s->n_readers; r++) qcc_reader_left(s->readers[r], Qt);
    free(Q);
    free(Qt);
    if (qcc_rotate_opts.smooth_alpha >= 0 && !rc) {
      /* smoothing of each norm's readers, in the rotated basis */
      qcc_chan_stats_set st = {{0}};
      qcc_ptr_map_init(&st.by_value);
      for (int k = 0; k < s->n_norms; k++) qcc_chan_stats_want(&st, mlirOperationGetResult(s->norms[k], 0), false);
      rc = qcc_chan_stats_run(m, &calib, &st);
      for (int k = 0; k < s->n_norms && !rc; k++) {
        MlirOperation mms[QCC_STREAM_MAX];
        int n_mm = 0;
        for (int r = 0; r < s->n_readers; r++)
          if (s->reader_norm[r] == k) mms[n_mm++] = s->readers[r];
        if (!n_mm) continue;
        double *sc = malloc(sizeof(double) * (size_t)s->d), *inv = malloc(sizeof(double) * (size_t)s->d);
        double *diag = calloc((size_t)(s->d * s->d), sizeof(double));
        qcc_smoothing_scales(qcc_chan_stats_want(&st, mlirOperationGetResult(s->norms[k], 0), false), mms, n_mm, sc);
        for (int64_t j = 0; j < s->d; j++) inv[j] = 1 / sc[j], diag[j * s->d + j] = sc[j];
        for (int r = 0; r < n_mm; r++) qcc_reader_left(mms[r], diag);
        s->norms[k] = renorm(s->norms[k], inv, s->d, s->keep_mean);
        free(sc);
        free(inv);
        free(diag);
      }
      qcc_chan_stats_free(&st);
    }
    if (!rc) unrotate_outputs(s, signs, &affine);
    free(signs);
    int n_online = 0;
    for (int w = 0; w < s->n_writers; w++) {
      MlirOperation mm = s->writers[w].op;
      if (s->writers[w].kind != QCC_WRITER_MATMUL || !wants_online(streams, n_streams, mm)) continue;
      const qcc_chan_stats *xs = NULL;
      for (int t = 0; t < n_targets; t++)
        if (mlirOperationEqual(target_op(streams, targets[t]), mm)) xs = xst0[t];
      char ow[200];
      n_online += online_hadamard(mm, xs, ow, sizeof ow);
      char at[256];
      qcc_remark("rotate: %s: %s", qcc_op_where(mm, at, sizeof at), ow);
    }
    char line[400];
    snprintf(line, sizeof line,
             "stream of width %lld rotated (%s%s%s): %d writers%s, %d norms%s, %d readers, %d online Hadamard",
             (long long)s->d, what, s->keep_mean ? ", fixing the ones vector" : s->layer_norm ? ", centred" : "",
             qcc_rotate_opts.smooth_alpha >= 0 ? ", smoothed" : "", s->n_writers,
             n_inputs ? " (model inputs rotated online)" : n_convs ? " (convolution output channels)" : "", s->n_norms,
             s->keep_mean ? " (LayerNorm kept)" : s->layer_norm ? " (LayerNorm -> RMSNorm)" : "", s->n_readers, n_online);
    if (s->n_outputs) {
      size_t len = strlen(line);
      snprintf(line + len, sizeof line - len, ", %d model outputs rotated back online", s->n_outputs);
    }
    qcc_remark("rotate: %s", line);
    if (n_lines < 64) memcpy(lines[n_lines++], line, sizeof line);
    n_rotated++;
  }
  static const char no_stream[] = "no normalisation over the last axis, so no residual stream";
  if (!n_streams) {
    snprintf(lines[n_lines++], 400, "nothing rotated: %s", no_stream);
    qcc_remark("rotate: %s", lines[n_lines - 1]);
  }
  /* asked for and not applied: said without -v too (as --smooth does) */
  if (!rc && !n_rotated)
    qcc_warning("--rotate: nothing rotated: %s%s", first_block ? first_block : no_stream,
                first_block ? " (-v names every stream and what stops it)" : "");
  if (!rc) note(func, lines, n_lines);

  if (!rc && metrics) { /* metrics after */
    qcc_chan_stats_set after = {{0}};
    qcc_ptr_map_init(&after.by_value);
    for (int t = 0; t < n_targets; t++) qcc_chan_stats_want(&after, q_matmul_in(target_op(streams, targets[t]), 0), true);
    rc = qcc_chan_stats_run(m, &calib, &after);
    for (int t = 0; !rc && t < n_targets; t++) {
      double ms, qs;
      MlirOperation op = target_op(streams, targets[t]);
      layer_metrics(qcc_chan_stats_want(&after, q_matmul_in(op, 0), true), &ms, &qs);
      set_f64(op, "qcc.max_std_before", mstd0[t]);
      set_f64(op, "qcc.max_std_after", ms);
      set_f64(op, "qcc.qsur_before", qsur0[t]);
      set_f64(op, "qcc.qsur_after", qs);
    }
    qcc_chan_stats_free(&after);
  }
  qcc_chan_stats_free(&before);
  free(mstd0);
  free(qsur0);
  free(xst0);
  free(targets);
  if (have_calib) qcc_calib_free(&calib);
  return rc ? rc : qcc_pass_dce(m);
}
