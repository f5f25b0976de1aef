/* calib_data.c - loading calibration samples for --calib PATH.
 *
 * Accepted layouts (checked in this order):
 *  1. PATH/<input name>.npy for every model input, each either one sample
 *     (exactly the input's shape) or a stack of samples ([N] + shape); all
 *     inputs must have the same N. A name with '/' can be given as its
 *     file stem (qcc_npy_file_stem: "enc/x:0" -> enc_x_0.npy).
 *  2. PATH/test_data_set_N/input_I.pb (ONNX test data), one sample per
 *     folder, inputs in graph order.
 *  3. For single-input models: any PATH/NAME.npy, one sample per file.
 * Names, shapes and element types are checked against the model; each
 * problem is one error naming the file and what was expected. */
#include "calib_data.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onnx_tensor.h"

static bool is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted names in dir that start with prefix and end with suffix. */
static int list_dir(const char *dir, const char *prefix, const char *suffix, char ***out) {
  DIR *d = opendir(dir);
  int n = 0, cap = 16;
  char **names = malloc(sizeof *names * (size_t)cap);
  for (struct dirent *e; d && (e = readdir(d));) {
    size_t len = strlen(e->d_name), sl = strlen(suffix);
    if (strncmp(e->d_name, prefix, strlen(prefix)) || len < sl || strcmp(e->d_name + len - sl, suffix)) continue;
    if (n == cap) names = realloc(names, sizeof *names * (size_t)(cap *= 2));
    names[n++] = strdup(e->d_name);
  }
  if (d) closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  *out = names;
  return n;
}

static void free_list(char **names, int n) {
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
}

static bool same_shape(const qcc_array *a, const qcc_shape *s, int skip) {
  if (a->rank - skip != s->rank) return false;
  for (int d = 0; d < s->rank; d++)
    if (a->dims[d + skip] != s->dims[d]) return false;
  return true;
}

static int check_sample(const char *file, qcc_array *a, const qcc_shape *want, const char *input) {
  char ws[128], got[128];
  if (!qcc_array_expect(a, want->dtype) || !same_shape(a, want, 0)) {
    qcc_error("--calib: %s: input '%s' expects %s, the file holds %s", file, input,
              qcc_shape_str(want, ws, sizeof ws), qcc_array_shape_str(a, got, sizeof got));
    return -1;
  }
  return 0;
}

/* DIR/<name>.npy, or, when that file is missing, DIR/<stem>.npy with the
 * name's characters other than letters, digits, '.' and '-' as '_' (the
 * names `qcc run` gives its outputs): an input named "in/0" cannot be a
 * file name, its samples can be in_0.npy. */
static void input_file(const char *dir, const char *name, char *path, size_t cap) {
  char stem[256];
  snprintf(path, cap, "%s/%s.npy", dir, name);
  if (is_file(path)) return;
  qcc_npy_file_stem(name, stem, sizeof stem);
  snprintf(path, cap, "%s/%s.npy", dir, stem);
  if (!is_file(path)) snprintf(path, cap, "%s/%s.npy", dir, name);
}

