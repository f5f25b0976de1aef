// RUN: %qcc-opt %s --fuse-affine | FileCheck %s
// conv -> mul by per-channel constant -> add per-channel constant becomes one
// conv with W' = W * a and b' = b * a + c (here W = 1, b = 1, a = [2, 3],
// c = [10, 20]: W' = [2, 3] per channel, b' = [12, 23]).

// CHECK-LABEL: func.func @main
func.func @main(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = "q.constant"() {value = dense<1.0> : tensor<2x1x1x1xf32>} : () -> tensor<2x1x1x1xf32>
  %b = "q.constant"() {value = dense<1.0> : tensor<2xf32>} : () -> tensor<2xf32>
  %a = "q.constant"() {value = dense<[[[2.0]], [[3.0]]]> : tensor<2x1x1xf32>} : () -> tensor<2x1x1xf32>
  %c = "q.constant"() {value = dense<[[[10.0]], [[20.0]]]> : tensor<2x1x1xf32>} : () -> tensor<2x1x1xf32>
  // CHECK-DAG: %[[W:.*]] = "q.constant"() {value = dense<{{\[\[\[\[}}2.000000e+00]]], {{\[\[\[}}3.000000e+00]]]]> : tensor<2x1x1x1xf32>}
  // CHECK-DAG: %[[B:.*]] = "q.constant"() {value = dense<[1.200000e+01, 2.300000e+01]> : tensor<2xf32>}
  // CHECK: %[[Y:.*]] = "q.conv"(%arg0, %[[W]], %[[B]])
  // CHECK-NOT: "q.binary"
  // CHECK: return %[[Y]]
  %y = "q.conv"(%x, %w, %b) {dilations = array<i64: 1, 1>, group = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %m = "q.binary"(%y, %a) {kind = "mul"} : (tensor<1x2x4x4xf32>, tensor<2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %z = "q.binary"(%m, %c) {kind = "add"} : (tensor<1x2x4x4xf32>, tensor<2x1x1xf32>) -> tensor<1x2x4x4xf32>
  return %z : tensor<1x2x4x4xf32>
}

