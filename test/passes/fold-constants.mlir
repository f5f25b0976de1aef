// RUN: %qcc-opt %s --fold-constants --dce | FileCheck %s
// Ops whose operands are all constants are evaluated by the runtime kernels
// at compile time; ops reading a function argument stay.

// CHECK-LABEL: func.func @main
func.func @main(%x: tensor<2x3xf32>) -> (tensor<3x2xf32>, tensor<2x3xf32>) {
  %c = "q.constant"() {value = dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>} : () -> tensor<2x3xf32>
  // transpose of a constant -> constant
  // CHECK-DAG: "q.constant"() {value = dense<{{\[\[}}1.000000e+00, 4.000000e+00], [2.000000e+00, 5.000000e+00], [3.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>}
  %t = "q.transpose"(%c) {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  // (c + c) folds, the add with %x does not.
  // CHECK-DAG: %[[TWICE:.*]] = "q.constant"() {value = dense<{{\[\[}}2.000000e+00, 4.000000e+00, 6.000000e+00], [8.000000e+00, 1.000000e+01, 1.200000e+01]]> : tensor<2x3xf32>}
  %d = "q.binary"(%c, %c) {kind = "add"} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "q.binary"(%arg0, %[[TWICE]]) {kind = "mul"}
  %y = "q.binary"(%x, %d) {kind = "mul"} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK-NOT: "q.transpose"
  return %t, %y : tensor<3x2xf32>, tensor<2x3xf32>
}