/* Layout 1: one (possibly stacked) .npy per input name. */
static int load_by_name(const char *dir, const qcc_calib_inputs *in, qcc_calib_set *set) {
  qcc_array *stacks = calloc((size_t)in->n, sizeof *stacks);
  int64_t n_samples = -1;
  int rc = 0;
  for (int i = 0; i < in->n && !rc; i++) {
    char path[4096], err[512], ws[128], got[128];
    input_file(dir, in->names[i], path, sizeof path);
    if (qcc_npy_read(path, &stacks[i], err, sizeof err)) {
      qcc_error("--calib: %s", err);
      rc = -1;
      break;
    }
    int64_t n = same_shape(&stacks[i], &in->shapes[i], 0) ? 1 : same_shape(&stacks[i], &in->shapes[i], 1) ? stacks[i].dims[0] : -1;
    if (!qcc_array_expect(&stacks[i], in->shapes[i].dtype) || n < 0) {
      qcc_error("--calib: %s: input '%s' expects %s per sample (or [N] + that shape), the file holds %s",
                path, in->names[i], qcc_shape_str(&in->shapes[i], ws, sizeof ws),
                qcc_array_shape_str(&stacks[i], got, sizeof got));
      rc = -1;
    } else if (n_samples >= 0 && n != n_samples) {
      qcc_error("--calib: %s holds %lld samples, %s.npy holds %lld", path, (long long)n, in->names[0], (long long)n_samples);
      rc = -1;
    }
    n_samples = n;
  }
  if (!rc && n_samples == 0) rc = -1, qcc_error("--calib: %s: no samples", dir);
  if (!rc) {
    set->n_samples = (int)n_samples;
    set->samples = calloc((size_t)n_samples * (size_t)in->n, sizeof(qcc_array));
    for (int i = 0; i < in->n; i++) {
      size_t bytes = (size_t)qcc_shape_numel(&in->shapes[i]) * qcc_dtype_size(in->shapes[i].dtype);
      for (int64_t k = 0; k < n_samples; k++) {
        qcc_array *a = &set->samples[k * in->n + i];
        a->dtype = in->shapes[i].dtype;
        a->rank = in->shapes[i].rank;
        memcpy(a->dims, in->shapes[i].dims, sizeof a->dims);
        a->nbytes = bytes;
        a->data = malloc(bytes ? bytes : 1);
        memcpy(a->data, (char *)stacks[i].data + (size_t)k * bytes, bytes);
      }
    }
  }
  for (int i = 0; i < in->n; i++) qcc_array_free(&stacks[i]);
  free(stacks);
  return rc;
}

/* Layout 2: test_data_set_N/input_I.pb. */
static int load_test_data(const char *dir, char **sets, int n_sets, const qcc_calib_inputs *in, qcc_calib_set *set) {
  set->samples = calloc((size_t)n_sets * (size_t)in->n, sizeof(qcc_array));
  set->n_samples = n_sets;
  for (int k = 0; k < n_sets; k++)
    for (int i = 0; i < in->n; i++) {
      char path[4096], err[512];
      snprintf(path, sizeof path, "%s/%s/input_%d.pb", dir, sets[k], i);
      qcc_array *a = &set->samples[k * in->n + i];
      if (qcc_tensor_read_pb(path, a, NULL, 0, err, sizeof err)) return qcc_error("--calib: %s", err), -1;
      if (check_sample(path, a, &in->shapes[i], in->names[i])) return -1;
    }
  return 0;
}

/* Layout 3: one .npy per sample for a single-input model. */
static int load_per_file(const char *dir, char **files, int n, const qcc_calib_inputs *in, qcc_calib_set *set) {
  set->samples = calloc((size_t)n, sizeof(qcc_array));
  set->n_samples = n;
  for (int k = 0; k < n; k++) {
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, files[k]);
    if (qcc_npy_read(path, &set->samples[k], err, sizeof err)) return qcc_error("--calib: %s", err), -1;
    if (check_sample(path, &set->samples[k], &in->shapes[0], in->names[0])) return -1;
  }
  return 0;
}

/* Calibration ranges are min and max over the samples: one NaN or
 * infinity in an input would make every scale downstream meaningless, so
 * such a sample is refused, naming it. */
static int check_finite(const char *path, const qcc_calib_inputs *in, const qcc_calib_set *set) {
  for (int k = 0; k < set->n_samples; k++)
    for (int i = 0; i < in->n; i++) {
      const qcc_array *a = &set->samples[k * in->n + i];
      const int64_t n = qcc_array_numel(a);
      for (int64_t j = 0; j < n; j++) {
        const double v = a->dtype == QRT_F32 ? ((const float *)a->data)[j]
                         : a->dtype == QRT_F64 ? ((const double *)a->data)[j] : 0.0;
        if (!isfinite(v)) {
          qcc_error("--calib: %s: input '%s' of sample %d holds %s at element %lld; calibration needs finite values",
                    path, in->names[i], k, isnan(v) ? "NaN" : "an infinity", (long long)j);
          return -1;
        }
      }
    }
  return 0;
}

/* A float input that holds one value in every sample (all zeros, a
 * placeholder) calibrates ranges no real input fits: said once per
 * compile (several passes load the samples), not refused: a constant
 * input may be meant (a flag). */
