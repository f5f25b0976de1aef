// RUN: %qcc-opt %s --dce | FileCheck %s
// RUN: not %qcc-opt %S/Inputs/missing-attr.mlir --dce 2>&1 | FileCheck %s --check-prefix=ERR
// The IRDL verifier accepts well-formed q ops (optional and variadic
// operands included) and rejects an op without a declared attribute.

// CHECK: "q.conv"(%arg0, %arg1) {{.*}}operandSegmentSizes = array<i32: 1, 1, 0>
// CHECK: "q.concat"(%{{.*}}, %{{.*}}, %{{.*}}) {axis = 1 : i64}
// ERR: error: {{.*}}'q.transpose'{{.*}}perm
func.func @main(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x12x6x6xf32> {
  %0 = "q.conv"(%x, %w) {dilations = array<i64: 1, 1>, group = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 0>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  %1 = "q.concat"(%0, %0, %0) {axis = 1 : i64} : (tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>) -> tensor<1x12x6x6xf32>
  return %1 : tensor<1x12x6x6xf32>
}
