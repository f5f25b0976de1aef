// RUN: %qcc-opt %s --legalize-onnx --dce | FileCheck %s
// TopK: positions by q.topk, values gathered with them; k from the
// declared output when it is a run-time input. CumSum keeps its axis
// operand for the kernel.
// CHECK-LABEL: func.func @main
func.func @main(%x: tensor<3x4xf32>, %k: tensor<1xi64>, %ax: tensor<i32>) -> (tensor<3x2xf32>, tensor<3x2xi64>, none) {
  // CHECK: %[[I:.*]] = "q.topk"(%arg0) {axis = 1 : i64, largest = 0 : i64} : (tensor<3x4xf32>) -> tensor<3x2xi64>
  // CHECK: "q.gather_elements"(%arg0, %[[I]]) {axis = 1 : i64} : (tensor<3x4xf32>, tensor<3x2xi64>) -> tensor<3x2xf32>
  %v, %i = "onnx.TopK"(%x, %k) {largest = 0 : i64} : (tensor<3x4xf32>, tensor<1xi64>) -> (tensor<3x2xf32>, tensor<3x2xi64>)
  // CHECK: "q.cumsum"(%arg0, %arg2) {exclusive = 1 : i64, reverse = 0 : i64} : (tensor<3x4xf32>, tensor<i32>) -> tensor<3x4xf32>
  %c = "onnx.CumSum"(%x, %ax) {exclusive = 1 : i64} : (tensor<3x4xf32>, tensor<i32>) -> none
  return %v, %i, %c : tensor<3x2xf32>, tensor<3x2xi64>, none
}