static void warn_constant_inputs(const char *path, const qcc_calib_inputs *in, const qcc_calib_set *set) {
  static bool checked; /* the passes load the same samples: one scan */
  if (checked) return;
  checked = true;
  for (int i = 0; i < in->n; i++) {
    double first = 0;
    int64_t seen = 0;
    bool same = true;
    for (int k = 0; k < set->n_samples && same; k++) {
      const qcc_array *a = &set->samples[k * in->n + i];
      if (a->dtype != QRT_F32 && a->dtype != QRT_F64) break;
      for (int64_t j = 0, n = qcc_array_numel(a); j < n && same; j++, seen++) {
        const double v = a->dtype == QRT_F32 ? ((const float *)a->data)[j] : ((const double *)a->data)[j];
        if (!seen) first = v;
        same = v == first;
      }
    }
    if (same && seen > 1)
      qcc_warning("--calib: %s: input '%s' holds the one value %g in all %d sample%s: the activation ranges "
                  "calibrated on it fit no other input", path, in->names[i], first, set->n_samples,
                  set->n_samples == 1 ? "" : "s");
  }
}

int qcc_calib_load(const char *path, const qcc_calib_inputs *in, qcc_calib_set *set) {
  memset(set, 0, sizeof *set);
  set->n_inputs = in->n;
  if (!is_dir(path)) {
    qcc_error("--calib: '%s' is not a directory (expected .npy files or test_data_set_* folders)", path);
    return -1;
  }
  bool all_named = in->n > 0;
  for (int i = 0; i < in->n; i++) {
    char p[4096];
    input_file(path, in->names[i], p, sizeof p);
    all_named &= is_file(p);
  }
  int rc;
  if (all_named) {
    rc = load_by_name(path, in, set);
  } else {
    char **names;
    int n = list_dir(path, "test_data_set_", "", &names);
    if (n > 0) {
      rc = load_test_data(path, names, n, in, set);
    } else {
      free_list(names, n);
      n = list_dir(path, "", ".npy", &names);
      if (n > 0 && in->n == 1) {
        rc = load_per_file(path, names, n, in, set);
      } else {
        char expected[1024] = "";
        for (int i = 0; i < in->n; i++) {
          char stem[256];
          qcc_npy_file_stem(in->names[i], stem, sizeof stem);
          snprintf(expected + strlen(expected), sizeof expected - strlen(expected), "%s%s.npy", i ? ", " : "",
                   strchr(in->names[i], '/') ? stem : in->names[i]);
        }
        qcc_error("--calib: %s has no calibration data for this model (expected %s, or test_data_set_*/input_*.pb%s)",
                  path, expected, in->n == 1 ? ", or one .npy per sample" : "");
        rc = -1;
      }
    }
    free_list(names, n);
  }
  if (!rc) rc = check_finite(path, in, set);
  if (!rc) warn_constant_inputs(path, in, set);
  if (rc) qcc_calib_free(set);
  return rc;
}

void qcc_calib_free(qcc_calib_set *set) {
  for (int i = 0; set->samples && i < set->n_samples * set->n_inputs; i++) qcc_array_free(&set->samples[i]);
  free(set->samples);
  memset(set, 0, sizeof *set);
}

int qcc_calib_load_for(MlirModule m, const char *path, qcc_calib_set *set) {
  MlirOperation func = qcc_module_func(m);
  MlirBlock body = qcc_func_body(func);
  MlirAttribute names = mlirOperationGetAttributeByName(func, mlirStringRefCreateFromCString("onnx.input_names"));
  qcc_calib_inputs in;
  memset(&in, 0, sizeof in);
  in.n = (int)mlirBlockGetNumArguments(body);
  if (in.n > 64) return qcc_error("--calib: at most 64 model inputs are supported (this model has %d)", in.n), -1;
  char name_buf[64][128];
  for (int i = 0; i < in.n; i++) {
    if (!mlirAttributeIsNull(names) && i < mlirArrayAttrGetNumElements(names)) {
      MlirStringRef s = mlirStringAttrGetValue(mlirArrayAttrGetElement(names, i));
      snprintf(name_buf[i], sizeof name_buf[i], "%.*s", (int)s.length, s.data);
    } else {
      snprintf(name_buf[i], sizeof name_buf[i], "input%d", i);
    }
    in.names[i] = name_buf[i];
    qcc_shape_of(mlirBlockGetArgument(body, i), &in.shapes[i]);
  }
  return qcc_calib_load(path, &in, set);
}
