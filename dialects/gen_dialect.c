/* gen_dialect.c - the C counterpart of MLIR's ODS for IRDL dialects.
 *
 * Reads an IRDL file (dialects/q.irdl.mlir) through the MLIR C API and
 * writes a header and a source with, for every op X of the dialect:
 *   q_X_attrs            a struct with one typed field per declared attribute
 *   q_X_create(...)      builds the op from typed operands and attributes
 *                        (and, for q.loop, its result types and region)
 *   q_X_is(op)           true if op is a q.X
 *   q_X_get(op)          reads all attributes into a q_X_attrs
 *   q_X_in(op, k)        the k-th declared operand (null if an absent optional)
 * plus the IRDL text itself, so qcc loads the dialect without reading files.
 * Passes and codegen use only these, never op or attribute name strings.
 *
 * Usage: gen_dialect DIALECT.irdl.mlir OUT.h OUT.c
 */
#include <mlir-c/BuiltinAttributes.h>
#include <mlir-c/Dialect/IRDL.h>
#include <mlir-c/IR.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_OPS = 64, MAX_ITEMS = 16 };

typedef enum { ATTR_I64S, ATTR_I64, ATTR_F64, ATTR_STR, ATTR_ANY } attr_kind;
typedef enum { IN_SINGLE, IN_OPTIONAL, IN_VARIADIC } in_kind;

typedef struct {
  char name[64];
  int n_in;
  in_kind in[MAX_ITEMS];
  int n_attr;
  char attr_name[MAX_ITEMS][64];
  attr_kind attr[MAX_ITEMS];
  int n_results;
  int variadic_results; /* q.loop: any number of results */
  int n_regions;
} op_def;

static op_def ops[MAX_OPS];
static int n_ops;
static char dialect[64];

static void die(const char *msg) {
  fprintf(stderr, "gen_dialect: %s\n", msg);
  exit(1);
}

static void copy_ref(char *dst, size_t cap, MlirStringRef s) {
  size_t n = s.length < cap - 1 ? s.length : cap - 1;
  memcpy(dst, s.data, n);
  dst[n] = 0;
}

static int op_is(MlirOperation op, const char *name) {
  MlirStringRef s = mlirIdentifierStr(mlirOperationGetName(op));
  return s.length == strlen(name) && memcmp(s.data, name, s.length) == 0;
}

static MlirAttribute named_attr(MlirOperation op, const char *name) {
  return mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString(name));
}

static void append_cb(MlirStringRef s, void *user) {
  char *buf = user;
  size_t len = strlen(buf);
  size_t n = s.length < 1023 - len ? s.length : 1023 - len;
  memcpy(buf + len, s.data, n);
  buf[len + n] = 0;
}

/* The variadicity array prints as #irdl<variadicity_array[single, optional]>. */
static int read_variadicity(MlirOperation op, in_kind *out) {
  char text[1024] = "";
  mlirAttributePrint(named_attr(op, "variadicity"), append_cb, text);
  int n = 0;
  const char *p = strchr(text, '[');
  while (p && *p && *p != ']' && n < MAX_ITEMS) {
    p++;
    while (*p == ' ') p++;
    if (!strncmp(p, "single", 6)) out[n++] = IN_SINGLE;
    else if (!strncmp(p, "optional", 8)) out[n++] = IN_OPTIONAL;
    else if (!strncmp(p, "variadic", 8)) out[n++] = IN_VARIADIC;
    else if (*p == ']') break;
    else die("unknown variadicity");
    p = strpbrk(p, ",]");
    if (p && *p == ']') break;
  }
  return n;
}

static attr_kind attr_kind_of(MlirValue constraint) {
  if (!mlirValueIsAOpResult(constraint)) return ATTR_ANY;
  MlirOperation def = mlirOpResultGetOwner(constraint);
  if (!op_is(def, "irdl.base")) return ATTR_ANY;
  MlirAttribute base = named_attr(def, "base_name");
  if (mlirAttributeIsNull(base)) return ATTR_ANY;
  char name[64];
  copy_ref(name, sizeof name, mlirStringAttrGetValue(base));
  if (!strcmp(name, "#builtin.dense_array")) return ATTR_I64S;
  if (!strcmp(name, "#builtin.integer")) return ATTR_I64;
  if (!strcmp(name, "#builtin.float")) return ATTR_F64;
  if (!strcmp(name, "#builtin.string")) return ATTR_STR;
  return ATTR_ANY;
}

