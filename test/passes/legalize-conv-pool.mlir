// RUN: %qcc-opt %s --legalize-onnx | FileCheck %s
// Shape inference for Conv (explicit pads, SAME_UPPER, strides, dilations,
// groups) and pools (ceil_mode, global), with the pads made explicit.

func.func @main(%x: tensor<1x4x9x9xf32>) -> (none, none, none, none, none, none) {
  %w = "q.constant"() {value = dense<1.0> : tensor<8x4x3x3xf32>} : () -> tensor<8x4x3x3xf32>
  %wg = "q.constant"() {value = dense<1.0> : tensor<4x2x3x3xf32>} : () -> tensor<4x2x3x3xf32>
  // CHECK: "q.conv"(%arg0, %{{.*}}) {dilations = array<i64: 1, 1>, group = 1 : i64, {{.*}}pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : {{.*}} -> tensor<1x8x5x5xf32>
  %0 = "onnx.Conv"(%x, %w) {pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x4x9x9xf32>, tensor<8x4x3x3xf32>) -> none
  // SAME_UPPER with stride 2 on 9: out 5, total pad 2 split 1/1.
  // CHECK: "q.conv"{{.*}}pads = array<i64: 1, 1, 1, 1>{{.*}} -> tensor<1x8x5x5xf32>
  %1 = "onnx.Conv"(%x, %w) {auto_pad = "SAME_UPPER", strides = array<i64: 2, 2>} : (tensor<1x4x9x9xf32>, tensor<8x4x3x3xf32>) -> none
  // Dilation 2: effective kernel 5 -> 9 - 5 + 1 = 5; group 2.
  // CHECK: "q.conv"{{.*}}dilations = array<i64: 2, 2>, group = 2 : i64{{.*}} -> tensor<1x4x5x5xf32>
  %2 = "onnx.Conv"(%x, %wg) {dilations = array<i64: 2, 2>, group = 2 : i64} : (tensor<1x4x9x9xf32>, tensor<4x2x3x3xf32>) -> none
  // ceil_mode: (9 - 2) / 2 rounded up + 1 = 5.
  // CHECK: "q.pool"(%arg0) {count_include_pad = 0 : i64, dilations = array<i64: 1, 1>, kernel = array<i64: 2, 2>, kind = "max", pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x4x9x9xf32>) -> tensor<1x4x5x5xf32>
  %3 = "onnx.MaxPool"(%x) {ceil_mode = 1 : i64, kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x4x9x9xf32>) -> none
  // CHECK: "q.pool"(%arg0) {count_include_pad = 1 : i64{{.*}}kind = "avg"{{.*}} -> tensor<1x4x4x4xf32>
  %4 = "onnx.AveragePool"(%x) {count_include_pad = 1 : i64, kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>} : (tensor<1x4x9x9xf32>) -> none
  // CHECK: "q.pool"(%arg0) {{.*}}kernel = array<i64: 9, 9>, kind = "avg"{{.*}} -> tensor<1x4x1x1xf32>
  %5 = "onnx.GlobalAveragePool"(%x) : (tensor<1x4x9x9xf32>) -> none
  // CHECK: return {{.*}} : tensor<1x8x5x5xf32>, tensor<1x8x5x5xf32>, tensor<1x4x5x5xf32>, tensor<1x4x5x5xf32>, tensor<1x4x4x4xf32>, tensor<1x4x1x1xf32>
  return %0, %1, %2, %3, %4, %5 : none, none, none, none, none, none
}
