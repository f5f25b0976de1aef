// RUN: %qcc-opt %s --fuse-activations -v 2>&1 | FileCheck %s
// torch's exact GELU (x * 0.5 * (1 + erf(x / sqrt 2)), both multiply
// orders) and SiLU (x * sigmoid(x)) become one q.unary each; a sigmoid whose
// result is also used elsewhere is left alone.

// CHECK: remark: fuse-activations: {{.*}}gelu fused into q.unary
// CHECK: remark: fuse-activations: {{.*}}gelu fused into q.unary
// CHECK: remark: fuse-activations: {{.*}}silu fused into q.unary
// CHECK-LABEL: func.func @main
func.func @main(%x: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) {
  %r2 = "q.constant"() {value = dense<1.41421354> : tensor<f32>} : () -> tensor<f32>
  %one = "q.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %half = "q.constant"() {value = dense<0.5> : tensor<f32>} : () -> tensor<f32>
  // CHECK: %[[G1:.*]] = "q.unary"(%arg0) {{{.*}}kind = "gelu"}
  %d = "q.binary"(%x, %r2) {kind = "div"} : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %e = "q.unary"(%d) {alpha = 0.0 : f64, beta = 0.0 : f64, kind = "erf"} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %a = "q.binary"(%e, %one) {kind = "add"} : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %m = "q.binary"(%x, %a) {kind = "mul"} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %g1 = "q.binary"(%m, %half) {kind = "mul"} : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  // CHECK: %[[G2:.*]] = "q.unary"(%arg0) {{{.*}}kind = "gelu"}
  %d2 = "q.binary"(%x, %r2) {kind = "div"} : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %e2 = "q.unary"(%d2) {alpha = 0.0 : f64, beta = 0.0 : f64, kind = "erf"} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %a2 = "q.binary"(%one, %e2) {kind = "add"} : (tensor<f32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %h = "q.binary"(%half, %x) {kind = "mul"} : (tensor<f32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %g2 = "q.binary"(%h, %a2) {kind = "mul"} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  // CHECK: %[[S:.*]] = "q.unary"(%arg0) {{{.*}}kind = "silu"}
  %s = "q.unary"(%x) {alpha = 0.0 : f64, beta = 0.0 : f64, kind = "sigmoid"} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = "q.binary"(%s, %x) {kind = "mul"} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  // CHECK: %[[S2:.*]] = "q.unary"(%arg0) {{{.*}}kind = "sigmoid"}
  // CHECK: "q.binary"(%arg0, %[[S2]]) {kind = "mul"}
  %s2 = "q.unary"(%x) {alpha = 0.0 : f64, beta = 0.0 : f64, kind = "sigmoid"} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %y2 = "q.binary"(%x, %s2) {kind = "mul"} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  return %g1, %g2, %y, %y2, %s2 : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>
}
