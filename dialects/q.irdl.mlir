// The q dialect: qcc's closed set of tensor ops, defined in IRDL so every op
// is verified without C++. Float graph ops come first; quantization ops join
// them later. Conventions, relied on by dialects/gen_dialect.c:
//  - "!builtin.tensor" operands/results; each its own constraint variable
//    (a shared variable would force the types to be equal).
//  - attribute kinds: "#builtin.dense_array" (i64 list), "#builtin.integer"
//    (i64), "#builtin.float" (f64), "#builtin.string"; any other constraint
//    (irdl.any) is passed through as an MlirAttribute.
//  - shapes and element types of results are carried by the result types,
//    so reshape, broadcast and cast need no attributes.
//  - one result per op, except q.loop's one variadic group; q.loop alone
//    has a region (its create takes the result types and the region).
irdl.dialect @q {
  // A constant tensor; `value` is a dense elements attribute.
  irdl.operation @constant {
    %v = irdl.any
    %y = irdl.base "!builtin.tensor"
    irdl.attributes {"value" = %v}
    irdl.results(%y)
  }
  // N-d convolution, NC(spatial) layout. pads = [begin..., end...].
  irdl.operation @conv {
    %x = irdl.base "!builtin.tensor"
    %w = irdl.base "!builtin.tensor"
    %b = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %strides = irdl.base "#builtin.dense_array"
    %pads = irdl.base "#builtin.dense_array"
    %dilations = irdl.base "#builtin.dense_array"
    %group = irdl.base "#builtin.integer"
    irdl.operands(%x, %w, optional %b)
    irdl.attributes {"strides" = %strides, "pads" = %pads, "dilations" = %dilations, "group" = %group}
    irdl.results(%y)
  }
  // Max or average pooling; kind is "max" or "avg". Global pools use a
  // kernel the size of the input. ceil_mode is resolved into the result
  // shape by legalization.
  irdl.operation @pool {
    %x = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %kind = irdl.base "#builtin.string"
    %kernel = irdl.base "#builtin.dense_array"
    %strides = irdl.base "#builtin.dense_array"
    %pads = irdl.base "#builtin.dense_array"
    %dilations = irdl.base "#builtin.dense_array"
    %cip = irdl.base "#builtin.integer"
    irdl.operands(%x)
    irdl.attributes {"kind" = %kind, "kernel" = %kernel, "strides" = %strides, "pads" = %pads, "dilations" = %dilations, "count_include_pad" = %cip}
    irdl.results(%y)
  }
  // Batched matrix product with numpy broadcasting of the batch dims, an
  // optional bias added along the last dim, and an optional residual of
  // the result's shape added last (passes/fuse_residual.c).
  irdl.operation @matmul {
    %a = irdl.base "!builtin.tensor"
    %b = irdl.base "!builtin.tensor"
    %bias = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %res = irdl.base "!builtin.tensor"
    irdl.operands(%a, %b, optional %bias, optional %res)
    irdl.results(%y)
  }
  // Elementwise op with one input: relu, sigmoid, tanh, erf, exp, ...;
  // alpha/beta parameterise leaky_relu, elu, clip, hard_sigmoid.
  irdl.operation @unary {
    %x = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %kind = irdl.base "#builtin.string"
    %alpha = irdl.base "#builtin.float"
    %beta = irdl.base "#builtin.float"
    irdl.operands(%x)
    irdl.attributes {"kind" = %kind, "alpha" = %alpha, "beta" = %beta}
    irdl.results(%y)
  }
  // Elementwise op with two broadcast inputs: add, sub, mul, div, pow,
  // max, min, mod, fmod, equal, less, greater, less_equal, greater_equal,
  // and, or, xor.
  irdl.operation @binary {
    %a = irdl.base "!builtin.tensor"
    %b = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %kind = irdl.base "#builtin.string"
    irdl.operands(%a, %b)
    irdl.attributes {"kind" = %kind}
    irdl.results(%y)
  }
  // select(cond, a, b) with broadcasting.
  irdl.operation @where {
    %c = irdl.base "!builtin.tensor"
    %a = irdl.base "!builtin.tensor"
    %b = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    irdl.operands(%c, %a, %b)
    irdl.results(%y)
  }
  // softmax (log = 0) or log-softmax (log = 1) along one axis.
  irdl.operation @softmax {
    %x = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %axis = irdl.base "#builtin.integer"
    %log = irdl.base "#builtin.integer"
    irdl.operands(%x)
    irdl.attributes {"axis" = %axis, "log" = %log}
    irdl.results(%y)
  }
  // Normalisation over the dims from `axis` to the end: layer (mean and
  // variance) or rms (no mean). scale and bias have the normalised shape.
  irdl.operation @norm {
    %x = irdl.base "!builtin.tensor"
    %scale = irdl.base "!builtin.tensor"
    %bias = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %kind = irdl.base "#builtin.string"
    %axis = irdl.base "#builtin.integer"
    %eps = irdl.base "#builtin.float"
    irdl.operands(%x, %scale, optional %bias)
    irdl.attributes {"kind" = %kind, "axis" = %axis, "epsilon" = %eps}
    irdl.results(%y)
  }
  // Reduction over `axes` (sorted, non-negative); keepdims is reflected in
  // the result type.
  irdl.operation @reduce {
    %x = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %kind = irdl.base "#builtin.string"
    %axes = irdl.base "#builtin.dense_array"
    irdl.operands(%x)
    irdl.attributes {"kind" = %kind, "axes" = %axes}
    irdl.results(%y)
  }
  // Index of the max/min along an axis; keepdims shows in the result type.
  irdl.operation @argreduce {
    %x = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %kind = irdl.base "#builtin.string"
    %axis = irdl.base "#builtin.integer"
    %last = irdl.base "#builtin.integer"
    irdl.operands(%x)
    irdl.attributes {"kind" = %kind, "axis" = %axis, "select_last_index" = %last}
    irdl.results(%y)
  }
  // Same elements, new shape (the result type's).
  irdl.operation @reshape {
    %x = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    irdl.operands(%x)
    irdl.results(%y)
  }
  irdl.operation @transpose {
    %x = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %perm = irdl.base "#builtin.dense_array"
    irdl.operands(%x)
    irdl.attributes {"perm" = %perm}
    irdl.results(%y)
  }
  // Strided window: for every dim, the first index and the step (may be
  // negative); the result type gives the extent.
  irdl.operation @slice {
    %x = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %starts = irdl.base "#builtin.dense_array"
    %steps = irdl.base "#builtin.dense_array"
    irdl.operands(%x)
    irdl.attributes {"starts" = %starts, "steps" = %steps}
    irdl.results(%y)
  }
  // numpy broadcast of the input to the result type's shape (ONNX Expand).
  irdl.operation @broadcast {
    %x = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    irdl.operands(%x)
    irdl.results(%y)
  }
  irdl.operation @concat {
    %x = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %axis = irdl.base "#builtin.integer"
    irdl.operands(variadic %x)
    irdl.attributes {"axis" = %axis}
    irdl.results(%y)
  }
  irdl.operation @gather {
    %x = irdl.base "!builtin.tensor"
    %i = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %axis = irdl.base "#builtin.integer"
    irdl.operands(%x, %i)
    irdl.attributes {"axis" = %axis}
    irdl.results(%y)
  }
  // ONNX GatherElements: y has i's shape; y[p] = x[p with p[axis] = i[p]].
  irdl.operation @gather_elements {
    %x = irdl.base "!builtin.tensor"
    %i = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %axis = irdl.base "#builtin.integer"
    irdl.operands(%x, %i)
    irdl.attributes {"axis" = %axis}
    irdl.results(%y)
  }
  // ONNX GatherND: the last dim of i holds index tuples into x's dims after
  // the first batch_dims (which x and i share).
  irdl.operation @gather_nd {
    %x = irdl.base "!builtin.tensor"
    %i = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %bd = irdl.base "#builtin.integer"
    irdl.operands(%x, %i)
    irdl.attributes {"batch_dims" = %bd}
    irdl.results(%y)
  }
  // ONNX ScatterElements: y = x with each update u[p] combined into
  // y[p with p[axis] = i[p]]; reduction none|add|mul|max|min.
  irdl.operation @scatter_elements {
    %x = irdl.base "!builtin.tensor"
    %i = irdl.base "!builtin.tensor"
    %u = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %axis = irdl.base "#builtin.integer"
    %red = irdl.base "#builtin.string"
    irdl.operands(%x, %i, %u)
    irdl.attributes {"axis" = %axis, "reduction" = %red}
    irdl.results(%y)
  }
  // ONNX ScatterND: y = x with the slice u[t] combined into the slice of y
  // that index tuple i[t] names; reduction as scatter_elements.
  irdl.operation @scatter_nd {
    %x = irdl.base "!builtin.tensor"
    %i = irdl.base "!builtin.tensor"
    %u = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %red = irdl.base "#builtin.string"
    irdl.operands(%x, %i, %u)
    irdl.attributes {"reduction" = %red}
    irdl.results(%y)
  }
  // KV cache in int8 / int4 rows (--kv-bits; layout: QRT_KV_PARAMS in
  // runtime/qrt.h): kv_store = scatter_elements (kind "elements", axis) or
  // scatter_nd (kind "nd"), reduction none, of float updates u at indices i
  // into the cache x (ui8 [..., row bytes]) seen as float [..., row_len];
  // rows that receive updates are re-encoded with `bits`.
  irdl.operation @kv_store {
    %x = irdl.base "!builtin.tensor"
    %i = irdl.base "!builtin.tensor"
    %u = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %kind = irdl.base "#builtin.string"
    %axis = irdl.base "#builtin.integer"
    %bits = irdl.base "#builtin.integer"
    %len = irdl.base "#builtin.integer"
    irdl.operands(%x, %i, %u)
    irdl.attributes {"kind" = %kind, "axis" = %axis, "bits" = %bits, "row_len" = %len}
    irdl.results(%y)
  }
  // kv_load: the float tensor [..., row_len] a kv_store cache holds.
  irdl.operation @kv_load {
    %x = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %bits = irdl.base "#builtin.integer"
    irdl.operands(%x)
    irdl.attributes {"bits" = %bits}
    irdl.results(%y)
  }
  // ONNX Resize to the result type's shape. scales: float32 [rank] (absent:
  // out/in per axis); roi: float64 [2*rank] for tf_crop_and_resize. mode
  // nearest|linear|cubic; coord and nearest name ONNX's
  // coordinate_transformation_mode and nearest_mode.
  irdl.operation @resize {
    %x = irdl.base "!builtin.tensor"
    %s = irdl.base "!builtin.tensor"
    %r = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %mode = irdl.base "#builtin.string"
    %coord = irdl.base "#builtin.string"
    %nearest = irdl.base "#builtin.string"
    %a = irdl.base "#builtin.float"
    %excl = irdl.base "#builtin.integer"
    %extra = irdl.base "#builtin.float"
    irdl.operands(%x, optional %s, optional %r)
    irdl.attributes {"mode" = %mode, "coord" = %coord, "nearest" = %nearest, "cubic_a" = %a, "exclude_outside" = %excl, "extrapolation" = %extra}
    irdl.results(%y)
  }
  // ONNX CumSum; the axis is a scalar int tensor read at run time.
  irdl.operation @cumsum {
    %x = irdl.base "!builtin.tensor"
    %axis = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %excl = irdl.base "#builtin.integer"
    %rev = irdl.base "#builtin.integer"
    irdl.operands(%x, %axis)
    irdl.attributes {"exclusive" = %excl, "reverse" = %rev}
    irdl.results(%y)
  }
  // The int64 positions of the k (the result's axis dim) largest or
  // smallest elements along axis, best first (ONNX TopK's indices).
  irdl.operation @topk {
    %x = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %axis = irdl.base "#builtin.integer"
    %largest = irdl.base "#builtin.integer"
    irdl.operands(%x)
    irdl.attributes {"axis" = %axis, "largest" = %largest}
    irdl.results(%y)
  }
  // ONNX GridSample (4-D): mode bilinear|nearest|bicubic, padding
  // zeros|border|reflection.
  irdl.operation @grid_sample {
    %x = irdl.base "!builtin.tensor"
    %g = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %mode = irdl.base "#builtin.string"
    %pad = irdl.base "#builtin.string"
    %align = irdl.base "#builtin.integer"
    irdl.operands(%x, %g)
    irdl.attributes {"mode" = %mode, "padding" = %pad, "align_corners" = %align}
    irdl.results(%y)
  }
  // ONNX TfIdfVectorizer over an integer pool: pool, ngram_counts and
  // ngram_indexes are int64 operands, weights (per output column) optional.
  irdl.operation @tfidf {
    %x = irdl.base "!builtin.tensor"
    %pool = irdl.base "!builtin.tensor"
    %counts = irdl.base "!builtin.tensor"
    %indexes = irdl.base "!builtin.tensor"
    %w = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %mode = irdl.base "#builtin.string"
    %min = irdl.base "#builtin.integer"
    %max = irdl.base "#builtin.integer"
    %skip = irdl.base "#builtin.integer"
    irdl.operands(%x, %pool, %counts, %indexes, optional %w)
    irdl.attributes {"mode" = %mode, "min_gram_length" = %min, "max_gram_length" = %max, "max_skip_count" = %skip}
    irdl.results(%y)
  }
  // ONNX DFT along axis of x [..., complex] (complex 1 or 2) with the
  // signal padded/truncated to `length`; the result's axis dim is the
  // number of bins and its last dim 2.
  irdl.operation @dft {
    %x = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %axis = irdl.base "#builtin.integer"
    %inv = irdl.base "#builtin.integer"
    %len = irdl.base "#builtin.integer"
    irdl.operands(%x)
    irdl.attributes {"axis" = %axis, "inverse" = %inv, "length" = %len}
    irdl.results(%y)
  }
  // Determinant of each trailing m x m matrix (ONNX Det).
  irdl.operation @det {
    %x = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    irdl.operands(%x)
    irdl.results(%y)
  }
  // ONNX RoiAlign: x [N, C, H, W], rois [R, 4], batch_indices [R] (int64);
  // mode avg|max; the result type gives [R, C, out_h, out_w].
  irdl.operation @roi_align {
    %x = irdl.base "!builtin.tensor"
    %rois = irdl.base "!builtin.tensor"
    %b = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %mode = irdl.base "#builtin.string"
    %half = irdl.base "#builtin.integer"
    %ratio = irdl.base "#builtin.integer"
    %scale = irdl.base "#builtin.float"
    irdl.operands(%x, %rois, %b)
    irdl.attributes {"mode" = %mode, "half_pixel" = %half, "sampling_ratio" = %ratio, "spatial_scale" = %scale}
    irdl.results(%y)
  }
  // pads = [begin..., end...] (negative crops); mode constant|reflect|edge.
  irdl.operation @pad {
    %x = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %pads = irdl.base "#builtin.dense_array"
    %mode = irdl.base "#builtin.string"
    %value = irdl.base "#builtin.float"
    irdl.operands(%x)
    irdl.attributes {"pads" = %pads, "mode" = %mode, "value" = %value}
    irdl.results(%y)
  }
  // Element type conversion to the result type's element type.
  irdl.operation @cast {
    %x = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    irdl.operands(%x)
    irdl.results(%y)
  }

  // ---- quantization ----------------------------------------------------
  // Tensors between quantized ops have !quant.uniform element types (int8
  // storage, scale and zero point in the type). Weights are plain integer
  // constants; their per-channel scales are folded into the requantization
  // multipliers, which the quantize pass computes.

  // float -> !quant.uniform (the result type's scale and zero point).
  irdl.operation @quantize {
    %x = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    irdl.operands(%x)
    irdl.results(%y)
  }
  // !quant.uniform -> float.
  irdl.operation @dequantize {
    %x = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    irdl.operands(%x)
    irdl.results(%y)
  }
  // Integer matmul on the raw int8 values of a: acc[m,n] = sum_k a * b[k,n]
  // + bias[n] (int32), where bias already holds -a_zp * sum_k b[k,n] (the
  // input zero point is folded at compile time, so the kernel does no
  // zero-point work); out = clamp(out_zp + round(acc * multiplier[n] /
  // 2^shift[n]), out_min, out_max), multiplier i32 and shift i8 (0..62)
  // per column. out_zp comes from the result type.
  // Weights b hold integer codes of `format` ("int8" or "int4", the
  // runtime's format table QRT_ALL_WFORMATS; int4 codes in [-8, 7], stored
  // two per byte by the code generator). group > 0: b's rows come in groups
  // of `group` and gmult (ui8 [ceil(K/group), N]) multiplies each group's
  // integer sum (real weight = weight_scales[n] * gmult[g,n] * code).
  // b may also be a run-time value (attention: [..., K, N], batched like
  // q.matmul, symmetric int8 of one scale); then nothing is folded:
  // acc = sum_k (a - a_zp) * b + bias.
  irdl.operation @qmatmul {
    %a = irdl.base "!builtin.tensor"
    %b = irdl.base "!builtin.tensor"
    %bias = irdl.base "!builtin.tensor"
    %mult = irdl.base "!builtin.tensor"
    %shift = irdl.base "!builtin.tensor"
    %gmult = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %lo = irdl.base "#builtin.integer"
    %hi = irdl.base "#builtin.integer"
    %ws = irdl.any
    %format = irdl.base "#builtin.string"
    %group = irdl.base "#builtin.integer"
    irdl.operands(%a, %b, %bias, %mult, %shift, optional %gmult)
    irdl.attributes {"out_min" = %lo, "out_max" = %hi, "weight_scales" = %ws, "format" = %format, "group" = %group}
    irdl.results(%y)
  }
  // q.qmatmul whose int8 result only fed a q.dequantize, with the float
  // epilogue instead (the float-epilogues pass): the same integer sums acc
  // of a's codes and b's (format, group, gmult as q.qmatmul, constant b,
  // a's zero point folded into the bias), then y[m,n] = scale[n] * acc +
  // bias[n] in float (f32 [N] each: scale = s_y M0 2^-shift, the requant
  // multiplier times the output scale, and bias = scale * the int32 bias),
  // with no rounding to output codes, clamped to [out_lo, out_hi] (the int8
  // epilogue's output range in real values: the calibrated clip and any
  // folded ReLU). res (optional, y's shape, float): a residual added last,
  // y = clamp(scale[n] * acc + bias[n]) + res[m,n], the add that followed
  // folded in. Runtime qrt_qmatmul_i8_f32out.
  irdl.operation @qmatmul_deq {
    %a = irdl.base "!builtin.tensor"
    %b = irdl.base "!builtin.tensor"
    %bias = irdl.base "!builtin.tensor"
    %scale = irdl.base "!builtin.tensor"
    %gmult = irdl.base "!builtin.tensor"
    %res = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %ws = irdl.any
    %format = irdl.base "#builtin.string"
    %group = irdl.base "#builtin.integer"
    %lo = irdl.base "#builtin.float"
    %hi = irdl.base "#builtin.float"
    irdl.operands(%a, %b, %bias, %scale, optional %gmult, optional %res)
    irdl.attributes {"weight_scales" = %ws, "format" = %format, "group" = %group, "out_lo" = %lo, "out_hi" = %hi}
    irdl.results(%y)
  }
  // Quantized weights (codes, format, group, gmult as q.qmatmul) with float
  // activations: y = a @ W + bias (f32), W[k,n] = scale[n] * gmult[g,n] *
  // b[k,n]. act_bits 0: weight-only (W8A16 / W4A16; the product is a float
  // matmul by W); act_bits 8 or 4: each row of a is quantized at run time,
  // symmetric, to act_bits (per-token scales, QuaRot), then an integer
  // matmul (runtime qrt_qmatmul_dyn_f32).
  irdl.operation @fqmatmul {
    %a = irdl.base "!builtin.tensor"
    %b = irdl.base "!builtin.tensor"
    %bias = irdl.base "!builtin.tensor"
    %scale = irdl.base "!builtin.tensor"
    %gmult = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %format = irdl.base "#builtin.string"
    %group = irdl.base "#builtin.integer"
    %abits = irdl.base "#builtin.integer"
    irdl.operands(%a, %b, %bias, %scale, optional %gmult)
    irdl.attributes {"format" = %format, "group" = %group, "act_bits" = %abits}
    irdl.results(%y)
  }
  // Block-format weights: y = A_hat @ W_hat + bias (f32). w_format names a
  // row of the runtime's block-format table (QRT_ALL_BFORMATS: BFP, MX,
  // NVFP4, BBFP); w is ui8 [N, bytes per column], column n the packed
  // vector of W[:, n] (qrt_bfmt_encode), or a float [..., K, N] computed
  // at run time (attention; batch dims equal to a's), whose columns are
  // quantized to w_format at run time. a_format: the same table (each
  // row of a quantized at run time, block scales from the data, as MX
  // prescribes) or "f32" (a used as it is: weight-only). Runtime
  // qrt_bmatmul_f32.
  irdl.operation @bmatmul {
    %a = irdl.base "!builtin.tensor"
    %w = irdl.base "!builtin.tensor"
    %bias = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %wf = irdl.base "#builtin.string"
    %af = irdl.base "#builtin.string"
    irdl.operands(%a, %w, optional %bias)
    irdl.attributes {"w_format" = %wf, "a_format" = %af}
    irdl.results(%y)
  }
  // MSQ (MQuant): static activation parameters per modality. mod holds the
  // modality of each row ([M] or [1, M], any numeric type; index = value
  // clamped to [0, n_mod - 1], NaN -> 0).
  // msq_quantize: x f32 [..., M, K] -> int8 codes, row r quantized with
  // scales[m] / zero_points[m] of its modality m to [qmin, qmax] (scales:
  // dense f64 elements [n_mod]). Runtime qrt_msq_quantize_f32_i8.
  irdl.operation @msq_quantize {
    %x = irdl.base "!builtin.tensor"
    %mod = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %s = irdl.any
    %z = irdl.base "#builtin.dense_array"
    %lo = irdl.base "#builtin.integer"
    %hi = irdl.base "#builtin.integer"
    irdl.operands(%x, %mod)
    irdl.attributes {"scales" = %s, "zero_points" = %z, "qmin" = %lo, "qmax" = %hi}
    irdl.results(%y)
  }
  // msqmatmul: y = a @ W + bias for a = the int8 codes of q.msq_quantize:
  // rows of modality m are multiplied by the weight codes b (format, group,
  // gmult as q.qmatmul) with row m of bias (int32 [n_mod, N], m's input zero
  // point folded in), mult (i32 [n_mod, N]) and shift (i8 [n_mod, N]) into
  // int8 codes of out_scales[m] / out_zero_points[m] clamped to
  // [out_mins[m], out_maxs[m]], and dequantized to f32 (out_scales: dense
  // f64 elements [n_mod]). Runtime qrt_msqmatmul_i8_f32; with an int8
  // (!quant.uniform, one scale for every modality) result the codes
  // themselves, for int8 readers (attention): qrt_msqmatmul_i8.
  irdl.operation @msqmatmul {
    %a = irdl.base "!builtin.tensor"
    %b = irdl.base "!builtin.tensor"
    %bias = irdl.base "!builtin.tensor"
    %mult = irdl.base "!builtin.tensor"
    %shift = irdl.base "!builtin.tensor"
    %mod = irdl.base "!builtin.tensor"
    %gmult = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %os = irdl.any
    %oz = irdl.base "#builtin.dense_array"
    %omin = irdl.base "#builtin.dense_array"
    %omax = irdl.base "#builtin.dense_array"
    %format = irdl.base "#builtin.string"
    %group = irdl.base "#builtin.integer"
    irdl.operands(%a, %b, %bias, %mult, %shift, %mod, optional %gmult)
    irdl.attributes {"out_scales" = %os, "out_zero_points" = %oz, "out_mins" = %omin, "out_maxs" = %omax, "format" = %format, "group" = %group}
    irdl.results(%y)
  }
  // msqmatmul_deq: a float-out q.msqmatmul in the float-epilogues pass's
  // form (as q.qmatmul_deq is of q.qmatmul): the same integer sums acc
  // (a, b, mod, gmult as q.msqmatmul); row r of modality m gives
  // y = clamp(scale[m,n] * acc + bias[m,n], out_los[m], out_his[m])
  // [+ res[r,n]] (bias and scale f32 [n_mod, N], m's input zero point
  // folded into bias; out_los / out_his dense f64 elements [n_mod]: the
  // codes' range in real values). Runtime qrt_msqmatmul_i8_f32out.
  irdl.operation @msqmatmul_deq {
    %a = irdl.base "!builtin.tensor"
    %b = irdl.base "!builtin.tensor"
    %bias = irdl.base "!builtin.tensor"
    %scale = irdl.base "!builtin.tensor"
    %mod = irdl.base "!builtin.tensor"
    %gmult = irdl.base "!builtin.tensor"
    %res = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %lo = irdl.any
    %hi = irdl.any
    %format = irdl.base "#builtin.string"
    %group = irdl.base "#builtin.integer"
    irdl.operands(%a, %b, %bias, %scale, %mod, optional %gmult, optional %res)
    irdl.attributes {"out_los" = %lo, "out_his" = %hi, "format" = %format, "group" = %group}
    irdl.results(%y)
  }
  // msq_lut: an elementwise function between MSQ layers by table: x int8
  // codes [..., M, K] of per-modality parameters (a q.msqmatmul's int8
  // result), table i8 [n_mod, 256]: row r of modality m reads row m of the
  // table, y = table[m][x + 128], int8 codes of the next layer's input
  // parameters of m. Runtime qrt_msq_lut_i8 (qrt_lut_i8 once per run).
  // With a float table f32 [n_mod, 256], y is float: f of the dequantized
  // code (qrt_msq_lut_i8_f32, qrt_lut_i8_f32 once per run).
  irdl.operation @msq_lut {
    %x = irdl.base "!builtin.tensor"
    %table = irdl.base "!builtin.tensor"
    %mod = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %kind = irdl.base "#builtin.string"
    irdl.operands(%x, %table, %mod)
    irdl.attributes {"kind" = %kind}
    irdl.results(%y)
  }
  // Integer convolution, geometry as q.conv: acc = sum (x - x_zp) * w +
  // bias (padding reads x_zp, i.e. real 0), requantized as q.qmatmul per
  // output channel; colsum[c] = sum of channel c's weights lets SIMD kernels
  // handle x_zp. Zero points come from the operand/result types. format as
  // q.qmatmul (per output channel only: no gmult).
  irdl.operation @qconv {
    %x = irdl.base "!builtin.tensor"
    %w = irdl.base "!builtin.tensor"
    %bias = irdl.base "!builtin.tensor"
    %mult = irdl.base "!builtin.tensor"
    %shift = irdl.base "!builtin.tensor"
    %colsum = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %strides = irdl.base "#builtin.dense_array"
    %pads = irdl.base "#builtin.dense_array"
    %dilations = irdl.base "#builtin.dense_array"
    %group = irdl.base "#builtin.integer"
    %lo = irdl.base "#builtin.integer"
    %hi = irdl.base "#builtin.integer"
    %ws = irdl.any
    %format = irdl.base "#builtin.string"
    irdl.operands(%x, %w, %bias, %mult, %shift, %colsum)
    irdl.attributes {"strides" = %strides, "pads" = %pads, "dilations" = %dilations, "group" = %group, "out_min" = %lo, "out_max" = %hi, "weight_scales" = %ws, "format" = %format}
    irdl.results(%y)
  }
  // Online rotation of the last axis (QuaRot's run-time Hadamard): y = scale *
  // x H_n with H_n = H_m (x) S_p (Sylvester S_p, p a power of two, n = m p);
  // hm is H_m as an i8 [m, m] constant of +-1, absent when m = 1. The
  // rotate pass inserts it and folds its inverse into the next weights.
  irdl.operation @hadamard {
    %x = irdl.base "!builtin.tensor"
    %hm = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %scale = irdl.base "#builtin.float"
    irdl.operands(%x, optional %hm)
    irdl.attributes {"scale" = %scale}
    irdl.results(%y)
  }
  // --integer-only: int8 in, int8 out, integer arithmetic only; every
  // float constant (scales, the function, epsilon, gamma, beta) was turned
  // into integers at compile time by the runtime's builders. Operand and
  // result types are !quant.uniform (scales and zero points).
  //
  // Elementwise function `kind` (a q.unary kind) by table: y = table[x + 128]
  // with table (i8 [256]) the correctly rounded f(x) for each int8 x.
  // Static schemes also use it with an f32 table and an f32 result: a
  // float function of int8 codes whose output stays float, table[x + 128]
  // = f(dequantize(x)) as the runtime's float kernels compute it.
  irdl.operation @lut {
    %x = irdl.base "!builtin.tensor"
    %table = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %kind = irdl.base "#builtin.string"
    irdl.operands(%x, %table)
    irdl.attributes {"kind" = %kind}
    irdl.results(%y)
  }
  // Softmax over the last axis: table (i32 [256]) = round(2^30 exp(-s d)),
  // s = x's scale times `scale` (a positive constant factor that multiplied
  // the logits, folded); mask (ui8, cycling over the elements in row-major
  // order) excludes the zeros, as a constant additive -inf / -1e4 mask did.
  // The result has scale 1/256 and zero point -128.
  irdl.operation @qsoftmax {
    %x = irdl.base "!builtin.tensor"
    %table = irdl.base "!builtin.tensor"
    %mask = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %scale = irdl.base "#builtin.float"
    irdl.operands(%x, %table, optional %mask)
    irdl.attributes {"scale" = %scale}
    irdl.results(%y)
  }
  // Static schemes: float softmax over the last axis of values read from
  // int8 codes, x = table[x + 128] (f32 [256]: the dequantize and the
  // constant factors that led to the softmax), -inf where mask (ui8
  // constant, or a bool computed at run time, cycling over the elements
  // in row-major order) is 0, as an additive causal mask whose exp
  // underflows gave; runtime qrt_softmax_codes_f32.
  irdl.operation @softmax_codes {
    %x = irdl.base "!builtin.tensor"
    %table = irdl.base "!builtin.tensor"
    %mask = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    irdl.operands(%x, %table, optional %mask)
    irdl.results(%y)
  }
  // Fused float attention (passes/fuse_attention.c): y = softmax(q kt
  // [* scale, or / scale with scale_divides = 1] [+ mask, before the
  // scale with mask_first = 1]) v over the last
  // axis, batched over the leading dims; scale an f32 scalar, mask
  // broadcast over those dims; with nan_to_zero = 1 each NaN probability
  // becomes +0 before v (torch's where(isnan(p), 0, p) guard of fully
  // masked rows). The bits of the chain it replaces; runtime
  // qrt_attention_f32.
  irdl.operation @attention {
    %q = irdl.base "!builtin.tensor"
    %kt = irdl.base "!builtin.tensor"
    %v = irdl.base "!builtin.tensor"
    %scale = irdl.base "!builtin.tensor"
    %mask = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %divides = irdl.base "#builtin.integer"
    %mask_first = irdl.base "#builtin.integer"
    %nan_to_zero = irdl.base "#builtin.integer"
    irdl.operands(%q, %kt, %v, optional %scale, optional %mask)
    irdl.attributes {"scale_divides" = %divides, "mask_first" = %mask_first, "nan_to_zero" = %nan_to_zero}
    irdl.results(%y)
  }
  // --softmax-format dbfpM: softmax over the last axis of a float tensor,
  // each row encoded in DBFP(bits) (pivot: the row maximum; codes: the
  // distances from it in a fine and a coarse group) and exp read from
  // table (f32 [8 * 2 * 2^bits], qrt_build_dbfp_softmax_table). Float
  // result; definitions in runtime/qrt_dbfp.c.
  irdl.operation @dbfp_softmax {
    %x = irdl.base "!builtin.tensor"
    %table = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %bits = irdl.base "#builtin.integer"
    irdl.operands(%x, %table)
    irdl.attributes {"bits" = %bits}
    irdl.results(%y)
  }
  // a + b (numpy broadcasting): y = z_y + round(((a - z_a) a_mult +
  // (b - z_b) b_mult) / 2^shift), half away from zero, saturated to the
  // result's range; a_mult / 2^shift ~ s_a / s_y (qrt_build_qadd_i8).
  // Zero points and scales from the operand and result types.
  irdl.operation @qadd {
    %a = irdl.base "!builtin.tensor"
    %b = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %ma = irdl.base "#builtin.integer"
    %mb = irdl.base "#builtin.integer"
    %sh = irdl.base "#builtin.integer"
    irdl.operands(%a, %b)
    irdl.attributes {"a_mult" = %ma, "b_mult" = %mb, "shift" = %sh}
    irdl.results(%y)
  }
  // LayerNorm (kind "layer") or RMSNorm ("rms") over the trailing dims
  // (gamma's numel): gamma_q, beta_q (i32) and the fixed-point constants
  // as the runtime's qrt_build_qnorm_i8 made them (QRT_QNORM_PARAMS).
  irdl.operation @qnorm {
    %x = irdl.base "!builtin.tensor"
    %gamma = irdl.base "!builtin.tensor"
    %beta = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %kind = irdl.base "#builtin.string"
    %epsq = irdl.base "#builtin.integer"
    %epss = irdl.base "#builtin.integer"
    %ns = irdl.base "#builtin.integer"
    %gs = irdl.base "#builtin.integer"
    %bs = irdl.base "#builtin.integer"
    irdl.operands(%x, %gamma, optional %beta)
    irdl.attributes {"kind" = %kind, "eps_q" = %epsq, "eps_shift" = %epss, "norm_shift" = %ns, "gamma_shift" = %gs, "beta_shift" = %bs}
    irdl.results(%y)
  }
  // A counted loop: ONNX Loop with a compile-time trip count and Scan, when
  // unrolling would be too large (passes/legalize_loop_region.c). Operands:
  // the carried values' initial values (num_carried), then the scan inputs,
  // iterated along axis 0 (last slice first where scan_in_reverse). The one
  // block's arguments: the iteration number (i64, one element), the carried
  // values, one slice of each scan input; it ends with onnx.Yield(next
  // carried values..., this iteration's scan output slices...). Results:
  // the carried values after trip_count iterations, then each scan output's
  // slices stacked along a new axis 0 (reversed where scan_out_reverse).
  // has_cond 1: the yield starts with a condition (one bool), and the loop
  // ends after the first iteration that yields false (no scan outputs
  // then). Body ops read outer values directly.
  irdl.operation @loop {
    %x = irdl.base "!builtin.tensor"
    %y = irdl.base "!builtin.tensor"
    %trip = irdl.base "#builtin.integer"
    %carried = irdl.base "#builtin.integer"
    %in_rev = irdl.base "#builtin.dense_array"
    %out_rev = irdl.base "#builtin.dense_array"
    %has_cond = irdl.base "#builtin.integer"
    %body = irdl.region
    irdl.operands(variadic %x)
    irdl.attributes {"trip_count" = %trip, "num_carried" = %carried, "scan_in_reverse" = %in_rev, "scan_out_reverse" = %out_rev, "has_cond" = %has_cond}
    irdl.results(variadic %y)
    irdl.regions(%body)
  }
}
