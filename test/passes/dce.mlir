// RUN: %qcc-opt %s --dce | FileCheck %s
// Dead chains disappear in one sweep; live ops and their operands stay.

// CHECK-LABEL: func.func @main
func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK-NOT: "q.unary"(%arg0) {{.*}}kind = "exp"
  %dead0 = "q.unary"(%x) {kind = "exp", alpha = 0.0, beta = 0.0} : (tensor<4xf32>) -> tensor<4xf32>
  // CHECK-NOT: "q.unary"{{.*}}kind = "log"
  %dead1 = "q.unary"(%dead0) {kind = "log", alpha = 0.0, beta = 0.0} : (tensor<4xf32>) -> tensor<4xf32>
  // CHECK: %[[R:.*]] = "q.unary"(%arg0) {{.*}}kind = "relu"
  %live = "q.unary"(%x) {kind = "relu", alpha = 0.0, beta = 0.0} : (tensor<4xf32>) -> tensor<4xf32>
  // CHECK: return %[[R]]
  return %live : tensor<4xf32>
}
