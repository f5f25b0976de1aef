// RUN: %qcc-opt %s --legalize-onnx --dce | FileCheck %s
// Resize: constant scales give the output shape floor(in * scale) and are
// passed on; run-time sizes take the declared output shape (the kernel
// uses out/in); run-time scales need the declared shape and stay an
// operand; Resize-10 is asymmetric with floor rounding.

// CHECK-LABEL: func.func @main
func.func @main(%x: tensor<1x1x4x4xf32>, %sizes: tensor<4xi64>, %scales: tensor<4xf32>) -> (none, tensor<1x1x3x2xf32>, tensor<1x1x2x2xf32>, none) {
  %nv = "onnx.NoValue"() : () -> none
  %s = "q.constant"() {value = dense<[1.0, 1.0, 0.6, 2.0]> : tensor<4xf32>} : () -> tensor<4xf32>
  // CHECK: %[[S:.*]] = "q.constant"() {value = dense<[1.000000e+00, 1.000000e+00, 6.000000e-01, 2.000000e+00]> : tensor<4xf32>}
  // CHECK: "q.resize"(%arg0, %[[S]]) {coord = "half_pixel", cubic_a = -7.500000e-01 : f64, exclude_outside = 0 : i64, extrapolation = 0.000000e+00 : f64, mode = "cubic", nearest = "round_prefer_floor", {{.*}}} : (tensor<1x1x4x4xf32>, tensor<4xf32>) -> tensor<1x1x2x8xf32>
  %a = "onnx.Resize"(%x, %nv, %s, %nv) {mode = "cubic"} : (tensor<1x1x4x4xf32>, none, tensor<4xf32>, none) -> none
  // CHECK: "q.resize"(%arg0) {coord = "align_corners", {{.*}}mode = "linear"{{.*}}} : (tensor<1x1x4x4xf32>) -> tensor<1x1x3x2xf32>
  %b = "onnx.Resize"(%x, %nv, %nv, %sizes) {mode = "linear", coordinate_transformation_mode = "align_corners"} : (tensor<1x1x4x4xf32>, none, none, tensor<4xi64>) -> tensor<1x1x3x2xf32>
  // CHECK: "q.resize"(%arg0, %arg2) {{.*}}mode = "nearest", nearest = "round_prefer_ceil"{{.*}} -> tensor<1x1x2x2xf32>
  %c = "onnx.Resize"(%x, %nv, %scales, %nv) {nearest_mode = "round_prefer_ceil"} : (tensor<1x1x4x4xf32>, none, tensor<4xf32>, none) -> tensor<1x1x2x2xf32>
  // CHECK: "q.resize"(%arg0, %{{.*}}) {coord = "asymmetric", {{.*}}mode = "nearest", nearest = "floor"{{.*}} -> tensor<1x1x8x12xf32>
  %u = "q.constant"() {value = dense<[1.0, 1.0, 2.0, 3.0]> : tensor<4xf32>} : () -> tensor<4xf32>
  %d = "onnx.Upsample"(%x, %u) {mode = "nearest"} : (tensor<1x1x4x4xf32>, tensor<4xf32>) -> none
  return %a, %b, %c, %d : none, tensor<1x1x3x2xf32>, tensor<1x1x2x2xf32>, none
}