static void read_operation(MlirOperation irdl_op) {
  if (n_ops == MAX_OPS) die("too many ops");
  op_def *d = &ops[n_ops++];
  memset(d, 0, sizeof *d);
  copy_ref(d->name, sizeof d->name, mlirStringAttrGetValue(named_attr(irdl_op, "sym_name")));
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(irdl_op, 0));
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op)) {
    if (op_is(op, "irdl.operands")) {
      d->n_in = read_variadicity(op, d->in);
    } else if (op_is(op, "irdl.results")) {
      in_kind k[MAX_ITEMS];
      d->n_results = (int)mlirOperationGetNumOperands(op);
      d->variadic_results = d->n_results == 1 && read_variadicity(op, k) == 1 && k[0] == IN_VARIADIC;
    } else if (op_is(op, "irdl.regions")) {
      d->n_regions = (int)mlirOperationGetNumOperands(op);
    } else if (op_is(op, "irdl.attributes")) {
      MlirAttribute names = named_attr(op, "attributeValueNames");
      d->n_attr = (int)mlirArrayAttrGetNumElements(names);
      if (d->n_attr > MAX_ITEMS) die("too many attributes");
      for (int i = 0; i < d->n_attr; i++) {
        copy_ref(d->attr_name[i], sizeof d->attr_name[i],
                 mlirStringAttrGetValue(mlirArrayAttrGetElement(names, i)));
        d->attr[i] = attr_kind_of(mlirOperationGetOperand(op, i));
      }
    }
  }
  if (d->n_results != 1) die("every q op must have one result (or one variadic group of results)");
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) die("cannot open input");
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) die("cannot read input");
  buf[n] = 0;
  fclose(f);
  return buf;
}

/* 0: all operands single; 1: one optional/variadic group; 2: more. */
static int has_segments(const op_def *d) {
  int k = 0;
  for (int i = 0; i < d->n_in; i++)
    if (d->in[i] != IN_SINGLE) k++;
  return k > 2 ? 2 : k;
}

static const char *field_type(attr_kind k) {
  switch (k) {
  case ATTR_I64S: return "q_i64s";
  case ATTR_I64: return "int64_t";
  case ATTR_F64: return "double";
  case ATTR_STR: return "q_str";
  default: return "MlirAttribute";
  }
}

