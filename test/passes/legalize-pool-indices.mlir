// RUN: %qcc-opt %s --legalize-onnx --dce | FileCheck %s
// MaxPool's Indices are a second q.pool of kind argmax (argmax_col for
// storage_order 1); uint8 MaxPool pools exact float32 copies; MaxUnpool
// scatters into zeros of the inferred shape, then pads to output_shape.

// CHECK-LABEL: func.func @main
func.func @main(%x: tensor<1x1x4x4xf32>, %u: tensor<1x1x4x4xui8>, %v: tensor<1x1x2x2xf32>, %i: tensor<1x1x2x2xi64>) -> (none, none, none, none) {
  // CHECK: "q.pool"(%arg0) {{.*}}kind = "max"{{.*}} -> tensor<1x1x2x2xf32>
  // CHECK: "q.pool"(%arg0) {{.*}}kind = "argmax_col"{{.*}} -> tensor<1x1x2x2xi64>
  %y, %yi = "onnx.MaxPool"(%x) {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, storage_order = 1 : i64} : (tensor<1x1x4x4xf32>) -> (none, none)
  // CHECK: %[[F:.*]] = "q.cast"(%arg1) : (tensor<1x1x4x4xui8>) -> tensor<1x1x4x4xf32>
  // CHECK: %[[P:.*]] = "q.pool"(%[[F]]) {{.*}}kind = "max"
  // CHECK: "q.cast"(%[[P]]) : (tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xui8>
  %z = "onnx.MaxPool"(%u) {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x1x4x4xui8>) -> none
  // CHECK: %[[Z:.*]] = "q.broadcast"(%{{.*}}) : (tensor<f32>) -> tensor<16xf32>
  // CHECK: "q.scatter_elements"(%[[Z]], %{{.*}}, %{{.*}}) {axis = 0 : i64, reduction = "none"} : (tensor<16xf32>, tensor<4xi64>, tensor<4xf32>) -> tensor<16xf32>
  // CHECK: "q.pad"({{.*}}) {mode = "constant", pads = array<i64: 0, 0, 0, 0, 0, 0, 1, 1>{{.*}} -> tensor<1x1x5x5xf32>
  %os = "q.constant"() {value = dense<[1, 1, 5, 5]> : tensor<4xi64>} : () -> tensor<4xi64>
  %w = "onnx.MaxUnpool"(%v, %i, %os) {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x1x2x2xf32>, tensor<1x1x2x2xi64>, tensor<4xi64>) -> none
  return %y, %yi, %z, %w : none, none, none, none
}
