// RUN: %qcc-opt %s --legalize-onnx --dce | FileCheck %s
// ONNX quantization operators as q ops: QuantizeLinear per axis is
// div -> round (half even) -> + zero point -> clip to the int8 range ->
// cast; MatMulInteger subtracts the zero points in int32 and uses the
// int32 matmul.

// CHECK-LABEL: func.func @main
func.func @main(%x: tensor<2x3xf32>, %s: tensor<3xf32>, %z: tensor<3xi8>, %a: tensor<2x4xui8>, %b: tensor<4x3xui8>, %az: tensor<ui8>) -> (none, none) {
  %nv = "onnx.NoValue"() : () -> none
  // CHECK: %[[S:.*]] = "q.reshape"(%arg1) : (tensor<3xf32>) -> tensor<1x3xf32>
  // CHECK: %[[D:.*]] = "q.binary"(%arg0, %[[S]]) {kind = "div"}
  // CHECK: %[[R:.*]] = "q.unary"(%[[D]]) {{.*}}kind = "round"
  // CHECK: %[[A:.*]] = "q.binary"(%[[R]], %{{.*}}) {kind = "add"}
  // CHECK: %[[C:.*]] = "q.unary"(%[[A]]) {alpha = -1.280000e+02 : f64, beta = 1.270000e+02 : f64, kind = "clip"}
  // CHECK: "q.cast"(%[[C]]) : (tensor<2x3xf32>) -> tensor<2x3xi8>
  %q = "onnx.QuantizeLinear"(%x, %s, %z) {axis = 1 : i64} : (tensor<2x3xf32>, tensor<3xf32>, tensor<3xi8>) -> none
  // CHECK: %[[A32:.*]] = "q.cast"(%arg3) : (tensor<2x4xui8>) -> tensor<2x4xi32>
  // CHECK: %[[Z32:.*]] = "q.cast"(%arg5) : (tensor<ui8>) -> tensor<i32>
  // CHECK: %[[AC:.*]] = "q.binary"(%[[A32]], %[[Z32]]) {kind = "sub"} : (tensor<2x4xi32>, tensor<i32>) -> tensor<2x4xi32>
  // CHECK: %[[B32:.*]] = "q.cast"(%arg4) : (tensor<4x3xui8>) -> tensor<4x3xi32>
  // CHECK: "q.matmul"(%[[AC]], %[[B32]]) {{.*}} : (tensor<2x4xi32>, tensor<4x3xi32>) -> tensor<2x3xi32>
  %m = "onnx.MatMulInteger"(%a, %b, %az, %nv) : (tensor<2x4xui8>, tensor<4x3xui8>, tensor<ui8>, none) -> none
  return %q, %m : none, none
}
