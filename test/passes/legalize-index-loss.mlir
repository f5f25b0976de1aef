// RUN: %qcc-opt %s --legalize-onnx --dce | FileCheck %s
// Indexed reads/writes map to their q ops one to one; the losses are built
// from log_softmax, gather_elements, gather (weights), where (ignore_index)
// and reductions (onnx_rules_loss.c).

// CHECK-LABEL: func.func @main
func.func @main(%x: tensor<3x5x2xf32>, %t: tensor<3x2xi64>, %w: tensor<5xf32>, %i: tensor<3x1x2xi64>, %ind: tensor<2x1xi64>, %u: tensor<2x5x2xf32>) -> (none, none, none, none) {
  %nv = "onnx.NoValue"() : () -> none
  // CHECK: "q.gather_elements"(%arg0, %arg3) {axis = 1 : i64} : (tensor<3x5x2xf32>, tensor<3x1x2xi64>) -> tensor<3x1x2xf32>
  %ge = "onnx.GatherElements"(%x, %i) {axis = 1 : i64} : (tensor<3x5x2xf32>, tensor<3x1x2xi64>) -> none
  // CHECK: "q.scatter_nd"(%arg0, %arg4, %arg5) {reduction = "add"} : (tensor<3x5x2xf32>, tensor<2x1xi64>, tensor<2x5x2xf32>) -> tensor<3x5x2xf32>
  %sn = "onnx.ScatterND"(%x, %ind, %u) {reduction = "add"} : (tensor<3x5x2xf32>, tensor<2x1xi64>, tensor<2x5x2xf32>) -> none
  // NLL with weights and ignore_index, mean: sum(loss) / sum(weights).
  // CHECK: %[[IGN:.*]] = "q.binary"(%arg1, %{{.*}}) {kind = "equal"} : (tensor<3x2xi64>, tensor<i64>) -> tensor<3x2xi1>
  // CHECK: %[[SAFE:.*]] = "q.where"(%[[IGN]], %{{.*}}, %arg1)
  // CHECK: %[[TU:.*]] = "q.reshape"(%[[SAFE]]) : (tensor<3x2xi64>) -> tensor<3x1x2xi64>
  // CHECK: "q.gather_elements"(%arg0, %[[TU]]) {axis = 1 : i64}
  // CHECK: %[[WG:.*]] = "q.gather"(%arg2, %[[SAFE]]) {axis = 0 : i64} : (tensor<5xf32>, tensor<3x2xi64>) -> tensor<3x2xf32>
  // CHECK: %[[W0:.*]] = "q.where"(%[[IGN]], %{{.*}}, %[[WG]])
  // CHECK: %[[NUM:.*]] = "q.reduce"(%{{.*}}) {axes = array<i64: 0, 1>, kind = "sum"} : (tensor<3x2xf32>) -> tensor<f32>
  // CHECK: %[[DEN:.*]] = "q.reduce"(%[[W0]]) {axes = array<i64: 0, 1>, kind = "sum"}
  // CHECK: "q.binary"(%[[NUM]], %[[DEN]]) {kind = "div"}
  %l = "onnx.NegativeLogLikelihoodLoss"(%x, %t, %w) {ignore_index = 1 : i64} : (tensor<3x5x2xf32>, tensor<3x2xi64>, tensor<5xf32>) -> none
  // SCE = NLL of log_softmax on axis 1.
  // CHECK: %[[LP:.*]] = "q.softmax"(%arg0) {axis = 1 : i64, log = 1 : i64}
  // CHECK: "q.gather_elements"(%[[LP]], %{{.*}}) {axis = 1 : i64}
  // CHECK: "q.reduce"(%{{.*}}) {axes = array<i64: 0, 1>, kind = "sum"} : (tensor<3x2xf32>) -> tensor<f32>
  %s = "onnx.SoftmaxCrossEntropyLoss"(%x, %t, %nv) {reduction = "sum"} : (tensor<3x5x2xf32>, tensor<3x2xi64>, none) -> none
  return %ge, %sn, %l, %s : none, none, none, none
}
