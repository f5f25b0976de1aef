// RUN: %qcc-opt %s --fuse-norms -v 2>&1 | FileCheck %s
// Decomposed norms over the last axis become one q.norm, whatever form the
// exporter chose: x * (1 / sqrt(mean(x*x) + eps)) * gamma (torch's rsqrt),
// x / sqrt(mean(x^2) + eps), and the LayerNorm chain with gamma and beta.
// A chain whose intermediate is used elsewhere is left alone.

// CHECK: remark: fuse-norms: {{.*}}RMSNorm over the last axis (4 channels) fused into q.norm
// CHECK: remark: fuse-norms: {{.*}}RMSNorm over the last axis (4 channels) fused into q.norm
// CHECK: remark: fuse-norms: {{.*}}LayerNorm over the last axis (4 channels) fused into q.norm
// CHECK-LABEL: func.func @main
func.func @main(%x: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x1xf32>) {
  %eps = "q.constant"() {value = dense<1.0e-5> : tensor<f32>} : () -> tensor<f32>
  %one = "q.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %two = "q.constant"() {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
  %g = "q.constant"() {value = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>} : () -> tensor<4xf32>
  %b = "q.constant"() {value = dense<[0.5, 0.5, 0.5, 0.5]> : tensor<4xf32>} : () -> tensor<4xf32>
  // CHECK: %[[R1:.*]] = "q.norm"(%arg0, {{.*}}) {axis = 1 : i64, epsilon = 9.99{{[0-9]*}}E-6 : f64, kind = "rms"
  %sq = "q.binary"(%x, %x) {kind = "mul"} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %ms = "q.reduce"(%sq) {axes = array<i64: 1>, kind = "mean"} : (tensor<2x4xf32>) -> tensor<2x1xf32>
  %a = "q.binary"(%ms, %eps) {kind = "add"} : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %r = "q.unary"(%a) {alpha = 0.0 : f64, beta = 0.0 : f64, kind = "sqrt"} : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %inv = "q.binary"(%one, %r) {kind = "div"} : (tensor<f32>, tensor<2x1xf32>) -> tensor<2x1xf32>
  %n = "q.binary"(%x, %inv) {kind = "mul"} : (tensor<2x4xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
  %y1 = "q.binary"(%n, %g) {kind = "mul"} : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  // CHECK: %[[R2:.*]] = "q.norm"(%arg0, {{.*}}) {axis = 1 : i64, {{.*}}kind = "rms"
  %sq2 = "q.binary"(%x, %two) {kind = "pow"} : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %ms2 = "q.reduce"(%sq2) {axes = array<i64: 1>, kind = "mean"} : (tensor<2x4xf32>) -> tensor<2x1xf32>
  %a2 = "q.binary"(%eps, %ms2) {kind = "add"} : (tensor<f32>, tensor<2x1xf32>) -> tensor<2x1xf32>
  %r2 = "q.unary"(%a2) {alpha = 0.0 : f64, beta = 0.0 : f64, kind = "sqrt"} : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %y2 = "q.binary"(%x, %r2) {kind = "div"} : (tensor<2x4xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
  // CHECK: %[[L:.*]] = "q.norm"(%arg0, {{.*}}) {axis = 1 : i64, {{.*}}kind = "layer", operandSegmentSizes = array<i32: 1, 1, 1>}
  %mu = "q.reduce"(%x) {axes = array<i64: 1>, kind = "mean"} : (tensor<2x4xf32>) -> tensor<2x1xf32>
  %d = "q.binary"(%x, %mu) {kind = "sub"} : (tensor<2x4xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
  %d2 = "q.binary"(%d, %d) {kind = "mul"} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %var = "q.reduce"(%d2) {axes = array<i64: 1>, kind = "mean"} : (tensor<2x4xf32>) -> tensor<2x1xf32>
  %a3 = "q.binary"(%var, %eps) {kind = "add"} : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %r3 = "q.unary"(%a3) {alpha = 0.0 : f64, beta = 0.0 : f64, kind = "sqrt"} : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %n3 = "q.binary"(%d, %r3) {kind = "div"} : (tensor<2x4xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
  %s3 = "q.binary"(%n3, %g) {kind = "mul"} : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %y3 = "q.binary"(%s3, %b) {kind = "add"} : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  // Not fused: the mean square %ms4 is also a result.
  // CHECK: "q.reduce"
  // CHECK: "q.unary"{{.*}}kind = "sqrt"
  %sq4 = "q.binary"(%x, %x) {kind = "mul"} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %ms4 = "q.reduce"(%sq4) {axes = array<i64: 1>, kind = "mean"} : (tensor<2x4xf32>) -> tensor<2x1xf32>
  %a4 = "q.binary"(%ms4, %eps) {kind = "add"} : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %r4 = "q.unary"(%a4) {alpha = 0.0 : f64, beta = 0.0 : f64, kind = "sqrt"} : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %y4 = "q.binary"(%x, %r4) {kind = "div"} : (tensor<2x4xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
  // CHECK: return %[[R1]], %[[R2]], %[[L]]
  return %y1, %y2, %y3, %y4, %ms4 : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x1xf32>
}
