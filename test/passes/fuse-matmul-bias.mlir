// RUN: %qcc-opt %s --fuse-affine | FileCheck %s
// A Linear layer exported as MatMul + Add(bias): the add becomes the
// matmul's bias operand; an add that broadcasts the product does not.
// CHECK-LABEL: func.func @main
func.func @main(%x: tensor<2x3xf32>) -> (tensor<2x4xf32>, tensor<3x2x4xf32>) {
  %w = "q.constant"() {value = dense<1.0> : tensor<3x4xf32>} : () -> tensor<3x4xf32>
  %b = "q.constant"() {value = dense<[[1.0, 2.0, 3.0, 4.0]]> : tensor<1x4xf32>} : () -> tensor<1x4xf32>
  %c = "q.constant"() {value = dense<1.0> : tensor<3x1x1xf32>} : () -> tensor<3x1x1xf32>
  // CHECK: %[[B:.*]] = "q.constant"() {value = dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<4xf32>}
  // CHECK: %[[Y:.*]] = "q.matmul"(%arg0, %{{.*}}, %[[B]]) {operandSegmentSizes = array<i32: 1, 1, 1, 0>, operand_segment_sizes = array<i32: 1, 1, 1, 0>}
  %y = "q.matmul"(%x, %w) {operandSegmentSizes = array<i32: 1, 1, 0, 0>, operand_segment_sizes = array<i32: 1, 1, 0, 0>} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %z = "q.binary"(%b, %y) {kind = "add"} : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  // CHECK: %[[Y2:.*]] = "q.matmul"(%arg0, %{{.*}}) {operandSegmentSizes = array<i32: 1, 1, 0, 0>, operand_segment_sizes = array<i32: 1, 1, 0, 0>}
  // CHECK: "q.binary"(%[[Y2]], %{{.*}}) {kind = "add"} : (tensor<2x4xf32>, tensor<3x1x1xf32>) -> tensor<3x2x4xf32>
  %y2 = "q.matmul"(%x, %w) {operandSegmentSizes = array<i32: 1, 1, 0, 0>, operand_segment_sizes = array<i32: 1, 1, 0, 0>} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %z2 = "q.binary"(%y2, %c) {kind = "add"} : (tensor<2x4xf32>, tensor<3x1x1xf32>) -> tensor<3x2x4xf32>
  // CHECK: return %[[Y]]
  return %z, %z2 : tensor<2x4xf32>, tensor<3x2x4xf32>
}
