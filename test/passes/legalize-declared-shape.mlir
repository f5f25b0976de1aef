// RUN: %qcc-opt %s --legalize-onnx --dce | FileCheck %s
// Shape-like inputs known only at run time: the output type the model
// declares fixes them (onnx_shape_input), so Reshape/Unsqueeze become
// reshapes, Expand a broadcast, Tile repeats declared/input, Split the
// declared lengths, Range start + iota * delta.

// CHECK-LABEL: func.func @main
func.func @main(%x: tensor<2x3xf32>, %s: tensor<2xi64>, %a: tensor<1xi64>, %sp: tensor<2xi64>, %r0: tensor<f32>, %r1: tensor<f32>, %r2: tensor<f32>) -> (tensor<3x2xf32>, tensor<2x1x3xf32>, tensor<4x2x3xf32>, tensor<4x9xf32>, tensor<2x1xf32>, tensor<2x2xf32>, tensor<4xf32>) {
  // CHECK: "q.reshape"(%arg0) : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %0 = "onnx.Reshape"(%x, %s) : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<3x2xf32>
  // CHECK: "q.reshape"(%arg0) : (tensor<2x3xf32>) -> tensor<2x1x3xf32>
  %1 = "onnx.Unsqueeze"(%x, %a) : (tensor<2x3xf32>, tensor<1xi64>) -> tensor<2x1x3xf32>
  // CHECK: "q.broadcast"(%arg0) : (tensor<2x3xf32>) -> tensor<4x2x3xf32>
  %2 = "onnx.Expand"(%x, %s) : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<4x2x3xf32>
  // Tile by [2, 3] (declared 4x9 / input 2x3): [1,2,1,3] broadcast to [2,2,3,3].
  // CHECK: %[[TV:.*]] = "q.reshape"(%arg0) : (tensor<2x3xf32>) -> tensor<1x2x1x3xf32>
  // CHECK: %[[TB:.*]] = "q.broadcast"(%[[TV]]) : (tensor<1x2x1x3xf32>) -> tensor<2x2x3x3xf32>
  // CHECK: "q.reshape"(%[[TB]]) : (tensor<2x2x3x3xf32>) -> tensor<4x9xf32>
  %3 = "onnx.Tile"(%x, %s) : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<4x9xf32>
  // CHECK: "q.slice"(%arg0) {starts = array<i64: 0, 0>, steps = array<i64: 1, 1>} : (tensor<2x3xf32>) -> tensor<2x1xf32>
  // CHECK: "q.slice"(%arg0) {starts = array<i64: 0, 1>, steps = array<i64: 1, 1>} : (tensor<2x3xf32>) -> tensor<2x2xf32>
  %4:2 = "onnx.Split"(%x, %sp) {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2xi64>) -> (tensor<2x1xf32>, tensor<2x2xf32>)
  // CHECK: %[[IOTA:.*]] = "q.constant"() {value = dense<[0.000000e+00, 1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<4xf32>}
  // CHECK: %[[M:.*]] = "q.binary"(%[[IOTA]], %{{.*}}) {kind = "mul"}
  // CHECK: "q.binary"(%{{.*}}, %[[M]]) {kind = "add"} : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  %5 = "onnx.Range"(%r0, %r1, %r2) : (tensor<f32>, tensor<f32>, tensor<f32>) -> tensor<4xf32>
  return %0, %1, %2, %3, %4#0, %4#1, %5 : tensor<3x2xf32>, tensor<2x1x3xf32>, tensor<4x2x3xf32>, tensor<4x9xf32>, tensor<2x1xf32>, tensor<2x2xf32>, tensor<4xf32>
}
