/* rotate.h - rotation fusion (QuaRot / SpinQuant / MambaQuant / OSTQuant):
 * the analysis that finds rotatable spaces (rotation_space.c), the options
 * and the transform (rotate.c). */
#ifndef QCC_ROTATE_H
#define QCC_ROTATE_H
#include "qcc.h"

typedef enum { QCC_ROT_NONE, QCC_ROT_HADAMARD, QCC_ROT_RANDOM, QCC_ROT_KLT, QCC_ROT_KLT_HADAMARD } qcc_rotation_kind;
typedef enum { QCC_ONLINE_NONE, QCC_ONLINE_MLP, QCC_ONLINE_ALL } qcc_online_kind;

typedef struct qcc_rotate_options {
  qcc_rotation_kind kind;  /* --rotate */
  double smooth_alpha;     /* --smooth ALPHA; < 0: off */
  bool smooth_auto;        /* --smooth auto: alpha searched per space */
  qcc_online_kind online;  /* --online-hadamard (default mlp when rotating) */
  uint64_t seed;           /* --rotate-seed */
  bool heads;              /* --rotate-heads hadamard (default) | none */
  bool metrics;            /* --report: each layer input's max/std and QSUR
                            * before and after (covariances and their
                            * eigenvalues: most of --rotate hadamard's time) */
} qcc_rotate_options;

extern qcc_rotate_options qcc_rotate_opts;

/* Consumes a rotation flag at argv[*i]: 1 if it was one, 0 if not, -1
 * after an error message. */
int qcc_rotate_parse_flag(int argc, char **argv, int *i);
extern const char qcc_rotate_flags_help[];
/* The pass: does nothing with --rotate none (the default). */
int qcc_pass_rotate(MlirModule m);

/* Head-wise rotations inside attention (rotate_heads.c): R on Q and K of
 * every Q K^T, on V of every P V and R^T on its output, folded into the
 * projections or online (q.hadamard). One line per run-time matmul into
 * lines (at most cap, *n_lines advanced), each also a remark; returns the
 * number of matmuls rotated. */
int qcc_rotate_heads(MlirModule m, char (*lines)[400], int *n_lines, int cap);

/* q.hadamard of x (x H_n / sqrt n, the matrix of the run-time kernel
 * qrt_hadamard_f32, its m x m factor as an int8 constant when n is not a
 * power of two), inserted before `before`; rotate.c and rotate_heads.c
 * both place their online rotations with it. */
MlirValue qcc_insert_online_hadamard(MlirOperation before, MlirValue x, int64_t n);

/* ---- analysis (rotation_space.c) ---- */
enum { QCC_STREAM_MAX = 256 };

typedef enum { QCC_WRITER_MATMUL, QCC_WRITER_GATHER, QCC_WRITER_CONSTANT, QCC_WRITER_CONV, QCC_WRITER_INPUT } qcc_writer_kind;

/* An op writing into the stream: a matmul with a constant [K, d] weight
 * (and bias), a gather from a constant [V, d] table, a constant operand
 * of a residual add (`operand` is its operand index there), a convolution
 * whose output channels become the stream's last axis through reshapes and
 * transposes (a ViT's patch embedding: weight [d, ...] and bias [d]), or a
 * model input (`input`, rotated online: op is null). */
typedef struct qcc_stream_writer {
  qcc_writer_kind kind;
  MlirOperation op;
  int operand;
  MlirValue input;
} qcc_stream_writer;

/* A residual stream: values with last dim d joined by adds, its writers,
 * the norms reading it and the matmuls reading the norms' outputs (or the
 * stream itself, norm = -1), possibly through ops that commute with a
 * rotation of the last axis (mean over other axes, reshapes and transposes
 * keeping the last axis). */
typedef struct qcc_stream {
  int64_t d;
  MlirValue values[QCC_STREAM_MAX];
  int n_values;
  qcc_stream_writer writers[QCC_STREAM_MAX];
  int n_writers;
  MlirOperation norms[QCC_STREAM_MAX];
  int n_norms;
  MlirOperation readers[QCC_STREAM_MAX];
  int reader_norm[QCC_STREAM_MAX]; /* index into norms, or -1 */
  int n_readers;
  /* model outputs: operand out_operand[i] of the return out_ops[i] is the
   * stream itself (out_norm -1) or a value derived from norm out_norm[i]'s
   * output by ops that commute with a rotation; each gets the inverse
   * rotation online (and the norm's gain and bias) */
  MlirOperation out_ops[QCC_STREAM_MAX];
  int out_operand[QCC_STREAM_MAX], out_norm[QCC_STREAM_MAX];
  int n_outputs;
  bool layer_norm; /* its norms are LayerNorms (the stream must be centred) */
  /* a LayerNorm stream that a linear layer reads without a norm: instead
   * of centring (which that layer would see), Q fixes the all-ones vector,
   * so LN(x Q) = LN(x) Q and the norms stay LayerNorms (rotate.c) */
  bool keep_mean;
  bool blocked;
  char why[320]; /* the op and reason that block the rotation */
} qcc_stream;

/* Ops between a norm and its readers that commute with a rotation (and
 * with a per-channel scale) of the last axis, whose width is d. */
bool qcc_commutes_after_norm(MlirOperation op, int64_t d);

/* Finds every residual stream of the function (seeded by the q.norm ops
 * over the last axis); *n is the count. Blocked streams say why. */
int qcc_find_streams(MlirModule m, qcc_stream *streams, int max, int *n);

#endif