static void write_header(FILE *h) {
  fprintf(h, "/* Generated by dialects/gen_dialect.c from the IRDL definition of the\n"
             " * '%s' dialect. Do not edit. */\n", dialect);
  fprintf(h, "#ifndef Q_OPS_GEN_H\n#define Q_OPS_GEN_H\n#include <mlir-c/IR.h>\n#include <stdbool.h>\n"
             "#include <stdint.h>\n\n");
  fprintf(h, "/* An i64 list attribute (strides, pads, perm, axes...). */\n"
             "typedef struct q_i64s { int n; int64_t v[16]; } q_i64s;\n"
             "/* A short string attribute (an op kind such as \"relu\"). */\n"
             "typedef struct q_str { char s[32]; } q_str;\n\n");
  fprintf(h, "/* The IRDL source, loaded into every context by q_dialect_load. */\n"
             "extern const char q_dialect_irdl[];\n"
             "/* Number of q ops, and their names (\"q.conv\", ...) for diagnostics. */\n"
             "enum { Q_NUM_OPS = %d };\nextern const char *const q_op_names[Q_NUM_OPS];\n\n", n_ops);
  for (int o = 0; o < n_ops; o++) {
    const op_def *d = &ops[o];
    const char *n = d->name;
    if (d->n_attr) {
      fprintf(h, "typedef struct q_%s_attrs {", n);
      for (int i = 0; i < d->n_attr; i++) fprintf(h, " %s %s;", field_type(d->attr[i]), d->attr_name[i]);
      fprintf(h, " } q_%s_attrs;\n", n);
    }
    fprintf(h, "bool q_%s_is(MlirOperation op);\n", n);
    fprintf(h, "MlirOperation q_%s_create(MlirLocation loc, %s", n,
            d->variadic_results ? "const MlirType *results, intptr_t n_results" : "MlirType result");
    for (int i = 0; i < d->n_in; i++) {
      if (d->in[i] == IN_VARIADIC) fprintf(h, ", const MlirValue *in%d, intptr_t n_in%d", i, i);
      else fprintf(h, ", MlirValue in%d%s", i, d->in[i] == IN_OPTIONAL ? "_or_null" : "");
    }
    if (d->n_attr) fprintf(h, ", const q_%s_attrs *attrs", n);
    for (int r = 0; r < d->n_regions; r++) fprintf(h, ", MlirRegion region%d", r);
    fprintf(h, ");\n");
    if (d->n_attr) fprintf(h, "q_%s_attrs q_%s_get(MlirOperation op);\n", n, n);
    fprintf(h, "MlirValue q_%s_in(MlirOperation op, int k);\n", n);
    fprintf(h, "intptr_t q_%s_num_in(MlirOperation op, int k);\n\n", n);
  }
  fprintf(h, "#endif\n");
}

static void write_irdl_string(FILE *c, const char *text) {
  fprintf(c, "const char q_dialect_irdl[] =\n  \"");
  for (const char *p = text; *p; p++) {
    if (*p == '\n') fprintf(c, "\\n\"\n  \"");
    else if (*p == '"' || *p == '\\') fprintf(c, "\\%c", *p);
    else fputc(*p, c);
  }
  fprintf(c, "\";\n\n");
}

