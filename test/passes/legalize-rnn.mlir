// RUN: %qcc-opt %s --legalize-onnx --dce | FileCheck %s
// RNN unrolled over its 2 steps: one matmul X W^T for all steps, then per
// step H R^T added to that step's slice and the activation (tanh); Y is
// the steps concatenated, Y_h the last state.

// CHECK-LABEL: func.func @main
func.func @main(%x: tensor<2x1x2xf32>, %w: tensor<1x3x2xf32>, %r: tensor<1x3x3xf32>) -> (none, none) {
  // CHECK: %[[XW:.*]] = "q.matmul"(%{{.*}}, %{{.*}}) {{.*}} : (tensor<2x2xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: %[[XW3:.*]] = "q.reshape"(%[[XW]]) : (tensor<2x3xf32>) -> tensor<2x1x3xf32>
  // CHECK: "q.slice"(%[[XW3]]) {starts = array<i64: 0, 0, 0>
  // CHECK: %[[H1:.*]] = "q.unary"(%{{.*}}) {{.*}}kind = "tanh"
  // CHECK: "q.slice"(%[[XW3]]) {starts = array<i64: 1, 0, 0>
  // CHECK: "q.matmul"(%[[H1]], %{{.*}}) {{.*}} : (tensor<1x3xf32>, tensor<3x3xf32>) -> tensor<1x3xf32>
  // CHECK: %[[H2:.*]] = "q.unary"(%{{.*}}) {{.*}}kind = "tanh"
  // CHECK: "q.concat"({{.*}}) {axis = 0 : i64{{.*}} -> tensor<2x1x3xf32>
  // CHECK: return {{.*}} : tensor<2x1x1x3xf32>, tensor<1x1x3xf32>
  %y, %h = "onnx.RNN"(%x, %w, %r) {hidden_size = 3 : i64} : (tensor<2x1x2xf32>, tensor<1x3x2xf32>, tensor<1x3x3xf32>) -> (none, none)
  return %y, %h : none, none
}
