// RUN: %qcc-opt %s --legalize-onnx --dce | FileCheck %s
// Shape ops: a Shape -> Gather -> Concat -> Reshape chain folds to a
// constant target shape; Reshape resolves 0 and -1; Slice clamps and
// handles negative steps; Squeeze/Unsqueeze/Flatten become reshapes.

// CHECK-LABEL: func.func @main
func.func @main(%x: tensor<2x3x4xf32>) -> (none, none, none, none) {
  %s = "onnx.Shape"(%x) : (tensor<2x3x4xf32>) -> none
  %i = "q.constant"() {value = dense<0> : tensor<1xi64>} : () -> tensor<1xi64>
  %d0 = "onnx.Gather"(%s, %i) {axis = 0 : i64} : (none, tensor<1xi64>) -> none
  %m1 = "q.constant"() {value = dense<-1> : tensor<1xi64>} : () -> tensor<1xi64>
  %shape = "onnx.Concat"(%d0, %m1) {axis = 0 : i64} : (none, tensor<1xi64>) -> none
  // The whole chain folds: only the reshape remains.
  // CHECK-NOT: q.gather
  // CHECK-NOT: q.concat
  // CHECK: "q.reshape"(%arg0) : (tensor<2x3x4xf32>) -> tensor<2x12xf32>
  %r = "onnx.Reshape"(%x, %shape) : (tensor<2x3x4xf32>, none) -> none
  // ends beyond the dim clamp; step -2 from the end: indices 3, 1.
  %st = "q.constant"() {value = dense<[-1, 10]> : tensor<2xi64>} : () -> tensor<2xi64>
  %en = "q.constant"() {value = dense<[-100, 0]> : tensor<2xi64>} : () -> tensor<2xi64>
  %ax = "q.constant"() {value = dense<[2, 0]> : tensor<2xi64>} : () -> tensor<2xi64>
  %sp = "q.constant"() {value = dense<[-2, -1]> : tensor<2xi64>} : () -> tensor<2xi64>
  // CHECK: "q.slice"(%arg0) {starts = array<i64: 1, 0, 3>, steps = array<i64: -1, 1, -2>} : (tensor<2x3x4xf32>) -> tensor<1x3x2xf32>
  %sl = "onnx.Slice"(%x, %st, %en, %ax, %sp) : (tensor<2x3x4xf32>, tensor<2xi64>, tensor<2xi64>, tensor<2xi64>, tensor<2xi64>) -> none
  %ua = "q.constant"() {value = dense<[0, -1]> : tensor<2xi64>} : () -> tensor<2xi64>
  // CHECK: "q.reshape"(%arg0) : (tensor<2x3x4xf32>) -> tensor<1x2x3x4x1xf32>
  %u = "onnx.Unsqueeze"(%x, %ua) : (tensor<2x3x4xf32>, tensor<2xi64>) -> none
  // CHECK: "q.reshape"(%arg0) : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  %f = "onnx.Flatten"(%x) {axis = 2 : i64} : (tensor<2x3x4xf32>) -> none
  return %r, %sl, %u, %f : none, none, none, none
}
