// RUN: %qcc-opt %s --legalize-onnx --dce | FileCheck %s
// Einsum: a batched contraction becomes one q.matmul (no copies when the
// operands are already in [batch, M, K] x [batch, K, N] order); a repeated
// letter takes the diagonal with a strided slice; a float64 contraction
// is a broadcast multiply and a sum.

// CHECK-LABEL: func.func @main
func.func @main(%x: tensor<2x3x4xf32>, %y: tensor<2x4x5xf32>, %d: tensor<3x3xf64>, %u: tensor<3x4xf64>, %v: tensor<4xf64>, %q: tensor<2x3x5x4xf32>, %k: tensor<2x3x6x4xf32>) -> (none, none, none, none) {
  // CHECK: "q.matmul"(%arg0, %arg1) {{.*}} : (tensor<2x3x4xf32>, tensor<2x4x5xf32>) -> tensor<2x3x5xf32>
  %a = "onnx.Einsum"(%x, %y) {equation = "bij, bjk -> bik"} : (tensor<2x3x4xf32>, tensor<2x4x5xf32>) -> none
  // CHECK: %[[F:.*]] = "q.reshape"(%arg2) : (tensor<3x3xf64>) -> tensor<9xf64>
  // CHECK: "q.slice"(%[[F]]) {starts = array<i64: 0>, steps = array<i64: 4>} : (tensor<9xf64>) -> tensor<3xf64>
  %b = "onnx.Einsum"(%d) {equation = "ii->i"} : (tensor<3x3xf64>) -> none
  // CHECK: %[[P:.*]] = "q.binary"(%{{.*}}, %{{.*}}) {kind = "mul"} : (tensor<1x3x4x1xf64>, tensor<1x1x4x1xf64>) -> tensor<1x3x4x1xf64>
  // CHECK: "q.reduce"(%[[P]]) {axes = array<i64: 2>, kind = "sum"} : (tensor<1x3x4x1xf64>) -> tensor<1x3x1xf64>
  %c = "onnx.Einsum"(%u, %v) {equation = "ij,j->i"} : (tensor<3x4xf64>, tensor<4xf64>) -> none
  // several batch dims stay as they are (attention's [b, h]): K^T is a
  // transpose, the product one 4-D q.matmul, no reshapes
  // CHECK: %[[KT:.*]] = "q.transpose"(%arg6) {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x3x6x4xf32>) -> tensor<2x3x4x6xf32>
  // CHECK-NEXT: "q.matmul"(%arg5, %[[KT]]) {{.*}} : (tensor<2x3x5x4xf32>, tensor<2x3x4x6xf32>) -> tensor<2x3x5x6xf32>
  %e = "onnx.Einsum"(%q, %k) {equation = "bhqd,bhkd->bhqk"} : (tensor<2x3x5x4xf32>, tensor<2x3x6x4xf32>) -> none
  return %a, %b, %c, %e : none, none, none, none
}