static void write_source(FILE *c, const char *hdr_name, const char *irdl_text) {
  fprintf(c, "/* Generated by dialects/gen_dialect.c. Do not edit. */\n");
  fprintf(c, "#include \"%s\"\n#include \"q_dialect_support.h\"\n\n", hdr_name);
  write_irdl_string(c, irdl_text);
  fprintf(c, "const char *const q_op_names[Q_NUM_OPS] = {");
  for (int o = 0; o < n_ops; o++) fprintf(c, "%s\"%s.%s\"", o ? ", " : "", dialect, ops[o].name);
  fprintf(c, "};\n\n");
  for (int o = 0; o < n_ops; o++) {
    const op_def *d = &ops[o];
    const char *n = d->name;
    fprintf(c, "bool q_%s_is(MlirOperation op) { return q_op_named(op, \"%s.%s\"); }\n\n", n, dialect, n);
    /* create */
    fprintf(c, "MlirOperation q_%s_create(MlirLocation loc, %s", n,
            d->variadic_results ? "const MlirType *results, intptr_t n_results" : "MlirType result");
    for (int i = 0; i < d->n_in; i++) {
      if (d->in[i] == IN_VARIADIC) fprintf(c, ", const MlirValue *in%d, intptr_t n_in%d", i, i);
      else fprintf(c, ", MlirValue in%d%s", i, d->in[i] == IN_OPTIONAL ? "_or_null" : "");
    }
    if (d->n_attr) fprintf(c, ", const q_%s_attrs *attrs", n);
    for (int r = 0; r < d->n_regions; r++) fprintf(c, ", MlirRegion region%d", r);
    if (d->variadic_results)
      fprintf(c, ") {\n  q_op_builder b;\n  q_builder_init(&b, \"%s.%s\", loc, results[0]);\n"
                 "  q_builder_results(&b, results, n_results);\n", dialect, n);
    else
      fprintf(c, ") {\n  q_op_builder b;\n  q_builder_init(&b, \"%s.%s\", loc, result);\n", dialect, n);
    for (int r = 0; r < d->n_regions; r++) fprintf(c, "  q_builder_region(&b, region%d);\n", r);
    for (int i = 0; i < d->n_in; i++) {
      if (d->in[i] == IN_VARIADIC) fprintf(c, "  q_builder_operands(&b, in%d, n_in%d);\n", i, i);
      else if (d->in[i] == IN_OPTIONAL) fprintf(c, "  q_builder_optional(&b, in%d_or_null);\n", i);
      else fprintf(c, "  q_builder_operands(&b, &in%d, 1);\n", i);
    }
    for (int i = 0; i < d->n_attr; i++) {
      static const char *setters[] = {"q_builder_i64s", "q_builder_i64", "q_builder_f64", "q_builder_str",
                                      "q_builder_attr"};
      fprintf(c, "  %s(&b, \"%s\", %sattrs->%s%s);\n", setters[d->attr[i]], d->attr_name[i],
              d->attr[i] == ATTR_I64S ? "&" : "", d->attr_name[i], d->attr[i] == ATTR_STR ? ".s" : "");
    }
    fprintf(c, "  return q_builder_finish(&b, %d);\n}\n\n", has_segments(d));
    /* get */
    if (d->n_attr) {
      fprintf(c, "q_%s_attrs q_%s_get(MlirOperation op) {\n  q_%s_attrs a;\n", n, n, n);
      for (int i = 0; i < d->n_attr; i++) {
        static const char *getters[] = {"q_attr_i64s", "q_attr_i64", "q_attr_f64", "q_attr_str", "q_attr_any"};
        fprintf(c, "  a.%s = %s(op, \"%s\");\n", d->attr_name[i], getters[d->attr[i]], d->attr_name[i]);
      }
      fprintf(c, "  return a;\n}\n\n");
    }
    /* operand groups */
    fprintf(c, "static const int q_%s_kinds[] = {", n);
    for (int i = 0; i < d->n_in; i++) fprintf(c, "%s%d", i ? ", " : "", (int)d->in[i]);
    fprintf(c, "%s};\n", d->n_in ? "" : "0");
    fprintf(c, "MlirValue q_%s_in(MlirOperation op, int k) {\n"
               "  return q_operand_group(op, q_%s_kinds, %d, k, 0);\n}\n", n, n, d->n_in);
    fprintf(c, "intptr_t q_%s_num_in(MlirOperation op, int k) {\n"
               "  return q_operand_group_size(op, q_%s_kinds, %d, k);\n}\n\n", n, n, d->n_in);
  }
}

int main(int argc, char **argv) {
  if (argc != 4) die("usage: gen_dialect DIALECT.irdl.mlir OUT.h OUT.c");
  char *text = read_file(argv[1]);
  MlirContext ctx = mlirContextCreate();
  mlirDialectHandleRegisterDialect(mlirGetDialectHandle__irdl__(), ctx);
  MlirModule mod = mlirModuleCreateParse(ctx, mlirStringRefCreateFromCString(text));
  if (mlirModuleIsNull(mod)) die("cannot parse the IRDL file");
  MlirBlock top = mlirModuleGetBody(mod);
  for (MlirOperation d = mlirBlockGetFirstOperation(top); !mlirOperationIsNull(d);
       d = mlirOperationGetNextInBlock(d)) {
    if (!op_is(d, "irdl.dialect")) continue;
    copy_ref(dialect, sizeof dialect, mlirStringAttrGetValue(named_attr(d, "sym_name")));
    MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(d, 0));
    for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
         op = mlirOperationGetNextInBlock(op))
      if (op_is(op, "irdl.operation")) read_operation(op);
  }
  FILE *h = fopen(argv[2], "w"), *c = fopen(argv[3], "w");
  if (!h || !c) die("cannot write outputs");
  const char *hdr_name = strrchr(argv[2], '/') ? strrchr(argv[2], '/') + 1 : argv[2];
  write_header(h);
  write_source(c, hdr_name, text);
  fclose(h);
  fclose(c);
  mlirModuleDestroy(mod);
  mlirContextDestroy(ctx);
  free(text);
  return 0;
}
