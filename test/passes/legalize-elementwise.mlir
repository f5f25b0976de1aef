// RUN: %qcc-opt %s --legalize-onnx | FileCheck %s
// Broadcasting result shapes, comparison result types, Gemm with transB and
// bias, BatchNormalization as a per-channel scale and shift, Clip bounds.

// CHECK-LABEL: func.func @main
func.func @main(%a: tensor<2x1x4xf32>, %b: tensor<3x1xf32>, %m: tensor<5x4xf32>, %n: tensor<1x2x3xf32>) -> (none, none, none, none, none) {
  // CHECK: "q.binary"(%arg0, %arg1) {kind = "add"} : (tensor<2x1x4xf32>, tensor<3x1xf32>) -> tensor<2x3x4xf32>
  %0 = "onnx.Add"(%a, %b) : (tensor<2x1x4xf32>, tensor<3x1xf32>) -> none
  // CHECK: "q.binary"(%arg0, %arg1) {kind = "less"} : {{.*}} -> tensor<2x3x4xi1>
  %1 = "onnx.Less"(%a, %b) : (tensor<2x1x4xf32>, tensor<3x1xf32>) -> none
  %w = "q.constant"() {value = dense<0.5> : tensor<6x4xf32>} : () -> tensor<6x4xf32>
  %c = "q.constant"() {value = dense<1.0> : tensor<6xf32>} : () -> tensor<6xf32>
  // Gemm: B transposed (folded later), C becomes the matmul bias.
  // CHECK: %[[WT:.*]] = "q.transpose"(%{{.*}}) {perm = array<i64: 1, 0>} : (tensor<6x4xf32>) -> tensor<4x6xf32>
  // CHECK: "q.matmul"(%arg2, %[[WT]], %{{.*}}) {operandSegmentSizes = array<i32: 1, 1, 1, 0>, operand_segment_sizes = array<i32: 1, 1, 1, 0>} : (tensor<5x4xf32>, tensor<4x6xf32>, tensor<6xf32>) -> tensor<5x6xf32>
  %2 = "onnx.Gemm"(%m, %w, %c) {transB = 1 : i64} : (tensor<5x4xf32>, tensor<6x4xf32>, tensor<6xf32>) -> none
  // CHECK: "q.unary"(%arg2) {alpha = -1.000000e+00 : f64, beta = 2.000000e+00 : f64, kind = "clip"}
  %lo = "q.constant"() {value = dense<-1.0> : tensor<f32>} : () -> tensor<f32>
  %hi = "q.constant"() {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
  %3 = "onnx.Clip"(%m, %lo, %hi) : (tensor<5x4xf32>, tensor<f32>, tensor<f32>) -> none
  // scale 2 / sqrt(3 + 1) = 1, shift 5 - 1 * 1 = 4 (epsilon 1).
  %s = "q.constant"() {value = dense<2.0> : tensor<2xf32>} : () -> tensor<2xf32>
  %bb = "q.constant"() {value = dense<5.0> : tensor<2xf32>} : () -> tensor<2xf32>
  %mu = "q.constant"() {value = dense<1.0> : tensor<2xf32>} : () -> tensor<2xf32>
  %var = "q.constant"() {value = dense<3.0> : tensor<2xf32>} : () -> tensor<2xf32>
  // CHECK: "q.constant"() {value = dense<1.000000e+00> : tensor<1x2x1xf32>}
  // CHECK: "q.constant"() {value = dense<4.000000e+00> : tensor<1x2x1xf32>}
  // CHECK: %[[MUL:.*]] = "q.binary"(%arg3, %{{.*}}) {kind = "mul"} : (tensor<1x2x3xf32>, tensor<1x2x1xf32>) -> tensor<1x2x3xf32>
  // CHECK: "q.binary"(%[[MUL]], %{{.*}}) {kind = "add"} : (tensor<1x2x3xf32>, tensor<1x2x1xf32>) -> tensor<1x2x3xf32>
  %4 = "onnx.BatchNormalization"(%n, %s, %bb, %mu, %var) {epsilon = 1.0 : f32} : (tensor<1x2x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> none
  return %0, %1, %2, %3, %4 : none, none, none, none, none
}
